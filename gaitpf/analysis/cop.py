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
from .segments import _mean_sd, _resample_matrix, _segments, _stride_bounds

__all__ = ["MIN_COP_CHANNELS", "BASELINE_PERCENTILE", "sensor_baseline", "cop_trajectory", "mean_cop_path"]

log = logging.getLogger(__name__)

#: Usable channels needed for COP and regional metrics.
MIN_COP_CHANNELS = 4
#: Percentile of each channel over the whole record taken as its unloaded level.
BASELINE_PERCENTILE = 1.0
#: Elements of the sensor-load block in one COP matrix product.
MATMUL_ELEMENTS = 1 << 15


def sensor_baseline(values: np.ndarray) -> np.ndarray:
    """Unloaded level of each sensor: its 1st percentile over the record (NaN-aware).

    Swing phases (≈ 40 % of walking) read the unloaded level, so a low percentile of
    the whole record estimates a sensor's constant offset. Calibrated insoles that read
    0 in swing get 0. All-NaN channels get 0.
    """
    v = np.asarray(values)
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    if v.ndim == 1:
        v = v[:, None]
    base = np.zeros(v.shape[1])
    if v.shape[0] == 0:
        return base
    # channels without NaN/inf (finite min and max): exact order statistic, streamed
    lo, hi = colstats.column_min_max(v)
    full = np.isfinite(lo) & np.isfinite(hi)
    kf = int(np.floor((v.shape[0] - 1) * BASELINE_PERCENTILE / 100.0))
    if full.all():
        base[:] = colstats.order_statistics(v, [kf])[0]
    elif full.any():
        base[full] = colstats.order_statistics(v[:, full], [kf])[0]
    part = np.flatnonzero(~full)
    if part.size:  # NaN as +inf, then the k-th smallest finite value of each column
        vp = v[:, part].astype(np.float64)
        finite = np.isfinite(vp)
        count = finite.sum(axis=0)
        k = np.clip(np.floor((count - 1) * BASELINE_PERCENTILE / 100.0).astype(np.int64), 0, None)
        srt = np.sort(np.where(finite, vp, np.inf), axis=0)
        base[part] = np.where(count > 0, srt[k, np.arange(part.size)], 0.0)
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


def _stance_reduce_idx(ic: np.ndarray, to: np.ndarray, n: int) -> np.ndarray | None:
    """``reduceat`` indices whose even segments are the stances ``[ic, to]`` of an n-sample array.

    The stances must be ordered and disjoint (``ic_i ≤ to_i < ic_{i+1}``); otherwise
    None (callers then gather the stance samples instead).
    """
    idx = np.empty(2 * ic.size, dtype=np.int64)
    idx[0::2] = ic
    idx[1::2] = to + 1
    if np.any(np.diff(idx) < 0) or (ic.size and (idx[-2] >= n or idx[-1] > n)):
        return None
    return idx[:-1] if idx[-1] == n else idx


def _weighted_sums(v: np.ndarray, base: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``w @ m`` for every sample, ``w = max(v − base, 0)`` (non-finite → 0), one pass in row blocks.

    ``m`` has zero rows for unusable channels. ``fmax`` maps NaN and −inf to 0; rows whose
    product is not finite (+inf readings) are recomputed with the exact loads.
    """
    n, k = v.shape
    rows = max(1, colstats.BLOCK_ELEMENTS // max(k, 1))
    mt = np.ascontiguousarray(m.T)   # (m.T @ w.T) is the faster BLAS shape for few output columns
    out_t = np.empty((m.shape[1], n))
    sub = max(1, MATMUL_ELEMENTS // max(k, 1))
    buf = np.empty((min(rows, n), k))  # reused: no page faults of a fresh block per step
    with np.errstate(invalid="ignore", over="ignore"):  # +inf rows: recomputed below
        _fill_products(v, base, mt, buf, out_t, rows, sub)
    out = out_t.T
    bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
    if bad.size:
        usable = np.any(m != 0.0, axis=1)
        out[bad] = _sensor_loads(v[bad], usable, base) @ m
    return out


def _fill_products(v: np.ndarray, base: np.ndarray, mt: np.ndarray, buf: np.ndarray, out_t: np.ndarray,
                   rows: int, sub: int) -> None:
    n, k = v.shape
    for sl in colstats.row_blocks(n, k, rows):
        w = buf[: sl.stop - sl.start]
        np.subtract(v[sl], base, out=w)
        np.fmax(w, 0.0, out=w)
        # small products stay single-threaded in BLAS (threads cost CPU, not save it, here)
        for j in range(0, w.shape[0], sub):
            stop = min(j + sub, w.shape[0])
            out_t[:, sl.start + j: sl.start + stop] = mt @ w[j:stop].T


def _cop_metrics(v: np.ndarray, strides: pd.DataFrame, layout: SensorLayout, usable: np.ndarray,
                 n_rows: int) -> dict[str, np.ndarray]:
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
    base = sensor_baseline(v)
    region = np.asarray(layout.region)
    zone = np.asarray(layout.ml_zone)
    # per-sample Σw·x, Σw·y, Σw and Σw of each region / ML zone: one matrix product
    groups = [usable & (region == r) for r in REGIONS]
    groups += [usable & (zone == "lateral"), usable & (zone == "medial")]
    m = np.column_stack([layout.x_mm, layout.y_mm, np.ones(v.shape[1]), *groups]).astype(np.float64)
    m[~usable] = 0.0
    idx = _stance_reduce_idx(ic, to, v.shape[0])
    if idx is not None:       # ordered disjoint stances: reduce the whole-record product
        sums = _weighted_sums(v, base, m)
        stance = slice(None, None, 2)
    else:                     # gather the stance samples (overlapping/unordered table)
        flat, off, _ = _segments(ic, to + 1)
        sums = _weighted_sums(v[flat], base, m)
        idx, stance = off, slice(None)
    mx, my, tot = sums[:, 0], sums[:, 1], sums[:, 2]
    pos = tot > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(pos, tot, 1.0)
        x = np.where(pos, mx / safe, np.nan)
        y = np.where(pos, my / safe, np.nan)
    # step lengths between consecutive samples (both loaded); pairs (j, j+1), j in [ic, to)
    step = np.hypot(np.diff(x), np.diff(y))
    step = np.append(np.where(np.isfinite(step), step, 0.0), 0.0)
    if stance.step == 2:
        step_idx = idx.copy()
        step_idx[1::2] -= 1               # segments [ic, to) of `step`
        path = np.add.reduceat(step, step_idx)[stance]
    else:                                 # gathered: zero the pairs leaving a stance
        step[off[1:] - 1] = 0.0
        path = np.add.reduceat(step, off)
    defined = np.add.reduceat(np.isfinite(x).astype(np.int64), idx)[stance] >= 2
    prog = (np.fmax.reduceat(y, idx) - np.fmin.reduceat(y, idx))[stance]
    ml = (np.fmax.reduceat(x, idx) - np.fmin.reduceat(x, idx))[stance]
    out["cop_path_length_mm"][rows] = np.where(defined, path, np.nan)
    out["cop_progression_mm"][rows] = np.where(defined, prog, np.nan)
    out["cop_ml_excursion_mm"][rows] = np.where(defined, ml, np.nan)
    # regional impulse shares (dt cancels in the ratios)
    per = np.add.reduceat(sums[:, 2:], idx, axis=0)[stance]    # (strides, 1 + regions + 2)
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
