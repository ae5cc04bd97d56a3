"""Quantities every export shares: per-foot total force and centre of pressure, the common frame grid.

Method
------
* Total force per foot (N): ``Σ p_i · a_i / 1000`` for pressure in kPa with sensor areas
  ``a_i`` in mm² (layout ``area_mm2``); ``Σ v_i`` for calibrated force (N). Otherwise the
  sum stays in the recording's unit and the channel name says so (``total_kpa`` without
  areas: *not* a force; ``total_au``).
* Centre of pressure (mm, insole frame of that foot: x medial → lateral, y heel → toe):
  ``Σ w_i r_i / Σ w_i`` with ``w_i`` = the sensor's force (or reading) clipped at 0; NaN
  where ``Σ w_i`` is 0 (unloaded) or no layout is known.
* Common grid (C3D needs one): frame ``k`` at ``t0 + k / fs`` with ``t0`` the earliest
  sample of either foot; each sample goes to ``rint((t − t0)·fs)``; frames a foot did not
  deliver stay NaN (gaps are not filled).
"""
from __future__ import annotations

import numpy as np

from ..model import FootSignals, Recording

__all__ = ["total_channel", "cop_mm", "common_grid"]


def total_channel(foot: FootSignals) -> tuple[str, np.ndarray]:
    """(name with unit, values) of the foot's total load: force in N when it can be known."""
    v = np.asarray(foot.values, dtype=float)
    lay = foot.layout
    if foot.unit == "kPa" and lay is not None and lay.area_mm2 is not None:
        return "total_force_n", np.nansum(v * lay.area_mm2, axis=1) / 1000.0
    if foot.unit == "N":
        return "total_force_n", np.nansum(v, axis=1)
    return f"total_{foot.unit.lower()}", np.nansum(v, axis=1)


def cop_mm(foot: FootSignals) -> tuple[np.ndarray, np.ndarray]:
    """Centre of pressure (x_mm, y_mm) per sample in the foot's insole frame; NaN if unknown/unloaded."""
    n = foot.n_samples
    lay = foot.layout
    if lay is None:
        return np.full(n, np.nan), np.full(n, np.nan)
    w = np.clip(np.nan_to_num(np.asarray(foot.values, dtype=float)), 0.0, None)
    if lay.area_mm2 is not None:
        w = w * lay.area_mm2
    tot = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(tot > 0, w @ lay.x_mm / tot, np.nan)
        y = np.where(tot > 0, w @ lay.y_mm / tot, np.nan)
    return x, y


def common_grid(rec: Recording) -> tuple[float, int, dict[str, np.ndarray]]:
    """``(t0_s, n_frames, {side: frame index of each sample})`` on the recording's nominal rate."""
    fs = rec.sampling_rate_hz
    t0 = min(float(f.times_s()[0]) for f in rec.feet.values() if f.n_samples)
    idx = {s: np.rint((f.times_s() - t0) * fs).astype(np.int64) for s, f in rec.feet.items()}
    n = int(max(int(i.max()) for i in idx.values() if i.size) + 1)
    return t0, n, idx
