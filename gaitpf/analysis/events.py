"""Stance-phase detection on one foot's total load: initial contact (IC) and toe-off (TO).

Method (hysteresis thresholding with edge refinement; all thresholds scale with the signal):

1. **Load scale** ``S``. With a calibrated signal and known body weight, ``S`` is the body
   weight (N). Otherwise ``S`` is a running upper envelope of the (baseline-free) load:
   the maximum of every ``scale_block_ms`` block, then a centred rolling
   ``scale_quantile`` over ``scale_window_s`` – the typical peak stance load of the
   nearby strides – floored at ``min_scale_fraction`` of the recording-wide value so
   quiet stretches do not blow noise up. The normalised load is ``u = load / S``.
2. **Hysteresis**: a stance candidate is a run of ``u > low_fraction`` that reaches
   ``u > high_fraction`` somewhere (the signal must clearly load, then the edges are
   found at a low level).
3. **Edge refinement** (the convention of the PhysioNet gaitndd reference tables):

   * IC: search back from the high crossing to the last sample within ``edge_fraction``
     of the local floor (minimum of ``u`` over ``edge_window_ms`` before the crossing);
     between there and the crossing, IC is the first sample of the *steep rise* that
     carries the load over the high level: walking back from the crossing while the
     increments stay ≥ ``rise_rate_per_s`` (S per second; one slow sample tolerated).
     Slow pre-contact ramps and small heel bumps followed by a plateau are therefore not
     the IC – the reference tables ignore them too.
   * TO: mirror image – the end of the steep fall (decrements ≥ ``fall_rate_per_s``)
     that starts at the unloading crossing, but not before the load is back within
     ``tail_fraction`` of the local floor after it (slow unloading tails), and not after
     the first sample within ``edge_fraction`` of that floor.

   * Physical edges (:mod:`gaitpf.analysis.events_edges`): IC is moved back to the first
     *sustained* loading of the sole (the rise above the swing floor + ``tail_fraction``
     that lasts into the stance) where that is earlier (slow heel ramps, low plateaus);
     TO is moved to the end of a second steep fall when the load still sits on a terminal
     plateau above the floor of the following swing. Events with two defensible placements
     more than ``ambiguity_ms`` apart are flagged (``ic_ambiguous``/``to_ambiguous``, the
     other placement in ``ic_alt_idx``/``to_alt_idx``).

   Rates are in units of the load scale per second, so the same defaults hold at 100 Hz
   (gaitpdb, newtons, swing exactly 0) and at 300 Hz (gaitndd, arbitrary units). A clean
   square wave gives IC = first loaded sample and TO = first unloaded sample.
4. **Physiological bounds**: stances separated by less than ``min_swing_ms`` are merged
   (flicker inside one stance); stances shorter than ``min_stance_ms`` or longer than
   ``max_stance_ms`` (sitting) are dropped, and so are merged stances loaded on less than
   ``min_loaded_fraction`` of their samples (noise bursts); stances cut by the recording's start/end or
   touching an ``invalid`` sample are dropped.

Research notes on the reference tables (what the gaitndd authors' events follow, the rules
that were tried and rejected, grid sensitivity): ``docs/events_research.md``.
Reference: Hausdorff JM, Ladin Z, Wei JY (1995) Footswitch system for measurement of the
temporal parameters of gait. J Biomech 28:347-351.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import SignalError
from .event_scale import block_maxima, load_scale, scale_block_samples, scale_envelope
from .events_edges import first_sustained_loading, loading_kink, terminal_plateau
from .events_edges import runs as _runs
from .events_edges import window as _window

__all__ = [
    "EventParams", "detect_stance_phases", "load_scale", "empty_stances", "block_maxima", "scale_envelope",
    "scale_block_samples", "STANCE_COLUMNS",
]


@dataclass(frozen=True)
class EventParams:
    """Tunables of :func:`detect_stance_phases` (fractions are of the load scale ``S``).

    Parameters
    ----------
    high_fraction : float
        Load that confirms a stance (fraction of S). Default 0.3.
    low_fraction : float
        Load that delimits a stance candidate (fraction of S). Default 0.1.
    edge_fraction : float
        Samples within this fraction of S of the local floor are "at the floor";
        bounds the IC/TO search. Default 0.01.
    edge_window_ms : float
        Window before loading / after unloading in which the local floor is sought (ms).
        Default 150.
    rise_rate_per_s : float
        Increments at least this steep (S per second) belong to the loading rise. Default 3.
    fall_rate_per_s : float
        Decrements at least this steep (S per second) belong to the unloading fall. Default 1.
    tail_fraction : float
        TO is not placed before the load is back within this fraction of S of the floor
        (slow unloading tails). Default 0.08.
    min_stance_ms, max_stance_ms : float
        Bounds of one stance (ms). Defaults 150 and 30000. Stances up to 30 s are kept:
        a subject who stops and stands still (PhysioNet gaitndd als4: 3–25 s; the
        baseline no longer absorbs standing, so the standing is one long stance) still has
        a real initial contact that the reference tables count, and the stride across the
        standing period is labelled a pause by the stride table. Longer loaded stretches
        (sitting, standing for minutes) are dropped.
    min_swing_ms : float
        Shorter unloaded gaps are flicker and are merged (ms). Default 100.
    min_loaded_fraction : float
        After merging, a stance must be above ``low_fraction`` on at least this share of
        its samples (a real stance, or standing, is loaded throughout; a chain of noise
        bursts merged across short gaps is not). Default 0.5.
    scale_block_ms, scale_window_s, scale_quantile : float
        Running upper envelope used as S when no body weight is given.
    min_scale_fraction : float
        S never drops below this fraction of the recording-wide envelope. Default 0.25.
    contact_fraction : float
        Contact level: the sole is loaded when above the adjacent swing floor by more than
        this. Default 0.08.
    contact_window_ms : float
        How far back from the confirming crossing the swing floor of the first sustained
        loading is sought (ms). Default 1000.
    plateau_fraction, plateau_drop_fraction : float
        Terminal plateau: load at TO above the following swing floor by more than
        ``plateau_fraction`` (default 0.15); the second fall drops at least
        ``plateau_drop_fraction`` (default 0.12).
    plateau_window_ms : float
        The second fall must start within this time after TO (ms). Default 400.
    plateau_min_samples : int
        The second fall lasts at least this many steep samples. Default 3.
    swing_floor_window_ms : float
        The floor of the following swing is sought up to this far after TO (ms). Default 1000.
    ambiguity_ms : float
        Two placements of an event further apart than this flag it ambiguous (ms). Default 20.
    ic_rule : {"auto", "contact", "steep"}
        Which IC is reported when the sole loads on a slow ramp before the steep rise:
        ``"contact"`` the first sustained loading (physics), ``"steep"`` the onset of the
        steep rise (the convention of the PhysioNet gaitndd tables); the other one is then
        the alternative of an ambiguous IC. ``"auto"`` (default): ``"contact"`` for a
        calibrated signal (``calibrated=True``: newtons, where the contact level is a force),
        ``"steep"`` otherwise (uncalibrated FSR footswitches, whose low range is dominated by
        the sensor's threshold and pre-load; the gaitndd tables ignore slow ramps there).
    kink_fraction, kink_window_ms : float
        A loading plateau before the load reaches ``kink_fraction`` (default 0.6) of the
        stance's peak within ``kink_window_ms`` (default 300) of IC is a kink: the
        alternative placement of an ambiguous IC.
    split_depth, split_edge : float
        Merged stances (:mod:`gaitpf.analysis.merged`): a valley this deep (fraction of the
        peak height above the swing floor) between two contralateral contacts splits the
        stance; else it is a pivot turn. Defaults 0.7 and 0.1.
    use_body_weight : bool
        Take ``S`` = body weight for calibrated (N) signals when the recording knows the body
        mass. Default False: events then never depend on demographic metadata (a
        ``demographics.txt`` beside gaitpdb walks changed stride counts in 45 of 269 walks).
    """

    high_fraction: float = 0.3
    low_fraction: float = 0.1
    edge_fraction: float = 0.01
    edge_window_ms: float = 150.0
    rise_rate_per_s: float = 3.0
    fall_rate_per_s: float = 1.0
    tail_fraction: float = 0.08
    min_stance_ms: float = 150.0
    max_stance_ms: float = 30000.0
    min_swing_ms: float = 100.0
    min_loaded_fraction: float = 0.5
    scale_block_ms: float = 100.0
    scale_window_s: float = 10.0
    scale_quantile: float = 0.9
    min_scale_fraction: float = 0.25
    contact_fraction: float = 0.08
    contact_window_ms: float = 1000.0
    plateau_fraction: float = 0.15
    plateau_drop_fraction: float = 0.12
    plateau_window_ms: float = 400.0
    plateau_min_samples: int = 3
    swing_floor_window_ms: float = 1000.0
    ambiguity_ms: float = 20.0
    use_body_weight: bool = False
    split_depth: float = 0.7
    kink_fraction: float = 0.6
    kink_window_ms: float = 300.0
    split_edge: float = 0.1
    ic_rule: str = "auto"

    def __post_init__(self) -> None:
        ok = (
            0 < self.edge_fraction < self.low_fraction < self.high_fraction < 1
            and self.edge_window_ms > 0
            and self.rise_rate_per_s > 0
            and self.fall_rate_per_s > 0
            and self.edge_fraction <= self.tail_fraction < self.high_fraction
            and 0 < self.min_stance_ms < self.max_stance_ms
            and self.min_swing_ms >= 0
            and 0 <= self.min_loaded_fraction <= 1
            and self.scale_block_ms > 0
            and self.scale_window_s > 0
            and 0 < self.scale_quantile <= 1
            and 0 < self.min_scale_fraction <= 1
            and self.contact_window_ms > 0 and 0 < self.contact_fraction < self.high_fraction
            and 0 < self.plateau_drop_fraction and 0 < self.plateau_fraction
            and self.plateau_window_ms > 0 and self.plateau_min_samples >= 1
            and self.swing_floor_window_ms > 0 and self.ambiguity_ms >= 0
            and self.ic_rule in ("auto", "contact", "steep")
            and 0 < self.split_depth <= 1 and 0 <= self.split_edge < 1
            and 0 < self.kink_fraction <= 1 and self.kink_window_ms > 0
        )
        if not ok:
            raise SignalError(
                "invalid event parameters (need 0 < edge < low < high < 1, positive windows, "
                f"min_stance_ms < max_stance_ms): {self!r}"
            )


#: Columns of a stance table: the events, then the ambiguity flags and alternative placements.
STANCE_COLUMNS: tuple[str, ...] = (
    "ic_idx", "to_idx", "ic_alt_idx", "to_alt_idx", "ic_ambiguous", "to_ambiguous", "to_loaded",
)


def empty_stances() -> pd.DataFrame:
    """An empty stance table with the contract's columns and dtypes."""
    z = np.zeros(0, np.int64)
    return _stance_frame(z, z, z, z, np.zeros(0, bool))


def _stance_frame(ic: np.ndarray, to: np.ndarray, ic_alt: np.ndarray, to_alt: np.ndarray,
                  to_loaded: np.ndarray) -> pd.DataFrame:
    ic, to = ic.astype(np.int64), to.astype(np.int64)
    ic_alt, to_alt = ic_alt.astype(np.int64), to_alt.astype(np.int64)
    return pd.DataFrame({"ic_idx": ic, "to_idx": to, "ic_alt_idx": ic_alt, "to_alt_idx": to_alt,
                         "ic_ambiguous": ic_alt != ic, "to_ambiguous": to_alt != to,
                         "to_loaded": to_loaded.astype(bool)})


def detect_stance_phases(
    load: np.ndarray,
    *,
    sampling_rate_hz: float,
    params: EventParams,
    body_weight_n: float | None = None,
    invalid: np.ndarray | None = None,
    calibrated: bool = False,
) -> pd.DataFrame:
    """Detect the stance phases of one foot.

    Parameters
    ----------
    load : ndarray, shape (n,)
        Baseline-free total load of one foot (any unit; N if ``body_weight_n`` is given).
    sampling_rate_hz : float
        Sampling rate (Hz).
    params : EventParams
    body_weight_n : float, optional
        Body weight (N) for a calibrated load in newtons: thresholds become fractions of it.
    invalid : ndarray of bool, shape (n,), optional
        Samples that must not produce events.
    calibrated : bool
        The load is a calibrated force (N); selects the IC rule when ``params.ic_rule`` is
        ``"auto"``. Default False.

    Returns
    -------
    DataFrame
        ``ic_idx`` (first stance sample) and ``to_idx`` (first sample back at the swing
        floor), int64, sorted, non-overlapping; ``ic_alt_idx``/``to_alt_idx`` (the other
        placement of an ambiguous event, else the event itself) and ``ic_ambiguous``/
        ``to_ambiguous`` (bool); ``to_loaded`` (bool: the load at TO is still above the
        following swing floor by more than ``plateau_fraction``). Empty if no walking is found.
    """
    u_raw = np.asarray(load, dtype=float)
    n = len(u_raw)
    if u_raw.ndim != 1:
        raise SignalError(f"load must be 1-D (samples,), got shape {u_raw.shape}")
    if n < 3:
        return empty_stances()
    bad = np.zeros(n, bool) if invalid is None else np.asarray(invalid, dtype=bool)
    if bad.shape != (n,):
        raise SignalError(f"invalid mask has shape {bad.shape}, expected ({n},)")
    finite = np.isfinite(u_raw)
    bad = bad | ~finite
    x = np.where(finite, u_raw, 0.0)
    if body_weight_n is not None:
        if not (np.isfinite(body_weight_n) and body_weight_n > 0):
            raise SignalError(f"body_weight_n must be > 0, got {body_weight_n!r}")
        scale = np.full(n, float(body_weight_n))
    else:
        scale = load_scale(x, sampling_rate_hz=sampling_rate_hz, params=params)
    if not np.any(scale > 0):
        return empty_stances()
    u = x / np.where(scale > 0, scale, np.inf)

    # hysteresis: runs above low that reach high
    starts, ends = _runs(u > params.low_fraction)
    if len(starts) == 0:
        return empty_stances()
    above_high = np.flatnonzero(u > params.high_fraction)
    keep = np.searchsorted(above_high, ends) > np.searchsorted(above_high, starts)  # reaches high
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0:
        return empty_stances()
    # first/last sample above high inside each run (anchors of the edge search)
    first_high = above_high[np.searchsorted(above_high, starts)]
    last_high = above_high[np.searchsorted(above_high, ends) - 1]

    width = max(1, int(round(params.edge_window_ms * sampling_rate_hz / 1000.0)))
    prev_bound = np.concatenate([[0], last_high[:-1]])
    next_bound = np.concatenate([first_high[1:], [n - 1]])
    e = params.edge_fraction

    rise, fall = params.rise_rate_per_s, params.fall_rate_per_s

    def du_at(j: np.ndarray) -> np.ndarray:  # (u[j] - u[j-1]) * fs in S per s (0 at j = 0), only where needed
        return (u[j] - u[np.maximum(j - 1, 0)]) * sampling_rate_hz

    # IC, step 1: the last sample back at the local floor before the loading crossing
    idx, vals = _window(u, first_high, prev_bound, width, forward=False)
    floor = vals.min(axis=1)
    at_floor = vals <= floor[:, None] + e  # +inf cells are never True
    k = np.argmax(at_floor, axis=1)
    ic_level = idx[np.arange(len(k)), k]
    ic_found = at_floor.any(axis=1)
    # IC, step 2: the onset of the steep rise that carries the load over the high level:
    # walk back from the crossing while the increments stay steep (one slow sample tolerated)
    idx, _ = _window(u, first_high, ic_level, width, forward=False)
    valid = idx >= ic_level[:, None] + 1
    slow = ~(du_at(np.clip(idx, 0, n - 1)) >= rise) | ~valid
    slow_pair = slow & np.concatenate([slow[:, 1:], np.ones((len(slow), 1), bool)], axis=1)
    k = np.argmax(slow_pair, axis=1)  # first offset where this and the previous sample are slow
    ic_steep = np.maximum(idx[np.arange(len(k)), k] + 1, ic_level + 1)
    # IC, step 3: the first sustained loading of the sole, where earlier (events_edges)
    onset, cross = first_sustained_loading(u, first_high, prev_bound, fs=sampling_rate_hz, params=params)
    use_contact = params.ic_rule == "contact" or (params.ic_rule == "auto" and calibrated)
    slow_ramp = (onset >= cross - 1) & use_contact   # contact level crossed on a slow ramp, not a steep transient
    ic = np.where(slow_ramp, np.minimum(ic_steep, onset), ic_steep)
    ic_other = np.where(slow_ramp, ic_steep, np.minimum(ic_steep, onset))

    # TO, step 1: the first sample back at the local floor after the unloading crossing
    idx, vals = _window(u, last_high, next_bound, width, forward=True)
    floor = vals.min(axis=1)
    at_floor = vals <= floor[:, None] + e
    k = np.argmax(at_floor, axis=1)
    to_level = idx[np.arange(len(k)), k]
    to_found = at_floor.any(axis=1)
    # TO, step 2: the end of the steep fall that starts at the unloading crossing: walk
    # forward while the decrements stay steep (one slow sample tolerated)
    idx, _ = _window(u, last_high + 1, to_level, width, forward=True)
    valid = idx <= to_level[:, None]
    slow = ~(du_at(np.clip(idx, 0, n - 1)) <= -fall) | ~valid
    slow_pair = slow & np.concatenate([slow[:, 1:], np.ones((len(slow), 1), bool)], axis=1)
    k = np.argmax(slow_pair, axis=1)
    to_fall = np.clip(np.minimum(idx[np.arange(len(k)), k] - 1, to_level), last_high, to_level)
    # ...but not before the load is back within tail_fraction of the floor (slow tails)
    idx, vals = _window(u, last_high, next_bound, width, forward=True)
    near = vals <= floor[:, None] + params.tail_fraction
    k = np.argmax(near, axis=1)
    to_tail = np.where(near.any(axis=1), idx[np.arange(len(k)), k], to_level)
    to = np.clip(np.maximum(to_fall, to_tail), last_high, to_level)

    ok = ic_found & to_found & (starts > 0) & (ends < n) & (ic > 0) & (to < n - 1) & (to > ic)
    ic, to, ic_other, to_fall = ic[ok], to[ok], ic_other[ok], to_fall[ok]
    if len(ic) == 0:
        return empty_stances()

    # merge stances separated by a too-short swing (flicker)
    min_swing = params.min_swing_ms * sampling_rate_hz / 1000.0
    new_group = np.concatenate([[True], (ic[1:] - to[:-1]) >= min_swing])
    ic, ic_other = ic[new_group], ic_other[new_group]
    last = np.concatenate([np.flatnonzero(new_group)[1:], [len(to)]]) - 1
    to = np.maximum.reduceat(to, np.flatnonzero(new_group))
    to_fall = np.minimum(to_fall[last], to)

    # physiological bounds and invalid samples
    dur_ms = (to - ic) * 1000.0 / sampling_rate_hz
    ok = (dur_ms >= params.min_stance_ms) & (dur_ms <= params.max_stance_ms)
    bad_idx = np.flatnonzero(bad)
    lo = np.clip(ic - 1, 0, n)
    hi = np.clip(to + 2, 0, n)
    ok &= np.searchsorted(bad_idx, hi) == np.searchsorted(bad_idx, lo)
    loaded_cum = np.concatenate([[0], np.cumsum(u > params.low_fraction)])
    ok &= (loaded_cum[to] - loaded_cum[ic]) >= params.min_loaded_fraction * (to - ic)
    ic, to, ic_other, to_fall = ic[ok], to[ok], ic_other[ok], to_fall[ok]
    # TO on a terminal plateau (needs the next IC: after the bounds)
    to_plateau, to_loaded = terminal_plateau(u, ic, to, fs=sampling_rate_hz, params=params)
    to_fall = np.where(to_plateau != to, to, to_fall)
    to = to_plateau
    amb = params.ambiguity_ms * sampling_rate_hz / 1000.0
    kink = loading_kink(u, ic, to, fs=sampling_rate_hz, params=params)
    ic_alt = np.where(np.abs(ic_other - ic) > amb, ic_other, np.where(kink - ic > amb, kink, ic))
    to_alt = np.where(to - to_fall > amb, to_fall, to)
    return _stance_frame(ic, to, ic_alt, to_alt, to_loaded)
