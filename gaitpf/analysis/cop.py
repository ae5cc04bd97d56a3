"""Centre of pressure ("gait line") and regional load of each stance.

Needs a sensor layout (``x_mm``, ``y_mm``, region, medial/lateral zone) and at least
:data:`MIN_COP_CHANNELS` usable channels. Per-sensor loads are the readings minus each
sensor's unloaded level (:func:`sensor_baseline`), clipped at 0; the COP is the
load-weighted mean sensor position. Computed from one blocked matrix product per foot
(Σw·x, Σw·y, Σw and the regional sums per sample) reduced over stances.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SignalError
from ..model import REGIONS, SensorLayout
from . import colstats
from .segments import _mean_sd, _ordered, _resample_matrix, _segments, _stride_bounds

__all__ = [
    "MIN_COP_CHANNELS", "BASELINE_PERCENTILE", "baseline_rank", "nonfinite_baseline", "sensor_baseline",
    "cop_trajectory", "mean_cop_path",
]

log = logging.getLogger(__name__)

#: Usable channels needed for COP and regional metrics.
MIN_COP_CHANNELS = 4
#: Percentile of each channel over the whole record taken as its unloaded level.
BASELINE_PERCENTILE = 1.0
#: Stance samples processed together in the COP metrics (whole stances; temporaries stay in cache).
STANCE_GROUP_SAMPLES = 16384
#: Elements of the sensor-load block in one COP matrix product (256 kB of float64: stays in cache,
#: and the product stays below OpenBLAS's threading threshold: threads cost CPU, not save it, here).
MATMUL_ELEMENTS = 1 << 15


def baseline_rank(n_finite: np.ndarray | int) -> np.ndarray | int:
    """0-based rank of the sensor baseline among ``n_finite`` finite samples: ``⌊(n − 1)·p/100⌋``."""
    if np.ndim(n_finite) == 0:
        return max(int(np.floor((int(n_finite) - 1) * BASELINE_PERCENTILE / 100.0)), 0)
    n = np.asarray(n_finite)
    return np.clip(np.floor((n - 1) * BASELINE_PERCENTILE / 100.0).astype(np.int64), 0, None)


def nonfinite_baseline(vp: np.ndarray) -> np.ndarray:
    """:func:`sensor_baseline` of columns holding NaN/inf: the rank-th smallest finite value (0 if none)."""
    vp = np.asarray(vp).astype(np.float64)
    finite = np.isfinite(vp)
    count = finite.sum(axis=0)
    k = baseline_rank(count)
    srt = np.sort(np.where(finite, vp, np.inf), axis=0)
    return np.where(count > 0, srt[np.minimum(k, max(vp.shape[0] - 1, 0)), np.arange(vp.shape[1])], 0.0)


def sensor_baseline(values: np.ndarray) -> np.ndarray:
    """Unloaded level of each sensor: its 1st percentile over the record (NaN-aware).

    Swing phases (≈ 40 % of walking) read the unloaded level, so a low percentile of
    the whole record estimates a sensor's constant offset. Calibrated insoles that read
    0 in swing get 0. All-NaN channels get 0. Precisely: the ``⌊(c − 1)·0.01⌋``-th
    smallest (0-based) of the ``c`` finite samples of the channel
    (:func:`baseline_rank`); :func:`gaitpf.analysis.preprocess.prepare_load` computes the
    same values in its channel-statistics pass (``PreparedLoad.sensor_baseline``).
    """
    v = np.asarray(values)
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    if v.ndim == 1:
        v = v[:, None]
    base = np.zeros(v.shape[1])
    if v.shape[0] == 0:
        return base
    # channels without NaN/inf: exact order statistic, streamed (one pass)
    prof = colstats.column_profile(v, [baseline_rank(v.shape[0])])
    base[prof.finite] = prof.values[0, prof.finite]
    part = np.flatnonzero(~prof.finite)
    if part.size:
        base[part] = nonfinite_baseline(v[:, part])
    return base


def _sensor_loads(values: np.ndarray, channel_ok: np.ndarray | None, baseline: np.ndarray | None) -> np.ndarray:
    """Baseline-free, non-negative per-sensor loads (float64); unusable channels/NaN → 0."""
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[:, None]
    base = np.zeros(v.shape[1]) if baseline is None else np.asarray(baseline, dtype=float)
    w = np.subtract(v, base, dtype=np.float64)
    np.clip(w, 0.0, None, out=w)
    np.copyto(w, 0.0, where=~np.isfinite(w))
    if channel_ok is not None:
        w[:, ~np.asarray(channel_ok, dtype=bool)] = 0.0
    return w


def _usable_channels(layout: SensorLayout | None, channel_ok: Any, k: int) -> np.ndarray | None:
    if layout is None or layout.n_sensors != k:
        return None
    ok = np.ones(k, dtype=bool) if channel_ok is None else np.asarray(channel_ok, dtype=bool).copy()
    if ok.shape != (k,):
        raise SignalError(f"channel_ok has shape {ok.shape}, expected ({k},) for layout {layout.layout_id!r}")
    ok &= np.isfinite(layout.x_mm) & np.isfinite(layout.y_mm)
    return ok if int(ok.sum()) >= MIN_COP_CHANNELS else None


def _cop_from_loads(w: np.ndarray, layout: SensorLayout) -> tuple[np.ndarray, np.ndarray]:
    # one matrix product gives Σw·x, Σw·y and Σw per sample (ones column; exact 0 for no load)
    m = np.column_stack([layout.x_mm, layout.y_mm, np.ones(w.shape[1])])
    mx, my, total = (w @ m).T
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(total > 0, mx / np.where(total > 0, total, 1.0), np.nan)
        y = np.where(total > 0, my / np.where(total > 0, total, 1.0), np.nan)
    return x, y


# --------------------------------------------------------------------------- public
def cop_trajectory(
    values: np.ndarray,
    *,
    layout: SensorLayout,
    channel_ok: np.ndarray | None,
    start_idx: int,
    stop_idx: int,
    baseline: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Centre of pressure of samples ``start_idx`` … ``stop_idx − 1`` (half-open).

    ``COP_x(t) = Σ_k w_k(t)·x_k / Σ_k w_k(t)`` (same for y) over usable channels, with
    ``w_k = max(value_k − baseline_k, 0)``. Samples without load give NaN.

    Parameters
    ----------
    values : ndarray, shape (n_samples, n_sensors)
        Raw per-sensor readings.
    layout : SensorLayout
        Sensor positions (mm; x medial→lateral, y heel→toe).
    channel_ok : ndarray of bool, shape (n_sensors,), or None
        Channels to use (None = all).
    start_idx, stop_idx : int
        Sample range (Python slice semantics, clipped to the signal).
    baseline : ndarray, shape (n_sensors,), optional
        Unloaded level of each sensor (e.g. :func:`sensor_baseline`); default 0.

    Returns
    -------
    x_mm, y_mm : ndarray, shape (stop_idx − start_idx,)
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if layout.n_sensors != v.shape[1]:
        raise SignalError(
            f"layout {layout.layout_id!r} has {layout.n_sensors} sensors but values have {v.shape[1]} columns"
        )
    sl = v[slice(int(start_idx), int(stop_idx))]
    w = _sensor_loads(sl, channel_ok, baseline)
    return _cop_from_loads(w, layout)


def mean_cop_path(
    values: np.ndarray,
    *,
    strides: pd.DataFrame,
    layout: SensorLayout | None,
    channel_ok: np.ndarray | None,
    n_points: int = 101,
) -> dict[str, Any]:
    """Mean gait line: COP x/y resampled to 0…100 % of stance, averaged over strides.

    Returns
    -------
    dict
        ``x_mm``, ``y_mm`` (mean, ndarray n_points), ``x_sd_mm``, ``y_sd_mm`` and ``n``
        (strides whose COP is defined at every point). Without a usable layout
        (fewer than :data:`MIN_COP_CHANNELS` channels) or strides: NaN arrays, n = 0.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    usable = _usable_channels(layout, channel_ok, v.shape[1])
    if usable is None or len(strides) == 0:
        empty = _mean_sd(np.empty((0, n_points)), n_points)
        return {"x_mm": empty["mean"], "y_mm": empty["mean"].copy(), "x_sd_mm": empty["sd"],
                "y_sd_mm": empty["sd"].copy(), "n": 0}
    x_mm, y_mm = cop_trajectory(v, layout=layout, channel_ok=usable, start_idx=0, stop_idx=v.shape[0],
                                baseline=sensor_baseline(v))
    ic, to, ok = _stride_bounds(strides, v.shape[0])
    ic, to = ic[ok], to[ok]
    i0, i1, frac = _resample_matrix(v.shape[0], ic, to, n_points)
    cx = x_mm[i0] * (1.0 - frac) + x_mm[i1] * frac
    cy = y_mm[i0] * (1.0 - frac) + y_mm[i1] * frac
    good = np.isfinite(cx).all(axis=1) & np.isfinite(cy).all(axis=1)
    mx, my = _mean_sd(cx[good], n_points), _mean_sd(cy[good], n_points)
    return {"x_mm": mx["mean"], "y_mm": my["mean"], "x_sd_mm": mx["sd"], "y_sd_mm": my["sd"], "n": mx["n"]}


