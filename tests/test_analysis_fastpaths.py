"""The fast paths of the analysis core give exactly the values of the straightforward code.

Each optimised helper is checked against the plain numpy/pandas computation it replaces
(hand-sized examples first, then randomised inputs with ties, NaN/inf, odd block sizes
and short signals), and end to end through ``analyze`` on a simulated recording.
"""
from __future__ import annotations

import dataclasses
import os
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis import analyze, baseline, colstats, cop, kinetics, preprocess
from gaitpf.analysis.segments import _argmax_in_place, _seg_argmax, _segments
from gaitpf.errors import SignalError
from gaitpf.sim.gait_model import GaitParams, simulate_trial


# --------------------------------------------------------------------------- colstats
def test_column_profile_hand_example() -> None:
    v = np.array([[3.0, 0.0], [1.0, 0.0], [2.0, 5.0], [3.0, 0.0]])
    p = colstats.column_profile(v, [0, 3, 1])
    assert p.values[:, 0].tolist() == [1.0, 3.0, 2.0]
    assert p.values[:, 1].tolist() == [0.0, 5.0, 0.0]
    assert p.n_at_max.tolist() == [2, 1]
    assert p.min.tolist() == [1.0, 0.0] and p.max.tolist() == [3.0, 5.0]
    assert p.finite.all()


def _check_profile(v: np.ndarray, ranks: list[int]) -> None:
    p = colstats.column_profile(v, ranks)
    finite = np.isfinite(v).all(axis=0)
    np.testing.assert_array_equal(p.finite, finite)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(p.max, v.max(axis=0))
        np.testing.assert_array_equal(p.min, v.min(axis=0))
    for c in np.flatnonzero(finite):
        col = v[:, c]
        np.testing.assert_array_equal(p.values[:, c], np.partition(col, ranks)[ranks])
        assert p.n_at_max[c] == np.count_nonzero(col == col.max())
    assert np.isnan(p.values[:, ~finite]).all()


