"""Record any frame source into a crash-safe, growing (SWMR) gaitpf HDF5 file.

Data flow::

    source (async iterator of FrameBlock / LinkEvent)
      --consumer task (event loop): FrameChecker--> deque
      --writer thread--> RecordingWriter.append (one block per side per flush) + flush()

The event loop never touches HDF5: the consumer only checks counters, marks gaps and
enqueues (:class:`~gaitpf.recording.recorder_status.FrameChecker`: duplicate/late frames
dropped, counter jumps and link changes annotated); a dedicated writer thread
(:mod:`.recorder_writer`) batches frames per side and appends/flushes at least every
``flush_interval_s`` (SWMR readers see the data then; after a crash everything up to the
last flush survives). This module holds :class:`Recorder` (source and file lifecycle,
status refresh, stopping, error reporting); the status and result records
(:class:`RecorderStatus`, :class:`RecordingResult`) live in :mod:`.recorder_status` and
are re-exported here.

One writer per recording: :meth:`Recorder.run` takes the file's lock
(:mod:`gaitpf.io.filelock`) before it creates the file and holds it until the file is
closed; a file another process holds, or an existing one (unless ``overwrite``), is
refused before the source starts and left untouched.

Stopping: :meth:`Recorder.request_stop` (Ctrl-C/SIGTERM handlers call it), the duration
limit, the source ending, or a write error. A write error (disk full, file removed...)
stops acquisition at once, leaves what was flushed readable, and :meth:`Recorder.run`
raises :class:`~gaitpf.errors.OutputError` naming the file and the cause.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import AcquisitionError, GaitpfError, OutputError
from ..model import SIDES
from .recorder_status import FrameChecker, RecorderStatus, RecordingResult
from .recorder_writer import (
    DEFAULT_MIN_FREE_BYTES,
    SpaceLow,
    WriterThread,
    check_writable,
    describe_os_error,
    refuse_existing,
    headroom_bytes,
)
from ..acquisition.source import FrameBlock, LinkEvent

__all__ = ["Recorder", "RecorderStatus", "RecordingResult", "check_writable", "headroom_bytes",
           "DEFAULT_MIN_FREE_BYTES"]

log = logging.getLogger(__name__)

#: A batching source decodes this long before each flush (time to decode, hand the frames
#: to the writer thread and for it to wake), s.
_BATCH_LEAD_S = 0.03


async def _cancel_all(tasks: set[asyncio.Task]) -> None:
    """Cancel tasks and wait until they are done, cancelling again if one swallowed it.

    (``asyncio.wait_for`` before Python 3.12 can lose a cancellation that arrives just as
    its inner future completes; a source iterating with it would then never stop.)
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.2)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception never retrieved" warnings


