"""One writer per recording: an exclusive lock on a sidecar file next to the recording.

Whoever writes a recording in place (``gaitpf record``, the recording modes of
``gaitpf live``, ``gaitpf repair``) first takes :class:`RecordingLock` on ``NAME.lock``
(``trial.h5`` -> ``trial.h5.lock``, in the same directory): an exclusive, non-blocking
``fcntl.flock`` held until the file is closed. A second writer finds the lock taken and
is refused with one line *before* it opens, truncates or renames anything; the
recording itself is never touched.

Why a sidecar file and not the recording: HDF5 takes its own ``flock`` on the files it
opens (readers a shared one), so a lock on the recording would turn away the SWMR readers
that must be able to follow a growing file (``gaitpf live --attach``, ``gaitpf info``).

A kernel ``flock`` belongs to the open file, not to a name on disk: it disappears with
the process that holds it, however that process ends (SIGKILL, power loss, crash). A
killed recorder therefore never leaves a *stale lock*; it may leave the empty
``NAME.lock`` file, which the next writer simply locks (and removes when it is done).
The holder writes ``"<what> pid <pid>"`` into the file so that a refusal can say who
holds it. Removing the file while holding the lock, and checking after locking that the
name still points to the locked file, keeps two writers from ever both "holding" it.
On network file systems ``flock`` may not be enforced between machines: record to a
local disk.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from pathlib import Path
from typing import Iterator

from ..errors import GaitpfError, OutputError

__all__ = ["RecordingLock", "lock_path", "lock_holder", "locked"]

log = logging.getLogger(__name__)

#: Suffix of the sidecar lock file (``trial.h5`` -> ``trial.h5.lock``).
LOCK_SUFFIX = ".lock"


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar lock file of ``path``."""
    p = Path(path)
    return p.with_name(p.name + LOCK_SUFFIX)


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def lock_holder(path: str | os.PathLike[str]) -> str | None:
    """Who holds the lock of ``path`` now (e.g. ``"gaitpf record pid 1234"``), or None.

    Only looks: never creates, removes or keeps the lock file.
    """
    lp = lock_path(path)
    try:
        fd = os.open(lp, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return _read_holder(fd)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class RecordingLock:
    """Exclusive, non-blocking lock on a recording (through its sidecar ``NAME.lock``).

    Parameters
    ----------
    path : path-like
        The recording (which need not exist yet).
    what : str
        Who takes it, for the refusal message of the next writer (``"gaitpf record"``).
    error : type of GaitpfError
        Raised when another process holds the lock.

    Use as a context manager, or :meth:`acquire` / :meth:`release`.
    """

    def __init__(self, path: str | os.PathLike[str], *, what: str,
                 error: type[GaitpfError] = OutputError) -> None:
        self.path = Path(path)
        self.lock_file = lock_path(self.path)
        self.what = what
        self.error = error
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "RecordingLock":
        """Take the lock or raise ``error`` naming the file and the holder (one line).

        Raises
        ------
        GaitpfError (``error``)
            Another process holds the lock; nothing was changed.
        OutputError
            The lock file cannot be created (directory missing or unwritable).
        """
        if self._fd is not None:
            return self
        while True:
            try:
                fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot lock the recording (creating {self.lock_file.name} "
                                  f"failed: {exc.strerror or exc})") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise self.error(f"{self.path}: in use by {holder} (lock {self.lock_file.name}); it was not "
                                     "touched; wait for it to finish or use another file") from None
                raise OutputError(f"{self.path}: cannot lock the recording ({exc.strerror or exc})") from exc
            # The previous holder removes the lock file before unlocking it: if our name now
            # points to another file (or none), we locked a removed file; start again.
            try:
                same = os.stat(self.lock_file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.what} pid {os.getpid()}\n".encode(), 0)
        self._fd = fd
        log.debug("locked %s", self.lock_file)
        return self

    def release(self) -> None:
        """Remove the lock file and unlock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.lock_file)
        os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> "RecordingLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], *, what: str,
           error: type[GaitpfError] = OutputError) -> Iterator[RecordingLock]:
    """``with locked(path, what="gaitpf repair"):`` — :class:`RecordingLock` as a context."""
    with RecordingLock(path, what=what, error=error) as lock:
        yield lock
