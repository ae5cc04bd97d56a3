"""Preprocessing: baseline removal, dead channels, saturation, NaNs, no mutation."""
from __future__ import annotations

import json

import numpy as np
import pytest

from gaitpf.analysis.preprocess import PreprocessParams, lower_envelope, prepare_load
from gaitpf.errors import SignalError

FS = 100.0


def gait(n: int = 3000, stride: int = 100, stance: int = 60, level: float = 500.0) -> np.ndarray:
    x = np.zeros(n)
    for a in range(20, n - stride, stride):
        x[a : a + stance] = level
    return x


def test_constant_offset_and_linear_drift_are_removed():
    base = gait()
    drift = 200.0 + np.linspace(0.0, 400.0, len(base))  # +400 over 30 s
    p = prepare_load(base + drift, sampling_rate_hz=FS, unit="au", params=PreprocessParams())
    swing = base == 0
    interior = np.zeros(len(base), bool)
    interior[600:-600] = True  # the rolling windows are one-sided within ~5 s of the ends
    # swing level back near 0 (within 3 % of the stance level) and stance near 500
    assert np.abs(p.load[swing & interior]).max() < 15.0
    assert np.abs(p.load[swing]).max() < 60.0
    assert np.median(p.load[~swing]) == pytest.approx(500.0, abs=15.0)
    assert p.channel_info()["baseline_drift"] > 300.0


def test_lower_envelope_of_zero_swing_is_zero():
    env = lower_envelope(gait(), sampling_rate_hz=FS, block_ms=100, window_s=10, quantile=0.1)
    np.testing.assert_allclose(env, 0.0)


def test_channels_are_summed_and_dead_channel_excluded_with_warning():
    a = gait(level=300.0)
    b = gait(level=200.0)
    dead = np.full(len(a), 7.0)
    values = np.column_stack([a, dead, b])
    before = values.copy()
    p = prepare_load(values, sampling_rate_hz=FS, unit="N", params=PreprocessParams(remove_baseline=False))
    np.testing.assert_array_equal(values, before)  # not mutated
    assert p.channel_ok.tolist() == [True, False, True]
    np.testing.assert_allclose(p.load, a + b)
    assert any("channel 1" in w for w in p.warnings)
    info = p.channel_info()
    assert info["dead_channels"] == [1]
    json.dumps(info)


def test_all_channels_dead_or_all_nan_raise():
    with pytest.raises(SignalError, match="flat or dead"):
        prepare_load(np.full((500, 2), 3.0), sampling_rate_hz=FS, unit="au", params=PreprocessParams())
    with pytest.raises(SignalError, match="NaN"):
        prepare_load(np.full(500, np.nan), sampling_rate_hz=FS, unit="au", params=PreprocessParams())
    with pytest.raises(SignalError):
        prepare_load(np.zeros((0, 2)), sampling_rate_hz=FS, unit="au", params=PreprocessParams())


def test_short_nan_run_interpolated_and_marked_invalid_long_run_held_low():
    x = np.linspace(0.0, 99.0, 100)
    x = np.concatenate([x, x[::-1]] * 5)
    x[10:13] = np.nan  # 30 ms: interpolated
    x[300:340] = np.nan  # 400 ms: held at the channel's low level
    before = x.copy()
    p = prepare_load(x, sampling_rate_hz=FS, unit="au", params=PreprocessParams(remove_baseline=False))
    np.testing.assert_array_equal(np.isnan(x), np.isnan(before))
    np.testing.assert_allclose(p.load[10:13], [10.0, 11.0, 12.0])
    assert p.invalid[10:13].all() and p.invalid[300:340].all() and p.invalid.sum() == 43
    assert np.isfinite(p.load).all()
    assert p.load[300:340].max() <= np.nanpercentile(x, 1.0) + 1e-9


def test_saturation_flags_runs_at_the_channel_maximum():
    x = gait(level=500.0)
    x[x > 0] = 400.0 + np.arange(np.count_nonzero(x)) % 7  # varied stance
    x[520:530] = 900.0  # a plateau at the maximum
    x[700] = 899.0
    p = prepare_load(x, sampling_rate_hz=FS, unit="au", params=PreprocessParams())
    assert p.saturated[520:530].all() and p.saturated.sum() == 10
    assert not p.invalid.any()  # saturation clips peaks, not timing


