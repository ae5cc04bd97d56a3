"""The recorder's HDF5 side: a writer thread that batches frames per foot and flushes.

:class:`WriterThread` owns the :class:`~gaitpf.io.hdf5.RecordingWriter`. The event loop
hands it items through a lock-free deque (``deque.append``/``popleft`` are atomic under the
GIL) and never waits for it; the thread wakes only to flush (every ``flush_interval_s`` on a
fixed grid, shared with a batching source: see ``Recorder.run``) or to stop, concatenates everything received per foot, appends one block per
foot and flushes — so HDF5 I/O never blocks the event loop and costs a few system calls per
flush rather than per notification.

Also here: the checks done before recording (:func:`check_writable`) and the disk-space
guard (:func:`headroom_bytes`).
"""
from __future__ import annotations

import collections
import errno
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import OutputError
from ..acquisition.source import FrameBlock

__all__ = ["WriterThread", "check_writable", "refuse_existing", "headroom_bytes", "describe_os_error", "SpaceLow",
           "DEFAULT_MIN_FREE_BYTES"]

log = logging.getLogger(__name__)

#: Frames pending per side above which the writer appends without waiting for the flush.
_MAX_PENDING_FRAMES = 8192
#: Default free space below which recording stops cleanly (before HDF5 runs into ENOSPC).
DEFAULT_MIN_FREE_BYTES = 16 * 1024 * 1024


class SpaceLow(Exception):
    """Free space (or the file-size limit) is below the reserve: stop while the file is intact."""


