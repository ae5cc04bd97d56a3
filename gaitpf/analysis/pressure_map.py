"""Plantar pressure maps: mean peak pressure and pressure–time integral per sensor.

Method (per foot, over the given stances — normally the steady strides):

1. Per-sensor load ``w = max(value − baseline, 0)``, with each sensor's unloaded level
   as baseline (:func:`gaitpf.analysis.cop.sensor_baseline`, its 1st percentile over the
   record) unless given; NaN samples and unusable channels count as 0 load.
2. Pressure: readings in ``kPa`` are pressures already; readings in ``N`` become kPa
   with the sensor's active area, ``p = 1000 · F / A`` (N/mm² = MPa → kPa). Without
   an area (or for ``au`` readings) the map stays in the reading's unit and is
   labelled *relative*: only the pattern and ratios between sessions with the same
   sensors mean anything.
3. For stance ``ic..to`` (sample indices, inclusive) of each stride: peak pressure
   ``max_t p(t)`` and pressure–time integral ``PTI = Σ_t p(t) · Δt`` (rectangle rule,
   ``Δt = 1 / sampling_rate_hz``; Melvin et al. 2014 define PTI as the area under the
   pressure–time curve of each sensor).
4. The map is the mean of (2–3) over strides ("mean peak pressure", "mean PTI");
   maps of several trials pool with stride-count weights (:func:`pool_maps`).

Regional load share (:func:`region_share`) is each region's share (%) of the summed
PTI over the foot, so heel + midfoot + forefoot + toes = 100 %.

Gait line while loaded (:func:`loaded_cop_path`): the centre of pressure
``COP = Σ w·(x, y) / Σ w`` is only defined where the foot carries load; at initial
contact and toe-off a few noisy sensors carry a tiny load and drag the mean line back
towards the heel ("hooks"). Each stance is therefore cut to the samples whose total
load is at least ``min_load_frac`` (default 10 %) of that stance's peak total load,
resampled to ``n_points`` (0–100 % of the loaded phase) and averaged over strides.

Pure: numpy/pandas only, inputs are never mutated, no I/O.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import SignalError
from .cop import sensor_baseline

__all__ = ["pressure_scale", "pressure_map", "pool_maps", "map_difference", "region_share", "loaded_cop_path"]

#: Units read as pressure (kPa) directly.
_PRESSURE_UNITS = ("kPa",)


def pressure_scale(unit: str, area_mm2: np.ndarray | None, n_sensors: int) -> tuple[np.ndarray, str, bool]:
    """Factor from a reading to pressure, the resulting unit and whether it is absolute.

    Parameters
    ----------
    unit : str
        Reading unit: ``"kPa"``, ``"N"`` or ``"au"``.
    area_mm2 : ndarray of shape (n_sensors,) or None
        Active sensor areas in mm², if known.
    n_sensors : int

    Returns
    -------
    factor : ndarray (n_sensors,)
        Multiply readings by this to get the map's unit.
    unit_out : str
        ``"kPa"`` (absolute) or the reading unit (relative).
    absolute : bool
        True when the map is a real pressure in kPa.
    """
    ones = np.ones(int(n_sensors))
    if unit in _PRESSURE_UNITS:
        return ones, "kPa", True
    if unit == "N" and area_mm2 is not None:
        a = np.asarray(area_mm2, dtype=float)
        if a.shape == (n_sensors,) and np.all(np.isfinite(a) & (a > 0)):
            return 1000.0 / a, "kPa", True
    return ones, unit or "au", False


def pressure_map(
    values: np.ndarray,
    *,
    strides: pd.DataFrame,
    sampling_rate_hz: float,
    unit: str,
    area_mm2: np.ndarray | None = None,
    channel_ok: np.ndarray | None = None,
    baseline: np.ndarray | None = None,
) -> dict[str, Any]:
    """Mean peak pressure and mean pressure–time integral per sensor over the strides.

    Parameters
    ----------
    values : ndarray, shape (n_samples, n_sensors)
        One foot's readings in ``unit``.
    strides : DataFrame
        Rows with ``ic_idx`` and ``to_idx`` (stance start/end sample, inclusive).
    sampling_rate_hz : float
    unit : str
        ``"kPa"``, ``"N"`` or ``"au"``.
    area_mm2 : ndarray (n_sensors,), optional
        Sensor areas (mm²) to turn force into pressure.
    channel_ok : ndarray of bool (n_sensors,), optional
        False for channels to ignore (their map values are NaN).
    baseline : ndarray (n_sensors,), optional
        Unloaded level per sensor; default :func:`~gaitpf.analysis.cop.sensor_baseline`.

    Returns
    -------
    dict
        ``peak`` and ``pti`` (ndarray n_sensors; in ``unit`` and ``unit``·s),
        ``peak_sd``, ``pti_sd`` (SD over strides), ``n_strides``, ``unit`` (``"kPa"``
        or the reading unit), ``absolute`` (bool).

    Raises
    ------
    SignalError
        ``values`` is not 2-D, the rate is not positive, or a stance lies outside the signal.
    """
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise SignalError(f"pressure_map needs samples x sensors values, got {v.ndim}-D")
    if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
        raise SignalError(f"pressure_map: sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
    n, k = v.shape
    factor, unit_out, absolute = pressure_scale(unit, area_mm2, k)
    base = sensor_baseline(v) if baseline is None else np.asarray(baseline, dtype=float)
    ok = np.ones(k, dtype=bool) if channel_ok is None else np.asarray(channel_ok, dtype=bool)
    for col in ("ic_idx", "to_idx"):
        if col not in strides.columns:
            raise SignalError(f"pressure_map: stride table has no {col!r} column")
    ic = pd.to_numeric(strides["ic_idx"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    to = pd.to_numeric(strides["to_idx"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    good = np.isfinite(ic) & np.isfinite(to) & (to >= ic)
    ic_i, to_i = ic[good].astype(np.int64), to[good].astype(np.int64)
    if ic_i.size and (ic_i.min() < 0 or to_i.max() >= n):
        raise SignalError(f"pressure_map: a stance lies outside the signal (0..{n - 1})")
    dt = 1.0 / float(sampling_rate_hz)
    peaks = np.empty((ic_i.size, k))
    ptis = np.empty((ic_i.size, k))
    for j, (a, b) in enumerate(zip(ic_i, to_i)):
        seg = np.subtract(v[a:b + 1], base, dtype=np.float64)
        np.clip(seg, 0.0, None, out=seg)
        seg[~np.isfinite(seg)] = 0.0
        seg *= factor
        peaks[j] = seg.max(axis=0)
        ptis[j] = seg.sum(axis=0) * dt
    m = ic_i.size
    nan = np.full(k, np.nan)

    def mean_sd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if m == 0:
            return nan.copy(), nan.copy()
        mean = a.mean(axis=0)
        sd = a.std(axis=0, ddof=1) if m > 1 else nan.copy()
        return np.where(ok, mean, np.nan), np.where(ok, sd, np.nan)

    peak, peak_sd = mean_sd(peaks)
    pti, pti_sd = mean_sd(ptis)
    return {"peak": peak, "pti": pti, "peak_sd": peak_sd, "pti_sd": pti_sd, "n_strides": int(m),
            "unit": unit_out, "absolute": bool(absolute)}


def pool_maps(maps: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Stride-count-weighted mean of maps of one foot with the same sensors and unit.

    Returns None when no map has strides. SDs are not pooled (``peak_sd``/``pti_sd`` absent).

    Raises
    ------
    SignalError
        The maps differ in sensor count or unit.
    """
    use = [m for m in maps if m["n_strides"] > 0]
    if not use:
        return None
    k = {len(m["peak"]) for m in use}
    units = {(m["unit"], m["absolute"]) for m in use}
    if len(k) > 1 or len(units) > 1:
        raise SignalError("pool_maps: maps differ in sensor count or unit; pool only maps of one layout")
    w = np.array([m["n_strides"] for m in use], dtype=float)
    out: dict[str, Any] = {"n_strides": int(w.sum()), "unit": use[0]["unit"], "absolute": use[0]["absolute"]}
    for key in ("peak", "pti"):
        arr = np.array([m[key] for m in use], dtype=float)
        out[key] = (w[:, None] * arr).sum(axis=0) / w.sum()
    return out


