"""Chunked (bounded-memory) analysis equals whole-file analysis exactly.

Small chunks force dozens of chunk borders through stances; the stride tables (events,
times, labels, kinetics, centre of pressure), symmetry, summary and channel information
must come out identical value for value.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis import AnalysisParams, analyze
from gaitpf.analysis.kinetics import sensor_baseline
from gaitpf.analysis.preprocess import PreprocessParams
from gaitpf.batch.cache import flatten_summary
from gaitpf.batch.chunked import analyze_hdf5_chunked
from gaitpf.batch.chunkstats import ChannelStats, percentile_from_sorted, run_mask
from gaitpf.cli.cmd_simulate import write_simulation
from gaitpf.io import read_recording, write_recording
from gaitpf.model import QUALITY_GAP_BEFORE
from gaitpf.sim.gait_model import GaitParams, simulate_trial


def _assert_same(path: Path, chunk_samples: int, params: AnalysisParams | None = None, exact_cop: bool = True) -> tuple:
    """Everything identical; with many sensels the centre-of-pressure columns (BLAS matrix
    products inside kinetics, whose rounding depends on the matrix size) to 1e-12."""
    whole = analyze(read_recording(path), params)
    chunked, info = analyze_hdf5_chunked(path, params, chunk_samples=chunk_samples)
    cop = [] if exact_cop else [c for c in whole.strides if c.startswith("cop_")]
    exact = [c for c in whole.strides if c not in cop]
    pd.testing.assert_frame_equal(chunked.strides[exact], whole.strides[exact], check_exact=True)
    pd.testing.assert_frame_equal(chunked.strides[cop], whole.strides[cop], rtol=1e-12)
    if exact_cop:
        pd.testing.assert_frame_equal(chunked.symmetry, whole.symmetry, check_exact=True)
        assert chunked.summary == whole.summary
    else:
        pd.testing.assert_frame_equal(chunked.symmetry, whole.symmetry, rtol=1e-9)
        a, b = flatten_summary(chunked.summary), flatten_summary(whole.summary)
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == (pytest.approx(b[k], rel=1e-9) if isinstance(b[k], float) else b[k]), k
    assert chunked.channels == whole.channels
    assert chunked.warnings == whole.warnings
    for side in whole.curves:
        np.testing.assert_array_equal(chunked.curves[side]["mean"], whole.curves[side]["mean"])
    return whole, chunked, info


def test_simulated_calibrated_many_borders(tmp_path: Path) -> None:
    path = tmp_path / "sim.h5"
    write_simulation(path, GaitParams(seed=11, baseline_drift_n=20.0), duration_s=300.0)
    whole, _, info = _assert_same(path, chunk_samples=500)  # 60 borders in 5 minutes
    ic, to = whole.strides["ic_idx"].to_numpy(), whole.strides["to_idx"].to_numpy()
    crossing = (ic // 500) != (to // 500)
    assert crossing.sum() > 20  # many stances straddle a chunk border
    assert len(whole.strides) > 400 and info["duration_s"] == pytest.approx(300.0)
    assert "cop_path_length_mm" in whole.strides and whole.strides["cop_path_length_mm"].notna().any()


def test_uncalibrated_with_nans_dead_channel_saturation_and_gaps(tmp_path: Path) -> None:
    rec, _ = simulate_trial(GaitParams(seed=3, baseline_drift_n=30.0, n_sensors=16), duration_s=200.0)
    rng = np.random.default_rng(1)
    for foot in rec.feet.values():
        v = foot.values.astype(np.float32).copy()
        n = len(v)
        for start in rng.integers(100, n - 200, 12):  # short NaN runs: interpolated
            v[start:start + rng.integers(1, 8), rng.integers(0, 16)] = np.nan
        for start in rng.integers(100, n - 500, 3):  # long NaN runs: filled low, invalid
            v[start:start + 60, rng.integers(0, 16)] = np.nan
        v[:, 3] = 5.0  # dead channel
        v[:, 5] = np.minimum(v[:, 5], np.nanpercentile(v[:, 5], 97))  # saturating sensor
        foot.values = v
        q = np.zeros(n, np.uint8)
        q[rng.integers(1000, n - 1000, 3)] = QUALITY_GAP_BEFORE
        foot.quality = q
        foot.unit = "au"  # no body weight: the running load scale sets the thresholds
    path = tmp_path / "messy.h5"
    write_recording(path, rec.replace(body_mass_kg=None))
    whole, _, _ = _assert_same(path, chunk_samples=700)
    text = " ".join(whole.warnings)
    assert "flat/dead" in text and "missing (NaN)" in text and "saturated" in text
    assert (whole.strides["label"] == "gap").any()
    # the low-pass option is chunked with overlap: equal to rounding
    params = AnalysisParams(preprocess=PreprocessParams(lowpass_hz=15.0))
    a = analyze(read_recording(path), params).strides
    b = analyze_hdf5_chunked(path, params, chunk_samples=700)[0].strides
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def test_sensel_grid(tmp_path: Path) -> None:
    path = tmp_path / "grid.h5"
    write_simulation(path, GaitParams(seed=2, n_sensors=120), duration_s=90.0)
    whole, _, _ = _assert_same(path, chunk_samples=300, exact_cop=False)
    assert whole.strides["cop_path_length_mm"].notna().all()


# ---------------------------------------------------------------- the exact helpers
def test_percentiles_from_order_statistics_match_numpy() -> None:
    # hand value: 0.5th percentile of 1..201 is at virtual index 1.0 -> 2
    x = np.arange(1.0, 202.0)[:, None]
    st = ChannelStats(len(x), 1)
    st.update(x)
    st.finish()
    assert st.percentile(0.5)[0] == 2.0 and st.percentile(99.5)[0] == 200.0
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 199, 1000, 4321):
        v = rng.normal(size=(n, 5)) * rng.uniform(0.1, 1000, 5)
        v[rng.random((n, 5)) < 0.1] = np.nan
        v[:, 4] = np.nan
        st = ChannelStats(n, 5)
        for a in range(0, n, 97):
            st.update(v[a:a + 97])
        st.finish()
        for q in (0.5, 1.0, 99.5):
            with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
                expected = np.nanpercentile(v, q, axis=0)
            np.testing.assert_array_equal(st.percentile(q), expected)
        finite = np.where(np.isfinite(v), v, np.nan)
        np.testing.assert_array_equal(st.sensor_baseline(), sensor_baseline(finite))
        seen = st.count > 0
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
            np.testing.assert_array_equal(st.max[seen], np.nanmax(v, axis=0)[seen])
    lo = np.array([[1.0], [2.0]])
    hi = np.array([[9.0], [8.0]])
    assert percentile_from_sorted(lo, hi, np.array([4]), 50.0)[0] == pytest.approx(5.0)  # (2 + 8) / 2


def test_kept_order_statistics_exact_with_ties_drift_and_infinities() -> None:
    rng = np.random.default_rng(3)
    n = 20000
    v = np.empty((n, 4), np.float32)
    v[:, 0] = np.where(rng.random(n) < 0.6, 0.0, rng.integers(1, 50, n))   # ties at the floor
    v[:, 1] = np.linspace(1000.0, 0.0, n) + rng.normal(size=n)           # falling: every chunk has new lows
    v[:, 2] = np.linspace(0.0, 1000.0, n) + rng.normal(size=n)           # rising: new highs
    v[:, 3] = rng.normal(size=n)
    v[rng.random(n) < 0.01, 3] = np.inf
    v[rng.random(n) < 0.01, 3] = -np.inf
    v[rng.random(n) < 0.01, 3] = np.nan
    st = ChannelStats(n, 4, np.dtype(np.float32))
    for a in range(0, n, 256):
        st.update(v[a:a + 256])
    st.finish()
    finite = np.where(np.isfinite(v), v, np.nan)
    for c in range(4):
        col = np.sort(finite[:, c][np.isfinite(finite[:, c])])
        np.testing.assert_array_equal(st.lo[:, c], col[: st.k_lo])
        np.testing.assert_array_equal(st.hi[:, c], col[::-1][: st.k_hi])
    np.testing.assert_array_equal(st.count, np.isfinite(v).sum(axis=0))
    col_max = np.nanmax(finite, axis=0)
    np.testing.assert_array_equal(st.n_at_max, (finite == col_max).sum(axis=0))
    # channel 3 has missing values, channel 0 holds its maximum (49) many times
    assert st.may_saturate(5).tolist() == [True, False, False, True]


def test_run_mask_hand_example() -> None:
    m = np.array([1, 1, 0, 1, 1, 1, 0, 1], bool)
    assert run_mask(m, 3).tolist() == [False, False, False, True, True, True, False, False]
    m2 = np.stack([m, ~m], axis=1)
    assert run_mask(m2, 2)[:, 1].tolist() == [False] * 8
