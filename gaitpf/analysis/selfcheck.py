"""Reference-free checks of a stride table, and stride-time variability per side.

Usable on any recording (no reference events needed); reported in the analysis summary
and per record by ``benchmarks/validate_physionet.py``:

* ``loaded_to_pct`` – % of toe-offs at which the load is still above the floor of the
  following swing by more than ``EventParams.plateau_fraction`` (column ``to_loaded``):
  a toe-off placed on a terminal plateau or a shoulder. Goal ≤ 1 %.
* ``alternation_breaks_pct`` – % of the walking strides of a foot (no ``gap``, stride
  time ≤ ``WALKING_MAX_STRIDE_S`` = 4 s: not a standing stop) that do not hold exactly
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


def _alternation_breaks(own: pd.DataFrame, other: pd.DataFrame) -> float:
    walking = (own["label"].to_numpy(dtype=object) != "gap") & (own["stride_time_s"].to_numpy(float) <= WALKING_MAX_STRIDE_S)
    st = own[walking]
    if len(st) == 0 or len(other) == 0:
        return float("nan")
    c_ic = np.unique(np.concatenate([other["ic_s"].to_numpy(float), other["next_ic_s"].to_numpy(float)[-1:]]))
    n_inside = np.searchsorted(c_ic, st["next_ic_s"].to_numpy(float)) - np.searchsorted(c_ic, st["ic_s"].to_numpy(float))
    return float(100.0 * np.mean(n_inside != 1))


def self_checks(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{side: {loaded_to_pct, alternation_breaks_pct, ic_ambiguous, to_ambiguous, n_strides}}``."""
    out: dict[str, dict[str, Any]] = {}
    for s in ("left", "right"):
        own = table[table["side"] == s]
        if len(own) == 0:
            continue
        other = table[table["side"] == ("right" if s == "left" else "left")]
        col = (lambda c: own[c].to_numpy(dtype=bool) if c in own else np.zeros(len(own), bool))
        out[s] = {
            "n_strides": int(len(own)),
            "loaded_to_pct": float(100.0 * col("to_loaded").mean()),
            "alternation_breaks_pct": _alternation_breaks(own, other),
            "ic_ambiguous": int(col("ic_ambiguous").sum()),
            "to_ambiguous": int(col("to_ambiguous").sum()),
        }
    return out
