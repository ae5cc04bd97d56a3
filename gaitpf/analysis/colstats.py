"""Exact per-channel statistics of long (samples x channels) arrays, streamed by row blocks.

Preprocessing and kinetics need whole-record statistics of every channel (robust range,
maximum, low percentile) of recordings that can hold hours of 1000-sensel frames. Sorting
or partitioning a column of a C-ordered array needs a transposed copy and O(n) work per
column; instead these helpers read the array in blocks of rows, vectorized across
channels, never copying more than one block (and never converting the whole array to
float64).

:func:`order_statistics` is exact (the same values as ``np.partition``): each wanted rank
is bracketed between two values of a fixed pseudo-random subsample of rows, one
streaming pass counts the values below and inside the bracket, and a second pass
collects the few values inside it, among which the rank is selected. A column whose
bracket misses (an unlucky subsample, or a value repeated so often that the bracket
holds a large share of the record) falls back to partitioning that column alone, so
the subsample only affects speed, never the result.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

__all__ = ["row_blocks", "column_min_max", "count_where", "order_statistics", "percentiles", "long_runs"]

#: Rows per block in counting passes: a block's boolean counts fit in uint8.
COUNT_ROWS = 255
#: Elements per block in the other streaming passes (~8 MB of float64).
BLOCK_ELEMENTS = 1 << 20
#: Subsample size for the rank brackets; below ``4·SUBSAMPLE`` rows columns are partitioned.
SUBSAMPLE = 8192
#: Brackets span ± this many binomial SDs (+ 2 ranks) around the expected subsample rank.
BRACKET_SD = 5.0


def row_blocks(n_rows: int, n_cols: int, rows: int | None = None) -> Iterator[slice]:
    """Slices of consecutive rows covering ``0 … n_rows`` (``BLOCK_ELEMENTS`` per block)."""
    step = rows if rows is not None else max(COUNT_ROWS, BLOCK_ELEMENTS // max(n_cols, 1))
    for r0 in range(0, n_rows, step):
        yield slice(r0, min(r0 + step, n_rows))


def _fold(n_cols: int) -> int:
    """Rows folded side by side so that reductions over rows run along ≥ 1024 contiguous values.

    Reducing a C-ordered (rows, k) block over its rows vectorizes along k only; for narrow
    arrays (16 insole sensors) viewing ``m`` consecutive rows as one row of ``m·k``
    values makes the inner loop long, and the ``m`` partial results are reduced after.
    """
    return max(1, 1024 // max(n_cols, 1))


def _reduce_rows(blk: np.ndarray, ufunc: np.ufunc, dtype: type | None = None) -> np.ndarray:
    """``ufunc.reduce(blk, axis=0)`` of a 2-D block, folded (:func:`_fold`) for narrow blocks."""
    r, k = blk.shape
    m = _fold(k)
    if m == 1 or r < 2 * m or not blk.flags.c_contiguous:
        return ufunc.reduce(blk, axis=0, dtype=dtype)
    r2 = r - r % m
    part = ufunc.reduce(blk[:r2].reshape(r2 // m, m * k), axis=0, dtype=dtype).reshape(m, k)
    if r2 < r:
        part = np.concatenate([part, blk[r2:].astype(part.dtype)])
    return ufunc.reduce(part, axis=0, dtype=np.int64 if ufunc is np.add else None)


def _compare(op: np.ufunc, blk: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``op(blk, ref)`` with ``ref`` (k,) broadcast over rows, folded (:func:`_fold`) when narrow."""
    r, k = blk.shape
    m = _fold(k)
    if m == 1 or r % m or not blk.flags.c_contiguous:
        return op(blk, ref)
    return op(blk.reshape(r // m, m * k), np.tile(ref, m)).reshape(r, k)


def column_min_max(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and maximum of a 2-D array (NaN if the column holds a NaN)."""
    lo = np.full(v.shape[1], np.inf, dtype=v.dtype)
    hi = np.full(v.shape[1], -np.inf, dtype=v.dtype)
    for sl in row_blocks(*v.shape):
        blk = v[sl]
        lo = np.minimum(lo, _reduce_rows(blk, np.minimum))
        hi = np.maximum(hi, _reduce_rows(blk, np.maximum))
    return lo, hi


def _count_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Row blocks in which no folded column collects more than 255 True values (uint8 counts)."""
    return row_blocks(n_rows, n_cols, COUNT_ROWS * _fold(n_cols))


def _count(mask: np.ndarray) -> np.ndarray:
    """Per-column number of True values of a block from :func:`_count_blocks` (int64)."""
    return _reduce_rows(mask.view(np.uint8), np.add, np.uint8).astype(np.int64)


def count_where(v: np.ndarray, op: np.ufunc, ref: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
    """Per-column count of ``op(v, ref)`` (``ref`` broadcast over rows), int64.

    With ``cols``, only those columns of ``v`` (``ref`` then has ``len(cols)`` values).
    """
    if cols is not None and cols.size == v.shape[1]:
        cols = None
    k = v.shape[1] if cols is None else cols.size
    out = np.zeros(k, dtype=np.int64)
    for sl in _count_blocks(v.shape[0], k):
        out += _count(_compare(op, v[sl] if cols is None else v[sl][:, cols], ref))
    return out


def _sorted_subsample(v: np.ndarray) -> np.ndarray:
    """Sorted columns of a fixed pseudo-random subsample of ``SUBSAMPLE`` rows."""
    n = v.shape[0]
    rows = np.sort(np.random.default_rng(20240901).choice(n, size=min(SUBSAMPLE, n), replace=False))
    return np.sort(v[rows], axis=0)


def _brackets(sub: np.ndarray, n: int, ranks: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-column values ``lo ≤ hi`` expected to enclose the ranks ``ranks[0] … ranks[-1]``."""
    m = sub.shape[0]
    p_lo, p_hi = ranks[0] / max(n - 1, 1), ranks[-1] / max(n - 1, 1)
    sd = np.sqrt(m * max(p_lo * (1 - p_lo), p_hi * (1 - p_hi), 1.0 / m))
    j_lo = int(np.floor(p_lo * (m - 1) - BRACKET_SD * sd)) - 2
    j_hi = int(np.ceil(p_hi * (m - 1) + BRACKET_SD * sd)) + 2
    inf = np.array(np.inf, dtype=dtype)
    lo = sub[j_lo] if j_lo >= 0 else np.full(sub.shape[1], -inf)
    hi = sub[j_hi] if j_hi < m else np.full(sub.shape[1], inf)
    return lo, hi


def _scan(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass: per-column count of ``v ≤ lo`` and the values with ``lo < v < hi``.

    Returns ``(n_le_lo, n_inside, inside)``; ``inside`` is (k, max n_inside), each row
    sorted ascending and padded with +inf.
    """
    k = v.shape[1]
    n_le = np.zeros(k, dtype=np.int64)
    cols, vals = [], []
    for sl in _count_blocks(v.shape[0], k):
        blk = v[sl]
        n_le += _count(_compare(np.less_equal, blk, lo))
        flat = np.flatnonzero(_compare(np.greater, blk, lo) & _compare(np.less, blk, hi))
        cols.append((flat % k).astype(np.int16 if k < 2**15 else np.int64))
        vals.append(blk.ravel()[flat])
    c = np.concatenate(cols)
    order = np.argsort(c, kind="stable")  # radix sort: groups the values by column
    c = c[order]
    count = np.bincount(c, minlength=k)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    inside = np.full((k, int(count.max(initial=1))), np.inf, dtype=v.dtype)
    inside[c, np.arange(c.size) - start[c]] = np.concatenate(vals)[order]
    inside.sort(axis=1)
    return n_le, count, inside


def order_statistics(v: np.ndarray, ranks: np.ndarray | list[int], *, sub: np.ndarray | None = None) -> np.ndarray:
    """Exact ``np.partition(v, ranks, axis=0)[ranks]`` of a finite (n, k) array.

    Parameters
    ----------
    v : ndarray, shape (n, k)
        Finite values (no NaN/inf), any float dtype; not copied as a whole.
    ranks : sequence of int
        0-based ranks (0 = minimum), each in ``0 … n − 1``, close together (e.g. the two
        neighbours of one percentile).
    sub : ndarray, optional
        Sorted subsample of ``v`` (reused across calls on the same array).

    Returns
    -------
    ndarray, shape (len(ranks), k), dtype of ``v``

    Notes
    -----
    With the subsample bracket ``lo … hi`` of a column, one pass counts ``v ≤ lo`` and
    collects the values strictly inside (ties at ``lo``/``hi``, e.g. the many zeros of a
    calibrated sensor in swing, are counted, never collected). A rank below that count
    is ``lo`` if it is not below ``count(v < lo)``; a rank past the collected values is
    ``hi`` if it is below ``count(v ≤ hi)`` (extra counting passes on those columns
    only); anything else is partitioned column by column.
    """
    r = np.asarray(ranks, dtype=np.int64)
    n, k = v.shape
    if n < 4 * SUBSAMPLE or k == 0:
        return np.partition(v, r, axis=0)[r]
    lo, hi = _brackets(_sorted_subsample(v) if sub is None else sub, n, r, v.dtype)
    n_le, n_in, inside = _scan(v, lo, hi)
    cols = np.arange(k)
    pos = r[:, None] - n_le[None, :]                       # rank among the inside values
    out = inside[cols[None, :], np.clip(pos, 0, inside.shape[1] - 1)]
    done = ((pos >= 0) & (pos < n_in[None, :])).all(axis=0)
    at_lo = ~done & (pos < 0).all(axis=0)                  # every rank within the ties at lo?
    if at_lo.any():
        c = np.flatnonzero(at_lo)
        ok = count_where(v, np.less, lo[c], cols=c) <= r[0]
        out[:, c[ok]] = lo[c[ok]]
        done[c[ok]] = True
    at_hi = ~done & (pos >= n_in[None, :]).all(axis=0)      # every rank within the ties at hi?
    if at_hi.any():
        c = np.flatnonzero(at_hi)
        ok = count_where(v, np.less_equal, hi[c], cols=c) > r[-1]
        out[:, c[ok]] = hi[c[ok]]
        done[c[ok]] = True
    for col in np.flatnonzero(~done):  # ranks straddle a bracket end, or the bracket missed: rare
        out[:, col] = np.partition(np.ascontiguousarray(v[:, col]), r)[r]
    return out


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's quantile interpolation (``numpy.lib._function_base_impl._lerp``), bit for bit."""
    diff = b - a
    out = a + diff * t
    hi = np.broadcast_to(t >= 0.5, out.shape)
    out[hi] = np.broadcast_to(b - diff * (1 - t), out.shape)[hi]
    return out


def percentiles(v: np.ndarray, q_pct: list[float]) -> np.ndarray:
    """``np.percentile(v.astype(float64), q_pct, axis=0)`` (linear method) of a finite (n, k) array.

    Equal bit for bit to numpy: the same virtual index ``(n − 1)·q`` and interpolation,
    on the exact order statistics from :func:`order_statistics`.

    Returns
    -------
    ndarray, shape (len(q_pct), k), float64
    """
    n = v.shape[0]
    q = np.true_divide(np.asarray(q_pct, dtype=np.float64), 100)
    vi = (n - 1) * q
    prev = np.floor(vi)
    above = vi >= n - 1
    prev_i = np.where(above, n - 1, prev).astype(np.int64)
    next_i = np.where(above, n - 1, prev + 1).astype(np.int64)
    gamma = vi - np.where(above, -1.0, prev)
    out = np.empty((q.size, v.shape[1]))
    sub = _sorted_subsample(v) if v.shape[0] >= 4 * SUBSAMPLE else None
    for i in range(q.size):
        a, b = order_statistics(v, [prev_i[i], next_i[i]], sub=sub).astype(np.float64)
        out[i] = _lerp(a, b, np.full(v.shape[1], gamma[i]))
    return out


def long_runs(mask: np.ndarray, min_run: int) -> np.ndarray:
    """Samples in runs of ≥ ``min_run`` consecutive True values, per column of a 2-D mask.

    A window of ``min_run`` samples starting at ``s`` is all True when the cumulative
    count rises by ``min_run`` over it; a sample is in a long run when such a window
    covers it.
    """
    n = mask.shape[0]
    if min_run <= 1:
        return mask.copy()
    if n < min_run:
        return np.zeros(mask.shape, dtype=bool)
    cs = np.zeros((n + 1,) + mask.shape[1:], dtype=np.int64)
    np.cumsum(mask, axis=0, out=cs[1:])
    full = (cs[min_run:] - cs[:-min_run]) == min_run  # (n − min_run + 1, ...) window starts
    cf = np.zeros((full.shape[0] + 1,) + mask.shape[1:], dtype=np.int64)
    np.cumsum(full, axis=0, out=cf[1:])
    t = np.arange(n)
    hi = np.minimum(t, n - min_run) + 1
    lo = np.maximum(t - min_run + 1, 0)
    return (cf[hi] - cf[lo]) > 0
