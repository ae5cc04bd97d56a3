"""Which rows of a foot hold real frames, decided by the device counters; their time span.

A recording can hold rows that are no frames: a flush that failed half-way (disk full,
file-size limit) may leave the datasets' new extent on disk without their data, and
those rows read as the fill value (sample counter 0, times 0). The rule, used by
``gaitpf repair`` to decide what to keep and by ``gaitpf info`` to report durations:

* **The device counters decide.** The recorder stores only frames whose device counter
  increases strictly (duplicates and late frames are dropped; lost frames are jumps
  forward), so the first row whose counter does not increase ends the real frames.
* A non-finite ``time_s`` ends them too, and so does a run of ``time_s == 0`` (the fill
  value) at the end after non-zero times.
* **Host time never decides.** ``time_s`` of a recording comes from the host clock
  aligned to the device counters; it may step back by a few ms (a host clock
  adjustment, a late notification) while the counters keep rising by 1. Such a step is
  no reason to drop anything: after a crash the clock refit of ``gaitpf repair``
  rebuilds ``time_s`` from the counters.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["valid_frames", "foot_span_s"]


def valid_frames(sample_counter: np.ndarray, time_s: np.ndarray) -> int:
    """Number of leading rows that are real frames (see the module docstring).

    Parameters
    ----------
    sample_counter : int array (n,)
        Device sample counters of the rows.
    time_s : float array (n,)
        Aligned times of the rows, s.

    Returns
    -------
    int
        ``k``: rows ``0 … k-1`` are real frames.
    """
    counter = np.asarray(sample_counter)
    t = np.asarray(time_s, dtype=float)
    n = min(len(counter), len(t))
    if n == 0:
        return 0
    stop = np.flatnonzero(np.diff(counter[:n]) <= 0)
    valid = int(stop[0] + 1) if stop.size else n
    bad_t = np.flatnonzero(~np.isfinite(t[:valid]))
    if bad_t.size:
        valid = int(bad_t[0])
    nonzero = np.flatnonzero(t[:valid] != 0.0)
    if nonzero.size and nonzero[-1] + 1 < valid:   # time_s unwritten (fill value 0) at the end
        valid = int(nonzero[-1] + 1)
    return valid


def foot_span_s(group: Any, n: int, sampling_rate_hz: float) -> tuple[float, bool]:
    """Duration of a foot's frames, s, and whether its rows are consistent.

    ``last − first time_s + one sample period`` over the real frames. The common case
    reads two values; only when those are inconsistent (the last time before the first,
    or not finite) is the whole ``time_s`` / ``sample_counter`` read and the span taken
    over :func:`valid_frames` (never negative).

    Parameters
    ----------
    group : h5py.Group
        A foot group (``time_s`` and ``sample_counter`` datasets).
    n : int
        Rows to consider.
    sampling_rate_hz : float

    Returns
    -------
    (duration_s, consistent) : (float, bool)
    """
    if n <= 0:
        return 0.0, True
    period = 1.0 / sampling_rate_hz if sampling_rate_hz > 0 else 0.0
    t = group["time_s"]
    first, last = float(t[0]), float(t[n - 1])
    if np.isfinite(first) and np.isfinite(last) and last >= first:
        return last - first + period, True
    times = np.asarray(t[:n], dtype=float)
    k = valid_frames(np.asarray(group["sample_counter"][:n]), times) if "sample_counter" in group else n
    ok = times[:k][np.isfinite(times[:k])]
    if ok.size == 0:
        return 0.0, False
    return float(ok.max() - ok.min()) + period, False
