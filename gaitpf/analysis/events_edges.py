"""Physical edges of a stance: first sustained loading, terminal plateaus, ambiguity flags.

Helpers of :func:`gaitpf.analysis.events.detect_stance_phases` (all levels are fractions of
the load scale ``S``, ``u = load / S``; rates in S per second).

**Contact.** The sole is *in contact* while its load is above the floor of the adjacent swing
by more than the contact level ``tail_fraction`` (default 0.08 S; with ``S`` about the
typical stance peak, ≈ 5–8 % of body weight, the order of the 10–20 N / few-% BW thresholds
of force-plate practice once an insole's pre-load and hysteresis are allowed for).

* **Initial contact (IC)** is the first *sustained* loading of the sole: the onset of the
  rise that takes the load above the contact level and keeps it there until the stance is
  confirmed (the load crosses ``high_fraction``). Walking back from the confirming
  crossing: the first sample of the run above ``swing floor + contact level`` (swing floor =
  minimum over ``contact_window_ms`` before the crossing, not before the previous stance),
  then back along that rise while it stays steep (``rise_rate_per_s``). A slow heel ramp to
  a low plateau followed by the steep rise therefore gives the IC at the ramp's crossing of
  the contact level, not at the steep rise; a rise that is steep from the floor gives the
  same IC as the steep-rise rule of the PhysioNet gaitndd tables.
* **Toe-off (TO) on a terminal plateau.** After the steep unloading fall the load can stay
  on a shoulder well above the floor of the *following swing* before a second steep fall.
  When ``u − floor`` at the TO found by the floor search is above ``plateau_fraction`` and a
  second steep fall (≥ ``plateau_min_samples`` consecutive decrements ≥ ``fall_rate_per_s``,
  ≥ ``plateau_drop_fraction`` in all) starts within ``plateau_window_ms``, TO is the end of
  that fall (and not before the load is within ``tail_fraction`` of that floor). The floor
  of the following swing is the minimum from TO to the next IC, at most
  ``swing_floor_window_ms`` (bounded so the rule is local: chunked analysis gives the same).

**Ambiguity.** Where two defensible placements of one event are more than
``ambiguity_ms`` apart, the event is flagged and the other placement is kept:
``ic_ambiguous`` / ``ic_alt_idx`` = the other of (first sustained loading, onset of the
steep rise) when they differ (heel ramp); otherwise the *kink* of a multi-stage rise: the
load rises, pauses on a plateau (two consecutive increments below ``rise_rate_per_s``)
before reaching ``kink_fraction`` of the stance's early peak (within ``kink_window_ms``),
then rises steeply again — the PhysioNet gaitndd tables put the same waveform's contact
sometimes at the first rise and sometimes at the kink (als3: 21 of its 24 contacts that
gaitpf misses by > 20 ms lie at the kink, while 81 strides of the same shape are marked at
the first rise);
``to_ambiguous`` / ``to_alt_idx`` = the end of the first steep fall when TO was moved by a
slow unloading tail or a terminal plateau. Non-ambiguous rows carry ``alt = idx``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["runs", "window", "first_sustained_loading", "terminal_plateau", "loading_kink"]


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) indices of the True runs of a 1-D mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def window(u: np.ndarray, anchor: np.ndarray, bound: np.ndarray, width: int, forward: bool):
    """Gather windows of ``u``: rows = events, columns = offsets from ``anchor``.

    Backward windows cover ``[max(anchor - width, bound), anchor]``; forward windows cover
    ``[anchor, min(anchor + width, bound)]``. Out-of-window cells are +inf.
    """
    offs = np.arange(width + 1)
    idx = anchor[:, None] + offs[None, :] if forward else anchor[:, None] - offs[None, :]
    valid = idx <= bound[:, None] if forward else idx >= bound[:, None]
    valid &= (idx >= 0) & (idx < len(u))
    vals = np.where(valid, u[np.clip(idx, 0, len(u) - 1)], np.inf)
    return idx, vals


def _samples(ms: float, fs: float) -> int:
    return max(1, int(round(ms * fs / 1000.0)))


def first_sustained_loading(
    u: np.ndarray, first_high: np.ndarray, prev_bound: np.ndarray, *, fs: float, params: Any
) -> np.ndarray:
    """Onset of the first sustained loading before each confirming crossing (sample indices).

    ``first_high``: first sample above ``high_fraction`` of each stance candidate;
    ``prev_bound``: the earliest sample the search may reach (last high sample of the
    previous candidate). Returns, per candidate, the onset of the rise that takes ``u``
    above the swing floor + ``contact_fraction`` for good (see the module docstring); where the
    load never returns to the swing floor inside ``contact_window_ms``, ``first_high``.
    """
    n = len(u)
    width = _samples(params.contact_window_ms, fs)
    idx, vals = window(u, first_high, prev_bound, width, forward=False)
    floor = vals.min(axis=1)
    below = vals <= (floor + params.contact_fraction)[:, None]        # +inf cells never count
    has = below.any(axis=1)
    k = np.argmax(below, axis=1)                                    # first offset back at the floor
    rows = np.arange(len(k))
    cross = np.where(has, idx[rows, k] + 1, first_high)   # first sample of the loaded run
    cross = np.minimum(cross, first_high)
    # back along the rise while it is steep (one slow sample tolerated), at most one edge
    # window and not past the last sample at the swing floor (within edge_fraction)
    at_floor = vals <= (floor + params.edge_fraction)[:, None]
    kf = np.argmax(at_floor & (idx < cross[:, None]), axis=1)
    floor_idx = idx[rows, kf]
    back = _samples(params.edge_window_ms, fs)
    lo = np.maximum(np.maximum(cross - back, prev_bound), floor_idx)
    idx, _ = window(u, cross, lo, back, forward=False)
    valid = idx >= (lo + 1)[:, None]
    j = np.clip(idx, 0, n - 1)
    du = (u[j] - u[np.maximum(j - 1, 0)]) * fs
    slow = ~(du >= params.rise_rate_per_s) | ~valid
    slow_pair = slow & np.concatenate([slow[:, 1:], np.ones((len(slow), 1), bool)], axis=1)
    k = np.argmax(slow_pair, axis=1)
    onset = np.minimum(idx[np.arange(len(k)), k] + 1, cross)
    onset = np.where(has, onset, first_high)
    return onset, np.where(has, cross, first_high)


def terminal_plateau(
    u: np.ndarray, ic: np.ndarray, to: np.ndarray, *, fs: float, params: Any
) -> np.ndarray:
    """Toe-offs moved to the end of a second steep fall after a terminal plateau.

    ``ic``, ``to``: sorted stances of one foot (sample indices). Returns the new ``to``
    (unchanged where the rule does not apply; see the module docstring) and whether the
    load at that TO is still above the following swing floor by more than
    ``plateau_fraction`` (a *loaded toe-off*: the self-check of
    :mod:`gaitpf.analysis.selfcheck`).
    """
    n = len(u)
    m = len(to)
    if m == 0:
        return to.copy(), np.zeros(0, bool)
    nxt = np.concatenate([ic[1:], [n - 1]])
    reach = np.minimum(nxt - 1, to + _samples(params.swing_floor_window_ms, fs))
    reach = np.maximum(reach, to)
    # floor of the following swing: min over [to, reach] (disjoint, ordered segments)
    bounds = np.empty(2 * m, dtype=np.int64)
    bounds[0::2], bounds[1::2] = to, reach + 1
    floor = np.minimum.reduceat(np.append(u, np.inf), bounds)[0::2]
    loaded = (u[to] - floor) > params.plateau_fraction
    out = to.copy()
    win = _samples(params.plateau_window_ms, fs)
    step = params.fall_rate_per_s / fs
    for i in np.flatnonzero(loaded):
        a, b = int(to[i]), int(min(reach[i], to[i] + win))
        seg = u[a: b + 1]
        if seg.size < params.plateau_min_samples + 1:
            continue
        steep = np.diff(seg) <= -step                              # steep[j]: seg[j] -> seg[j+1]
        starts, ends = runs(steep)
        for s, e in zip(starts, ends):
            if e - s >= params.plateau_min_samples and seg[s] - seg[e] >= params.plateau_drop_fraction:
                new = a + e                                        # the sample the fall reaches
                near = np.flatnonzero(u[a + s: int(reach[i]) + 1] <= floor[i] + params.tail_fraction)
                if near.size:
                    new = max(new, a + s + int(near[0]))
                out[i] = min(new, int(nxt[i]) - 1)
                break
    still = (u[out] - floor) > params.plateau_fraction
    return out, still


def loading_kink(u: np.ndarray, ic: np.ndarray, to: np.ndarray, *, fs: float, params: Any) -> np.ndarray:
    """End of the last loading plateau before the load reaches ``kink_fraction`` of the
    stance's early peak (sample indices; ``ic`` where the rise has no plateau)."""
    if len(ic) == 0:
        return ic.copy()
    width = _samples(params.kink_window_ms, fs)
    idx, vals = window(u, ic, to, width, forward=True)
    finite = np.isfinite(vals)
    peak = np.where(finite, vals, -np.inf).max(axis=1)
    reached = finite & (vals >= params.kink_fraction * peak[:, None])
    reach = np.where(reached.any(axis=1), np.argmax(reached, axis=1), 0)
    du = np.diff(np.where(finite, vals, np.nan), axis=1) * fs       # du[:, j]: sample j -> j + 1
    slow = ~(du >= params.rise_rate_per_s)
    pair = slow[:, :-1] & slow[:, 1:]                                 # pair[:, j]: j+1 and j+2 slow
    pair &= np.arange(pair.shape[1])[None, :] + 2 <= reach[:, None]
    has = pair.any(axis=1)
    last = pair.shape[1] - 1 - np.argmax(pair[:, ::-1], axis=1)
    return np.minimum(np.where(has, ic + last + 3, ic), to)   # the sample the next (steep) increment reaches