@pytest.mark.parametrize("n", [7, 4 * colstats.SUBSAMPLE + 321])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_profile_equals_partition(n: int, dtype: type) -> None:
    rng = np.random.default_rng(n)
    v = rng.normal(size=(n, 10)).astype(dtype)
    v[: n // 2, 0] = 0.0                                       # half the record tied at the minimum
    v[:, 1] = np.round(v[:, 1], 1)                             # ties everywhere
    v[:, 2] = 7.0                                              # constant
    v[n // 3:, 3] = v[:, 3].max()                              # saturated tail
    v[:, 4] = np.where(rng.random(n) < 0.996, 0.0, 1.0)        # ties across the 99.5th percentile
    v[:, 5] = np.where(rng.random(n) < 0.012, -1.0, 5.0)       # ties across the 1st percentile
    v[0, 6] = np.nan
    v[-1, 7] = np.inf
    v[2, 8] = -np.inf
    lo = int(np.floor((n - 1) * 0.005))
    hi = int(np.floor((n - 1) * 0.995))
    ranks = sorted({lo, min(lo + 1, n - 1), int((n - 1) * 0.01), hi, min(hi + 1, n - 1)})
    _check_profile(v, ranks)
    _check_profile(np.asfortranarray(v), ranks)                # non-contiguous row blocks
    _check_profile(v[::2], [0, v[::2].shape[0] - 1])


def test_counts_do_not_wrap_around_on_one_column() -> None:
    # 1000 rows of one column: the uint8 block counts must not overflow (1000 % 256 = 232)
    for n, k in ((1000, 1), (2047, 1), (300, 3), (5000, 16)):
        v = np.zeros((n, k))
        assert colstats.count_where(v, np.equal, np.zeros(k)).tolist() == [n] * k


def test_percentiles_still_equal_numpy() -> None:
    rng = np.random.default_rng(5)
    v = (rng.normal(size=(4 * colstats.SUBSAMPLE + 11, 4)) * [1, 10, 100, 1000]).astype(np.float32)
    q = [0.5, 1.0, 99.5]
    np.testing.assert_array_equal(colstats.percentiles(v, q), np.percentile(v.astype(np.float64), q, axis=0))


# --------------------------------------------------------------------------- preprocess
def _reference_envelope(x, *, sampling_rate_hz, block_ms, window_s, quantile):
    """The straightforward lower envelope (padded nanmin, pandas rolling, np.interp)."""
    n = len(x)
    block = max(1, int(round(block_ms * sampling_rate_hz / 1000.0)))
    n_blocks = math.ceil(n / block)
    padded = np.full(n_blocks * block, np.nan)
    padded[:n] = x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mins = np.nanmin(padded.reshape(n_blocks, block), axis=1)
    win = max(1, int(round(window_s * 1000.0 / block_ms)))
    series = pd.Series(mins)
    upper = series.rolling(win, center=True, min_periods=1).quantile(quantile)
    swing = series.where(series <= upper)
    env = swing.rolling(win, center=True, min_periods=1).median().interpolate(limit_direction="both")
    env = env.fillna(series.min()).to_numpy()
    centres = np.arange(n_blocks) * block + 0.5 * (min(block, n) - 1)
    return np.interp(np.arange(n), centres, env)


def test_lower_envelope_equals_reference_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    cases = [(n, fs, bms, ws, q) for n in (1, 2, 9, 10, 11, 25, 99) for fs, bms, ws, q in
             ((100.0, 100.0, 0.5, 0.3), (128.0, 100.0, 0.5, 0.77), (100.0, 250.0, 2.0, 0.5))]
    for _ in range(40):
        cases.append((int(rng.integers(50, 20000)), float(rng.choice([50.0, 100.0, 128.0, 1000.0])),
                      float(rng.choice([20.0, 100.0, 250.0])), float(rng.choice([2.0, 9.9, 10.0, 30.0])),
                      float(rng.choice([0.0, 0.3, 0.5, 1.0]))))
    for i, (n, fs, bms, ws, q) in enumerate(cases):
        x = rng.normal(size=n).cumsum() + 30.0 * rng.random(n)
        if i % 3 == 0:
            x = np.round(x)                       # ties in the rolling windows
        if i % 7 == 0:
            x[rng.random(n) < 0.02] = np.nan      # missing samples, some all-NaN blocks
        kw = dict(sampling_rate_hz=fs, block_ms=bms, window_s=ws, quantile=q)
        np.testing.assert_array_equal(preprocess.lower_envelope(x, **kw), _reference_envelope(x, **kw),
                                      err_msg=str((n, kw)))


def test_rolling_quantile_and_block_interp_hand_values() -> None:
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 0.0, 8.0, 7.0, 6.0, 2.5, 1.5])
    ref = pd.Series(x).rolling(4, center=True, min_periods=1).quantile(0.5).to_numpy()
    np.testing.assert_array_equal(baseline._rolling_quantile(x, 4, 0.5), ref)
    assert ref[5] == 2.5  # window x[3:7] = 2, 3, 9, 0 -> sorted 0 2 3 9 -> index 1.5 -> 2 + 0.5·(3 − 2)
    # centres at 1.5, 5.5 (block 4 of 8 samples): held, then linear, then held
    out = baseline._interp_blocks(8, 4, np.array([0.0, 8.0]))
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0, 3.0, 5.0, 7.0, 8.0, 8.0])
    np.testing.assert_array_equal(out, np.interp(np.arange(8), [1.5, 5.5], [0.0, 8.0]))


