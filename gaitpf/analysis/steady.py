"""Steady-state stride selection of one foot: bouts, gait initiation/termination, turns, outliers.

Variability (CV of stride, stance and swing time) is only meaningful on steady walking:
turn strides, the first and last strides of a walking bout and missed/extra events
inflate it (gaitpf's former ±20 %-of-a-running-median filter gave CVs 1.6–1.8 × the
published ones on the gaitpdb walks). Rule, per foot, strides in time order (labels by
priority, as :mod:`gaitpf.analysis.strides` documents them):

1. ``gap``: samples lost inside the stride; ``pause``: stride longer than
   ``pause_factor`` × the running median of ``median_window`` strides or than
   ``max_stride_s`` (stops, standing). Both split walking bouts.
2. ``turn_or_outlier``: a stride whose stride time *or* swing time is a robust outlier of
   its neighbourhood: ``|x − med| > outlier_mad_k × 1.4826 × MAD`` (running median ``med``
   and running median absolute deviation ``MAD`` over ``median_window`` strides; the
   scale is floored at ``min_scale_fraction`` × ``med`` so a very regular walk does not
   reject sampling jitter), or more than ``outlier_fraction`` from ``med`` (the former
   rule, kept as a cap); strides flagged as turns by the event stage (``turn``) too. A
   turn or a stumble disturbs the strides around it (approach and exit), so the
   ``outlier_neighbours`` strides on each side of an outlier are labelled with it.
3. ``incomplete``: the other foot has no contact inside the stride.
4. ``bout_start`` / ``bout_end``: the first / last ``bout_edge_strides`` strides of a bout
   (gait initiation and termination).
5. ``steady``: everything else.

The 1.4826 × MAD scale is the normal-consistent robust SD (Rousseeuw & Croux 1993, J Am
Stat Assoc 88:1273); 3 robust SDs is the usual outlier cut (Hausdorff et al. 1997, J
Appl Physiol 82:262, removed strides beyond 3 SD of the median in these databases).
Exclusion of gait initiation/termination strides: Lindemann et al. (2008) J Neuroeng
Rehabil 5:18.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["running_median", "robust_outliers", "select_steady"]


def running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median of ``window`` values (fewer at the ends), NaN ignored."""
    return pd.Series(np.asarray(x, dtype=float)).rolling(window, center=True, min_periods=1).median().to_numpy()


def robust_outliers(x: np.ndarray, *, window: int, k: float, min_scale_fraction: float) -> np.ndarray:
    """Values further than ``k`` robust SDs (1.4826 × running MAD) from the running median."""
    x = np.asarray(x, dtype=float)
    med = running_median(x, window)
    mad = running_median(np.abs(x - med), window)
    scale = np.maximum(1.4826 * mad, min_scale_fraction * np.abs(med))
    return np.abs(x - med) > k * scale


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    if r <= 0 or not mask.any():
        return mask.copy()
    c = np.concatenate([[0], np.cumsum(mask)])
    i = np.arange(mask.size)
    return (c[np.minimum(i + r + 1, mask.size)] - c[np.maximum(i - r, 0)]) > 0


def pause_and_outlier(stride_s: np.ndarray, *, params: Any) -> tuple[np.ndarray, np.ndarray]:
    """The median rule for one foot's stride-time series (s, time order).

    ``pause``: stride longer than ``pause_factor`` × the centred running median of
    ``median_window`` strides, or than ``max_stride_s``; ``outlier``: more than
    ``outlier_fraction`` × that median away from it (``params``: a
    :class:`~gaitpf.analysis.strides.StrideParams`). Returns two bool arrays.
    """
    x = np.asarray(stride_s, dtype=float)
    med = pd.Series(x).rolling(params.median_window, center=True, min_periods=1).median().to_numpy()
    pause = (x > params.pause_factor * med) | (x > params.max_stride_s)
    outlier = np.abs(x - med) > params.outlier_fraction * med
    return pause, outlier


def select_steady(
    stride_s: np.ndarray, swing_s: np.ndarray, gap: np.ndarray, incomplete: np.ndarray, turn: np.ndarray,
    *, params: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label, bout id and steady flag of one foot's strides (time order).

    Parameters
    ----------
    stride_s, swing_s : ndarray
        Stride and swing times (s).
    gap, incomplete, turn : ndarray of bool
        Samples lost inside the stride; no contralateral contact inside it; a pivot turn
        flagged by the event stage.
    params : StrideParams

    Returns
    -------
    label : ndarray of object
    bout : ndarray of int64 (−1 for ``pause``/``gap`` strides)
    steady : ndarray of bool
    """
    m = len(stride_s)
    pause, cap = pause_and_outlier(stride_s, params=params)
    breaks = pause | gap
    w, k, f = params.median_window, params.outlier_mad_k, params.min_scale_fraction
    out = cap | np.asarray(turn, dtype=bool)
    # robust outliers among the walking strides (breaks would dominate the neighbourhood)
    walk = np.flatnonzero(~breaks)
    for x in (stride_s, swing_s):
        if walk.size:
            out[walk] |= robust_outliers(np.asarray(x, float)[walk], window=w, k=k, min_scale_fraction=f)
    out = _dilate(out & ~breaks, params.outlier_neighbours) & ~breaks
    start_new = np.concatenate([[True], breaks[:-1]]) & ~breaks if m else np.zeros(0, bool)
    bout = np.where(breaks, -1, np.cumsum(start_new) - 1)
    label = np.full(m, "steady", dtype=object)
    if m:
        pos = np.arange(m)
        ids = np.where(breaks, 0, bout)
        n_bouts = int(bout.max()) + 1 if (bout >= 0).any() else 0
        first = np.full(max(n_bouts, 1), m)
        last = np.full(max(n_bouts, 1), -1)
        sel = bout >= 0
        np.minimum.at(first, ids[sel], pos[sel])
        np.maximum.at(last, ids[sel], pos[sel])
        e = params.bout_edge_strides
        label[sel & (pos >= last[ids] - e + 1)] = "bout_end"
        label[sel & (pos < first[ids] + e)] = "bout_start"
    label[incomplete] = "incomplete"
    label[out] = "turn_or_outlier"
    label[pause] = "pause"
    label[gap] = "gap"
    return label, bout.astype(np.int64), label == "steady"
