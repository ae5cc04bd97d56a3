"""Per-stride kinetic metrics: peak forces, impulse, loading rate, centre of pressure.

All metrics are computed over the stance phase of each stride (``ic_idx`` …
``to_idx``, both inclusive) of one foot, vectorized over strides: every stance is
gathered into one flat array and reduced with ``ufunc.reduceat`` (no per-sample or
per-stride Python loop). Inputs are never mutated.

Column names carry the unit of the load signal: ``_n`` (newton), ``_kpa``
(kilopascal) or ``_au`` (arbitrary units), e.g. ``peak_force_1_n``,
``impulse_kpa_s``, ``loading_rate_au_per_s``. With a body weight (newton data
only), ``%BW`` variants are added (``peak_force_1_pct_bw`` …).

Centre-of-pressure (COP, "gait line") and regional metrics (:mod:`gaitpf.analysis.cop`)
need a sensor layout and at least ``MIN_COP_CHANNELS`` usable channels; otherwise their
columns are absent. ``cop_trajectory``, ``mean_cop_path`` and ``sensor_baseline`` are
re-exported here.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SignalError
from ..model import SensorLayout
from .cop import MIN_COP_CHANNELS, _cop_metrics, _usable_channels, cop_trajectory, mean_cop_path, sensor_baseline
from .segments import (
    MIN_STANCE_SAMPLES, _argmax_in_place, _mean_sd, _ordered, _reduce_bounds, _resample_matrix, _seg_argmax,
    _seg_argmin, _segments, _stride_bounds,
)

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

#: Strides resampled at a time by :func:`mean_stance_curve` (its index/weight temporaries
#: stay ~3 MB each however long the recording).
CURVE_BLOCK_STRIDES = 4096

#: Load unit → column-name suffix.
UNIT_SUFFIX: dict[str, str] = {"N": "n", "kPa": "kpa", "au": "au"}


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
    curves = np.empty((ic.size, n_points))
    for b0 in range(0, ic.size, CURVE_BLOCK_STRIDES):  # bounded temporaries (long records)
        b1 = min(b0 + CURVE_BLOCK_STRIDES, ic.size)
        i0, i1, frac = _resample_matrix(x.size, ic[b0:b1], to[b0:b1], n_points)
        # x[i0]·(1 − frac) + x[i1]·frac, with in-place steps (same operations, fewer temporaries)
        blk = curves[b0:b1]
        np.take(x, i0, out=blk)
        blk *= 1.0 - frac
        upper = x[i1]
        upper *= frac
        blk += upper
    return _mean_sd(curves, n_points)


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
    sensor_baseline: np.ndarray | None = None,
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
    sensor_baseline : ndarray, shape (n_sensors,), optional
        :func:`sensor_baseline` of ``values`` when already known (e.g.
        ``PreparedLoad.sensor_baseline``); computed here otherwise. Must be that
        function's result: it only saves a pass over ``values``.

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
            if _ordered(ic, to):  # one foot's stances: reduce in place, no gathered copies
                b = np.stack([ic, ic + half, to + 1], axis=1).ravel()  # halves, then the swing after
                seg_max, seg_pos = _argmax_in_place(f, _reduce_bounds(b, f.size))
                p1_val, p1_pos, p1_idx = seg_max[0::3], seg_pos[0::3], seg_pos[0::3]
                p2_val, p2_pos, p2_idx = seg_max[1::3], seg_pos[1::3], seg_pos[1::3]
                has = (p1_pos >= 0) & (p2_pos >= 0)
                p1_idx = np.where(has, p1_idx, ic)
                p2_idx = np.where(has, p2_idx, to)
                valley = np.minimum.reduceat(f, _reduce_bounds(np.stack([p1_idx, p2_idx + 1], axis=1).ravel(),
                                                               f.size))[0::2]
                stance_sum = np.add.reduceat(f, _reduce_bounds(np.stack([ic, to + 1], axis=1).ravel(), f.size))[0::2]
            else:                 # overlapping/unordered table: gather each segment
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
                stance_sum = np.add.reduceat(f[flats], offs)
            impulse = dt * (stance_sum - 0.5 * (f[ic] + f[to]))
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
        base = None if sensor_baseline is None else np.asarray(sensor_baseline, dtype=np.float64)
        if base is not None and base.shape != (v.shape[1],):
            raise SignalError(f"sensor_baseline has shape {base.shape}, expected ({v.shape[1]},)")
        cols.update(_cop_metrics(v, strides, layout, usable, n_rows, base))
    return pd.DataFrame(cols, index=strides.index)
