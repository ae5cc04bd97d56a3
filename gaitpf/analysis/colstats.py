"""Exact per-channel statistics of long (samples x channels) arrays, streamed by row blocks.

Preprocessing and kinetics need whole-record statistics of every channel (robust range,
maximum, low percentile) of recordings that can hold hours of 1000-sensel frames. Sorting
or partitioning a column of a C-ordered array needs a transposed copy and O(n) work per
column; instead these helpers read the array in blocks of rows, vectorized across
channels, never copying more than one block (and never converting the whole array to
float64).

:func:`column_profile` gives, in ONE streaming pass, every column's minimum, maximum,
number of samples at the maximum and exact order statistics at a few tail ranks (the
same values as ``np.partition``): the ranks are bracketed by values of a fixed
pseudo-random subsample of rows, the pass counts the ties at the bracket ends and
collects the few values beyond them, among which the ranks are selected. A column whose
bracket misses (an unlucky subsample) falls back to partitioning that column alone, so
the subsample only affects speed, never the result. :func:`percentile_ranks` and
:func:`interpolate_percentiles` turn those order statistics into numpy's ``linear``
percentiles bit for bit, so one pass serves the robust range (0.5th/99.5th percentile),
the saturation level (maximum) and the sensor baseline (1 % order statistic).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

__all__ = [
    "row_blocks", "column_min_max", "count_where", "order_statistics", "percentiles", "percentile_ranks",
    "interpolate_percentiles", "ColumnProfile", "column_profile", "long_runs",
]

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
    r, k = mask.shape
    if r > COUNT_ROWS and (not mask.flags.c_contiguous or r < 2 * _fold(k)):
        # not folded by _reduce_rows: uint8 sums over more than 255 rows would wrap around
        return np.count_nonzero(mask, axis=0).astype(np.int64)
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


def order_statistics(v: np.ndarray, ranks: np.ndarray | list[int]) -> np.ndarray:
    """Exact ``np.partition(v, ranks, axis=0)[ranks]`` of a finite (n, k) array.

    Parameters
    ----------
    v : ndarray, shape (n, k)
        Finite values (no NaN/inf), any float dtype; not copied as a whole.
    ranks : sequence of int
        0-based ranks (0 = minimum), each in ``0 … n − 1``, in the tails of the columns
        (see :func:`column_profile`, which this is a view of).

    Returns
    -------
    ndarray, shape (len(ranks), k), dtype of ``v``
    """
    return column_profile(v, ranks).values


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's quantile interpolation (``numpy.lib._function_base_impl._lerp``), bit for bit."""
    diff = b - a
    out = a + diff * t
    hi = np.broadcast_to(t >= 0.5, out.shape)
    out[hi] = np.broadcast_to(b - diff * (1 - t), out.shape)[hi]
    return out