def headroom_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes that can still be written to ``path``: free disk space, capped by RLIMIT_FSIZE."""
    p = Path(path)
    st = os.statvfs(p.parent if str(p.parent) else ".")
    free = st.f_bavail * st.f_frsize
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if soft != resource.RLIM_INFINITY:
            free = min(free, soft - (p.stat().st_size if p.exists() else 0))
    except (ImportError, OSError, ValueError):
        pass
    return int(free)



def describe_os_error(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOSPC or "No space left" in text:
        return "the disk is full; free some space or record to another disk"
    if code == errno.EFBIG or "File too large" in text:
        return "the file size limit was reached; record to another disk or raise the limit"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied; choose a directory you can write to"
    if code == errno.ENOENT:
        return "the directory does not exist; create it first or choose another path"
    return text or type(exc).__name__


def check_writable(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Fail early (before connecting to any insole) if ``path`` cannot be recorded to.

    Looks only: nothing is created, locked or truncated (the recorder takes the lock of
    :mod:`gaitpf.io.filelock` and checks again under it before creating the file).

    Raises
    ------
    OutputError
        The directory is missing or unwritable, ``path`` is a directory, another process
        (a recorder, ``gaitpf repair``) holds the file, or it exists with content and
        ``overwrite`` is false (an empty file, e.g. a fresh temporary one, is no recording).
    """
    from ..io.filelock import lock_holder

    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{p}: is a directory; give a file name for the recording (e.g. trial1.h5)")
    holder = lock_holder(p)
    if holder is not None:
        raise OutputError(f"{p}: in use by {holder}; it was not touched; wait for it to finish or use another file")
    refuse_existing(p, overwrite)
    directory = p.parent if str(p.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{p}: cannot record here: the directory {directory} does not exist; create it first")
    probe = directory / f".{p.name}.probe-{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"\0")
    except OSError as exc:
        raise OutputError(f"{p}: cannot record here: {describe_os_error(exc)}") from exc
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    return p


def refuse_existing(path: Path, overwrite: bool) -> None:
    """Raise :class:`OutputError` if ``path`` holds anything (and ``overwrite`` is false)."""
    if overwrite:
        return
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{path}: cannot record here: {describe_os_error(exc)}") from exc
    if size > 0:
        raise OutputError(f"{path}: already exists ({size} bytes); it was not touched; choose another name, "
                          "or pass --overwrite to replace it")


def realign_clocks(writer: Any) -> dict[str, dict[str, float]]:
    """Refit every foot's device clock over the whole recording and rewrite ``time_s``.

    While recording, :class:`~gaitpf.acquisition.clock.ClockMapper` maps device counters to
    host time from the data seen so far; its left/right alignment settles within minutes
    (up to ~14 ms off in the first minutes with ±50 ppm crystals, ≤ 0.6 ms after 30 min).
    At a clean stop all (counter, host receive time) pairs are known, so an offline
    lower-envelope fit (:func:`~gaitpf.acquisition.clock.fit_clock`) aligns the whole file
    to ≤ 0.5 ms (``tests/test_clock.py``). Returns the fitted clock attributes per foot;
    a foot whose fit fails keeps its real-time ``time_s`` (logged).
    """
    from ..acquisition.clock import fit_clock

    out: dict[str, dict[str, float]] = {}
    shifts: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # side -> (old time_s, new − old)
    for side, spec in writer.feet.items():
        counter = writer.read_column(side, "sample_counter")
        host = writer.read_column(side, "host_time_s")
        ok = np.isfinite(host)
        if ok.sum() < 2:
            continue
        try:
            fit = fit_clock(counter[ok], host[ok], spec.sampling_rate_hz)
        except ValueError as exc:
            log.warning("%s: %s clock refit failed (%s); keeping the real-time alignment", writer.path, side, exc)
            continue
        old, new = writer.read_column(side, "time_s"), fit.map(counter)
        writer.rewrite_time_s(side, new)
        shifts[side] = (old, new - old)
        out[side] = {"clock_offset_s": float(fit.offset_s), "clock_drift_ppm": float(fit.drift_ppm),
                     "clock_residual_ms": float(fit.residual_ms)}
    _shift_annotations(writer, shifts)
    return out


def _shift_annotations(writer: Any, shifts: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Move annotation start/end by the correction of their foot's time base (interpolated
    at the old times; annotations of both feet use the mean of the two corrections)."""
    if not shifts:
        return
    onset, duration, sides = writer.annotation_times()
    if onset.size == 0:
        return

    def corr(side: str, t: np.ndarray) -> np.ndarray:
        if side in shifts:
            old, delta = shifts[side]
            return np.interp(t, old, delta)
        return np.mean([np.interp(t, old, delta) for old, delta in shifts.values()], axis=0)

    new_on, new_end = onset.copy(), onset + duration
    for side in set(sides):
        m = sides == side
        new_on[m] = onset[m] + corr(side, onset[m])
        new_end[m] = onset[m] + duration[m] + corr(side, onset[m] + duration[m])
    writer.rewrite_annotation_times(new_on, np.maximum(new_end - new_on, 0.0))


class WriterThread(threading.Thread):
    """Owns the :class:`RecordingWriter`; batches per side; appends and flushes.

    Items (tuples) put with :meth:`put`: ``("block", FrameBlock)``, ``("ann", row)`` with
    row = (onset_s, duration_s, kind, side, description), ``("stop", {side: foot attrs})``.
    """

    def __init__(self, writer: Any, *, flush_interval_s: float, t0_monotonic: float | None,
                 time_scale: float, track_latency: bool, on_error: Callable[[BaseException], None],
                 min_free_bytes: int = 0, realign_clocks: bool = False,
                 grid_origin_monotonic: float | None = None) -> None:
        super().__init__(name="gaitpf-recorder-writer", daemon=True)
        self.writer = writer
        self.flush_interval_s = flush_interval_s
        self.t0_monotonic = t0_monotonic
        self.time_scale = time_scale
        self.track_latency = track_latency
        self.on_error = on_error
        self.min_free_bytes = int(min_free_bytes)
        #: refit each device clock offline over the whole recording at a clean stop
        self.realign_clocks = realign_clocks
        #: flushes happen at ``grid_origin_monotonic + k · flush_interval_s`` (k ≥ 1); default: start time
        self.grid_origin_monotonic = grid_origin_monotonic
        #: True when the HDF5 file could not be closed after a failed write (see Recorder.run)
        self.file_unclosable = False
        self.inbox: collections.deque = collections.deque()
        self._wake = threading.Event()
        self.pending: dict[str, list[FrameBlock]] = {s: [] for s in writer.feet}
        self.pending_n = {s: 0 for s in writer.feet}
        self.pending_ann: list[tuple] = []
        self.written = {s: 0 for s in writer.feet}
        self.n_flushes = 0
        self.error: BaseException | None = None
        self.latencies: list[np.ndarray] = []
        self._unflushed_hosts: list[np.ndarray] = []

    def put(self, item: tuple) -> None:
        """Hand an item to the thread (never blocks; called from the event loop)."""
        self.inbox.append(item)
        if item[0] == "stop":
            self._wake.set()

    def _append_pending(self, side: str) -> None:
        blocks = self.pending[side]
        if not blocks:
            return
        cat = {name: np.concatenate([getattr(b, name) for b in blocks]) for name in
               ("values", "sample_counter", "device_time_s", "host_time_s", "time_s", "quality")}
        self.writer.append(side, cat["values"], time_s=cat["time_s"], sample_counter=cat["sample_counter"],
                           device_time_s=cat["device_time_s"], host_time_s=cat["host_time_s"],
                           quality=cat["quality"])
        if self.track_latency:
            self._unflushed_hosts.append(cat["host_time_s"])
        self.written[side] += len(cat["time_s"])
        self.pending[side] = []
        self.pending_n[side] = 0

    def _write_and_flush(self, *, check_space: bool = True) -> None:
        if check_space and self.min_free_bytes > 0:
            left = headroom_bytes(self.writer.path)
            if left < self.min_free_bytes:
                raise SpaceLow(f"only {left / 2**20:.1f} MiB can still be written (reserve "
                               f"{self.min_free_bytes / 2**20:.1f} MiB)")
        for side in self.pending:
            self._append_pending(side)
        if self.pending_ann:
            import pandas as pd

            rows = self.pending_ann
            self.pending_ann = []
            self.writer.add_annotations(pd.DataFrame(
                rows, columns=["onset_s", "duration_s", "kind", "side", "description"]))
        self.writer.flush()
        self.n_flushes += 1
        if self.track_latency and self._unflushed_hosts and self.t0_monotonic is not None:
            done = time.monotonic() - self.t0_monotonic
            self.latencies.append(done - np.concatenate(self._unflushed_hosts) / self.time_scale)
        self._unflushed_hosts = []

    def _drain(self) -> Mapping[str, Mapping[str, Any]] | None:
        """Move everything received into the per-side batches; return the stop attrs if asked."""
        stopping = None
        inbox = self.inbox
        while True:
            try:
                item = inbox.popleft()
            except IndexError:
                return stopping
            kind = item[0]
            if kind == "block":
                blk: FrameBlock = item[1]
                self.pending[blk.side].append(blk)
                self.pending_n[blk.side] += blk.n_frames
                if self.pending_n[blk.side] >= _MAX_PENDING_FRAMES:
                    self._append_pending(blk.side)   # bound memory; durable at the next flush
            elif kind == "ann":
                self.pending_ann.append(item[1])
            elif kind == "stop":
                stopping = item[1]

    def run(self) -> None:  # noqa: D401 - thread body
        origin = self.grid_origin_monotonic if self.grid_origin_monotonic is not None else time.monotonic()
        next_flush = origin + self.flush_interval_s
        try:
            while True:
                self._wake.wait(max(0.0, next_flush - time.monotonic()))
                stopping = self._drain()
                now = time.monotonic()
                if stopping is not None or now >= next_flush:
                    self._write_and_flush()
                    next_flush += self.flush_interval_s     # a fixed grid: no drift by write time
                    late = time.monotonic() - next_flush
                    if late >= 0:                           # fell behind (slow disk): no burst,
                        next_flush += self.flush_interval_s * (late // self.flush_interval_s + 1)  # same grid
                if stopping is not None:
                    stopping = {side: dict(values or {}) for side, values in stopping.items()}
                    if self.realign_clocks:
                        for side, fit in realign_clocks(self.writer).items():
                            stopping.setdefault(side, {}).update(fit)
                    for side, values in stopping.items():
                        if side in self.writer.feet and values:
                            self.writer.set_foot_attrs(side, **values)
                    self.writer.close()
                    return
        except SpaceLow as exc:  # nothing failed yet: write what is pending, close cleanly
            self.error = exc
            try:
                self._drain()
                self._write_and_flush(check_space=False)
                self.writer.close()
            except BaseException as close_exc:  # noqa: BLE001
                self.file_unclosable = True
                log.info("closing %s after the space check failed: %s", self.writer.path, close_exc)
                log.debug("closing %s", self.writer.path, exc_info=True)
            self.on_error(exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the event loop
            self.error = exc
            self._abort()
            self.on_error(exc)

    def _abort(self) -> None:
        """Close the file after a failed write *without* marking it ``closed_cleanly``."""
        if not self.writer.abort():
            self.file_unclosable = True
