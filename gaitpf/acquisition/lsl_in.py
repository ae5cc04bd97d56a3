"""Record an insole stream from Lab Streaming Layer (a :class:`~gaitpf.acquisition.source.FrameSource`).

Needs the optional ``lsl`` extra (pylsl, which bundles liblsl).

Method
------
* **Stream**: the first LSL stream whose ``name`` is the one given (resolved for up to
  ``timeout_s``); a regularly sampled numeric stream (``nominal_srate > 0``).
* **Feet**: channel labels (``desc/channels/channel/label``) starting with ``left`` / ``right``
  (case-insensitive: ``left_1 … left_N``, ``Left heel`` …), in stream order; or explicit 0-based
  ranges ``left=A-B,right=C-D`` (inclusive). A stream where neither gives both feet is refused
  with one line. Unit from the first left channel's ``unit`` (``N``, ``kPa``, otherwise
  ``au``); layout from the stream's ``desc/layout_id`` when it names a standard layout (gaitpf's
  own ``--lsl-out`` writes it), otherwise none.
* **Counter**: LSL carries no sample counter; it is ``round((t − t_first) · nominal_srate)`` of
  the sender's time stamps, so frames the sender skipped are gaps
  (:class:`~gaitpf.acquisition.sequencing.FrameSequencer`) and repeated stamps duplicates.
  Sender time-stamp jitter must stay below half a sample period (liblsl stamps chunks pushed
  without stamps regularly).
* **Clock**: ``time_s`` = sender stamp + ``inlet.time_correction()`` (LSL's own clock-offset
  estimate, refreshed every ``correction_every_s``), expressed on the host monotonic clock
  relative to the recording start (liblsl's ``local_clock`` and Python's ``time.monotonic``
  are both the steady clock; their offset is measured once). ``device_time_s`` = sender stamp
  relative to the first, ``host_time_s`` = arrival time of the chunk.
* **Watchdog**: no sample for ``silence_timeout_s`` → ``LinkEvent("silent")``; the inlet
  recovers by itself when the stream comes back (``LinkEvent("connected")``, gap from the
  counter jump).
"""
from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from typing import Any, AsyncIterator

import numpy as np

from .._optional import require
from ..errors import AcquisitionError, DeviceError, InputError
from ..model import SIDES
from .protocol import DecodedBlock, DecodeStats
from .sequencing import FrameSequencer
from .source import FrameBlock, LinkEvent, SourceStatus

__all__ = ["LslInletSource", "parse_channel_ranges", "channels_from_labels"]

log = logging.getLogger(__name__)


def parse_channel_ranges(spec: str, n_channels: int) -> dict[str, np.ndarray]:
    """``left=A-B,right=C-D`` (0-based, inclusive) -> channel indices per side; InputError otherwise."""
    out: dict[str, np.ndarray] = {}
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(left|right)\s*=\s*(\d+)\s*-\s*(\d+)\s*", part)
        if not m or int(m.group(2)) > int(m.group(3)):
            raise InputError(f"--lsl-channels {spec!r}: expected left=A-B,right=C-D (0-based, inclusive)")
        lo, hi = int(m.group(2)), int(m.group(3))
        if hi >= n_channels:
            raise InputError(f"--lsl-channels {spec!r}: the stream has {n_channels} channels (0–{n_channels - 1})")
        out[m.group(1)] = np.arange(lo, hi + 1)
    if set(out) != set(SIDES):
        raise InputError(f"--lsl-channels {spec!r}: give a range for both left and right")
    return out


def channels_from_labels(labels: list[str]) -> dict[str, np.ndarray]:
    """Channel indices per side from labels starting with left/right (empty dict if none)."""
    out = {s: np.array([i for i, lab in enumerate(labels) if lab.strip().lower().startswith(s)], np.int64)
           for s in SIDES}
    return out if all(v.size for v in out.values()) else {}


def _labels_units(info: Any) -> tuple[list[str], list[str]]:
    labels, units = [], []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(ch.child_value("label"))
        units.append(ch.child_value("unit"))
        ch = ch.next_sibling()
    return labels, units


def _resolve(pylsl: Any, name: str, timeout_s: float) -> list:
    """Streams named ``name`` seen within ``timeout_s`` (a continuous resolver: it returns as soon
    as one is seen and honours short timeouts, which a one-shot resolve with a restricted
    multicast scope does not)."""
    resolver = pylsl.ContinuousResolver("name", name)
    deadline = time.monotonic() + timeout_s
    while True:
        found = resolver.results()
        if found or time.monotonic() >= deadline:
            return list(found)
        time.sleep(0.02)


