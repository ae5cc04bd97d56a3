"""Per-stride kinetic metrics: peak forces, impulse, loading rate, centre of pressure.

All metrics are computed over the stance phase of each stride (``ic_idx`` …
``to_idx``, both inclusive) of one foot, vectorized over strides: every stance is
gathered into one flat array and reduced with ``ufunc.reduceat`` (no per-sample or
per-stride Python loop). Inputs are never mutated.

Column names carry the unit of the load signal: ``_n`` (newton), ``_kpa``
(kilopascal) or ``_au`` (arbitrary units), e.g. ``peak_force_1_n``,
``impulse_kpa_s``, ``loading_rate_au_per_s``. With a body weight (newton data
only), ``%BW`` variants are added (``peak_force_1_pct_bw`` …).

Centre-of-pressure (COP, "gait line") and regional metrics need a sensor layout and
at least :data:`MIN_COP_CHANNELS` usable channels; otherwise their columns are absent.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SignalError
from ..model import REGIONS, SensorLayout
from . import colstats

__all__ = [
    "UNIT_SUFFIX",
    "MIN_COP_CHANNELS",
    "MIN_STANCE_SAMPLES",
    "stride_kinetics",
    "mean_stance_curve",
    "cop_trajectory",
    "mean_cop_path",
    "sensor_baseline",
]

log = logging.getLogger(__name__)

#: Load unit → column-name suffix.
UNIT_SUFFIX: dict[str, str] = {"N": "n", "kPa": "kpa", "au": "au"}
#: Usable channels needed for COP and regional metrics.
MIN_COP_CHANNELS = 4
#: Shortest stance (samples) that gets kinetic metrics.
MIN_STANCE_SAMPLES = 3
#: Percentile of each channel over the whole record taken as its unloaded level.
BASELINE_PERCENTILE = 1.0
#: Elements of the sensor-load block in one COP matrix product.
MATMUL_ELEMENTS = 1 << 15


# --------------------------------------------------------------------------- helpers
def _segments(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat sample indices of the half-open segments ``[start, stop)`` (all lengths ≥ 1).

    Returns ``(flat_idx, offsets, seg_of_sample)``: ``flat_idx`` concatenates the
    segments, ``offsets[i]`` is where segment i begins in it.
    """
    lengths = (stops - starts).astype(np.int64)
    offsets = np.zeros(lengths.size, dtype=np.int64)
    if lengths.size:
        offsets[1:] = np.cumsum(lengths)[:-1]
    total = int(lengths.sum())
    seg = np.repeat(np.arange(lengths.size), lengths)
    flat = starts.astype(np.int64)[seg] + (np.arange(total, dtype=np.int64) - offsets[seg])
    return flat, offsets, seg


