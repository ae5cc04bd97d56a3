"""Gait events of a virtual trial: stance intervals per foot, with interpolation knots.

Per walking bout, stride times follow an AR(1) series (serially correlated, like real
stride-interval fluctuations: Hausdorff JM et al., J Appl Physiol 78:349-358, 1995)
with the requested coefficient of variation; the right initial contact (IC) sits half
a stride after the left one (phase 50 %, jitter chosen so both feet have the same
stride CV); each stance lasts the side's stance fraction of that foot's stride (±
white jitter of half the stride CV). A bout starts with the leading foot's toe-off
(TO) from standing (leading foot alternates, right first) and ends at the first IC
after the bout's time is up; both feet then stay down until the next bout.

Each loaded interval carries knots of two piecewise-linear functions of time used by
the renderer: the stance fraction ``u`` (0 at IC, 1 at TO; held at 0.5 = mid-stance
while standing) and the standing weight (0 walking, 1 standing, ramps of
``_RAMP_S``). Sample convention: ``ic_idx`` = first loaded sample
(``ceil(t_IC·fs)``), ``to_idx`` = first unloaded sample (``ceil(t_TO·fs)``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model import SIDES, empty_annotations

__all__ = ["EventTimeline"]

NO_END = np.int64(2**62)  #: end index of the interval that lasts to the end of the trial
_RAMP_S = 0.3  # standing ↔ walking blend duration, s


class _Foot:
    """Growing interval table of one foot (loaded intervals and interpolation knots)."""

    def __init__(self) -> None:
        self.start_t: list[float] = []
        self.end_t: list[float] = []
        self.ic_real: list[bool] = []
        self.to_real: list[bool] = []
        self.amp: list[float] = []
        self.u_t: list[float] = []
        self.u_v: list[float] = []
        self.w_t: list[float] = []
        self.w_v: list[float] = []
        self.pending: tuple[float, float] | None = None  # (IC time or 0 at record start, half stance)
        self._arrays: dict[str, np.ndarray] | None = None

    def add(self, a: float, b: float, ic_real: bool, to_real: bool, amp: float,
            u_knots: list[tuple[float, float]], w_knots: list[tuple[float, float]]) -> None:
        self.start_t.append(a)
        self.end_t.append(b)
        self.ic_real.append(ic_real)
        self.to_real.append(to_real)
        self.amp.append(amp)
        for t, v in u_knots:
            self.u_t.append(t)
            self.u_v.append(v)
        for t, v in w_knots:
            self.w_t.append(t)
            self.w_v.append(v)
        self._arrays = None

    def close_pending(self, b: float, h_b: float, to_real: bool) -> None:
        """Close the standing interval opened by the previous bout at time ``b`` (a TO)."""
        a, h_a = self.pending
        ic_real = a > 0 or bool(self.start_t)
        span = b - a if math.isfinite(b) else math.inf
        if math.isfinite(span):  # fit both half stances and ramps into the interval
            h_a = min(h_a, span / 3) if ic_real else 0.0
            h_b = min(h_b, span / 3)
        r = min(_RAMP_S, (span - h_a - h_b) / 3) if math.isfinite(span) else _RAMP_S
        u, w = [], []
        if ic_real:
            u += [(a, 0.0), (a + h_a, 0.5)]
            w += [(a + h_a, 0.0), (a + h_a + r, 1.0)]
        else:
            u += [(a, 0.5)]
            w += [(a, 1.0)]
        if math.isfinite(b):
            u += [(b - h_b, 0.5), (b, 1.0)]
            w += [(b - h_b - r, 1.0), (b - h_b, 0.0)]
        self.add(a, b, ic_real, to_real and math.isfinite(b), 1.0, u, w)
        self.pending = None

    def arrays(self, fs: float) -> dict[str, np.ndarray]:
        if self._arrays is None:
            start = np.asarray(self.start_t)
            end = np.asarray(self.end_t)
            self._arrays = {
                "start_idx": np.ceil(start * fs - 1e-9).astype(np.int64),
                "end_idx": np.where(np.isfinite(end), np.ceil(np.where(np.isfinite(end), end, 0) * fs - 1e-9),
                                    NO_END).astype(np.int64),
                "ic_real": np.asarray(self.ic_real, bool),
                "to_real": np.asarray(self.to_real, bool),
                "amp": np.asarray(self.amp, float),
                "u_t": np.asarray(self.u_t), "u_v": np.asarray(self.u_v),
                "w_t": np.asarray(self.w_t), "w_v": np.asarray(self.w_v),
            }
        return self._arrays


class EventTimeline:
    """Stance intervals of both feet for a trial of ``duration_s`` (or endless).

    Parameters
    ----------
    params : gaitpf.sim.gait_model.GaitParams
        The gait model's parameters (typed loosely: :mod:`~gaitpf.sim.gait_model` imports
        this module, never the other way round).
    duration_s : float or None
        Trial duration, s; ``None`` = endless bouts of ``walking_bouts.bout_s``.
    rng : numpy Generator
        Random stream of the events (stride times, jitter, amplitudes).
    """

    def __init__(self, params: Any, duration_s: float | None, rng: np.random.Generator) -> None:
        self.params = params
        self.fs = float(params.sampling_rate_hz)
        self.duration_s = duration_s
        self.n_samples = None if duration_s is None else int(round(duration_s * self.fs))
        self._event_rng = rng
        self._ar_state = float(rng.standard_normal())
        self._feet = {s: _Foot() for s in SIDES}
        for foot in self._feet.values():
            foot.pending = (0.0, 0.0)
        self._standing: list[tuple[float, float]] = []  # (onset_s, duration_s) with both feet down
        self._bout = 0
        self._next_t0 = params.walking_bouts.standing_start_s
        wb = params.walking_bouts
        if duration_s is None:
            self._generate_bout(self._next_t0 + wb.bout_s)
            return
        walk = duration_s - wb.standing_start_s - wb.standing_end_s - (wb.n_bouts - 1) * wb.pause_s
        need = 2.5 * params.stride_time_s * wb.n_bouts
        if walk < need:
            raise InputError(
                f"duration_s={duration_s:g} is too short for the walking plan ({wb.standing_start_s:g} s standing, "
                f"{wb.n_bouts} bouts with {wb.pause_s:g} s pauses, {wb.standing_end_s:g} s standing); use at "
                f"least {duration_s - walk + need:.1f} s or change walking_bouts"
            )
        per_bout = walk / wb.n_bouts
        for _ in range(wb.n_bouts):
            self._generate_bout(self._next_t0 + per_bout - 0.25 * params.stride_time_s)
        end_t = self._standing_from()
        self._standing.append((end_t, max(0.0, duration_s - end_t)))
        for foot in self._feet.values():
            foot.close_pending(math.inf, 0.0, False)

    def arrays(self, side: str) -> dict[str, np.ndarray]:
        """Interval table of ``side`` as arrays (start_idx, end_idx, amp, u/w knots...)."""
        return self._feet[side].arrays(self.fs)

    def _standing_from(self) -> float:
        return max(f.pending[0] for f in self._feet.values())

    def _generate_bout(self, t1: float) -> None:
        """Events of one walking bout starting at ``self._next_t0`` (lead TO), ending after ``t1``."""
        p, rng = self.params, self._event_rng
        t0 = self._next_t0
        if self._bout == 0:
            self._standing.append((0.0, t0))
        else:
            onset = self._standing_from()
            self._standing.append((onset, t0 - onset))
        T0 = p.stride_time_s
        n = int(math.ceil((t1 - t0) / T0)) + 6
        cv, phi = p.stride_cv_pct / 100.0, p.stride_ar1_coef
        e = math.sqrt(1 - phi * phi) * rng.standard_normal(n)
        z = np.empty(n)
        prev = self._ar_state
        for k in range(n):  # AR(1) recursion over the strides of one bout (tens of values)
            prev = phi * prev + e[k]
            z[k] = prev
        self._ar_state = prev
        stride = T0 * np.clip(1 + cv * z, 0.7, 1.3)
        ic = {"left": np.concatenate([[0.0], np.cumsum(stride)])}
        jitter = cv * math.sqrt((1 - phi) / 4.0) * rng.standard_normal(n + 1)
        stride_next = np.concatenate([stride, [T0]])
        ic["right"] = ic["left"] + stride_next * (0.5 + jitter)
        amp_noise = rng.standard_normal((2, n))
        stance_noise = rng.standard_normal((2, n))
        to, amp = {}, {}
        for i, side in enumerate(SIDES):
            frac = p.side_factors(side)[0]
            st = np.diff(ic[side])  # this foot's own stride times, n values
            s = frac * st * (1 + 0.5 * cv * stance_noise[i])
            to[side] = ic[side][:n] + np.minimum(s, 0.9 * st)
            ic[side] = ic[side][:n]
            amp[side] = np.clip(1 + p.peak_cv_pct / 100.0 * amp_noise[i], 0.7, 1.3)
        lead = "right" if self._bout % 2 == 0 else "left"
        shift = t0 - to[lead][0]
        for side in SIDES:
            ic[side] = ic[side] + shift
            to[side] = to[side] + shift
        t_end = min(float(ic[s][np.searchsorted(ic[s], t1, side="right")]) for s in SIDES)
        for side in SIDES:
            foot = self._feet[side]
            first = int(np.searchsorted(to[side], t0 - 1e-9, side="left"))
            last = int(np.searchsorted(ic[side], t_end + 1e-9, side="right")) - 1
            if last <= first:
                last = first + 1  # degenerate short bout: one step from standing to standing
            foot.close_pending(float(to[side][first]), 0.5 * float(to[side][first] - ic[side][first]), True)
            for k in range(first + 1, last):
                a, b = float(ic[side][k]), float(to[side][k])
                foot.add(a, b, True, True, float(amp[side][k]), [(a, 0.0), (b, 1.0)], [])
            foot.pending = (float(ic[side][last]), 0.5 * float(to[side][last] - ic[side][last]))
        self._bout += 1
        self._next_t0 = self._standing_from() + p.walking_bouts.pause_s

    def extend_to(self, t: float) -> None:
        """Endless mode: generate bouts until every interval before ``t`` is final."""
        while self.duration_s is None and min(f.pending[0] for f in self._feet.values()) <= t + 1.0:
            self._generate_bout(self._next_t0 + self.params.walking_bouts.bout_s)

    def truth(self, side: str, upto_idx: int | None = None) -> pd.DataFrame:
        """True stance phases (``ic_idx``, ``to_idx``, int64) with a real IC and TO.

        Includes the stances that span a pause (IC of a bout's last step, TO of the next
        bout's first step); excludes the loaded stretches cut by the trial's start/end.
        """
        hi = self.n_samples if upto_idx is None else upto_idx
        return self.events_between(side, -1, hi)

    def events_between(self, side: str, lo: int, hi: int | None) -> pd.DataFrame:
        """True stance phases with ``lo < to_idx <= hi`` (``hi=None``: no upper bound)."""
        if hi is not None:
            self.extend_to(hi / self.fs)
        arr = self._feet[side].arrays(self.fs)
        i0 = int(np.searchsorted(arr["end_idx"], lo, side="right"))
        i1 = len(arr["end_idx"]) if hi is None else int(np.searchsorted(arr["end_idx"], hi, side="right"))
        keep = arr["ic_real"][i0:i1] & arr["to_real"][i0:i1]
        return pd.DataFrame({"ic_idx": arr["start_idx"][i0:i1][keep], "to_idx": arr["end_idx"][i0:i1][keep]})

    def standing_periods(self) -> pd.DataFrame:
        """Annotations (kind ``"standing"``) of the periods with both feet still."""
        ann = empty_annotations()
        rows = [(a, d) for a, d in self._standing if d > 0]
        if not rows:
            return ann
        onset, dur = zip(*rows)
        return pd.DataFrame({"onset_s": np.asarray(onset, float), "duration_s": np.asarray(dur, float),
                             "kind": ["standing"] * len(rows), "side": [""] * len(rows),
                             "description": ["simulated quiet standing (both feet loaded)"] * len(rows)})

