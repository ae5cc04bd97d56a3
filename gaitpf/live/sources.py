"""Feed a :class:`~gaitpf.live.buffer.LiveBuffer` from insoles, a growing file or a replay.

Each feeder is a daemon thread that owns its own work (and, for BLE and replay, its own
asyncio event loop); it only ever calls the buffer, never Qt. The GUI thread owns the Qt
event loop and pulls from the buffer on a timer. Three feeders:

* :class:`RecordFeeder` – record-and-show: the BLE insoles (or ``--simulate``: virtual
  insoles over a fake BlueZ, through the same BLE client) are recorded by the
  :class:`~gaitpf.recording.recorder.Recorder` into a SWMR HDF5 file; a tee passes every
  block to the buffer as well. The recorder's writer thread flushes at least every
  ``flush_interval_s`` whatever the GUI does, and closing the window stops the recording
  cleanly. (For a recording that must survive the viewer *process*, run ``gaitpf record``
  and ``gaitpf live --attach`` separately.)
* :class:`AttachFeeder` – follows a file another ``gaitpf record`` process is writing
  (``h5py`` SWMR reader, ``refresh()`` every ``poll_s``); says so when the recorder stops
  writing or finishes.
* :class:`ReplayFeeder` – plays a finished file with
  :class:`~gaitpf.recording.replay.ReplaySource` at ``speed`` × real time.

``open_*`` functions validate the input *before* the window opens and raise
:class:`~gaitpf.errors.GaitpfError` subclasses with a one-line message.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import GaitpfError, InputError
from ..io.guard import display_path, printable
from ..model import SIDES
from .buffer import LiveBuffer

__all__ = ["Feeder", "ReplayFeeder", "AttachFeeder", "RecordFeeder", "open_replay", "open_attach",
           "open_record", "TeeSource"]

log = logging.getLogger(__name__)


class Feeder(threading.Thread):
    """Base of the feeders: a daemon thread with ``stop()``, ``error`` and ``finished``."""

    def __init__(self, buffer: LiveBuffer | None, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.buffer = buffer
        self.error: str | None = None
        self.finished = threading.Event()
        self.ready = threading.Event()
        self._stop_flag = threading.Event()
        self.summary: str | None = None

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop_flag.set()
        if self.is_alive():
            self.join(timeout_s)

    def _fail(self, text: str) -> None:
        text = printable(text)  # file names that are not UTF-8 (Qt cannot show lone surrogates)
        self.error = text
        if self.buffer is not None:
            self.buffer.message("error", text)
        log.info("%s", text)


def _buffer_for_recording(rec: Any, **kw: Any) -> LiveBuffer:
    feet = rec.feet
    unit = next(iter(feet.values())).unit
    buf = LiveBuffer(sampling_rate_hz=rec.sampling_rate_hz, n_sensors={s: f.n_sensors for s, f in feet.items()},
                     unit=unit, layouts={s: f.layout for s, f in feet.items()}, body_mass_kg=rec.body_mass_kg, **kw)
    missing = [s for s in SIDES if s not in feet]
    if missing:
        buf.message("warning", f"{' and '.join(missing)} foot missing in this recording: one foot only, "
                               "symmetry is not available")
    return buf


# ----------------------------------------------------------------------------- replay
class ReplayFeeder(Feeder):
    """Play a finished gaitpf recording into the buffer at ``speed`` × real time."""

    def __init__(self, buffer: LiveBuffer, path: Path, speed: float) -> None:
        super().__init__(buffer, "gaitpf-live-replay")
        self.path, self.speed = Path(path), float(speed)

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except GaitpfError as exc:
            self._fail(f"replay of {self.path} failed: {exc}")
        except Exception as exc:  # noqa: BLE001 - reported in the window, never a traceback
            self._fail(f"replay of {self.path} failed: {type(exc).__name__}: {exc}")
        finally:
            self.finished.set()

    async def _main(self) -> None:
        from ..recording.replay import ReplaySource
        from ..acquisition.source import FrameBlock

        async with ReplaySource(self.path, self.speed) as src:
            for side in src.foot_specs():
                self.buffer.set_link(side, "connected")
            self.ready.set()
            async for item in src:
                if self._stop_flag.is_set():
                    return
                if isinstance(item, FrameBlock):
                    self.buffer.push(item.side, item.values, time_s=item.time_s, sample_counter=item.sample_counter,
                                     quality=item.quality, battery_pct=item.battery_pct)
        self.summary = f"replay of {display_path(self.path.name)} finished"
        self.buffer.message("info", self.summary)


def open_replay(path: str | Path, speed: float, **buffer_kw: Any) -> tuple[LiveBuffer, ReplayFeeder]:
    """Validate ``path`` (a gaitpf recording) and return its buffer and a replay feeder."""
    from ..io.hdf5 import read_hdf5

    speed = float(speed)
    if not (speed > 0):
        raise InputError(f"--speed must be > 0 (1 = real time), got {speed!r}")
    rec = read_hdf5(path)
    if max(f.n_samples for f in rec.feet.values()) == 0:
        raise InputError(f"{display_path(path)}: the recording holds no frames; nothing to replay")
    buf = _buffer_for_recording(rec, **buffer_kw)
    return buf, ReplayFeeder(buf, Path(path), speed)


# ----------------------------------------------------------------------------- attach
class AttachFeeder(Feeder):
    """Follow a SWMR file that another ``gaitpf record`` process is writing.

    Parameters
    ----------
    buffer : LiveBuffer
    path : Path
    poll_s : float
        Refresh period, s.
    stall_s : float
        No new frame for this long (while the file is not closed cleanly) means the
        recorder stopped writing: a warning in the window and on the log.
    backlog_s : float
        Seconds of already-recorded data shown when attaching.
    """

    def __init__(self, buffer: LiveBuffer, path: Path, *, poll_s: float = 0.05, stall_s: float = 5.0,
                 backlog_s: float = 12.0) -> None:
        super().__init__(buffer, "gaitpf-live-attach")
        self.path, self.poll_s, self.stall_s, self.backlog_s = Path(path), poll_s, stall_s, backlog_s
        self.stalled = False

    def run(self) -> None:
        try:
            self._follow()
        except GaitpfError as exc:
            self._fail(f"following {self.path} failed: {exc}")
        except Exception as exc:  # noqa: BLE001
            self._fail(f"following {self.path} failed: {type(exc).__name__}: {exc}")
        finally:
            self.finished.set()

    def _closed_cleanly(self) -> bool | None:
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                return bool(int(np.asarray(f.attrs["closed_cleanly"]).item()))
        except (OSError, KeyError):
            return None

    def _follow(self) -> None:
        import h5py

        fs = self.buffer.fs
        f = h5py.File(self.path, "r", swmr=True)
        try:
            sides = [s for s in SIDES if s in f and s in self.buffer.sides]
            names = ("values", "time_s", "sample_counter", "quality")
            pos: dict[str, int] = {}
            for side in sides:
                n = min(int(f[side][k].shape[0]) for k in names)
                pos[side] = max(0, n - int(self.backlog_s * fs))
            ann = f["annotations"] if "annotations" in f else None
            ann_pos = int(ann["kind"].shape[0]) if ann is not None else 0
            for side in sides:
                self.buffer.set_link(side, "connected")
            self.ready.set()
            last_growth = time.monotonic()
            while not self._stop_flag.is_set():
                grew = False
                for side in sides:
                    g = f[side]
                    for k in names:
                        g[k].refresh()
                    n = min(int(g[k].shape[0]) for k in names)
                    if n > pos[side]:
                        sl = slice(pos[side], n)
                        self.buffer.push(side, g["values"][sl], time_s=g["time_s"][sl],
                                         sample_counter=g["sample_counter"][sl], quality=g["quality"][sl])
                        pos[side] = n
                        grew = True
                if ann is not None:
                    for k in ann:
                        ann[k].refresh()
                    m = min(int(ann[k].shape[0]) for k in ann)
                    if m > ann_pos:
                        kinds = ann["kind"][ann_pos:m]
                        ev_sides = ann["side"][ann_pos:m]
                        descr = ann["description"][ann_pos:m]
                        for kind, side, d in zip(kinds, ev_sides, descr):
                            kind, side, d = (x.decode() if isinstance(x, bytes) else str(x) for x in (kind, side, d))
                            if kind == "link" and side in self.buffer.sides:
                                self.buffer.push_event(side, d.split(" ")[0])
                        ann_pos = m
                now = time.monotonic()
                if grew:
                    last_growth = now
                    if self.stalled:
                        self.stalled = False
                        self.buffer.message("info", f"{display_path(self.path.name)}: the recorder is writing again")
                elif not self.stalled and now - last_growth > self.stall_s:
                    self.stalled = True
                    clean = self._closed_cleanly()
                    if clean:
                        self.summary = f"{display_path(self.path.name)}: the recording finished (file closed cleanly)"
                        self.buffer.message("info", self.summary)
                        for side in sides:
                            self.buffer.set_link(side, "finished")
                        return
                    self._fail(f"{display_path(self.path.name)}: the recorder stopped writing (no new frames for "
                               f"{self.stall_s:g} s and the file is not closed); is `gaitpf record` still "
                               "running? after a crash, `gaitpf repair` makes the file a normal file")
                    for side in sides:
                        self.buffer.set_link(side, "stalled")
                self._stop_flag.wait(self.poll_s)
        finally:
            f.close()


def open_attach(path: str | Path, *, stall_s: float = 5.0, **buffer_kw: Any) -> tuple[LiveBuffer, AttachFeeder]:
    """Validate a (growing) gaitpf recording and return its buffer and an attach feeder.

    The file must already hold the recorder's header (``gaitpf record`` creates it before
    connecting); a few seconds are waited for it to appear.
    """
    from ..io.hdf5 import read_hdf5

    p = Path(path)
    deadline = time.monotonic() + 10.0
    while not p.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    last: GaitpfError | None = None
    for _ in range(20):  # the recorder may be creating the file right now
        try:
            rec = read_hdf5(p, swmr=True)
            break
        except GaitpfError as exc:
            last = exc
            if not p.exists() or "HDF5 signature" in str(exc) or "schema_version" in str(exc):
                raise
            time.sleep(0.25)
    else:
        assert last is not None
        raise last
    buf = _buffer_for_recording(rec, **buffer_kw)
    return buf, AttachFeeder(buf, p, stall_s=stall_s)


# ----------------------------------------------------------------------------- record
class TeeSource:
    """Wrap a frame source: every item goes to the recorder *and* to ``on_item`` (a live view).

    ``on_enter(source)`` runs once the source is connected; an exception of ``on_item`` is
    logged and never reaches the recorder (the view must never break a recording).
    """

    def __init__(self, source: Any, on_item: Callable[[Any], None], on_enter: Callable[[Any], None], *,
                 label: str = "live view") -> None:
        self._src, self._on_item, self._on_enter, self._label = source, on_item, on_enter, label

    def __getattr__(self, name: str) -> Any:
        return getattr(self._src, name)

    async def __aenter__(self) -> "TeeSource":
        await self._src.__aenter__()
        self._on_enter(self._src)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._src.__aexit__(*exc)

    def __aiter__(self) -> Any:
        return self._iterate()

    async def _iterate(self) -> Any:
        async for item in self._src:
            try:
                self._on_item(item)
            except Exception:  # noqa: BLE001 - the view must never break the recording
                log.exception("%s: could not buffer a block; recording continues", self._label)
            yield item


class RecordFeeder(Feeder):
    """Record insoles (real or virtual) to ``output`` and show them at the same time.

    The buffer is created once the insoles are connected (its layout comes from them);
    ``ready`` is set then. Parameters mirror ``gaitpf record``.
    """

    def __init__(self, *, output: Path, left: str | None, right: str | None, simulate: bool,
                 subject_id: str, session: str, trial: str = "1", body_mass_kg: float | None = None,
                 flush_interval_s: float = 0.25, speed: float = 1.0, gait: Any = None, seed: int = 0,
                 rate_hz: int | None = None, scan_timeout_s: float = 10.0, duration_s: float | None = None,
                 buffer_kw: dict[str, Any] | None = None, overwrite: bool = False, source_choice: Any = None,
                 lsl_out: bool = False) -> None:
        super().__init__(None, "gaitpf-live-record")
        self.overwrite = overwrite
        self.output, self.left, self.right, self.simulate = Path(output), left, right, simulate
        self.subject_id, self.session, self.trial = subject_id, session, trial
        self.body_mass_kg, self.flush_interval_s, self.speed = body_mass_kg, flush_interval_s, speed
        self.gait, self.seed, self.rate_hz, self.scan_timeout_s = gait, seed, rate_hz, scan_timeout_s
        self.duration_s = duration_s
        self.source_choice, self.lsl_out = source_choice, lsl_out   # acquisition.factory.SourceChoice
        self.buffer_kw = dict(buffer_kw or {})
        self.recorder: Any = None
        self.result: Any = None

    def stop(self, timeout_s: float = 15.0) -> None:
        self._stop_flag.set()
        if self.recorder is not None:
            self.recorder.request_stop("viewer closed")
        if self.is_alive():
            self.join(timeout_s)

    def run(self) -> None:
        try:
            self.result = asyncio.run(self._main())
            r = self.result
            self.summary = (f"recorded {r.elapsed_s * self.speed:.1f} s ({r.stop_reason}) -> {display_path(self.output)}: "
                            + ", ".join(f"{s} {r.frames[s]} frames (lost {r.lost_frames[s]}, gaps {r.gaps[s]})"
                                        for s in r.frames))
            if self.buffer is not None:
                self.buffer.message("info", self.summary)
        except GaitpfError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001
            self._fail(f"recording failed: {type(exc).__name__}: {exc}")
        finally:
            self.ready.set()
            self.finished.set()

    def _on_enter(self, src: Any) -> None:
        specs = src.foot_specs()
        get = lambda sp, k: sp.get(k) if isinstance(sp, dict) else getattr(sp, k)  # noqa: E731
        fs = float(get(next(iter(specs.values())), "sampling_rate_hz"))
        self.buffer = LiveBuffer(sampling_rate_hz=fs, n_sensors={s: int(get(sp, "n_sensors")) for s, sp in specs.items()},
                                 unit=str(get(next(iter(specs.values())), "unit")),
                                 layouts={s: get(sp, "layout") for s, sp in specs.items()},
                                 body_mass_kg=self.body_mass_kg, **self.buffer_kw)
        self.buffer.message("info", f"recording to {display_path(self.output)}")
        self._t0 = getattr(src, "t0_monotonic", None) or time.monotonic()
        self._scale = float(getattr(src, "time_scale", 1.0) or 1.0)
        self.ready.set()

    def _on_item(self, item: Any) -> None:
        from ..acquisition.source import FrameBlock, LinkEvent

        if isinstance(item, FrameBlock):
            # notification receive time (host clock), for the notification-to-screen latency
            arrival = self._t0 + np.asarray(item.host_time_s, float) / self._scale
            self.buffer.push(item.side, item.values, time_s=item.time_s, sample_counter=item.sample_counter,
                             quality=item.quality, battery_pct=item.battery_pct, arrival_monotonic=arrival)
        elif isinstance(item, LinkEvent):
            self.buffer.push_event(item.side, item.kind, item.detail)

    async def _main(self) -> Any:
        import contextlib

        from ..acquisition.ble import BleInsoleSource
        from ..recording.recorder import Recorder

        async with contextlib.AsyncExitStack() as stack:
            left, right = self.left, self.right
            info: dict[str, Any] = {"mode": "simulate" if self.simulate else "ble", "viewer": "gaitpf live"}
            source: Any = None
            if self.source_choice is not None and self.source_choice.kind != "gaitpf":
                from ..recording.source_factory import open_source

                source, info, _harness = await open_source(
                    stack, self.source_choice, left=left, right=right, rate_hz=self.rate_hz, simulate=self.simulate,
                    speed=self.speed, gait=self.gait, seed=self.seed, scan_timeout_s=self.scan_timeout_s)
                info["viewer"] = "gaitpf live"
            elif self.simulate:
                from ..sim.harness import VirtualInsoleHarness

                harness = await stack.enter_async_context(VirtualInsoleHarness(
                    self.gait, rate_hz=float(self.rate_hz or self.gait.sampling_rate_hz), seed=self.seed,
                    speed=self.speed))
                left, right = left or harness.left_address, right or harness.right_address
                info["simulate"] = {"speed": self.speed, "seed": self.seed, "gait": self.gait.as_dict()}
            if source is None:
                source = BleInsoleSource(left, right, allow={left, right}, rate_hz=self.rate_hz,
                                         time_scale=self.speed, scan_timeout_s=self.scan_timeout_s)
            if self.lsl_out:
                from .lsl_out import LslPublisher

                source = LslPublisher(source, body_mass_kg=self.body_mass_kg)
                info["lsl_out"] = {"frames": source.frames_name, "markers": source.markers_name}
            tee = TeeSource(source, self._on_item, self._on_enter)
            self.recorder = Recorder(tee, self.output, subject_id=self.subject_id, session=self.session,
                                     trial=self.trial, flush_interval_s=self.flush_interval_s,
                                     duration_s=None if self.duration_s is None else self.duration_s / self.speed,
                                     body_mass_kg=self.body_mass_kg, source_info=info, overwrite=self.overwrite)
            if self._stop_flag.is_set():
                self.recorder.request_stop("viewer closed")
            return await self.recorder.run()


def open_record(**kw: Any) -> RecordFeeder:
    """Check the output path and return a :class:`RecordFeeder` (its buffer appears when connected)."""
    from ..recording.recorder import check_writable

    check_writable(kw["output"], overwrite=kw.get("overwrite", False))
    return RecordFeeder(**kw)
