"""The recorder's bookkeeping: per-foot frame checks, the status line and the result.

:class:`FrameChecker` is what :class:`~gaitpf.recording.recorder.Recorder` does to every
item of its source (on the event loop, before the writer thread sees it):

* frames whose device sample counter does not increase (duplicates, late packets) are
  dropped, so a file never holds duplicated or reordered frames;
* a jump in the counter becomes an annotation (kind ``"gap"``) and
  ``QUALITY_GAP_BEFORE`` on the first frame after it; a gap the source reports itself (a
  device reset, which keeps the counters contiguous) becomes a ``"gap"`` annotation too;
* link state changes become annotations (kind ``"link"``).

It keeps the counters of a :class:`RecorderStatus` (what the status line shows);
:class:`RecordingResult` is what ``Recorder.run`` returns after a clean close.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Collection

import numpy as np

from ..model import QUALITY_GAP_BEFORE, SIDES
from ..acquisition.source import FrameBlock, LinkEvent

__all__ = ["RecorderStatus", "RecordingResult", "FrameChecker"]

log = logging.getLogger(__name__)


@dataclass
class RecorderStatus:
    """What the status line shows (a snapshot, refreshed about twice a second)."""

    elapsed_s: float = 0.0
    frames: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SIDES})
    written_frames: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SIDES})
    lost_frames: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SIDES})
    gaps: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SIDES})
    dropped_frames: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SIDES})
    battery_pct: dict[str, float | None] = field(default_factory=lambda: {s: None for s in SIDES})
    link: dict[str, str] = field(default_factory=lambda: {s: "idle" for s in SIDES})
    n_flushes: int = 0
    error: str | None = None

    def line(self) -> str:
        """One human-readable status line."""
        parts = [f"{self.elapsed_s:7.1f} s"]
        for s in SIDES:
            bat = self.battery_pct.get(s)
            parts.append(
                f"{s[0].upper()}: {self.frames.get(s, 0)} fr, lost {self.lost_frames.get(s, 0)}, "
                f"gaps {self.gaps.get(s, 0)}, {self.link.get(s, '?')}"
                + (f", bat {bat:.0f}%" if bat is not None else "")
            )
        return " | ".join(parts)


@dataclass
class RecordingResult:
    """What :meth:`Recorder.run <gaitpf.recording.recorder.Recorder.run>` returns after a clean close."""

    path: str
    stop_reason: str
    elapsed_s: float
    frames: dict[str, int]
    lost_frames: dict[str, int]
    gaps: dict[str, int]
    dropped_frames: dict[str, int]
    n_flushes: int
    clock: dict[str, dict[str, float | None]]
    latency_s: np.ndarray | None = None


class FrameChecker:
    """Check the source's items per foot, count them, and pass what to write to ``put``.

    Parameters
    ----------
    status : RecorderStatus
        Counters updated in place (frames, lost/dropped frames, gaps, link, battery).
    sides : collection of str
        The feet the file holds; frames for another foot are ignored (with a warning).
    rate_hz : float
        Nominal sampling rate, Hz (places the onset of a gap after the last frame).
    put : callable(tuple)
        Receives ``("block", FrameBlock)`` and ``("ann", (onset_s, duration_s, kind, side,
        text))`` items (the writer thread's queue).
    """

    def __init__(self, status: RecorderStatus, sides: Collection[str], rate_hz: float,
                 put: Callable[[tuple], None]) -> None:
        self.status = status
        self.sides = frozenset(sides)
        self.rate_hz = float(rate_hz)
        self.put = put
        self.last_counter: dict[str, int | None] = {s: None for s in SIDES}
        self.last_time_s: dict[str, float | None] = {s: None for s in SIDES}

    def on_block(self, blk: FrameBlock) -> None:
        """Drop duplicate/late frames, mark counter gaps, count, and hand the block on."""
        side = blk.side
        st = self.status
        if blk.battery_pct is not None:
            st.battery_pct[side] = float(blk.battery_pct)
        if side not in self.sides:
            log.warning("frames for %s foot, but the file has no such foot; ignored", side)
            return
        counter = np.asarray(blk.sample_counter, dtype=np.int64)
        last = self.last_counter[side]
        n = counter.shape[0]
        if (last is not None and int(counter[0]) == last + 1 and int(counter[-1]) == last + n
                and (n == 1 or bool((np.diff(counter) == 1).all()))):
            # the usual case: exactly continues the last block (nothing to drop, no gap)
            self.last_counter[side] = last + n
            self.last_time_s[side] = float(blk.time_s[-1])
            st.frames[side] += n
            self.put(("block", blk))
            return
        # keep only frames whose counter increases strictly (no duplicates, no reordering)
        running = np.maximum.accumulate(counter)
        keep = np.ones(len(counter), bool)
        keep[1:] = counter[1:] > running[:-1]
        if last is not None:
            keep &= counter > last
        n_drop = int(len(counter) - keep.sum())
        if n_drop:
            st.dropped_frames[side] += n_drop
            log.debug("%s: dropped %d duplicate/late frames", side, n_drop)
        if not keep.any():
            return
        if n_drop:
            blk = FrameBlock(side, blk.values[keep], counter[keep], blk.device_time_s[keep],
                             blk.host_time_s[keep], blk.time_s[keep], blk.quality[keep], blk.battery_pct)
            counter = counter[keep]
        quality = np.asarray(blk.quality, dtype=np.uint8)
        prev = np.concatenate([[last if last is not None else counter[0] - 1], counter[:-1]])
        jumps = np.flatnonzero(counter - prev > 1)
        if jumps.size:
            quality = quality.copy()
            quality[jumps] |= QUALITY_GAP_BEFORE
            blk = FrameBlock(side, blk.values, counter, blk.device_time_s, blk.host_time_s, blk.time_s,
                             quality, blk.battery_pct)
            times = np.asarray(blk.time_s, dtype=float)
            prev_t = np.concatenate([[self.last_time_s[side] if self.last_time_s[side] is not None else np.nan],
                                     times[:-1]])
            for j in jumps:
                n_lost = int(counter[j] - prev[j] - 1)
                onset = prev_t[j] + 1.0 / self.rate_hz if np.isfinite(prev_t[j]) else times[j] - n_lost / self.rate_hz
                st.lost_frames[side] += n_lost
                st.gaps[side] += 1
                self.put(("ann", (float(onset), float(max(times[j] - onset, 0.0)), "gap", side,
                                  f"{n_lost} frames lost (counter {prev[j]} -> {counter[j]})")))
        self.last_counter[side] = int(counter[-1])
        self.last_time_s[side] = float(blk.time_s[-1])
        st.frames[side] += blk.n_frames
        self.put(("block", blk))

    def on_event(self, ev: LinkEvent) -> None:
        """Annotate a link change or a gap the counters cannot show."""
        st = self.status
        if ev.kind == "gap":
            # lost frames show as counter jumps and are accounted in on_block; a device reset
            # keeps the output counters contiguous, so only the source can tell about it
            if ev.detail.get("kind", "lost") != "lost" and ev.side in st.gaps:
                start = float(ev.detail.get("start_s", self.last_time_s.get(ev.side) or ev.host_time_s))
                end = float(ev.detail.get("end_s", start))
                st.gaps[ev.side] += 1
                self.put(("ann", (start, max(end - start, 0.0), "gap", ev.side,
                                  f"{ev.detail.get('kind')}: frames lost, number unknown")))
            return
        if ev.side in st.link:
            st.link[ev.side] = ev.kind
        detail = ", ".join(f"{k}={v}" for k, v in sorted(ev.detail.items()))
        self.put(("ann", (float(ev.host_time_s), 0.0, "link", ev.side, ev.kind + (f" ({detail})" if detail else ""))))