class LslInletSource:
    """Record an LSL insole stream named ``name`` (see the module docstring)."""

    def __init__(self, name: str, *, channels: str | None = None, timeout_s: float = 10.0,
                 silence_timeout_s: float = 1.0, correction_every_s: float = 5.0) -> None:
        self.name, self.channel_spec = name, channels
        self.timeout_s, self.silence_timeout_s = timeout_s, silence_timeout_s
        self.correction_every_s = correction_every_s
        self.sampling_rate_hz = 0.0
        self.unit = "au"
        self.layout_id: str | None = None
        self.realign_clocks = False        # time_s comes from LSL's own clock correction
        self.t0_monotonic: float | None = None
        self._status = SourceStatus()
        self._feet: dict[str, np.ndarray] = {}
        self._seq = {s: FrameSequencer(side=s) for s in SIDES}
        self._inlet: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._ts_first: float | None = None
        self._correction_s = 0.0
        self._lsl_minus_mono = 0.0
        self._silent = False

    async def __aenter__(self) -> "LslInletSource":
        pylsl = require("pylsl", "lsl", feature="--lsl-in")
        self.t0_monotonic = time.monotonic()
        found = await asyncio.to_thread(_resolve, pylsl, self.name, self.timeout_s)
        if not found:
            raise DeviceError(f"no LSL stream named {self.name!r} within {self.timeout_s:g} s: start the sender, "
                              "check the name (e.g. in LabRecorder) and that it runs on this network")
        inlet = pylsl.StreamInlet(found[0], max_buflen=30, recover=True)
        info = await asyncio.to_thread(inlet.info, self.timeout_s)
        rate = float(info.nominal_srate())
        if rate <= 0:
            raise InputError(f"LSL stream {self.name!r} has an irregular rate; gaitpf records regularly sampled "
                             "insole streams")
        if info.channel_format() == pylsl.cf_string:
            raise InputError(f"LSL stream {self.name!r} carries strings (a marker stream), not insole readings")
        labels, units = _labels_units(info)
        n = int(info.channel_count())
        feet = parse_channel_ranges(self.channel_spec, n) if self.channel_spec else channels_from_labels(labels)
        if not feet:
            raise InputError(f"LSL stream {self.name!r}: no channels labelled left…/right… (labels: "
                             f"{', '.join(labels[:6]) or 'none'}{'…' if len(labels) > 6 else ''}); give "
                             "--lsl-channels left=A-B,right=C-D")
        self._feet, self.sampling_rate_hz = feet, rate
        first_unit = units[int(feet["left"][0])] if len(units) > int(feet["left"][0]) else ""
        self.unit = first_unit if first_unit in ("N", "kPa") else "au"
        self.layout_id = info.desc().child_value("layout_id") or None
        self._inlet = inlet
        try:
            await asyncio.to_thread(inlet.open_stream, self.timeout_s)
            self._correction_s = await asyncio.to_thread(inlet.time_correction, min(self.timeout_s, 5.0))
        except Exception as exc:  # noqa: BLE001 - pylsl raises TimeoutError / LostError
            inlet.close_stream()
            raise DeviceError(f"LSL stream {self.name!r} did not answer ({type(exc).__name__}: {exc}); is the "
                              "sender still running and reachable from this machine?") from exc
        self._lsl_minus_mono = pylsl.local_clock() - time.monotonic()
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._pull, args=(loop,), name="gaitpf-lsl-in", daemon=True)
        self._thread.start()
        for s in SIDES:
            self._status.link[s] = "streaming"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2.0)
        if self._inlet is not None:
            self._inlet.close_stream()
        for s in SIDES:
            self._status.link[s] = "closed"

    def _pull(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reader thread: pull chunks (blocking) and hand them to the event loop."""
        next_corr = time.monotonic() + self.correction_every_s
        while not self._stop.is_set():
            try:
                data, stamps = self._inlet.pull_chunk(timeout=0.1, max_samples=1024)
            except Exception as exc:  # noqa: BLE001 - liblsl errors (lost stream) end the recording
                loop.call_soon_threadsafe(self._queue.put_nowait, ("_error", exc))
                return
            if time.monotonic() >= next_corr:
                next_corr = time.monotonic() + self.correction_every_s
                try:
                    self._correction_s = self._inlet.time_correction(timeout=1.0)
                except Exception as exc:  # noqa: BLE001 - keep the last estimate while the sender is away
                    log.info("LSL stream %r: time correction not updated (%s)", self.name, exc)
            if stamps is not None and len(stamps):
                loop.call_soon_threadsafe(self._queue.put_nowait,
                                          (np.asarray(data, float), np.asarray(stamps, float), time.monotonic(),
                                           self._correction_s))

    def __aiter__(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        last_rx = time.monotonic()
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout=min(0.1, self.silence_timeout_s / 2))
            except asyncio.TimeoutError:
                item = None
            if item is None:
                if not self._silent and time.monotonic() - last_rx > self.silence_timeout_s:
                    self._silent = True
                    for s in SIDES:
                        self._status.link[s] = "silent"
                        yield LinkEvent(s, "silent", time.monotonic() - self.t0_monotonic)
                continue
            if isinstance(item[0], str):            # ("_error", exception) from the reader thread
                raise AcquisitionError(f"LSL stream {self.name!r}: {item[1]}")
            values, stamps, t_rx, corr = item
            last_rx = t_rx
            if self._silent:
                self._silent = False
                for s in SIDES:
                    self._status.link[s] = "streaming"
                    yield LinkEvent(s, "connected", t_rx - self.t0_monotonic)
            for out in self._decode(values, stamps, t_rx, corr):
                yield out

    def _decode(self, values: np.ndarray, stamps: np.ndarray, t_rx: float, corr: float) -> list:
        if self._ts_first is None:
            self._ts_first = float(stamps[0])
        rel = stamps - self._ts_first
        counter = np.round(rel * self.sampling_rate_hz).astype(np.int64)
        n = counter.size
        idx = np.arange(n, dtype=np.int64)
        # sender stamp -> local LSL clock -> host monotonic, relative to the recording start
        aligned = stamps + corr - self._lsl_minus_mono - self.t0_monotonic
        out: list = []
        for side in SIDES:
            v = values[:, self._feet[side]].astype(np.float32)
            blk = DecodedBlock(
                n_sensors=v.shape[1], seq=(idx % 65536).astype(np.uint16), first_counter=counter,
                n_frames=np.ones(n, np.int64), flags=np.zeros(n, np.uint8), source_index=idx,
                battery_pct=np.full(n, np.nan, np.float32), imu=None, counter=counter, values=v,
                packet_index=idx, stats=DecodeStats(ok=n))
            seq = self._seq[side]
            res = seq.process(blk)
            for gap in res.gaps:
                start_s = self._ts_first + gap.first_missing_counter / self.sampling_rate_hz
                out.append(LinkEvent(side, "gap", t_rx - self.t0_monotonic, {
                    "n_frames": gap.n_missing, "kind": gap.kind, "first_missing_counter": gap.first_missing_counter,
                    "start_s": float(start_s + corr - self._lsl_minus_mono - self.t0_monotonic),
                    "end_s": float(start_s + gap.n_missing / self.sampling_rate_hz + corr - self._lsl_minus_mono
                                   - self.t0_monotonic)}))
            st = self._status
            st.lost_frames[side], st.gaps[side] = seq.frames_lost, seq.gaps
            if res.n_frames:
                st.frames[side] += res.n_frames
                k = res.packet_index
                out.append(FrameBlock(side=side, values=res.values, sample_counter=res.counter,
                                      device_time_s=rel[k], host_time_s=np.full(k.size, t_rx - self.t0_monotonic),
                                      time_s=aligned[k], quality=res.quality))
        return out

    def status(self) -> SourceStatus:
        return self._status

    def foot_specs(self) -> dict[str, Any]:
        """Per side: n_sensors, unit, sampling_rate_hz, layout, device (for the writer)."""
        if not self._feet:
            raise AcquisitionError("enter the LSL source (async with) before asking for foot specs")
        layout = {}
        if self.layout_id:
            from ..layouts import standard_layout

            for s in SIDES:
                try:
                    layout[s] = standard_layout(self.layout_id, s)
                except Exception:  # noqa: BLE001 - unknown layout: recorded without positions
                    layout[s] = None
                if layout[s] is not None and layout[s].n_sensors != self._feet[s].size:
                    layout[s] = None
        return {s: {"n_sensors": int(self._feet[s].size), "unit": self.unit, "sampling_rate_hz": self.sampling_rate_hz,
                    "layout": layout.get(s), "device": {"model": "LSL stream", "lsl_name": self.name,
                                                        "channels": [int(i) for i in self._feet[s]]}}
                for s in SIDES}