def map_difference(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``other − base`` per sensor for ``peak`` and ``pti`` (same sensors and unit)."""
    if len(base["peak"]) != len(other["peak"]) or base["unit"] != other["unit"]:
        raise SignalError("map_difference: the maps differ in sensor count or unit")
    return {"peak": np.asarray(other["peak"], float) - np.asarray(base["peak"], float),
            "pti": np.asarray(other["pti"], float) - np.asarray(base["pti"], float),
            "unit": base["unit"], "absolute": base["absolute"]}


def region_share(pti: np.ndarray, region: Sequence[str]) -> dict[str, float]:
    """Share (%) of the foot's summed PTI per region; NaN sensors are ignored.

    Parameters
    ----------
    pti : ndarray (n_sensors,)
    region : sequence of str
        Region of each sensor ("heel", "midfoot", "forefoot", "toes").

    Returns
    -------
    dict region -> %
        Regions present in ``region``; all NaN when the total is not positive.
    """
    p = np.asarray(pti, dtype=float)
    reg = np.asarray(list(region))
    if reg.shape != p.shape:
        raise SignalError(f"region_share: {p.size} values but {reg.size} regions")
    fin = np.isfinite(p)
    total = float(p[fin].sum())
    out = {}
    for r in dict.fromkeys(reg.tolist()):
        s = float(p[fin & (reg == r)].sum())
        out[str(r)] = 100.0 * s / total if total > 0 else float("nan")
    return out


def loaded_cop_path(
    values: np.ndarray,
    *,
    strides: pd.DataFrame,
    x_mm: np.ndarray,
    y_mm: np.ndarray,
    channel_ok: np.ndarray | None = None,
    baseline: np.ndarray | None = None,
    min_load_frac: float = 0.10,
    n_points: int = 51,
) -> dict[str, Any]:
    """Mean centre-of-pressure line over the loaded part of each stance (see module docstring).

    Parameters
    ----------
    values : ndarray (n_samples, n_sensors)
    strides : DataFrame with ``ic_idx``, ``to_idx``
    x_mm, y_mm : ndarray (n_sensors,)
        Sensor positions in the insole frame (mm).
    channel_ok : ndarray of bool, optional
        Channels to use (default all with finite positions).
    baseline : ndarray, optional
        Unloaded level per sensor (default :func:`~gaitpf.analysis.cop.sensor_baseline`).
    min_load_frac : float
        Fraction of the stance's peak total load below which samples are not drawn.
    n_points : int

    Returns
    -------
    dict
        ``x_mm``, ``y_mm`` (mean, ndarray n_points; NaN without strides) and ``n``
        (strides used).
    """
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[:, None]
    k = v.shape[1]
    xs, ys = np.asarray(x_mm, dtype=float), np.asarray(y_mm, dtype=float)
    if xs.shape != (k,) or ys.shape != (k,):
        raise SignalError(f"loaded_cop_path: {k} sensors but {xs.size} positions")
    ok = np.isfinite(xs) & np.isfinite(ys)
    if channel_ok is not None:
        ok &= np.asarray(channel_ok, dtype=bool)
    base = sensor_baseline(v) if baseline is None else np.asarray(baseline, dtype=float)
    ic = pd.to_numeric(strides["ic_idx"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    to = pd.to_numeric(strides["to_idx"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    good = np.isfinite(ic) & np.isfinite(to) & (to > ic) & (ic >= 0) & (to < v.shape[0])
    grid = np.linspace(0.0, 1.0, n_points)
    lines_x, lines_y = [], []
    for a, b in zip(ic[good].astype(np.int64), to[good].astype(np.int64)):
        w = np.subtract(v[a:b + 1][:, ok], base[ok], dtype=np.float64)
        np.clip(w, 0.0, None, out=w)
        w[~np.isfinite(w)] = 0.0
        total = w.sum(axis=1)
        if not total.max() > 0:
            continue
        loaded = np.flatnonzero(total >= min_load_frac * total.max())
        i0, i1 = loaded[0], loaded[-1]
        if i1 - i0 < 2:
            continue
        seg, tot = w[i0:i1 + 1], total[i0:i1 + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            cx = seg @ xs[ok] / tot
            cy = seg @ ys[ok] / tot
        t = np.linspace(0.0, 1.0, len(tot))
        fin = np.isfinite(cx) & np.isfinite(cy)
        if fin.sum() < 2:
            continue
        lines_x.append(np.interp(grid, t[fin], cx[fin]))
        lines_y.append(np.interp(grid, t[fin], cy[fin]))
    if not lines_x:
        return {"x_mm": np.full(n_points, np.nan), "y_mm": np.full(n_points, np.nan), "n": 0}
    return {"x_mm": np.mean(lines_x, axis=0), "y_mm": np.mean(lines_y, axis=0), "n": len(lines_x)}
