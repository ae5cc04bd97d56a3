"""Reference-free checks of a stride table, and stride-time variability per side.

Usable on any recording (no reference events needed); reported in the analysis summary
and per record by ``benchmarks/validate_physionet.py``:

* ``loaded_to_pct`` – % of toe-offs at which the load is still above the floor of the
  following swing by more than ``EventParams.plateau_fraction`` (column ``to_loaded``):
  a toe-off placed on a terminal plateau or a shoulder. Goal ≤ 1 %.
* ``alternation_breaks_pct`` – % of the walking strides of a foot (no ``gap``, stride
  time ≤ ``WALKING_MAX_STRIDE_S`` = 4 s: not a standing stop; not a labelled pivot
  ``turn``) that do not hold exactly
  one initial contact of the other foot (left/right alternation broken: a missed or
  merged stance, an extra event; such a stride is never ``steady``). Goal ≤ 0.5 %. NaN
  with one foot.
* ``ic_ambiguous`` / ``to_ambiguous`` – number of strides whose IC / TO is flagged
  ambiguous by the event stage (:mod:`gaitpf.analysis.events_edges`).
* Variability: coefficient of variation ``CV = 100 · SD / mean`` (%; SD with ddof = 1)
  of stride, stance and swing time over the steady strides of each foot (Hausdorff JM
  (2005) J Neuroeng Rehabil 2:19: stride-time variability as a primary gait outcome).
  NaN with fewer than 3 steady strides.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["variability", "self_checks", "CV_METRICS"]

#: Strides longer than this (s) are stops, not walking, for the alternation check.
WALKING_MAX_STRIDE_S = 4.0

#: Metrics whose CV is reported per side.
CV_METRICS: tuple[str, ...] = ("stride_time_s", "stance_time_s", "swing_time_s")


def _cv_pct(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if x.size < 3 or not np.mean(x) > 0:
        return float("nan")
    return float(100.0 * np.std(x, ddof=1) / np.mean(x))


def variability(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{side: {"<metric>_cv_pct": CV}}`` of :data:`CV_METRICS` over the steady strides."""
    out: dict[str, dict[str, float]] = {}
    side = table["side"].to_numpy(dtype=object)
    steady = table["steady"].to_numpy(dtype=bool)
    for s in ("left", "right"):
        sel = steady & (side == s)
        if not (side == s).any():
            continue
        out[s] = {f"{m[:-2]}_cv_pct": _cv_pct(table[m].to_numpy(dtype=float)[sel]) for m in CV_METRICS}
    return out


def _alternation_breaks(ic_s: np.ndarray, next_s: np.ndarray, walking: np.ndarray, c_ic: np.ndarray) -> float:
    if not walking.any() or c_ic.size == 0:
        return float("nan")
    n_inside = np.searchsorted(c_ic, next_s[walking]) - np.searchsorted(c_ic, ic_s[walking])
    return float(100.0 * np.mean(n_inside != 1))


def self_checks(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{side: {n_strides, loaded_to_pct, alternation_breaks_pct, ic_ambiguous, to_ambiguous}}``."""
    side = table["side"].to_numpy(dtype=object)
    ic_s = table["ic_s"].to_numpy(dtype=float)
    next_s = table["next_ic_s"].to_numpy(dtype=float)
    walking = (table["label"].to_numpy(dtype=object) != "gap") & (
        table["stride_time_s"].to_numpy(dtype=float) <= WALKING_MAX_STRIDE_S)
    flags = {c: (table[c].to_numpy(dtype=bool) if c in table else np.zeros(len(table), bool))
             for c in ("to_loaded", "ic_ambiguous", "to_ambiguous", "turn")}
    walking &= ~flags["turn"]   # a labelled pivot turn holds two contralateral contacts by nature
    out: dict[str, dict[str, Any]] = {}
    for s in ("left", "right"):
        own = side == s
        if not own.any():
            continue
        oth = side == ("right" if s == "left" else "left")
        c_ic = np.unique(np.concatenate([ic_s[oth], next_s[oth][-1:]])) if oth.any() else np.zeros(0)
        out[s] = {
            "n_strides": int(own.sum()),
            "loaded_to_pct": float(100.0 * flags["to_loaded"][own].mean()),
            "alternation_breaks_pct": _alternation_breaks(ic_s[own], next_s[own], walking[own], c_ic),
            "ic_ambiguous": int(flags["ic_ambiguous"][own].sum()),
            "to_ambiguous": int(flags["to_ambiguous"][own].sum()),
        }
    return out
