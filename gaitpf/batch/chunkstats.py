"""Pure numpy helpers of the chunked analysis: exact whole-record statistics from chunks.

The analysis stages use a few *whole-record* statistics per sensor channel: robust
range (0.5th/99.5th percentile, dead-channel test), maximum (saturation), 1st
percentile (fill level of long NaN runs) and the 1 % order statistic of
:func:`gaitpf.analysis.kinetics.sensor_baseline`. :class:`ChannelStats` gathers them
exactly from row chunks by keeping, per channel, only the few smallest and largest
values (``0.01·n + 2`` and ``0.005·n + 3`` of them; each chunk is compared with the
current cut and only the values below it are collected), and :func:`percentile_from_sorted`
reproduces numpy's ``linear`` percentile bit for bit (``(n − 1)·q`` virtual index, the
same two-sided ``lerp``). :func:`preprocess_rows` is the per-channel part of
:func:`gaitpf.analysis.preprocess.prepare_load` with those statistics injected (NaN
interpolation, saturation, channel sum); the whole-record sensor baseline goes to
:func:`~gaitpf.analysis.kinetics.stride_kinetics` of each chunk as its ``sensor_baseline``.

No I/O here (that is :mod:`gaitpf.batch.chunked`); no per-sample Python loops.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..analysis.cop import BASELINE_PERCENTILE
from ..analysis.preprocess import PreprocessParams
from ..errors import SignalError

__all__ = ["ChannelStats", "percentile_from_sorted", "preprocess_rows", "run_mask"]


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's quantile interpolation (``numpy.lib._function_base_impl._lerp``).

    Columns without data carry ±inf order statistics; their NaN result is expected.
    """
    with np.errstate(invalid="ignore"):
        diff = b - a
        out = a + diff * t
        hi = t >= 0.5
        out[hi] = (b - diff * (1 - t))[hi]
    return out


def percentile_from_sorted(lo_sorted: np.ndarray, hi_sorted: np.ndarray, count: np.ndarray, q_pct: float) -> np.ndarray:
    """Per-column ``np.nanpercentile(x, q_pct, axis=0)`` from partial order statistics.

    Parameters
    ----------
    lo_sorted : ndarray, shape (K_lo, k)
        The K_lo smallest finite values of each column, ascending (+inf filler).
    hi_sorted : ndarray, shape (K_hi, k)
        The K_hi largest finite values of each column, descending (−inf filler).
    count : ndarray of int, shape (k,)
        Finite values per column.
    q_pct : float
        Percentile (0–100).

    Returns
    -------
    ndarray, shape (k,)
        NaN where ``count == 0``.

    Raises
    ------
    SignalError
        The needed ranks are not among the kept values (K too small for ``q_pct``).
    """
    q = np.true_divide(q_pct, 100)
    cnt = count.astype(np.int64)
    vi = (cnt - 1) * q
    prev = np.floor(vi)
    nxt = prev + 1
    above = vi >= cnt - 1
    prev_i = np.where(above, cnt - 1, prev).astype(np.int64)
    next_i = np.where(above, cnt - 1, nxt).astype(np.int64)
    gamma = vi - np.where(above, -1.0, prev)
    cols = np.arange(len(cnt))

    def value(rank: np.ndarray) -> np.ndarray:
        out = np.full(len(cnt), np.nan)
        from_top = cnt - 1 - rank
        use_lo = rank < lo_sorted.shape[0]
        use_hi = ~use_lo & (from_top < hi_sorted.shape[0])
        if np.any((cnt > 0) & ~use_lo & ~use_hi):
            raise SignalError(f"percentile {q_pct}: rank outside the kept order statistics")
        r = np.clip(rank, 0, max(lo_sorted.shape[0] - 1, 0))
        t = np.clip(from_top, 0, max(hi_sorted.shape[0] - 1, 0))
        out = np.where(use_lo, lo_sorted[r, cols], np.where(use_hi, hi_sorted[t, cols], np.nan))
        return out.astype(float)

    res = _lerp(value(prev_i), value(next_i), gamma)
    return np.where(cnt > 0, res, np.nan)