class Recorder:
    """Record a frame source into a gaitpf HDF5 file (schema v1, SWMR, crash-safe).

    Parameters
    ----------
    source : FrameSource
        Any source of :mod:`gaitpf.acquisition.source` (BLE, virtual, replay, simulated).
        Entered with ``async with`` by :meth:`run`.
    path : path-like
        Output file. The recorder holds its lock (:mod:`gaitpf.io.filelock`) from the
        start of :meth:`run` until the file is closed: a second recorder, or
        ``gaitpf repair``, on the same path is refused and never touches it.
    overwrite : bool
        Replace ``path`` if it already holds anything; by default such a file is left
        untouched and :meth:`run` raises :class:`OutputError` (an empty file, e.g. a fresh
        temporary one, is no recording and is used).
    subject_id, session, trial : str
        Who and which trial.
    flush_interval_s : float
        Longest time between two flushes, s (what a crash can lose at most, plus the
        frames in flight).
    duration_s : float, optional
        Stop after this many seconds of recording (from the moment the file exists).
    status_callback : callable(RecorderStatus), optional
        Called from the event loop every ``status_interval_s``.
    status_interval_s : float
        Status refresh period, s.
    body_mass_kg : float, optional
    metadata, source_info : dict, optional
        Session metadata and provenance stored in the file.
    track_latency : bool
        Keep per-frame receive-to-durable latencies (benchmarks).
    min_free_bytes : int
        Before every flush the writer checks the space left on the file's disk (and under
        ``RLIMIT_FSIZE``); below this reserve it writes what is pending, closes the file
        cleanly and :meth:`run` raises :class:`OutputError`. 0 disables the check (then a
        full disk surfaces as a failed HDF5 write).
    """

    def __init__(self, source: Any, path: str | os.PathLike[str], *, subject_id: str, session: str,
                 trial: str = "1", flush_interval_s: float = 0.5, duration_s: float | None = None,
                 status_callback: Callable[[RecorderStatus], None] | None = None,
                 status_interval_s: float = 0.5, body_mass_kg: float | None = None,
                 metadata: Mapping[str, Any] | None = None, source_info: Mapping[str, Any] | None = None,
                 track_latency: bool = False, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
                 overwrite: bool = False) -> None:
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be > 0, got {flush_interval_s!r}")
        if duration_s is not None and not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s!r}")
        self.source = source
        self.path = Path(path)
        self.subject_id, self.session, self.trial = str(subject_id), str(session), str(trial)
        self.flush_interval_s = float(flush_interval_s)
        self.duration_s = duration_s
        self.status_callback = status_callback
        self.status_interval_s = status_interval_s
        self.body_mass_kg = body_mass_kg
        self.metadata = dict(metadata or {})
        self.source_info = dict(source_info or {})
        self.track_latency = track_latency
        self.min_free_bytes = int(min_free_bytes)
        self.overwrite = bool(overwrite)
        self._status = RecorderStatus()
        self._stop_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_reason = "source-ended"
        self._t_start = 0.0
        self._thread: WriterThread | None = None
        self._checker: FrameChecker | None = None

    # -- control ------------------------------------------------------------------------
    def request_stop(self, reason: str = "stopped") -> None:
        """Ask the recorder to stop and close the file cleanly (thread- and signal-safe)."""
        if self._stop_event is None or self._loop is None:
            self._stop_reason = reason
            return
        def _set() -> None:
            if not self._stop_event.is_set():
                self._stop_reason = reason
                self._stop_event.set()
        try:
            self._loop.call_soon_threadsafe(_set)
        except RuntimeError:  # loop already closed
            pass

    def annotate(self, onset_s: float, description: str, *, kind: str = "marker", side: str = "both",
                 duration_s: float = 0.0) -> bool:
        """Add an annotation (a clinician's mark, a note) to the file at its next flush.

        Thread-safe and non-blocking (the writer thread's inbox is a deque); callable from a
        GUI thread while recording.

        Parameters
        ----------
        onset_s : float
            Start, s, in the recording's time base (the frames' ``time_s``).
        description : str
            Free text (no names: pseudonymous files).
        kind : str
            Annotation kind (``"marker"`` by default; ``"gap"`` and ``"link"`` are the recorder's own).
        side : str
            ``"left"``, ``"right"`` or ``"both"``.
        duration_s : float
            Length, s (0 for a point in time).

        Returns
        -------
        bool
            False when the recorder is not writing (not started yet, or stopped): nothing added.
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            return False
        thread.put(("ann", (float(onset_s), max(float(duration_s), 0.0), str(kind), str(side), str(description))))
        return True

    def status(self) -> RecorderStatus:
        """A snapshot of the counters."""
        st = self._status
        if self._thread is not None:
            st.written_frames = dict(self._thread.written)
            st.n_flushes = self._thread.n_flushes
        if self._t_start:
            st.elapsed_s = time.monotonic() - self._t_start
        return st

    # -- consumer ----------------------------------------------------------------------
    def _on_block(self, blk: FrameBlock) -> None:
        """Check, count and enqueue one block (see :meth:`~gaitpf.recording.recorder_status.FrameChecker.on_block`)."""
        self._checker.on_block(blk)

    def _on_event(self, ev: LinkEvent) -> None:
        """Annotate one link event (see :meth:`~gaitpf.recording.recorder_status.FrameChecker.on_event`)."""
        self._checker.on_event(ev)

    async def _consume(self) -> None:
        async for item in self.source:
            if self._stop_event is not None and self._stop_event.is_set():
                return  # stop requested: nothing after it goes to the file
            self._dispatch(item)

    def _dispatch(self, item: Any) -> None:
        if isinstance(item, FrameBlock):
            if item.n_frames:
                self._on_block(item)
        elif isinstance(item, LinkEvent):
            self._on_event(item)
        else:
            log.warning("source yielded %r; ignored", type(item).__name__)

    def _drain_source(self) -> None:
        """Record what a batching source received before the stop but has not yielded yet."""
        if not callable(getattr(type(self.source), "drain_pending", None)):
            return
        try:
            for item in self.source.drain_pending():
                self._dispatch(item)
        except Exception as exc:  # noqa: BLE001 - the file is closed cleanly with what was yielded
            log.warning("could not decode the last notifications of the source: %s", exc)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.status_interval_s)
            self._refresh_status_from_source()
            if self.status_callback is not None:
                self.status_callback(self.status())

    def _refresh_status_from_source(self) -> None:
        try:
            src = self.source.status()
        except Exception:  # noqa: BLE001 - status is informative only
            return
        for side in SIDES:
            if side in getattr(src, "link", {}):
                self._status.link[side] = src.link[side]
            bat = getattr(src, "battery_pct", {}).get(side)
            if bat is not None:
                self._status.battery_pct[side] = bat

    def _clock_attrs(self) -> dict[str, dict[str, float]]:
        """Per-foot clock fit (offset, drift, residual) and lost frames for the file."""
        fits: dict[str, Any] = {}
        getter = getattr(self.source, "clock_fits", None)
        if callable(getter):
            try:
                fits = dict(getter() or {})
            except Exception as exc:  # noqa: BLE001
                log.warning("could not read the clock fits of the source: %s", exc)
        try:
            residual = dict(self.source.status().clock_residual_ms)
        except Exception:  # noqa: BLE001
            residual = {}
        out: dict[str, dict[str, float]] = {}
        for side in SIDES:
            d: dict[str, float] = {"n_lost_frames": self._status.lost_frames[side]}
            fit = fits.get(side)
            if fit is not None:
                get = fit.get if isinstance(fit, Mapping) else (lambda k, _f=fit: getattr(_f, k, None))
                for key, names in (("clock_offset_s", ("offset_s", "clock_offset_s")),
                                   ("clock_drift_ppm", ("drift_ppm", "clock_drift_ppm")),
                                   ("clock_residual_ms", ("residual_ms", "clock_residual_ms"))):
                    val = next((get(n) for n in names if get(n) is not None), None)
                    if val is not None:
                        d[key] = float(val)
            if "clock_residual_ms" not in d and residual.get(side) is not None:
                d["clock_residual_ms"] = float(residual[side])
            out[side] = d
        return out

    # -- main --------------------------------------------------------------------------
    async def run(self) -> RecordingResult:
        """Record until stopped; close the file cleanly; return the counters.

        Raises
        ------
        OutputError
            The file cannot be created or written (the part flushed before stays readable);
            another process holds it; or it exists and ``overwrite`` is false (then the
            file was not touched and the source was not started).
        AcquisitionError
            The source failed (the file is closed cleanly with what was received).
        """
        from ..io.filelock import RecordingLock

        check_writable(self.path, overwrite=self.overwrite)
        with RecordingLock(self.path, what="gaitpf record"):
            refuse_existing(self.path, self.overwrite)   # again, now that no one else can create it
            return await self._run_locked()

    async def _run_locked(self) -> RecordingResult:
        from ..io.hdf5 import FootSpec, RecordingWriter

        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        source_error: BaseException | None = None
        async with self.source:
            specs = self.source.foot_specs()
            feet = {}
            for side in SIDES:
                if side in specs:
                    sp = specs[side]
                    get = sp.get if isinstance(sp, Mapping) else (lambda k, d=None, _s=sp: getattr(_s, k, d))
                    feet[side] = FootSpec(int(get("n_sensors")), str(get("unit")), float(get("sampling_rate_hz")),
                                          get("layout"), dict(get("device") or {}))
            if not feet:
                raise AcquisitionError("the source reports no foot to record")
            info = {"recorder": "gaitpf record", **self.source_info}
            try:
                writer = await asyncio.to_thread(
                    RecordingWriter, self.path, subject_id=self.subject_id, session=self.session,
                    trial=self.trial, feet=feet, body_mass_kg=self.body_mass_kg, metadata=self.metadata,
                    swmr=True, source=info)
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot create the recording: {describe_os_error(exc)}") from exc
            t0 = getattr(self.source, "t0_monotonic", None)
            grid0 = time.monotonic()
            # A source consumed directly decodes its packets in batches just before each flush
            # (same latency to disk, far less per-packet work). Only when the method is the
            # source class's own: a wrapper that taps the items (the live view) keeps them live.
            if callable(getattr(type(self.source), "set_batch_grid", None)):
                self.source.set_batch_grid(grid0 + self.flush_interval_s - _BATCH_LEAD_S, self.flush_interval_s)
            self._thread = WriterThread(
                writer, flush_interval_s=self.flush_interval_s, t0_monotonic=t0,
                time_scale=float(getattr(self.source, "time_scale", 1.0) or 1.0),
                track_latency=self.track_latency, min_free_bytes=self.min_free_bytes,
                realign_clocks=bool(getattr(self.source, "realign_clocks", False)),
                grid_origin_monotonic=grid0,
                on_error=lambda exc: self.request_stop("write-error"))
            self._checker = FrameChecker(self._status, self._thread.pending,
                                         next(iter(feet.values())).sampling_rate_hz, self._thread.put)
            self._thread.start()
            self._t_start = time.monotonic()
            for side in feet:
                self._status.link[side] = "connected"
            consumer = asyncio.create_task(self._consume(), name="gaitpf-recorder-consumer")
            status_task = asyncio.create_task(self._status_loop(), name="gaitpf-recorder-status")
            stopper = asyncio.create_task(self._stop_event.wait())
            waiters = {consumer, stopper}
            if self.duration_s is not None:
                timer = asyncio.create_task(asyncio.sleep(self.duration_s))
                waiters.add(timer)
            try:
                done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if self.duration_s is not None and timer in done and not self._stop_event.is_set():
                    self._stop_reason = "duration"
                elif consumer in done and not self._stop_event.is_set():
                    self._stop_reason = "source-ended"
                    exc = consumer.exception()
                    if exc is not None:
                        source_error = exc
                        self._stop_reason = "source-error"
            finally:
                await _cancel_all(waiters | {status_task})
                self._drain_source()
                self._refresh_status_from_source()
                attrs = self._clock_attrs()
        # the source is closed (insoles disconnected); finish the file
        self._thread.put(("stop", attrs))
        await asyncio.to_thread(self._thread.join)
        st = self.status()
        if self._thread.error is not None:
            err = self._thread.error
            st.error = str(err)
            written = sum(self._thread.written.values())
            if isinstance(err, SpaceLow):
                exc = OutputError(
                    f"{self.path}: recording stopped because the disk is nearly full ({err}); {written} frames "
                    "were written and the file was closed cleanly; free some space or record to another disk")
            else:
                cause = err.__cause__ if isinstance(err, GaitpfError) and err.__cause__ else err
                exc = OutputError(
                    f"{self.path}: recording stopped because writing failed: {describe_os_error(cause)}; "
                    f"{written} frames written, the data flushed before the error remains readable "
                    "(run `gaitpf repair` on the file to make it a normal file)")
            #: HDF5 could not close the file; the HDF5 library may crash at interpreter exit, so
            #: a command-line program should leave with os._exit after reporting the error.
            exc.file_unclosable = self._thread.file_unclosable  # type: ignore[attr-defined]
            raise exc from err
        if source_error is not None:
            if isinstance(source_error, GaitpfError):
                raise source_error
            raise AcquisitionError(f"the source failed while recording to {self.path}: {source_error}") \
                from source_error
        if self.status_callback is not None:
            self.status_callback(st)
        lat = np.concatenate(self._thread.latencies) if self._thread.latencies else None
        return RecordingResult(
            path=str(self.path), stop_reason=self._stop_reason, elapsed_s=st.elapsed_s,
            frames=dict(st.frames), lost_frames=dict(st.lost_frames), gaps=dict(st.gaps),
            dropped_frames=dict(st.dropped_frames), n_flushes=self._thread.n_flushes,
            clock={s: {k: v for k, v in d.items() if k.startswith("clock_")} for s, d in attrs.items()},
            latency_s=lat,
        )
