"""Publish what is recorded to Lab Streaming Layer (``--lsl-out`` of ``record`` and ``live``).

:class:`LslPublisher` wraps any :class:`~gaitpf.acquisition.source.FrameSource` and passes its
items through unchanged (the recorder sees the same stream), while it publishes:

* **frames**: stream ``gaitpf-frames`` (name starts with ``gaitpf``), type
  ``Pressure``, float32, ``left_1 … left_N, right_1 … right_M`` (label, unit per channel;
  ``desc/layout_id`` when the feet share a standard layout), nominal rate = the source's.
  The feet arrive in separate blocks: frames are paired by aligned time (within half a sample
  period) and a foot without a partner within ``pair_wait_s`` is published with NaN for the
  other foot. Each sample's LSL time stamp is the frame's aligned time on the LSL clock
  (``local_clock`` at the recording start + ``time_s`` / ``time_scale``).
* **online gait events**: stream ``gaitpf-events``, type ``Markers``, one string per
  event (``"left IC"``, ``"left TO"``, ``"right IC"``, ``"right TO"``), stamped at the event's
  frame time. Events come from :class:`gaitpf.live.buffer.LiveBuffer`'s online detection (the
  offline detector on a sliding window; an event is published once confirmed, about one
  second after it happened, with its own time stamp).

Opt-in only: nothing is published without ``--lsl-out``. Needs the ``lsl`` extra. The names
carry nothing about the subject or the machine; each outlet's ``source_id`` is unique per run
(``gaitpf-<pid>-<random>``), so LabRecorder tells two gaitpf instances apart.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from collections import deque
from typing import Any

import numpy as np

from .._optional import require
from ..model import SIDES

__all__ = ["LslPublisher"]

log = logging.getLogger(__name__)


class LslPublisher:
    """A pass-through source that publishes frames and online events to LSL (see module docstring)."""

    def __init__(self, source: Any, *, body_mass_kg: float | None = None, name_prefix: str | None = None,
                 pair_wait_s: float = 0.5) -> None:
        self._src = source
        self.body_mass_kg = body_mass_kg
        prefix = name_prefix or "gaitpf"
        if not prefix.startswith("gaitpf"):
            prefix = "gaitpf-" + prefix
        self.frames_name, self.markers_name = f"{prefix}-frames", f"{prefix}-events"
        self._source_id = f"gaitpf-{os.getpid()}-{secrets.token_hex(4)}"
        self.pair_wait_s = pair_wait_s
        self.frames_out = self.markers_out = None
        self.n_published = 0
        self.markers_published: list[tuple[str, float]] = []
        self._pending: dict[str, deque] = {s: deque() for s in SIDES}
        self._n_sensors: dict[str, int] = {}
        self._buffer: Any = None
        # aligned time of the recent frames per foot (absolute frame index base, times), for the
        # event stamps; bounded to the last ``_keep_s`` seconds (online events are confirmed
        # within the live buffer's window, 12 s)
        self._t_base: dict[str, int] = dict.fromkeys(SIDES, 0)
        self._t_hist: dict[str, np.ndarray] = {s: np.zeros(0) for s in SIDES}
        self._keep_s = 60.0
        self._n_events: dict[str, int] = dict.fromkeys(SIDES, 0)

    # pass-through of the source's attributes (rate, unit, t0, time scale, clock refit …)
    def __getattr__(self, name: str) -> Any:
        return getattr(self._src, name)

    async def __aenter__(self) -> "LslPublisher":
        pylsl = require("pylsl", "lsl", feature="--lsl-out")
        await self._src.__aenter__()
        try:
            self._open(pylsl)
        except BaseException:
            await self._src.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            self._flush(force=True)
        finally:
            self.frames_out = self.markers_out = None
            await self._src.__aexit__(*exc)

    def _open(self, pylsl: Any) -> None:
        from .buffer import LiveBuffer

        specs = self._src.foot_specs()
        get = lambda sp, k: sp.get(k) if isinstance(sp, dict) else getattr(sp, k)  # noqa: E731
        self._n_sensors = {s: int(get(sp, "n_sensors")) for s, sp in specs.items()}
        self.fs = float(get(next(iter(specs.values())), "sampling_rate_hz"))
        unit = str(get(next(iter(specs.values())), "unit"))
        layouts = {s: get(sp, "layout") for s, sp in specs.items()}
        n = sum(self._n_sensors.values())
        info = pylsl.StreamInfo(self.frames_name, "Pressure", n, self.fs, "float32", f"{self._source_id}-frames")
        chans = info.desc().append_child("channels")
        for s in SIDES:
            for i in range(self._n_sensors.get(s, 0)):
                c = chans.append_child("channel")
                c.append_child_value("label", f"{s}_{i + 1}")
                c.append_child_value("unit", unit)
                c.append_child_value("type", "Pressure")
        ids = {getattr(lay, "layout_id", None) for lay in layouts.values()}
        if len(ids) == 1 and None not in ids:
            info.desc().append_child_value("layout_id", ids.pop())
        info.desc().append_child_value("manufacturer", "gaitpf")
        self.frames_out = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)
        minfo = pylsl.StreamInfo(self.markers_name, "Markers", 1, pylsl.IRREGULAR_RATE, "string",
                                  f"{self._source_id}-events")
        self.markers_out = pylsl.StreamOutlet(minfo)
        t0 = getattr(self._src, "t0_monotonic", None)
        # the LSL clock at the source's time zero (time_s is relative to t0_monotonic)
        self._lsl_t0 = pylsl.local_clock() - (time.monotonic() - t0 if t0 is not None else 0.0)
        self._scale = float(getattr(self._src, "time_scale", 1.0) or 1.0)
        self._buffer = LiveBuffer(sampling_rate_hz=self.fs, n_sensors=self._n_sensors, unit=unit, layouts=layouts,
                                  body_mass_kg=self.body_mass_kg)

    def __aiter__(self) -> Any:
        return self._iterate()

    async def _iterate(self) -> Any:
        from ..acquisition.source import FrameBlock

        async for item in self._src:
            if isinstance(item, FrameBlock) and self.frames_out is not None:
                try:
                    self._publish(item)
                except Exception:  # noqa: BLE001 - publishing must never break the recording
                    log.exception("--lsl-out: could not publish a block; recording continues")
            yield item

    # --- frames ------------------------------------------------------------------------
    def _stamp(self, time_s: np.ndarray) -> np.ndarray:
        return self._lsl_t0 + np.asarray(time_s, float) / self._scale

    def _publish(self, blk: Any) -> None:
        if blk.side not in self._n_sensors:
            return
        self._pending[blk.side].append((np.asarray(blk.time_s, float), np.asarray(blk.values, np.float32)))
        self._flush(force=False)
        self._events(blk)

    def _take(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        q = self._pending[side]
        if not q:
            return np.zeros(0), np.zeros((0, self._n_sensors.get(side, 0)), np.float32)
        t = np.concatenate([a for a, _ in q])
        v = np.concatenate([b for _, b in q])
        q.clear()
        return t, v

    def _flush(self, *, force: bool) -> None:
        sides = [s for s in SIDES if s in self._n_sensors]
        (tl, vl), (tr, vr) = (self._take(s) if s in sides else (np.zeros(0), np.zeros((0, 0), np.float32))
                              for s in SIDES)
        half = 0.5 / self.fs
        rows_t, rows_v = [], []
        i = j = 0
        nl, nr = self._n_sensors.get("left", 0), self._n_sensors.get("right", 0)
        nan_l, nan_r = np.full(nl, np.nan, np.float32), np.full(nr, np.nan, np.float32)
        horizon = -np.inf if force else max(tl[-1] if tl.size else -np.inf, tr[-1] if tr.size else -np.inf) \
            - self.pair_wait_s
        while i < tl.size or j < tr.size:
            a = tl[i] if i < tl.size else np.inf
            b = tr[j] if j < tr.size else np.inf
            if abs(a - b) <= half:
                rows_t.append(0.5 * (a + b))
                rows_v.append(np.concatenate([vl[i], vr[j]]))
                i, j = i + 1, j + 1
            elif a < b and (j < tr.size or a <= horizon or "right" not in sides):
                rows_t.append(a)
                rows_v.append(np.concatenate([vl[i], nan_r]))
                i += 1
            elif b < a and (i < tl.size or b <= horizon or "left" not in sides):
                rows_t.append(b)
                rows_v.append(np.concatenate([nan_l, vr[j]]))
                j += 1
            else:
                break            # wait for the other foot
        if i < tl.size:
            self._pending["left"].append((tl[i:], vl[i:]))
        if j < tr.size:
            self._pending["right"].append((tr[j:], vr[j:]))
        if rows_t and self.frames_out is not None:
            stamps = self._stamp(np.asarray(rows_t))
            data = np.vstack(rows_v)
            for k in range(len(rows_t)):
                self.frames_out.push_sample(data[k], float(stamps[k]))
            self.n_published += len(rows_t)

    # --- events ------------------------------------------------------------------------
    def _events(self, blk: Any) -> None:
        side = blk.side
        hist = np.concatenate([self._t_hist[side], np.asarray(blk.time_s, float)])
        extra = hist.size - int(self._keep_s * self.fs)
        if extra > 0:
            hist, self._t_base[side] = hist[extra:], self._t_base[side] + extra
        self._t_hist[side] = hist
        self._buffer.push(side, blk.values, time_s=blk.time_s, sample_counter=blk.sample_counter,
                          quality=blk.quality)
        stances = self._buffer.stances(side)
        if len(stances) <= self._n_events[side]:
            return
        base = self._t_base[side]
        for ic, to in stances.iloc[self._n_events[side]:].itertuples(index=False):
            for label, idx in (("IC", ic), ("TO", to)):
                if 0 <= idx - base < hist.size:
                    t = float(hist[idx - base])
                    self.markers_out.push_sample([f"{side} {label}"], float(self._stamp(t)))
                    self.markers_published.append((f"{side} {label}", t))
        self._n_events[side] = len(stances)
