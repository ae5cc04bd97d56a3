"""Stance segments shared by the kinetic and centre-of-pressure metrics (private).

Every stance (``ic_idx`` … ``to_idx`` inclusive) of a stride table becomes a slice of
one flat index array, so per-stance reductions are single ``ufunc.reduceat`` calls.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import SignalError

#: Shortest stance (samples) that gets kinetic metrics.
MIN_STANCE_SAMPLES = 3


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


def _ordered(ic: np.ndarray, to: np.ndarray) -> bool:
    """Segments ``[ic_i, to_i]`` ordered and disjoint (``ic_i ≤ to_i < ic_{i+1}``), as one foot's stances."""
    return bool(np.all(to >= ic) and np.all(ic[1:] > to[:-1]))


def _reduce_bounds(bounds: np.ndarray, n: int) -> np.ndarray:
    """``reduceat`` indices of the consecutive segments ``[bounds_i, bounds_{i+1})``, the last ending at n.

    ``bounds`` is non-decreasing in ``0 … n``; a final bound equal to n is dropped (the
    segment before it then runs to the end).
    """
    return bounds[:-1] if bounds.size and bounds[-1] == n else bounds


def _argmax_in_place(x: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum of ``x`` over each segment ``[bounds_i, bounds_{i+1})`` and the index (into x) of its
    first occurrence, without gathering the segments.

    ``bounds``: non-decreasing ``reduceat`` indices (< len(x)); the last segment runs to the
    end of ``x``. Same values as :func:`_seg_argmax` on the gathered segments: empty segments
    and segments holding a NaN give position −1 (their "maximum" is meaningless / NaN).
    """
    seg_max = np.maximum.reduceat(x, bounds)
    lengths = np.diff(bounds, append=x.size)
    hit = np.flatnonzero(x[bounds[0]:] == np.repeat(seg_max, lengths)) + bounds[0]
    seg = np.searchsorted(bounds, hit, side="right") - 1   # the non-empty segment holding the hit
    first = np.ones(hit.size, dtype=bool)
    first[1:] = seg[1:] != seg[:-1]
    pos = np.full(bounds.size, -1, dtype=np.int64)
    pos[seg[first]] = hit[first]
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


def _resample_matrix(n_samples: int, ic: np.ndarray, to: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices and weights that resample each stance ic..to to n_points (0..100 %)."""
    p = np.linspace(0.0, 1.0, n_points)
    t = p[None, :] * (to - ic)[:, None].astype(float)
    t += ic[:, None]
    if ic.size and (ic.min() < 0 or np.any(to < ic) or to.max() > n_samples - 1):
        i0 = np.clip(np.floor(t).astype(np.int64), 0, n_samples - 1)
    else:  # 0 ≤ ic ≤ t ≤ to < n (p ≤ 1, monotonic rounding): truncation is the floor, no clipping
        i0 = t.astype(np.int64)
    i1 = i0 + 1
    np.minimum(i1, to[:, None], out=i1)
    frac = t
    frac -= i0
    return i0, i1, frac


def _mean_sd(curves: np.ndarray, n_points: int) -> dict[str, Any]:
    good = np.isfinite(curves).all(axis=1) if curves.size else np.zeros(0, dtype=bool)
    use = curves if good.all() else curves[good]
    n = int(use.shape[0])
    if n == 0:
        return {"mean": np.full(n_points, np.nan), "sd": np.full(n_points, np.nan), "n": 0}
    mean = use.mean(axis=0)
    sd = use.std(axis=0, ddof=1) if n > 1 else np.full(n_points, np.nan)
    return {"mean": mean, "sd": sd, "n": n}
