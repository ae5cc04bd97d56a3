"""Per-foot loss accounting from the device's sample counter.

A :class:`FrameSequencer` takes :class:`~gaitpf.acquisition.protocol.DecodedBlock` objects
in arrival order and emits frames with strictly increasing, unwrapped counters:

* **Counter unwrap** — the 32-bit counter is unwrapped against the last emitted frame (signed
  distance), so wraps at 2**32 and blocks decoded without ``previous_counter`` both work.
* **Reorder window = one block.** Frames of one block (the notifications collected since the
  last decode, typically 50–200 ms) are sorted by counter before being emitted. A frame whose
  counter is at or below the last *emitted* one is dropped: counted ``late`` if its counter lies
  in a gap already reported, else ``duplicates`` (e.g. a packet re-sent after a reconnect).
  Emitted frames are never reordered and a reported gap is never filled afterwards (over BLE a
  single link delivers notifications in order, so late frames only come from firmware resends;
  a longer window would delay every frame for a case that does not occur).
* **Gaps** — each jump in the emitted counters is reported as :class:`Gap`
  ``(first_missing_counter, n_missing)`` and the first frame after it gets
  :data:`gaitpf.model.QUALITY_GAP_BEFORE`. Lost frames are never filled.
* **Device reset** — a jump by more than ``max_jump_frames`` either way (a rebooted insole
  restarts its counter at 0) starts a new segment: output counters continue at
  ``last + 1`` (so they stay strictly increasing), a ``Gap(kind="device_reset", n_missing=0)``
  is reported, the first frame is flagged, and ``result.reset`` is True — the caller must then
  ``ClockMapper.reset()`` because the device clock restarted.

Typical use in a recorder (per foot)::

    block = decode_packets(payloads, n_sensors=k)
    res = sequencer.process(block)
    if res.reset:
        clock.reset()
    clock.add(res.packet_counter, host_times[block.source_index], n_frames=block.n_frames)
    time_s = clock.map(res.counter)          # aligned; host_times[res.packet_index] = receive time
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import QUALITY_GAP_BEFORE
from .protocol import DecodedBlock

__all__ = ["Gap", "SequencedFrames", "FrameSequencer", "sequence_block"]

log = logging.getLogger(__name__)
_MOD, _HALF = 1 << 32, 1 << 31


@dataclass(frozen=True)
class Gap:
    """Frames missing before an emitted frame (counters in the sequencer's output space)."""

    first_missing_counter: int
    n_missing: int
    kind: str = "lost"  #: "lost" or "device_reset" (counter restarted; length unknown)

    @property
    def end_counter(self) -> int:
        """Counter of the first frame after the gap (exclusive end)."""
        return self.first_missing_counter + self.n_missing


@dataclass
class SequencedFrames:
    """What :meth:`FrameSequencer.process` emits for one block.

    ``counter`` (int64, strictly increasing), ``values``, ``packet_index`` (position of the
    carrying packet in the decoder's input list) and ``quality`` (uint8) have one entry per
    emitted frame; ``keep`` (bool, one per frame of the input block, in block order) marks the
    frames that were emitted; ``packet_counter`` (int64, one per decoded packet of the block)
    is each packet's first-frame counter in the output space (feed it to the clock mapper).
    """

    counter: np.ndarray
    values: np.ndarray
    packet_index: np.ndarray
    quality: np.ndarray
    keep: np.ndarray
    packet_counter: np.ndarray
    gaps: list[Gap] = field(default_factory=list)
    n_duplicates: int = 0
    n_late: int = 0
    reset: bool = False

    @property
    def n_frames(self) -> int:
        return int(self.counter.shape[0])


class FrameSequencer:
    """Stateful per-foot sequencer (see the module docstring for the policy).

    Parameters
    ----------
    max_jump_frames : int
        A forward counter jump larger than this is taken as a device reset rather than as
        lost frames. Default 2**24 (46 h at 100 Hz, 4.6 h at 1 kHz).
    max_backjump_frames : int
        A backward jump larger than this is a device reset rather than resent frames
        (default 65536: longer than any firmware resend buffer). Shorter resets are caught
        through :meth:`expect_next` after a reconnect.
    side : str
        Only used in log messages.
    """

    def __init__(self, *, max_jump_frames: int = 1 << 24, max_backjump_frames: int = 1 << 16,
                 side: str = "") -> None:
        for name, v in (("max_jump_frames", max_jump_frames), ("max_backjump_frames", max_backjump_frames)):
            if not 1 <= v < _HALF:
                raise ValueError(f"{name} must be in 1..2**31-1, got {v}")
        self.max_jump_frames = int(max_jump_frames)
        self.max_backjump_frames = int(max_backjump_frames)
        self._pending_reset: int | None = None
        self.side = side
        self._last_dev: int | None = None  # device-space unwrapped counter of the last emitted frame
        self._offset = 0  # output counter = device counter + offset (changes at a device reset)
        self._gap_lo = np.zeros(0, np.int64)  # recent gap intervals [lo, hi) in output space
        self._gap_hi = np.zeros(0, np.int64)
        self.frames_received = 0
        self.frames_lost = 0
        self.duplicates = 0
        self.late = 0
        self.gaps = 0
        self.counter_resets = 0

    @property
    def last_counter(self) -> int | None:
        """Output counter of the last emitted frame."""
        return None if self._last_dev is None else self._last_dev + self._offset

    def stats(self) -> dict[str, int | float]:
        """Running totals; ``loss_pct`` = lost / (received + lost) · 100."""
        expected = self.frames_received + self.frames_lost
        return {
            "frames_received": self.frames_received, "frames_lost": self.frames_lost,
            "duplicates": self.duplicates, "late": self.late, "gaps": self.gaps,
            "counter_resets": self.counter_resets,
            "loss_pct": 100.0 * self.frames_lost / expected if expected else 0.0,
        }

    def expect_next(self, counter: int) -> None:
        """Declare the device's live counter from a START reply (``ControlResponse.counter``).

        Before any frame: frames missing before the first received one become a gap. After a
        reconnect: a counter at or below the last emitted one means the insole rebooted, so
        the next block starts a new segment (a device reset); otherwise nothing changes.
        """
        counter = int(counter)
        if self._last_dev is None:
            self._last_dev = counter - 1
            return
        ref = self._last_dev
        unwrapped = ref + ((counter - ref) % _MOD + _HALF) % _MOD - _HALF
        if unwrapped <= ref:
            self._pending_reset = counter

    def process(self, block: DecodedBlock) -> SequencedFrames:
        """Sequence one decoded block; returns the frames to store, in counter order."""
        c = np.asarray(block.counter, dtype=np.int64)
        n_sensors = block.values.shape[1]
        pkt_first = np.zeros(block.n_packets, np.int64)
        if block.n_packets:
            np.cumsum(block.n_frames[:-1], out=pkt_first[1:])
        if c.size == 0:
            e = np.zeros(0, np.int64)
            return SequencedFrames(e, np.zeros((0, n_sensors), block.values.dtype), e.copy(),
                                   np.zeros(0, np.uint8), np.zeros(0, bool), e.copy())
        # Unwrap against the last emitted frame (the block is internally consistent).
        ref = self._pending_reset if self._pending_reset is not None else self._last_dev
        if ref is not None:
            c = c + (ref + ((int(c[0]) - ref) % _MOD + _HALF) % _MOD - _HALF - int(c[0]))
        if (self._pending_reset is None and self._last_dev is not None and int(c[0]) == self._last_dev + 1
                and int(c[-1]) - int(c[0]) == c.size - 1 and (c.size == 1 or bool(np.all(np.diff(c) == 1)))):
            # the usual case: the block continues exactly where the last one ended
            self._last_dev = int(c[-1])
            self.frames_received += int(c.size)
            out = c + self._offset
            return SequencedFrames(out, block.values, block.packet_index, np.zeros(c.size, np.uint8),
                                   np.ones(c.size, bool), out[pkt_first])
        # Split into segments at device resets (rare).
        prev = np.concatenate([[c[0] if ref is None else ref], c[:-1]])
        step = c - prev
        cut = (step > self.max_jump_frames) | (step < -self.max_backjump_frames)
        if self._pending_reset is not None:
            cut[0] = self._last_dev is not None
            self._pending_reset = None
        cuts = set(np.flatnonzero(cut).tolist())
        out_counter = np.empty_like(c)
        parts: list[SequencedFrames] = []
        bounds = sorted({0, c.size, *cuts})
        for s, e in zip(bounds[:-1], bounds[1:]):
            reset = s in cuts
            if reset:
                last_out = self.last_counter
                self.counter_resets += 1
                self._offset = (last_out + 1) - int(c[s]) if last_out is not None else 0
                self._last_dev = int(c[s]) - 1
                log.warning("%s insole: sample counter restarted (step %d frames): device reset, "
                            "new segment from output counter %d", self.side or "the", int(step[s]),
                            int(c[s]) + self._offset)
            out_counter[s:e] = c[s:e] + self._offset
            parts.append(self._segment(block, s, e, out_counter[s:e], reset))
        res = parts[0] if len(parts) == 1 else _concat(parts)
        res.packet_counter = out_counter[pkt_first] if block.n_packets else np.zeros(0, np.int64)
        return res

    def _segment(self, block: DecodedBlock, s: int, e: int, c: np.ndarray, reset: bool) -> SequencedFrames:
        last = self.last_counter
        is_new = c > last if last is not None else np.ones(c.size, bool)
        new_idx = np.flatnonzero(is_new)
        uniq, first = np.unique(c[new_idx], return_index=True)
        sel = new_idx[first]  # block-relative positions of emitted frames, in counter order
        old = c[~is_new]
        in_gap = np.zeros(old.size, bool)
        prev_c = np.concatenate([[uniq[0] - 1 if last is None else last], uniq[:-1]]) if uniq.size else uniq
        step = uniq - prev_c
        g = np.flatnonzero(step > 1)
        gaps = [Gap(int(prev_c[i] + 1), int(step[i] - 1)) for i in g.tolist()]
        quality = np.zeros(uniq.size, np.uint8)
        quality[g] = QUALITY_GAP_BEFORE
        if reset and uniq.size:
            gaps.insert(0, Gap(int(uniq[0]), 0, "device_reset"))
            quality[0] = QUALITY_GAP_BEFORE
        if old.size and self._gap_lo.size:
            k = np.searchsorted(self._gap_lo, old, side="right") - 1
            in_gap = (k >= 0) & (old < self._gap_hi[np.maximum(k, 0)])
        n_late, n_dup = int(in_gap.sum()), int(new_idx.size - uniq.size + old.size - in_gap.sum())
        if g.size:
            self._gap_lo = np.concatenate([self._gap_lo, prev_c[g] + 1])[-256:]
            self._gap_hi = np.concatenate([self._gap_hi, uniq[g]])[-256:]
        if uniq.size:
            self._last_dev = int(uniq[-1]) - self._offset
        self.frames_received += int(uniq.size)
        self.frames_lost += int(sum(gp.n_missing for gp in gaps))
        self.gaps += int(g.size)
        self.duplicates += n_dup
        self.late += n_late
        keep = np.zeros(block.n_frames_total, bool)
        keep[s + sel] = True
        return SequencedFrames(uniq.astype(np.int64), block.values[s + sel], block.packet_index[s + sel],
                               quality, keep, np.zeros(0, np.int64), gaps, n_dup, n_late, reset)


def _concat(parts: list[SequencedFrames]) -> SequencedFrames:
    return SequencedFrames(
        np.concatenate([p.counter for p in parts]), np.concatenate([p.values for p in parts]),
        np.concatenate([p.packet_index for p in parts]), np.concatenate([p.quality for p in parts]),
        np.logical_or.reduce([p.keep for p in parts]), np.zeros(0, np.int64),
        [g for p in parts for g in p.gaps], sum(p.n_duplicates for p in parts),
        sum(p.n_late for p in parts), any(p.reset for p in parts))


def sequence_block(side: str, sequencer: FrameSequencer, clock: Any, blk: DecodedBlock, host_s: np.ndarray,
                   status: Any) -> tuple[SequencedFrames, list]:
    """Sequence one decoded block of a packet-based insole and feed its device clock.

    The steps every packet-counter device shares (gaitpf insoles, ORPHE INSOLE): order and
    de-duplicate the frames, reset the clock mapping after a device reset, add the packets'
    arrival times to the clock fit, turn the sequencer's gaps into ``"gap"`` link events with
    their start/end on the recording's time base, and update the per-side counters of
    ``status`` (lost frames, gaps, clock residual, frames).

    Parameters
    ----------
    side : str
        ``"left"`` or ``"right"``.
    sequencer : FrameSequencer
    clock : gaitpf.acquisition.clock.ClockMapper
    blk : DecodedBlock
        At least one packet.
    host_s : ndarray
        Host arrival time of each received packet, s (indexed by ``blk.source_index``).
    status : gaitpf.acquisition.source.SourceStatus
        Updated in place.

    Returns
    -------
    (SequencedFrames, list of LinkEvent)
        The frames to emit (build the ``FrameBlock`` from them; ``clock.map(res.counter)``
        gives their time) and the gap events, in that order of importance.
    """
    from .source import LinkEvent

    res = sequencer.process(blk)
    if res.reset:
        clock.reset()
    clock.add(res.packet_counter, host_s[blk.source_index], n_frames=blk.n_frames)
    events = []
    for gap in res.gaps:
        start_s, end_s = clock.map(np.array([gap.first_missing_counter, gap.end_counter]))
        events.append(LinkEvent(side, "gap", float(host_s[-1]), {
            "n_frames": gap.n_missing, "kind": gap.kind, "first_missing_counter": gap.first_missing_counter,
            "start_s": float(start_s), "end_s": float(end_s)}))
    status.lost_frames[side] = sequencer.frames_lost
    status.gaps[side] = sequencer.gaps
    status.clock_residual_ms[side] = clock.residual_ms
    status.frames[side] += res.n_frames
    return res, events