def _seg_argmax(x: np.ndarray, offsets: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-segment maximum and position (within the flat array) of its first occurrence.

    Segments holding a NaN give a NaN maximum and position −1.
    """
    seg_max = np.maximum.reduceat(x, offsets)
    hit = np.flatnonzero(x == seg_max[seg])
    first_seg, first = np.unique(seg[hit], return_index=True)
    pos = np.full(offsets.size, -1, dtype=np.int64)
    pos[first_seg] = hit[first]
    return seg_max, pos


def _seg_argmin(x: np.ndarray, offsets: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    neg_max, pos = _seg_argmax(-x, offsets, seg)
    return -neg_max, pos


def _stride_bounds(strides: pd.DataFrame, n_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ic``, ``to`` as int64 and the mask of strides whose stance is usable."""
    for col in ("ic_idx", "to_idx"):
        if col not in strides.columns:
            raise SignalError(f"stride table has no {col!r} column; build it with strides.build_stride_table")
    ic_f = pd.to_numeric(strides["ic_idx"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    to_f = pd.to_numeric(strides["to_idx"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(ic_f) & np.isfinite(to_f)
    ic = np.where(ok, ic_f, 0).astype(np.int64)
    to = np.where(ok, to_f, 0).astype(np.int64)
    bad = ok & ((ic < 0) | (to >= n_samples))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SignalError(
            f"stride {strides.index[i]!r}: stance {ic[i]}..{to[i]} lies outside the signal "
            f"(0..{n_samples - 1}); the stride table does not belong to this signal"
        )
    ok &= (to - ic + 1) >= MIN_STANCE_SAMPLES
    return ic, to, ok


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


def _resample_matrix(n_samples: int, ic: np.ndarray, to: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices and weights that resample each stance ic..to to n_points (0..100 %)."""
    p = np.linspace(0.0, 1.0, n_points)
    t = ic[:, None] + p[None, :] * (to - ic)[:, None].astype(float)
    i0 = np.clip(np.floor(t).astype(np.int64), 0, n_samples - 1)
    i1 = np.minimum(i0 + 1, to[:, None])
    frac = t - i0
    return i0, i1, frac


def _mean_sd(curves: np.ndarray, n_points: int) -> dict[str, Any]:
    good = np.isfinite(curves).all(axis=1) if curves.size else np.zeros(0, dtype=bool)
    use = curves[good]
    n = int(use.shape[0])
    if n == 0:
        return {"mean": np.full(n_points, np.nan), "sd": np.full(n_points, np.nan), "n": 0}
    mean = use.mean(axis=0)
    sd = use.std(axis=0, ddof=1) if n > 1 else np.full(n_points, np.nan)
    return {"mean": mean, "sd": sd, "n": n}


def mean_stance_curve(load: np.ndarray, *, strides: pd.DataFrame, n_points: int = 101) -> dict[str, Any]:
    """Mean ± SD of the stance load curves, each resampled to 0…100 % of stance.

    Each stance ``ic_idx … to_idx`` is linearly interpolated (``np.interp`` logic,
    vectorized over strides) at ``n_points`` equally spaced points. Strides whose
    stance contains NaN load are left out.

    Parameters
    ----------
    load : ndarray, shape (n_samples,)
        Baseline-free total load of one foot.
    strides : DataFrame
        Rows of that foot's stride table (``ic_idx``, ``to_idx``).
    n_points : int
        Points per curve (101 = every 1 %).

    Returns
    -------
    dict
        ``mean`` and ``sd`` (ndarray, n_points; SD with ddof = 1, NaN when n < 2) and
        ``n`` (strides used). No usable stride → NaN arrays and n = 0.
    """
    x = np.asarray(load, dtype=float).ravel()
    if len(strides) == 0 or x.size == 0:
        return _mean_sd(np.empty((0, n_points)), n_points)
    ic, to, ok = _stride_bounds(strides, x.size)
    ic, to = ic[ok], to[ok]
    i0, i1, frac = _resample_matrix(x.size, ic, to, n_points)
    curves = x[i0] * (1.0 - frac) + x[i1] * frac
    return _mean_sd(curves, n_points)


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


def stride_kinetics(
    values: np.ndarray,
    load: np.ndarray,
    *,
    strides: pd.DataFrame,
    sampling_rate_hz: float,
    unit: str,
    layout: SensorLayout | None,
    channel_ok: np.ndarray | None,
    body_weight_n: float | None,
) -> pd.DataFrame:
    """Kinetic metrics of every stance of one foot.

    Over the stance ``ic_idx … to_idx`` (inclusive, n ≥ 3 samples; shorter or invalid
    stances give NaN), with ``F`` the baseline-free total load and ``dt = 1/fs``:

    * ``peak_force_1_<u>`` / ``peak_force_2_<u>``: maximum of F in the first / second
      half of stance (the two humps of the vertical-force "M"; for a single-hump curve
      both are the maxima of their halves, so a flat-topped stance gives similar values);
    * ``valley_force_<u>``: minimum of F between the two peaks (mid-stance unloading);
    * ``time_to_peak_1_s``, ``time_to_peak_2_s``: peak time − IC;
    * ``impulse_<u>_s``: trapezoidal integral of F over stance, ``dt·(ΣF − (F_ic + F_to)/2)``;
    * ``loading_rate_<u>_per_s``: mean slope from IC to the first peak,
      ``(F_peak1 − F_ic) / time_to_peak_1_s`` (the average loading rate, not the
      noise-sensitive instantaneous maximum);
    * with ``body_weight_n`` and ``unit == "N"``: ``peak_force_1_pct_bw``,
      ``peak_force_2_pct_bw``, ``valley_force_pct_bw``, ``impulse_pct_bw_s``,
      ``loading_rate_pct_bw_per_s`` (100·value/BW);
    * with a layout and ≥ 4 usable channels (``channel_ok``), from per-sensor loads
      ``w_k = max(v_k − baseline_k, 0)`` (baseline: :func:`sensor_baseline`):
      ``cop_path_length_mm`` (sum of COP step lengths, samples with load on both ends),
      ``cop_progression_mm`` (range of COP y, heel→toe), ``cop_ml_excursion_mm``
      (range of COP x); ``heel_load_pct``, ``midfoot_load_pct``, ``forefoot_load_pct``,
      ``toes_load_pct`` (each region's share of the stance impulse of all usable
      sensors, summing to 100; NaN for a region without usable sensors); ``ml_index``
      = (lateral − medial)/(lateral + medial) stance impulse, −1 … +1, **positive =
      more lateral load** (central sensors excluded; NaN without medial and lateral
      sensors).

    Parameters
    ----------
    values : ndarray, shape (n_samples, n_sensors)
        Raw per-sensor readings of the foot.
    load : ndarray, shape (n_samples,)
        Baseline-free total load in ``unit`` (from preprocessing).
    strides : DataFrame
        That foot's rows of the stride table (``ic_idx``, ``to_idx``; ``next_ic_idx``
        is not needed).
    sampling_rate_hz : float
        Sampling rate (Hz).
    unit : {"N", "kPa", "au"}
    layout : SensorLayout or None
    channel_ok : ndarray of bool or None
    body_weight_n : float or None

    Returns
    -------
    DataFrame
        Same index as ``strides``, float columns as above.
    """
    if unit not in UNIT_SUFFIX:
        raise SignalError(f"load unit {unit!r} is not supported; use one of {sorted(UNIT_SUFFIX)}")
    if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
        raise SignalError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
    v = np.asarray(values)  # float32 stays float32 (1000-sensel records): no whole-array copy
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    if v.ndim == 1:
        v = v[:, None]
    f = np.asarray(load, dtype=float).ravel()
    if v.shape[0] != f.size:
        raise SignalError(f"values have {v.shape[0]} samples but load has {f.size}")
    u = UNIT_SUFFIX[unit]
    dt = 1.0 / float(sampling_rate_hz)
    n_rows = len(strides)
    usable = _usable_channels(layout, channel_ok, v.shape[1])
    bw = float(body_weight_n) if (body_weight_n is not None and unit == "N" and np.isfinite(body_weight_n)
                                 and body_weight_n > 0) else None

    cols: dict[str, np.ndarray] = {}

    def nan() -> np.ndarray:
        return np.full(n_rows, np.nan)

    names = [f"peak_force_1_{u}", f"peak_force_2_{u}", f"valley_force_{u}", "time_to_peak_1_s",
             "time_to_peak_2_s", f"impulse_{u}_s", f"loading_rate_{u}_per_s"]
    for name in names:
        cols[name] = nan()

    if n_rows:
        ic, to, ok = _stride_bounds(strides, f.size)
        rows = np.flatnonzero(ok)
        ic, to = ic[ok], to[ok]
        if rows.size:
            half = (to - ic + 1) // 2
            # first half [ic, ic+half), second half [ic+half, to]
            flat1, off1, seg1 = _segments(ic, ic + half)
            p1_val, p1_pos = _seg_argmax(f[flat1], off1, seg1)
            flat2, off2, seg2 = _segments(ic + half, to + 1)
            p2_val, p2_pos = _seg_argmax(f[flat2], off2, seg2)
            has = (p1_pos >= 0) & (p2_pos >= 0)
            p1_idx = np.where(has, flat1[np.maximum(p1_pos, 0)], ic)
            p2_idx = np.where(has, flat2[np.maximum(p2_pos, 0)], to)
            flatv, offv, segv = _segments(p1_idx, p2_idx + 1)
            valley, _ = _seg_argmin(f[flatv], offv, segv)
            flats, offs, _ = _segments(ic, to + 1)
            impulse = dt * (np.add.reduceat(f[flats], offs) - 0.5 * (f[ic] + f[to]))
            t1 = (p1_idx - ic) * dt
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = np.where(t1 > 0, (p1_val - f[ic]) / np.where(t1 > 0, t1, 1.0), np.nan)
            fill = {
                f"peak_force_1_{u}": p1_val, f"peak_force_2_{u}": p2_val, f"valley_force_{u}": valley,
                "time_to_peak_1_s": np.where(has, t1, np.nan),
                "time_to_peak_2_s": np.where(has, (p2_idx - ic) * dt, np.nan),
                f"impulse_{u}_s": impulse, f"loading_rate_{u}_per_s": rate,
            }
            for name, arr in fill.items():
                cols[name][rows] = np.where(has, arr, np.nan)

    if bw is not None:
        for src, dst in ((f"peak_force_1_{u}", "peak_force_1_pct_bw"), (f"peak_force_2_{u}", "peak_force_2_pct_bw"),
                         (f"valley_force_{u}", "valley_force_pct_bw"), (f"impulse_{u}_s", "impulse_pct_bw_s"),
                         (f"loading_rate_{u}_per_s", "loading_rate_pct_bw_per_s")):
            cols[dst] = 100.0 * cols[src] / bw

    if usable is not None:
        cols.update(_cop_metrics(v, strides, layout, usable, n_rows))
    return pd.DataFrame(cols, index=strides.index)


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