def percentile_ranks(n: int, q_pct: list[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's ``linear`` percentile bookkeeping for ``n`` values: ``(prev_rank, next_rank, gamma)``.

    The virtual index is ``(n − 1)·q``; the percentile is ``lerp(x[prev], x[next], gamma)``
    of the sorted values (:func:`interpolate_percentiles`). Each output has ``len(q_pct)`` entries.
    """
    q = np.true_divide(np.asarray(q_pct, dtype=np.float64), 100)
    vi = (n - 1) * q
    prev = np.floor(vi)
    above = vi >= n - 1
    prev_i = np.where(above, n - 1, prev).astype(np.int64)
    next_i = np.where(above, n - 1, prev + 1).astype(np.int64)
    gamma = vi - np.where(above, -1.0, prev)
    return prev_i, next_i, gamma


def interpolate_percentiles(prev_vals: np.ndarray, next_vals: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Percentiles (float64, shape (len(gamma), k)) from the order statistics at :func:`percentile_ranks`.

    ``prev_vals``/``next_vals`` have shape (len(gamma), k); equal bit for bit to numpy.
    """
    a = np.asarray(prev_vals).astype(np.float64)
    b = np.asarray(next_vals).astype(np.float64)
    out = np.empty(a.shape)
    for i in range(a.shape[0]):
        out[i] = _lerp(a[i], b[i], np.full(a.shape[1], gamma[i]))
    return out


def percentiles(v: np.ndarray, q_pct: list[float]) -> np.ndarray:
    """``np.percentile(v.astype(float64), q_pct, axis=0)`` (linear method) of a finite (n, k) array.

    Equal bit for bit to numpy: the same virtual index ``(n − 1)·q`` and interpolation,
    on the exact order statistics of one :func:`column_profile` pass.

    Returns
    -------
    ndarray, shape (len(q_pct), k), float64
    """
    prev_i, next_i, gamma = percentile_ranks(v.shape[0], q_pct)
    prof = column_profile(v, np.concatenate([prev_i, next_i]))
    return interpolate_percentiles(prof.values[: gamma.size], prof.values[gamma.size:], gamma)


@dataclass(frozen=True)
class ColumnProfile:
    """Per-column statistics of an (n, k) array from :func:`column_profile`.

    Attributes
    ----------
    min, max : ndarray, shape (k,), dtype of the array
        Column minimum and maximum (NaN when the column holds a NaN).
    finite : ndarray of bool, shape (k,)
        Columns without NaN/inf. ``values`` and ``n_at_max`` are defined there only.
    ranks : ndarray of int64, shape (R,)
        The 0-based ranks asked for.
    values : ndarray, shape (R, k), dtype of the array
        ``np.partition(v[:, c], ranks)[ranks]`` of every finite column c (NaN elsewhere).
    n_at_max : ndarray of int64, shape (k,)
        Samples equal to the column maximum (finite columns; −1 elsewhere).
    """

    min: np.ndarray
    max: np.ndarray
    finite: np.ndarray
    ranks: np.ndarray
    values: np.ndarray
    n_at_max: np.ndarray


def _grouped(c: np.ndarray, vals: np.ndarray, k: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Collected (column, value) pairs as a (k, max count) array, rows sorted ascending, +inf padded."""
    count = np.bincount(c, minlength=k)
    order = np.argsort(c, kind="stable")  # radix sort: groups the values by column
    c = c[order]
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    inside = np.full((k, int(count.max(initial=1))), np.inf, dtype=dtype)
    inside[c, np.arange(c.size) - start[c]] = vals[order]
    inside.sort(axis=1)
    return count.astype(np.int64), inside


def column_profile(v: np.ndarray, ranks: np.ndarray | list[int]) -> ColumnProfile:
    """Minimum, maximum, count at the maximum and exact order statistics of every column, in one pass.

    Parameters
    ----------
    v : ndarray, shape (n, k), n ≥ 1
        Any float dtype; not copied as a whole (rows are streamed in blocks).
    ranks : sequence of int
        0-based ranks (0 = minimum) in ``0 … n − 1``; meant for the tails (e.g. the
        neighbours of the 0.5th, 1st and 99.5th percentiles): every rank in the lower
        half is bracketed from below, every rank in the upper half from above.

    Returns
    -------
    ColumnProfile

    Notes
    -----
    From a fixed pseudo-random subsample of ``SUBSAMPLE`` sorted rows, each column gets
    a value ``hi`` safely above its low ranks and a value ``lo`` safely below its high
    ranks. The one pass over row blocks takes the column minimum and maximum, counts
    ``v ≤ hi`` and ``v ≥ lo`` and collects the values ``v < hi`` and ``v > lo`` (a few %
    of the record; ties at ``hi``/``lo``, e.g. the zeros of a calibrated sensor in swing,
    are counted, never collected). A rank among the collected values is read off them,
    one within the ties is ``hi``/``lo``; a column whose bracket misses (unlucky
    subsample) is partitioned alone, so the subsample affects speed, never the result.
    The maximum is among the values ``v > lo`` (or equals ``lo``), which gives
    ``n_at_max`` without another pass. Below ``4·SUBSAMPLE`` rows the columns are
    partitioned directly.
    """
    n, k = v.shape
    r_all = np.asarray(ranks, dtype=np.int64).ravel()
    ur, inv = np.unique(r_all, return_inverse=True)
    if ur.size and (ur[0] < 0 or ur[-1] >= n):
        raise ValueError(f"ranks must lie in 0 … {n - 1}, got {ur[0]} … {ur[-1]}")
    vals = np.full((ur.size, k), np.nan, dtype=v.dtype)
    n_at_max = np.full(k, -1, dtype=np.int64)
    if n < 4 * SUBSAMPLE or k == 0:
        mn, mx = column_min_max(v)
        finite = np.isfinite(mn) & np.isfinite(mx)
        fc = np.flatnonzero(finite)
        if fc.size:
            vf = v if fc.size == k else v[:, fc]
            if ur.size:
                vals[:, fc] = np.partition(vf, ur, axis=0)[ur]
            n_at_max[fc] = count_where(v, np.greater_equal, mx[fc], cols=fc)
        return ColumnProfile(mn, mx, finite, r_all, vals[inv], n_at_max)

    sub = _sorted_subsample(v)
    half = 0.5 * (n - 1)
    low, high = ur[ur <= half], ur[ur > half]
    inf = np.array(np.inf, dtype=v.dtype)
    # bracket ends from the subsample: hi above the low ranks, lo below the high ranks
    hi = _brackets(sub, n, low, v.dtype)[1] if low.size else np.full(k, inf)
    lo = _brackets(sub, n, high, v.dtype)[0] if high.size else np.full(k, -inf)
    m = _fold(k)
    tiled = {key: np.tile(ref, m) for key, ref in (("hi", hi), ("lo", lo))}
    mn = np.full(k, inf, dtype=v.dtype)
    mx = np.full(k, -inf, dtype=v.dtype)
    n_le_hi = np.zeros(k, dtype=np.int64)
    n_ge_lo = np.zeros(k, dtype=np.int64)
    low_c, low_v, high_c, high_v = [], [], [], []
    ctype = np.int16 if k < 2**15 else np.int64
    for sl in _count_blocks(n, k):
        blk = v[sl]
        if not low.size:  # else the minimum is the smallest value below hi (or hi itself), below
            mn = np.minimum(mn, _reduce_rows(blk, np.minimum))
        mx = np.maximum(mx, _reduce_rows(blk, np.maximum))  # NaN-propagating: flags NaN columns
        r = blk.shape[0]
        if m > 1 and r % m == 0 and blk.flags.c_contiguous:  # folded: long inner loops (see _fold)
            b2, ref_hi, ref_lo = blk.reshape(r // m, m * k), tiled["hi"], tiled["lo"]
        else:
            b2, ref_hi, ref_lo = blk, hi, lo
        flat_blk = blk.ravel()
        if low.size:
            n_le_hi += _count(np.less_equal(b2, ref_hi).reshape(r, k))
            idx = np.flatnonzero(np.less(b2, ref_hi))
            low_c.append((idx % k).astype(ctype))
            low_v.append(flat_blk[idx])
        if high.size:
            n_ge_lo += _count(np.greater_equal(b2, ref_lo).reshape(r, k))
            idx = np.flatnonzero(np.greater(b2, ref_lo))
            high_c.append((idx % k).astype(ctype))
            high_v.append(flat_blk[idx])
    cols = np.arange(k)
    miss = np.zeros((ur.size, k), dtype=bool)
    if low.size:  # ranks < count(v < hi) are collected; up to count(v ≤ hi) they tie at hi
        n_lt, inside = _grouped(np.concatenate(low_c), np.concatenate(low_v), k, v.dtype)
        # without NaN: the minimum is collected, or it is hi (a value of the column, or +inf
        # when everything was collected); NaN columns get NaN as np.minimum would give
        mn = np.where(n_lt > 0, inside[:, 0], hi).astype(v.dtype)
        mn[np.isnan(mx)] = np.nan
    finite = np.isfinite(mn) & np.isfinite(mx)
    if low.size:
        rk = low[:, None]
        got = inside[cols[None, :], np.clip(rk, 0, inside.shape[1] - 1)]
        vals[: low.size] = np.where(rk < n_lt[None, :], got, hi[None, :])
        miss[: low.size] = rk >= n_le_hi[None, :]
    if high.size:  # ranks ≥ count(v ≤ lo) are collected; down to count(v < lo) they tie at lo
        n_gt, inside = _grouped(np.concatenate(high_c), np.concatenate(high_v), k, v.dtype)
        n_le = n - n_gt
        rk = high[:, None]
        pos = rk - n_le[None, :]
        got = inside[cols[None, :], np.clip(pos, 0, inside.shape[1] - 1)]
        vals[low.size:] = np.where(pos >= 0, got, lo[None, :])
        miss[low.size:] = rk < (n - n_ge_lo)[None, :]
        # the maximum is collected (max > lo) or is lo itself (then every v ≥ lo equals it)
        at_max = np.where(mx > lo, (inside == mx[:, None]).sum(axis=1), n_ge_lo)
        n_at_max[finite] = at_max[finite]
    else:
        fc = np.flatnonzero(finite)
        n_at_max[fc] = count_where(v, np.greater_equal, mx[fc], cols=fc)
    for col in np.flatnonzero(finite & miss.any(axis=0)):  # the bracket missed: rare
        vals[:, col] = np.partition(np.ascontiguousarray(v[:, col]), ur)[ur]
    vals[:, ~finite] = np.nan
    return ColumnProfile(mn, mx, finite, r_all, vals[inv], n_at_max)


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