class _Smallest:
    """The ``keep`` smallest finite values of every column of a stream of row chunks.

    Each chunk is compared once with every column's current cut (the largest kept
    value, +inf until ``keep`` values are kept); only values below it can enter, and
    only those are collected as (column, value) pairs. When the pairs outnumber a quarter
    of the kept values (so memory stays within about 1.25 × the kept values, plus the
    merge's temporaries) they are merged in, column by column, and the cuts drop. A value equal
    to the cut cannot change the kept *values*, so the result is exact. For a stationary
    signal a column collects about ``keep·ln(n/keep)`` values in all, instead of
    partitioning every chunk.
    """

    def __init__(self, keep: int, n_channels: int, dtype: np.dtype) -> None:
        self.keep, self.n_channels, self.dtype = keep, n_channels, dtype
        self.kept = np.full((n_channels, keep), np.inf, dtype=dtype)  # one row per column
        self.cut = np.full(n_channels, np.inf, dtype=dtype)
        self._cols: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []
        self._pending = 0
        self._limit = max(keep * n_channels // 4, 1 << 16)

    def offer(self, x: np.ndarray, negate: bool = False) -> None:
        """Offer a C-ordered (rows, n_channels) chunk (of ``-x`` with ``negate``)."""
        hit = np.greater(x, -self.cut) if negate else np.less(x, self.cut)
        idx = np.flatnonzero(hit)  # NaN never compares; ±inf are dropped below
        if not idx.size:
            return
        vals = x.ravel()[idx]
        if negate:
            vals = -vals
        ok = np.isfinite(vals)
        self._cols.append((idx[ok] % self.n_channels).astype(np.int32))
        self._vals.append(vals[ok])
        self._pending += int(ok.sum())
        if self._pending > self._limit:
            self._merge()

    def _merge(self) -> None:
        if not self._pending:
            self._cols, self._vals = [], []
            return
        cols, vals = np.concatenate(self._cols), np.concatenate(self._vals)
        self._cols, self._vals, self._pending = [], [], 0
        order = np.argsort(cols, kind="stable")
        cols, vals = cols[order], vals[order]
        starts = np.searchsorted(cols, np.arange(self.n_channels + 1))
        k = self.keep
        for c in np.flatnonzero(np.diff(starts)):  # a loop over channels, not samples
            merged = np.concatenate([self.kept[c], vals[starts[c]:starts[c + 1]]])
            if merged.size > k:
                merged = np.partition(merged, k - 1)[:k]
            self.kept[c] = merged
            self.cut[c] = merged.max()

    def result(self) -> np.ndarray:
        """The kept values, shape (keep, n_channels), ascending per column (+inf filler)."""
        self._merge()
        return np.sort(self.kept, axis=1).T.copy()


@dataclass
class ChannelStats:
    """Exact whole-record per-channel statistics, fed row chunk by row chunk.

    Parameters
    ----------
    n_rows : int
        Total rows the record will have (bounds the ranks to keep).
    n_channels : int
    dtype : numpy dtype
        Dtype to keep the order statistics in (the file's, so no rounding happens).
    """

    n_rows: int
    n_channels: int
    dtype: np.dtype = np.dtype("float64")

    def __post_init__(self) -> None:
        self.k_lo = int(math.floor(0.01 * max(self.n_rows - 1, 0))) + 2
        self.k_hi = int(math.floor(0.005 * max(self.n_rows - 1, 0))) + 3
        self._low = _Smallest(self.k_lo, self.n_channels, np.dtype(self.dtype))
        self._high = _Smallest(self.k_hi, self.n_channels, np.dtype(self.dtype))  # of −x
        self.lo = np.full((self.k_lo, self.n_channels), np.inf, dtype=self.dtype)
        self.hi = np.full((self.k_hi, self.n_channels), -np.inf, dtype=self.dtype)
        self.count = np.zeros(self.n_channels, np.int64)
        self.max = np.full(self.n_channels, -np.inf)
        self.n_at_max = np.zeros(self.n_channels, np.int64)
        self.rows = 0

    def update(self, chunk: np.ndarray) -> None:
        """Add rows (any float dtype; ±inf count as missing, like NaN)."""
        x = np.ascontiguousarray(chunk, dtype=self.dtype)
        finite = np.isfinite(x)
        self.count += finite.sum(axis=0)
        self.rows += x.shape[0]
        if x.shape[0] == 0:
            return
        with np.errstate(all="ignore"):
            chunk_max = np.where(finite, x, -np.inf).max(axis=0).astype(float)
        # samples at the running maximum (saturation needs ≥ min_run of them): counted again
        # from this chunk when it raises the maximum, added when it reaches it
        at = np.where(np.isfinite(chunk_max), (x == chunk_max.astype(x.dtype)).sum(axis=0), 0)
        self.n_at_max = np.where(chunk_max > self.max, at,
                                 np.where(chunk_max == self.max, self.n_at_max + at, self.n_at_max))
        self.max = np.fmax(self.max, chunk_max)
        self._low.offer(x)
        self._high.offer(x, negate=True)

    def may_saturate(self, min_run: int) -> np.ndarray:
        """Channels that can hold a run of ``min_run`` samples at their maximum.

        As in :func:`gaitpf.analysis.preprocess.prepare_load`: a channel with missing
        values (filled, so filled samples may sit at the maximum) or with at least
        ``min_run`` samples equal to its maximum; any other cannot saturate.
        """
        return (self.count < self.rows) | (self.n_at_max >= min_run)

    def finish(self) -> None:
        """Merge and sort the kept values (call once, after the last chunk)."""
        self.lo = self._low.result()
        self.hi = -self._high.result()

    def percentile(self, q_pct: float) -> np.ndarray:
        """``np.nanpercentile(column, q_pct)`` of every channel (NaN for an all-NaN channel)."""
        return percentile_from_sorted(self.lo, self.hi, self.count, q_pct)

    def sensor_baseline(self) -> np.ndarray:
        """:func:`gaitpf.analysis.kinetics.sensor_baseline` of the whole record."""
        k = np.clip(np.floor((self.count - 1) * BASELINE_PERCENTILE / 100.0).astype(np.int64), 0, None)
        if np.any((self.count > 0) & (k >= self.k_lo)):
            raise SignalError("sensor baseline rank outside the kept order statistics")
        base = self.lo[np.clip(k, 0, self.k_lo - 1), np.arange(self.n_channels)].astype(float)
        return np.where(self.count > 0, base, 0.0)

    def channel_ok(self, params: PreprocessParams) -> tuple[np.ndarray, np.ndarray]:
        """``(channel_ok, robust range)`` exactly as :func:`~gaitpf.analysis.preprocess.prepare_load`."""
        all_nan = self.count == 0
        hi = np.where(all_nan, 0.0, self.percentile(99.5))
        lo = np.where(all_nan, 0.0, self.percentile(0.5))
        rng = np.where(all_nan, 0.0, hi - lo)
        return (rng > 0) & (rng >= params.dead_range_fraction * rng.max()), rng


def run_mask(mask: np.ndarray, min_run: int) -> np.ndarray:
    """True on samples belonging to a run of ≥ ``min_run`` consecutive True (per column)."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim == 1:
        return run_mask(m[:, None], min_run)[:, 0]
    n, k = m.shape
    padded = np.zeros((k, n + 2), np.int8)
    padded[:, 1:-1] = m.T
    d = np.diff(padded, axis=1)
    rs, cs = np.nonzero(d == 1)
    re, ce = np.nonzero(d == -1)  # same order: row-major over (column, position)
    long_ = (ce - cs) >= min_run
    delta = np.zeros((k, n + 1), np.int32)
    np.add.at(delta, (rs[long_], cs[long_]), 1)
    np.add.at(delta, (re[long_], ce[long_]), -1)
    return (np.cumsum(delta, axis=1)[:, :n] > 0).T


def preprocess_rows(
    values: np.ndarray, *, channel_ok: np.ndarray, fill_low: np.ndarray, channel_max: np.ndarray,
    sampling_rate_hz: float, params: PreprocessParams, may_saturate: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel preprocessing of a row chunk with whole-record statistics.

    Same steps as :func:`gaitpf.analysis.preprocess.prepare_load` up to the channel sum:
    NaN runs ≤ ``max_interp_gap_ms`` interpolated linearly per channel, longer runs set to
    the channel's whole-record 1st percentile (``fill_low``); saturation = runs of
    ≥ ``saturation_min_run`` samples at the channel's whole-record maximum, looked for only
    in the ``may_saturate`` channels when given (:meth:`ChannelStats.may_saturate`). Valid on the
    rows more than ``max(max gap, saturation run) + 1`` samples away from a cut edge.

    Returns
    -------
    total : ndarray (n,)
        Sum of the usable channels.
    invalid : ndarray of bool (n,)
        A usable channel was NaN.
    saturated : ndarray of bool (n,)
    """
    x = np.array(values, dtype=float, copy=True)
    x[np.isinf(x)] = np.nan
    used = x[:, channel_ok]
    nan = np.isnan(used)
    if nan.any():
        max_gap = int(round(params.max_interp_gap_ms * sampling_rate_hz / 1000.0))
        long_nan = run_mask(nan, max_gap + 1)
        idx = np.arange(len(used))
        lows = fill_low[channel_ok]
        for col in np.flatnonzero(nan.any(axis=0)):  # loop over channels, not samples
            good = ~nan[:, col]
            if not good.any():
                continue
            filled = np.interp(idx, idx[good], used[good, col])
            short = nan[:, col] & ~long_nan[:, col]
            used[short, col] = filled[short]
            used[long_nan[:, col], col] = lows[col]
    invalid = nan.any(axis=1)
    cand = np.ones(used.shape[1], bool) if may_saturate is None else np.asarray(may_saturate)[channel_ok]
    if cand.any():
        at_max = used[:, cand] >= channel_max[channel_ok][cand]
        saturated = run_mask(at_max, params.saturation_min_run).any(axis=1)
    else:
        saturated = np.zeros(len(used), bool)
    return used.sum(axis=1), invalid, saturated