def test_lowpass_is_zero_phase_and_validated():
    x = gait() + np.random.default_rng(1).normal(0, 20, 3000)
    p = prepare_load(x, sampling_rate_hz=FS, unit="au", params=PreprocessParams(lowpass_hz=10.0))
    raw = prepare_load(x, sampling_rate_hz=FS, unit="au", params=PreprocessParams())
    assert np.std(np.diff(p.load)) < 0.5 * np.std(np.diff(raw.load))
    # zero phase: the rising edge stays where it is (cross-correlation peak at lag 0)
    c = np.correlate(p.load - p.load.mean(), gait() - gait().mean(), "full")
    assert int(np.argmax(c)) - (len(x) - 1) == 0
    with pytest.raises(SignalError, match="Nyquist"):
        prepare_load(x, sampling_rate_hz=FS, unit="au", params=PreprocessParams(lowpass_hz=60.0))
    with pytest.raises(SignalError):
        PreprocessParams(baseline_quantile=1.5)


# --------------------------------------------------------------------------- colstats
# Streaming per-channel statistics used by prepare_load / sensor_baseline: they must equal
# numpy exactly, on the small (partition) path and on the large (bracketed subsample) path.
from gaitpf.analysis import colstats  # noqa: E402


def test_long_runs_hand_example():
    m = np.array([[1, 0], [1, 1], [1, 1], [0, 0], [1, 1], [1, 1], [0, 1], [1, 1]], dtype=bool)
    out = colstats.long_runs(m, 3)
    assert out[:, 0].tolist() == [True, True, True, False, False, False, False, False]
    assert out[:, 1].tolist() == [False, False, False, False, True, True, True, True]
    assert colstats.long_runs(m[:2], 3).sum() == 0


def test_order_statistics_and_percentiles_equal_numpy_on_large_columns():
    rng = np.random.default_rng(3)
    n = 4 * colstats.SUBSAMPLE + 123  # the bracketed (streaming) path
    v = rng.normal(size=(n, 5)).astype(np.float32)
    v[: n // 2, 0] = 0.0  # half the record at one value (ties at a bracket end)
    v[:, 1] = np.round(v[:, 1], 1)  # many ties everywhere
    v[:, 2] = 7.0  # constant
    v[n // 3 :, 3] = v[:, 3].max()  # a saturated tail
    q = [0.5, 99.5]
    np.testing.assert_array_equal(colstats.percentiles(v, q), np.percentile(v.astype(np.float64), q, axis=0))
    r = int(np.floor((n - 1) * 0.01))
    np.testing.assert_array_equal(colstats.order_statistics(v, [r])[0], np.partition(v, r, axis=0)[r])
    lo, hi = colstats.column_min_max(v)
    np.testing.assert_array_equal(lo, v.min(axis=0))
    np.testing.assert_array_equal(hi, v.max(axis=0))
    np.testing.assert_array_equal(colstats.count_where(v, np.less, v[7]), (v < v[7]).sum(axis=0))


def test_prepare_load_float32_equals_float64_and_finds_saturation():
    a = gait(n=40000, level=300.0) * np.linspace(1.0, 1.1, 40000)  # maximum at one sample only
    b = gait(n=40000, level=200.0) + 5.0
    b[3000:3010] = b.max() + 50.0  # 10 samples at the channel's maximum
    values = np.column_stack([a, b, np.full(len(a), 1.0)]).astype(np.float32)
    p32 = prepare_load(values, sampling_rate_hz=FS, unit="au", params=PreprocessParams())
    p64 = prepare_load(values.astype(np.float64), sampling_rate_hz=FS, unit="au", params=PreprocessParams())
    np.testing.assert_array_equal(p32.load, p64.load)
    assert p32.channel_ok.tolist() == [True, True, False]
    assert np.flatnonzero(p32.saturated).tolist() == list(range(3000, 3010))
