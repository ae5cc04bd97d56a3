"""Gait cycles: the resampling unit of the session bootstrap.

The block bootstrap (:mod:`gaitpf.sessions.bootstrap`) resamples whole gait cycles of a
session; this module builds them from stride tables.

Pure numpy/pandas; no I/O, no printing, inputs never mutated.

Resampling unit: the gait cycle
-------------------------------
Each left stride starts a *cycle*; the right strides that start before the next left
stride belong to the same cycle. Resampling whole cycles keeps left/right pairs
together, so the positive within-cycle correlation of the two sides is preserved
(which matters for indices of L versus R). Per cycle we keep the per-side sum and count
of each metric, so that a bootstrap replicate mean is a weighted ratio of these sums and
counts (:func:`gaitpf.sessions.bootstrap.bootstrap_means`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["CycleData", "cycles_from_strides", "concat_cycles"]


@dataclass
class CycleData:
    """Per-cycle sums and counts of metrics for each side (see module docstring).

    Attributes
    ----------
    metrics : tuple of str
    sums, counts : dict side -> ndarray (n_cycles, n_metrics)
        Sum of finite values and number of finite values per cycle.
    """

    metrics: tuple[str, ...]
    sums: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]

    @property
    def n_cycles(self) -> int:
        return int(next(iter(self.sums.values())).shape[0])

    def n_strides(self, side: str) -> int:
        """Strides of ``side`` with a finite value of the first metric."""
        return int(self.counts[side][:, 0].sum()) if self.metrics else 0

    def cycle_means(self, side: str) -> np.ndarray:
        """Per-cycle mean of each metric, NaN where the cycle has no stride of ``side``."""
        c = self.counts[side]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, self.sums[side] / np.where(c > 0, c, 1), np.nan)

    def split(self, parts: int = 2) -> list["CycleData"]:
        """Split into ``parts`` contiguous pieces in time order (for split-half reliability)."""
        edges = np.linspace(0, self.n_cycles, parts + 1).round().astype(int)
        return [
            CycleData(
                self.metrics,
                {s: a[lo:hi] for s, a in self.sums.items()},
                {s: a[lo:hi] for s, a in self.counts.items()},
            )
            for lo, hi in zip(edges[:-1], edges[1:])
        ]


def _numeric(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def cycles_from_strides(
    strides: pd.DataFrame, *, metrics: Sequence[str], steady_only: bool = True
) -> CycleData:
    """Group the strides of one trial into gait cycles that keep left/right together.

    Parameters
    ----------
    strides : DataFrame
        Stride table of one trial (columns ``side``, ``ic_s``, ``steady`` and the
        metrics). Not modified.
    metrics : sequence of str
        Metric columns to carry (missing columns become NaN).
    steady_only : bool
        Use only rows with ``steady`` True (the analysis core's steady strides).

    Returns
    -------
    CycleData
        Cycles in time order. The anchor side is left (right when there is no left
        stride); strides of the other side before the first anchor join the first cycle.
    """
    metrics = tuple(metrics)
    rows = strides
    if steady_only and "steady" in rows.columns:
        rows = rows[rows["steady"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    side = rows["side"].astype(str).to_numpy() if len(rows) else np.array([], dtype=str)
    t = _numeric(rows, "ic_s")
    order = np.argsort(t, kind="stable")
    side, t = side[order], t[order]
    values = np.column_stack([_numeric(rows, m)[order] for m in metrics]) if metrics else np.empty((len(t), 0))
    anchor = "left" if (side == "left").any() else "right"
    is_anchor = side == anchor
    n_cycles = int(is_anchor.sum())
    cycle = np.maximum(np.cumsum(is_anchor) - 1, 0)
    sums, counts = {}, {}
    for s in ("left", "right"):
        m = side == s
        v = values[m]
        finite = np.isfinite(v)
        sums[s] = np.zeros((n_cycles, len(metrics)))
        counts[s] = np.zeros((n_cycles, len(metrics)))
        if n_cycles and m.any():
            np.add.at(sums[s], cycle[m], np.where(finite, v, 0.0))
            np.add.at(counts[s], cycle[m], finite.astype(float))
    return CycleData(metrics, sums, counts)


def concat_cycles(parts: Sequence[CycleData]) -> CycleData:
    """Concatenate the cycles of several trials of one session (trial order kept)."""
    if not parts:
        raise ValueError("concat_cycles needs at least one CycleData")
    metrics = parts[0].metrics
    if any(p.metrics != metrics for p in parts):
        raise ValueError("all CycleData must carry the same metrics")
    return CycleData(
        metrics,
        {s: np.concatenate([p.sums[s] for p in parts]) for s in ("left", "right")},
        {s: np.concatenate([p.counts[s] for p in parts]) for s in ("left", "right")},
    )