def _weighted_sums(v: np.ndarray, base: np.ndarray, m: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``w @ m`` for every sample (or the samples ``rows``), ``w = max(v − base, 0)`` (non-finite → 0).

    One pass in row blocks; with ``rows`` each block gathers its rows (no copy of the
    whole selection).

    ``m`` has zero rows for unusable channels. Each block of ``MATMUL_ELEMENTS`` loads is
    built in a reused float64 buffer (it stays in cache) and multiplied at once. When
    every ``base`` value is a value of ``v``'s dtype (always for :func:`sensor_baseline`,
    an order statistic of ``v``), ``w = fmax(v, base) − base`` takes the maximum in
    ``v``'s own dtype, fused with the conversion: ``v ≥ base`` gives ``v − base`` and
    anything else (smaller, NaN, −inf) exactly 0, the same bits as ``fmax(v − base, 0)``.
    Rows whose product is not finite (+inf readings) are recomputed with the exact loads.

    Returns
    -------
    ndarray, shape (n, m.shape[1])
        A transposed view of a C-ordered (m.shape[1], n) array (each column contiguous).
    """
    k = v.shape[1]
    n = v.shape[0] if rows is None else rows.size
    step = max(1, MATMUL_ELEMENTS // max(k, 1))
    mt = np.ascontiguousarray(m.T)   # (m.T @ w.T) is the faster BLAS shape for few output columns
    out_t = np.empty((m.shape[1], n))
    low = base.astype(v.dtype)
    same_dtype = bool(np.array_equal(low.astype(np.float64), base))
    zero_base = not np.any(base)  # calibrated insoles: w = fmax(v, 0), nothing to subtract
    buf = np.empty((min(step, n), k))  # reused: no page faults of a fresh block per step
    with np.errstate(invalid="ignore", over="ignore"):  # +inf rows: recomputed below
        for r0 in range(0, n, step):
            r1 = min(r0 + step, n)
            w = buf[: r1 - r0]
            blk = v[r0:r1] if rows is None else np.take(v, rows[r0:r1], axis=0)
            if same_dtype:
                np.fmax(blk, low, out=w)
                if not zero_base:
                    w -= base
            else:
                np.subtract(blk, base, out=w)
                np.fmax(w, 0.0, out=w)
            out_t[:, r0:r1] = mt @ w.T  # (matmul's out= with this strided target is not BLAS)
        bad = np.flatnonzero(~np.isfinite(out_t.sum(axis=0)))  # any non-finite entry of a row
    out = out_t.T
    if bad.size:
        usable = np.any(m != 0.0, axis=1)
        out[bad] = _sensor_loads(v[bad] if rows is None else v[rows[bad]], usable, base) @ m
    return out


def _stance_cop(sums: np.ndarray, off: np.ndarray, n_pairs: np.ndarray, ordered: bool):
    """Per-stance COP path, progression, ML excursion, "defined" flag and regional sums.

    ``sums`` holds the per-sample products of consecutive stances (stance i starts at
    ``off[i]`` and has ``n_pairs[i] + 1`` samples).
    """
    mx, my, tot = sums[:, 0], sums[:, 1], sums[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        # tot = Σw ≥ 0 is 0 only when every w is 0, and then Σw·x = 0 too: 0/0 = NaN (no load)
        x = mx / tot
        y = my / tot
    # step lengths between consecutive samples (both loaded); pairs (j, j+1), j in [ic, to)
    step = np.hypot(np.diff(x), np.diff(y))
    step = np.append(np.where(np.isfinite(step), step, 0.0), 0.0)
    if ordered:               # the stance's own pairs (segments [off, off + n_pairs) of `step`)
        step_idx = np.empty(2 * off.size, dtype=np.int64)
        step_idx[0::2] = off
        step_idx[1::2] = off + n_pairs
        path = np.add.reduceat(step, step_idx)[0::2]
    else:                     # overlapping/unordered table: zero the pairs leaving a stance
        step[off[1:] - 1] = 0.0
        path = np.add.reduceat(step, off)
    defined = np.add.reduceat(np.isfinite(x).astype(np.int64), off) >= 2
    prog = np.fmax.reduceat(y, off) - np.fmin.reduceat(y, off)
    ml = np.fmax.reduceat(x, off) - np.fmin.reduceat(x, off)
    per = np.add.reduceat(sums[:, 2:], off, axis=0)    # (stances, 1 + regions + 2)
    return path, prog, ml, defined, per


def _cop_metrics(v: np.ndarray, strides: pd.DataFrame, layout: SensorLayout, usable: np.ndarray,
                 n_rows: int, base: np.ndarray | None = None) -> dict[str, np.ndarray]:
    names = ["cop_path_length_mm", "cop_progression_mm", "cop_ml_excursion_mm",
             *(f"{r}_load_pct" for r in REGIONS), "ml_index"]
    out = {name: np.full(n_rows, np.nan) for name in names}
    if n_rows == 0:
        return out
    ic, to, ok = _stride_bounds(strides, v.shape[0])
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return out
    ic, to = ic[ok], to[ok]
    if base is None:
        base = sensor_baseline(v)
    region = np.asarray(layout.region)
    zone = np.asarray(layout.ml_zone)
    # per-sample Σw·x, Σw·y, Σw and Σw of each region / ML zone: one matrix product
    groups = [usable & (region == r) for r in REGIONS]
    groups += [usable & (zone == "lateral"), usable & (zone == "medial")]
    m = np.column_stack([layout.x_mm, layout.y_mm, np.ones(v.shape[1]), *groups]).astype(np.float64)
    m[~usable] = 0.0
    # only the stance samples, a group of whole stances at a time (temporaries stay in cache)
    flat, off, _ = _segments(ic, to + 1)
    ordered = _ordered(ic, to)
    k = ic.size
    path, prog, ml = np.empty(k), np.empty(k), np.empty(k)
    defined = np.empty(k, dtype=bool)
    per = np.empty((k, m.shape[1] - 2))     # per-stance Σw, Σw of each region / ML zone
    cuts = np.unique(np.searchsorted(off, np.arange(0, flat.size, STANCE_GROUP_SAMPLES), side="right") - 1)
    for s0, s1 in zip(cuts, np.append(cuts[1:], k)):
        r0, r1 = off[s0], (off[s1] if s1 < k else flat.size)
        o = off[s0:s1] - r0
        sums = _weighted_sums(v, base, m, rows=flat[r0:r1])
        (path[s0:s1], prog[s0:s1], ml[s0:s1], defined[s0:s1],
         per[s0:s1]) = _stance_cop(sums, o, (to - ic)[s0:s1], ordered)
    out["cop_path_length_mm"][rows] = np.where(defined, path, np.nan)
    out["cop_progression_mm"][rows] = np.where(defined, prog, np.nan)
    out["cop_ml_excursion_mm"][rows] = np.where(defined, ml, np.nan)
    # regional impulse shares (dt cancels in the ratios)
    total = per[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, r in enumerate(REGIONS):
            if groups[j].any():
                share = 100.0 * per[:, 1 + j] / total
                out[f"{r}_load_pct"][rows] = np.where(total > 0, share, np.nan)
        if groups[-2].any() and groups[-1].any():
            lat, med = per[:, -2], per[:, -1]
            s = lat + med
            out["ml_index"][rows] = np.where(s > 0, (lat - med) / np.where(s > 0, s, 1.0), np.nan)
    return out