def test_prepare_load_total_and_sensor_baseline_match_plain_numpy() -> None:
    rng = np.random.default_rng(2)
    n = 4 * colstats.SUBSAMPLE + 50
    v = (np.abs(rng.normal(size=(n, 40))) * rng.uniform(1, 500, 40) + rng.uniform(0, 20, 40)).astype(np.float32)
    v[:, 3] = 2.0                      # dead channel: excluded from the sum
    v[:n // 2, 5] = 0.0
    p = preprocess.prepare_load(v, sampling_rate_hz=100.0, unit="au",
                                params=preprocess.PreprocessParams(remove_baseline=False))
    used = v[:, p.channel_ok].astype(np.float64)
    np.testing.assert_array_equal(p.load, used.sum(axis=1))
    np.testing.assert_array_equal(p.sensor_baseline, cop.sensor_baseline(v))
    lo, hi = np.percentile(v.astype(np.float64), [0.5, 99.5], axis=0)
    assert p.channel_ok.tolist() == ((hi - lo) >= 0.01 * (hi - lo).max()).tolist()
    # with NaN runs the baseline of the affected channel is still cop.sensor_baseline's
    w = v.astype(np.float64)
    w[100:130, 7] = np.nan
    w[500, 9] = np.inf
    p2 = preprocess.prepare_load(w, sampling_rate_hz=100.0, unit="au", params=preprocess.PreprocessParams())
    np.testing.assert_array_equal(p2.sensor_baseline, cop.sensor_baseline(w))


# --------------------------------------------------------------------------- kinetics
def test_argmax_in_place_equals_gathered_segments() -> None:
    rng = np.random.default_rng(9)
    x = np.round(rng.normal(size=400), 1)
    x[57] = np.nan
    starts = np.sort(rng.choice(np.arange(0, 390, 5), 40, replace=False))
    stops = starts + rng.integers(1, 5, starts.size)
    stops[3] = starts[4]  # adjacent segments (no gap between them)
    bounds = np.stack([starts, stops], axis=1).ravel()
    val, pos = _argmax_in_place(x, bounds)
    flat, off, seg = _segments(starts, stops)
    ref_val, ref_pos = _seg_argmax(x[flat], off, seg)
    np.testing.assert_array_equal(val[0::2], ref_val)
    np.testing.assert_array_equal(pos[0::2], np.where(ref_pos >= 0, flat[np.maximum(ref_pos, 0)], -1))


def test_kinetics_in_place_equals_gathered_path_and_given_baseline() -> None:
    rec, _ = simulate_trial(GaitParams(seed=8, baseline_drift_n=30.0), duration_s=40.0)
    res = analyze(rec)
    foot = rec.feet["left"]
    prep = preprocess.prepare_load(foot.values, sampling_rate_hz=rec.sampling_rate_hz, unit=foot.unit,
                                   params=preprocess.PreprocessParams())
    rows = res.strides[res.strides["side"] == "left"][["ic_idx", "to_idx"]]
    kw = dict(sampling_rate_hz=rec.sampling_rate_hz, unit=foot.unit, layout=foot.layout,
              channel_ok=prep.channel_ok, body_weight_n=None)
    fast = kinetics.stride_kinetics(foot.values, prep.load, strides=rows, **kw)
    given = kinetics.stride_kinetics(foot.values, prep.load, strides=rows, sensor_baseline=prep.sensor_baseline, **kw)
    pd.testing.assert_frame_equal(fast, given)
    # an unordered table takes the gathered path: same values row for row
    shuffled = rows.iloc[::-1]
    slow = kinetics.stride_kinetics(foot.values, prep.load, strides=shuffled, **kw).loc[rows.index]
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-12)
    exact = [c for c in fast.columns if not c.startswith("cop_")]
    pd.testing.assert_frame_equal(fast[exact], slow[exact])
    assert fast["cop_path_length_mm"].notna().all()
    with pytest.raises(SignalError):
        kinetics.stride_kinetics(foot.values, prep.load, strides=rows, sensor_baseline=np.zeros(3), **kw)


def test_analyze_float32_and_float64_inputs_agree() -> None:
    rec, _ = simulate_trial(GaitParams(seed=4, adc_step_n=1.0), duration_s=40.0)
    rec64 = rec.replace(feet={s: dataclasses.replace(f, values=f.values.astype(np.float64))
                              for s, f in rec.feet.items()})
    a, b = analyze(rec), analyze(rec64)
    pd.testing.assert_frame_equal(a.strides, b.strides)
    pd.testing.assert_frame_equal(a.symmetry, b.symmetry)


def test_feet_in_threads_give_the_sequential_result() -> None:
    rec, _ = simulate_trial(GaitParams(seed=5), duration_s=40.0)
    one, two = analyze(rec, n_threads=1), analyze(rec, n_threads=2)
    pd.testing.assert_frame_equal(one.strides, two.strides)
    pd.testing.assert_frame_equal(one.symmetry, two.symmetry)
    assert one.summary == two.summary and one.warnings == two.warnings
    for side in ("left", "right"):
        np.testing.assert_array_equal(one.curves[side]["mean"], two.curves[side]["mean"])


