"""One trial: the recorder in the acquisition thread, with a tee to the live buffer.

:class:`TrialRecording` runs :class:`~gaitpf.recording.recorder.Recorder` over a
:class:`~gaitpf.acquisition.ble.BleInsoleSource` in the
:class:`~gaitpf.studio.devices.DeviceService` loop. A tee passes every block to a
:class:`~gaitpf.live.buffer.LiveBuffer` (what the window draws) as well as to the
recorder; a failure of the view is logged and never reaches the recorder. The window only calls
:meth:`TrialRecording.stop` / :meth:`~TrialRecording.mark` and reads the buffer and
:meth:`~TrialRecording.status`.

Auto-stop after N strides: a watcher in the acquisition loop stops the recording once
both feet have N strides detected online (the live buffer's count, at most one stride
behind the offline detector). Marks (button or key) are kept with their data time in the
session's ``trials.json`` and, through :meth:`Recorder.annotate`, in the recording's annotations.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GaitpfError
from ..live.sources import TeeSource
from .devices import DeviceService

__all__ = ["TrialRecording", "FLUSH_INTERVAL_S"]

log = logging.getLogger(__name__)

#: Longest time between two flushes to disk, s (what a crash of the whole process can lose).
FLUSH_INTERVAL_S = 0.25


class TrialRecording:
    """Record one trial to ``path`` (state: ``connecting`` → ``recording`` → ``done``/``failed``).

    Parameters
    ----------
    service : DeviceService
    path : Path
        ``ROOT/<subject>/<session>/<trial>.h5``.
    left, right : str
        Insole addresses (allow-listed).
    subject_id, session, trial : str
    metadata : dict
        Session metadata (the visit form) stored in the file.
    body_mass_kg : float, optional
    auto_stop_strides : int, optional
        Stop once both feet have this many strides (online count).
    min_free_bytes : int, optional
        Disk reserve of the recorder (default: the recorder's).
    """

    def __init__(self, service: DeviceService, path: Path, *, left: str, right: str, subject_id: str, session: str,
                 trial: str, metadata: dict[str, Any] | None = None, body_mass_kg: float | None = None,
                 allow: set[str] | None = None, auto_stop_strides: int | None = None,
                 min_free_bytes: int | None = None, scan_timeout_s: float = 10.0) -> None:
        self.service, self.path = service, Path(path)
        self.left, self.right = left, right
        self.allow = set(allow or ()) | {left, right}
        self.subject_id, self.session, self.trial = subject_id, session, trial
        self.metadata = dict(metadata or {})
        self.body_mass_kg = body_mass_kg
        self.auto_stop_strides = auto_stop_strides
        self.min_free_bytes = min_free_bytes
        self.scan_timeout_s = scan_timeout_s
        self.buffer: Any = None
        self.recorder: Any = None
        self.result: Any = None
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.marks: list[dict[str, float]] = []
        self.state = "connecting"
        self._stop_requested: str | None = None
        self._future: Any = None
        self.started_monotonic: float | None = None

    # -- control (GUI thread) --------------------------------------------------------------
    def start(self) -> "TrialRecording":
        from ..recording.recorder import check_writable

        check_writable(self.path)
        self._future = self.service.submit(self._main())
        return self

    @property
    def finished(self) -> bool:
        return self._future is not None and self._future.done()

    def stop(self, reason: str = "stopped") -> None:
        """Ask the recorder to stop and close the file (returns at once; see :attr:`finished`)."""
        self._stop_requested = reason
        if self.recorder is not None:
            self.recorder.request_stop(reason)

    def wait(self, timeout_s: float = 30.0) -> None:
        if self._future is not None:
            try:
                self._future.result(timeout_s)
            except Exception:  # noqa: BLE001 - reported through .error
                pass

    def mark(self, label: str = "mark") -> dict[str, float] | None:
        """Remember a mark at the newest data time (None before the first frame)."""
        if self.buffer is None:
            return None
        snap = self.buffer.snapshot(last_s=0.01)
        m = {"time_s": float(snap.now_s), "label": label}
        self.marks.append(m)
        if self.recorder is not None:   # into the file's annotations too (kind "marker")
            self.recorder.annotate(m["time_s"], f"{label} {len(self.marks)}")
        self.buffer.message("info", f"mark {len(self.marks)} at {snap.now_s:.1f} s")
        return m

    def status(self) -> Any:
        return self.recorder.status() if self.recorder is not None else None

    # -- acquisition loop --------------------------------------------------------------------
    def _on_enter(self, src: Any) -> None:
        from ..live.buffer import LiveBuffer

        specs = src.foot_specs()
        get = lambda sp, k: sp.get(k) if isinstance(sp, dict) else getattr(sp, k)  # noqa: E731
        first = next(iter(specs.values()))
        self.buffer = LiveBuffer(sampling_rate_hz=float(get(first, "sampling_rate_hz")),
                                 n_sensors={s: int(get(sp, "n_sensors")) for s, sp in specs.items()},
                                 unit=str(get(first, "unit")), layouts={s: get(sp, "layout") for s, sp in specs.items()},
                                 body_mass_kg=self.body_mass_kg)
        self.buffer.message("info", f"recording {self.subject_id} / {self.session} / {self.trial} -> {self.path.name}")
        self._t0 = getattr(src, "t0_monotonic", None) or time.monotonic()
        self._scale = float(getattr(src, "time_scale", 1.0) or 1.0)
        self.state = "recording"
        self.started_monotonic = time.monotonic()

    def _on_item(self, item: Any) -> None:
        from ..acquisition.source import FrameBlock, LinkEvent

        if isinstance(item, FrameBlock):
            arrival = self._t0 + np.asarray(item.host_time_s, float) / self._scale
            self.buffer.push(item.side, item.values, time_s=item.time_s, sample_counter=item.sample_counter,
                             quality=item.quality, battery_pct=item.battery_pct, arrival_monotonic=arrival)
        elif isinstance(item, LinkEvent):
            self.buffer.push_event(item.side, item.kind, item.detail)

    async def _auto_stop(self) -> None:
        n = int(self.auto_stop_strides or 0)
        while True:
            await asyncio.sleep(0.2)
            if self.buffer is None:
                continue
            counts = self.buffer.snapshot(last_s=0.01).metrics.get("n_strides", {})
            if len(counts) == 2 and min(counts.values()) >= n:
                self.recorder.request_stop(f"{n} strides")
                return

    async def _main(self) -> Any:
        from ..acquisition.ble import BleInsoleSource
        from ..recording.recorder import Recorder

        speed = self.service.speed if self.service.simulate else 1.0
        info: dict[str, Any] = {"mode": "simulate" if self.service.simulate else "ble", "viewer": "gaitpf studio",
                                "addresses": {"left": self.left.upper(), "right": self.right.upper()}}
        watcher = None
        try:
            source = BleInsoleSource(self.left, self.right, allow=self.allow, time_scale=speed,
                                     scan_timeout_s=self.scan_timeout_s)
            kw = {} if self.min_free_bytes is None else {"min_free_bytes": int(self.min_free_bytes)}
            self.recorder = Recorder(TeeSource(source, self._on_item, self._on_enter, label="studio"), self.path,
                                     subject_id=self.subject_id, session=self.session, trial=self.trial,
                                     flush_interval_s=FLUSH_INTERVAL_S, body_mass_kg=self.body_mass_kg,
                                     metadata=self.metadata, source_info=info, **kw)
            if self._stop_requested:
                self.recorder.request_stop(self._stop_requested)
            if self.auto_stop_strides:
                watcher = asyncio.ensure_future(self._auto_stop())
            self.result = await self.recorder.run()
            self.stop_reason = self.result.stop_reason
            self.state = "done"
            if self.buffer is not None:
                self.buffer.message("info", f"recording stopped ({self.stop_reason}); file closed")
            return self.result
        except GaitpfError as exc:
            self._failed(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the window, never a traceback
            self._failed(f"recording failed: {type(exc).__name__}: {exc}")
        finally:
            if watcher is not None:
                watcher.cancel()
        return None

    def _failed(self, text: str) -> None:
        self.error = text
        self.state = "failed"
        self.stop_reason = "error"
        if self.buffer is not None:
            self.buffer.message("error", text)
        log.info("%s", text)
