"""Trial check right after stop: is this trial good enough for the session statistics?

The trial is analyzed exactly as the progress statistics will use it
(:func:`gaitpf.sessions.compare.load_trial`: the offline analysis, steady strides, gait
cycles) and its acquisition quality is read from the file header
(:func:`gaitpf.io.hdf5.file_info`: frames, lost frames, gaps per foot).

Verdict rules (in this order):

* ``"unusable"`` – the session statistics would leave the trial out: unreadable, one foot
  only, no steady walking, or fewer than ``MIN_CYCLES`` (10,
  :data:`gaitpf.sessions.compare.MIN_CYCLES`) steady gait cycles — the minimum the
  block bootstrap needs for a stable estimate; redo (walk longer);
* ``"check"`` – usable, but the link dropped (a gap on either foot), more than
  ``MAX_LOST_PCT`` (1 %) of the frames were lost, or the recording stopped on an error
  (disk nearly full): look at the trace, keep it or redo;
* ``"good"`` – otherwise.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GaitpfError

__all__ = ["TrialCheck", "check_trial", "MAX_LOST_PCT"]

log = logging.getLogger(__name__)

#: Lost frames above this share of a foot's frames flag the trial, %.
MAX_LOST_PCT = 1.0


@dataclass
class TrialCheck:
    """What the trial-check screen shows."""

    path: Path
    verdict: str
    reasons: list[str]
    min_cycles: int
    n_steady: dict[str, int] = field(default_factory=dict)
    n_cycles: int = 0
    frames: dict[str, int] = field(default_factory=dict)
    lost_frames: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)
    gap_s: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    cadence_spm: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reasons": self.reasons, "n_steady": self.n_steady,
                "n_cycles": self.n_cycles, "min_cycles": self.min_cycles, "lost_frames": self.lost_frames,
                "gaps": self.gaps, "duration_s": round(self.duration_s, 2)}


def check_trial(path: str | Path, *, stop_error: str | None = None) -> TrialCheck:
    """Check one recorded trial (see the module docstring for the rules); never raises."""
    from ..io.hdf5 import file_info
    from ..sessions.compare import MIN_CYCLES, load_trial

    p = Path(path)
    chk = TrialCheck(path=p, verdict="good", reasons=[], min_cycles=MIN_CYCLES)
    try:
        info = file_info(p)
    except GaitpfError as exc:
        chk.verdict, chk.reasons = "unusable", [f"unreadable: {exc}"]
        return chk
    for side, f in info.get("feet", {}).items():
        chk.frames[side] = int(f.get("frames", 0))
        chk.lost_frames[side] = int(f.get("n_lost_frames", 0) or 0)
        gaps = f.get("gaps") or {}
        chk.gaps[side] = int(gaps.get("count", 0) or 0)
        chk.gap_s[side] = float(gaps.get("total_s", 0.0) or 0.0)
        chk.duration_s = max(chk.duration_s, float(f.get("duration_s", 0.0)))
    td = load_trial(p)
    chk.n_steady = dict(td.n_steady)
    chk.n_cycles = int(td.cycles.n_cycles) if td.cycles is not None else 0
    chk.cadence_spm = td.cadence_spm
    if td.error is not None:
        chk.verdict = "unusable"
        chk.reasons.append(f"{td.error}; the statistics need ≥ {MIN_CYCLES} steady cycles: walk longer and redo")
    flags = []
    for side in chk.frames:
        if chk.gaps.get(side):
            flags.append(f"{side}: link lost, {chk.gaps[side]} gap(s) ({chk.gap_s[side]:.1f} s missing)")
        n = chk.frames[side] + chk.lost_frames.get(side, 0)
        if n and 100.0 * chk.lost_frames.get(side, 0) / n > MAX_LOST_PCT:
            flags.append(f"{side}: {chk.lost_frames[side]} frames lost "
                         f"({100.0 * chk.lost_frames[side] / n:.1f}% > {MAX_LOST_PCT:g}%)")
    if stop_error:
        flags.append(f"recording stopped early: {stop_error}")
    if flags and chk.verdict == "good":
        chk.verdict = "check"
    chk.reasons.extend(flags)
    return chk