def test_feet_in_threads_raise_the_first_failing_side() -> None:
    rec, _ = simulate_trial(GaitParams(seed=5), duration_s=20.0)
    dead = {s: dataclasses.replace(f, values=np.full_like(f.values, np.nan)) for s, f in rec.feet.items()}
    with pytest.raises(SignalError, match="left foot"):
        analyze(rec.replace(feet=dead), n_threads=2)
    only_right = {**rec.feet, "right": dead["right"]}
    with pytest.raises(SignalError, match="right foot"):
        analyze(rec.replace(feet=only_right), n_threads=2)


def test_default_threads_only_for_long_recordings(monkeypatch: pytest.MonkeyPatch) -> None:
    import gaitpf.analysis.pipeline as A

    assert 1 <= A._available_cpus() <= (os.cpu_count() or 1)
    rec, _ = simulate_trial(GaitParams(seed=5), duration_s=20.0)
    assert A._default_threads(rec) == 1
    monkeypatch.setattr(A, "THREADS_MIN_VALUES", rec.feet["left"].values.size)
    monkeypatch.setattr(A, "_available_cpus", lambda: 8)
    assert A._default_threads(rec) == 2      # one per foot
    monkeypatch.setattr(A, "_available_cpus", lambda: 1)
    assert A._default_threads(rec) == 1


def test_mean_stance_curve_in_stride_blocks_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    from gaitpf.analysis.segments import _mean_sd, _resample_matrix

    rng = np.random.default_rng(8)
    load = rng.normal(size=5000).cumsum()
    ic = np.sort(rng.choice(4800, 300, replace=False))
    strides = pd.DataFrame({"ic_idx": ic, "to_idx": ic + rng.integers(0, 150, ic.size)})
    strides.loc[5, "to_idx"] = strides.loc[5, "ic_idx"]            # too short: left out
    load[ic[9] + 1] = np.nan                                        # NaN inside a stance: left out
    monkeypatch.setattr(kinetics, "CURVE_BLOCK_STRIDES", 7)
    got = kinetics.mean_stance_curve(load, strides=strides)
    # the plain computation on all strides at once
    ok = (strides["to_idx"] - strides["ic_idx"] + 1 >= kinetics.MIN_STANCE_SAMPLES).to_numpy()
    i0, i1, frac = _resample_matrix(load.size, ic[ok], strides["to_idx"].to_numpy()[ok], 101)
    ref = _mean_sd(load[i0] * (1.0 - frac) + load[i1] * frac, 101)
    assert got["n"] == ref["n"] < ok.sum()        # the NaN stances are left out
    np.testing.assert_array_equal(got["mean"], ref["mean"])
    np.testing.assert_array_equal(got["sd"], ref["sd"])


def _reference_load_scale(load, *, sampling_rate_hz, params):
    """The plain pandas/numpy version of events.load_scale."""
    n = len(load)
    block = max(1, int(round(params.scale_block_ms * sampling_rate_hz / 1000.0)))
    n_blocks = math.ceil(n / block)
    padded = np.full(n_blocks * block, np.nan)
    padded[:n] = load
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        maxima = np.nanmax(padded.reshape(n_blocks, block), axis=1)
    maxima = np.where(np.isfinite(maxima), maxima, 0.0)
    win = max(1, int(round(params.scale_window_s * 1000.0 / params.scale_block_ms)))
    env = pd.Series(maxima).rolling(win, center=True, min_periods=1).quantile(params.scale_quantile).to_numpy()
    env = np.maximum(env, params.min_scale_fraction * float(np.quantile(maxima, params.scale_quantile)))
    centres = np.arange(n_blocks) * block + 0.5 * (min(block, n) - 1)
    return np.interp(np.arange(n), centres, env)


def test_load_scale_equals_reference_bit_for_bit() -> None:
    from gaitpf.analysis import events

    rng = np.random.default_rng(9)
    p = events.EventParams()
    for n, fs in ((7, 100.0), (95, 100.0), (2999, 100.0), (40_001, 300.0), (250_000, 100.0)):
        x = np.abs(rng.normal(size=n)).cumsum() % 700.0
        x[rng.random(n) < 0.02] = np.nan
        if n > 500:
            x[100:130] = np.nan                      # an all-NaN block
        got = events.load_scale(x, sampling_rate_hz=fs, params=p)
        np.testing.assert_array_equal(got, _reference_load_scale(x, sampling_rate_hz=fs, params=p), err_msg=f"n={n}")
