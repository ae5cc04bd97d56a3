"""Atomic output files: complete or absent.

Every gaitpf output (HDF5 recordings, reports, tables) is written through
:func:`atomic_path`: the writer fills a temporary file in the destination's own
directory, and only when it finished without error is that file flushed to the disk
(``fsync``), renamed over the destination with :func:`os.replace` (atomic on POSIX within
one file system) and the directory entry flushed too (``fsync`` of the directory), so that
even a power loss leaves either the old or the new file. A crash, a full disk or an
exception leaves the destination untouched and no temporary file behind; only a process
killed outright (SIGKILL) can leave its temporary file ``.<name>.<pid>-<random><suffix>.tmp``;
the next atomic write of the same destination removes those whose writer process ``<pid>``
no longer exists (:func:`sweep_stale_temporaries`). Writers that rewrite a file in place
(``gaitpf repair``) give their temporary files a ``prefix`` of their own and remove stale
ones under their lock.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import OutputError

__all__ = ["atomic_path", "sweep_stale_temporaries", "fsync_path", "fsync_dir"]

log = logging.getLogger(__name__)


def _describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full; free some space or write elsewhere"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied; choose a directory you can write to"
    if exc.errno == errno.ENOENT:
        return "the directory does not exist; create it first or choose another path"
    return exc.strerror or str(exc)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def sweep_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries of ``path`` left by killed writers; return the removed files.

    A file ``.<name>.<pid>-*.tmp`` next to ``path`` (name = ``path``'s file name) is removed
    when it is owned by this user and no process ``<pid>`` exists. Temporaries of live
    writers and files of other users are left alone; errors are ignored (best effort).
    """
    dest = Path(path)
    directory = dest.parent if str(dest.parent) else Path(".")
    head = f".{dest.name}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(head) and name.endswith(".tmp")):
            continue
        pid_text = name[len(head):].split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid():
                os.unlink(entry.path)
                removed.append(Path(entry.path))
                log.info("removed %s, left by a killed writer (process %s)", entry.path, pid_text)
        except OSError:
            pass
    return removed


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a (closed) file's data and metadata to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (a rename into it) to the disk; best effort (some file
    systems refuse ``fsync`` on a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str | None = None, prefix: str | None = None,
                durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its directory must exist and be writable.
    suffix : str, optional
        Suffix of the temporary file (defaults to the destination's suffix, so that
        libraries choosing a format by extension keep working).
    prefix : str, optional
        Prefix of the temporary file's name (default ``.NAME.``).
    durable : bool
        ``fsync`` the finished file before the rename and the directory after it.

    Yields
    ------
    Path
        A path (an empty, already-created file) to write the output to. Writers may
        overwrite or truncate it.

    Raises
    ------
    OutputError
        The directory is missing or unwritable, the disk is full, or the rename failed.
        The message names ``path``.
    """
    dest = Path(path)
    directory = dest.parent if str(dest.parent) else Path(".")
    if dest.is_dir():
        raise OutputError(f"{dest}: is a directory; give a file name for the output")
    sweep_stale_temporaries(dest)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=prefix if prefix is not None else f".{dest.name}.{os.getpid()}-",
            suffix=(suffix if suffix is not None else dest.suffix) + ".tmp",
            dir=directory,
        )
    except OSError as exc:
        raise OutputError(f"{dest}: cannot write here: {_describe_os_error(exc)}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:  # mkstemp makes 0600 files; give the output the mode a plain open() would
        os.chmod(tmp, dest.stat().st_mode & 0o7777 if dest.exists() else 0o666 & ~_umask())
    except OSError:
        pass
    try:
        yield tmp
        try:
            if durable:
                fsync_path(tmp)
            os.replace(tmp, dest)
            if durable:
                fsync_dir(directory)
        except OSError as exc:
            raise OutputError(f"{dest}: cannot move the finished file into place: {_describe_os_error(exc)}") from exc
        log.debug("wrote %s", dest)
    except OSError as exc:
        raise OutputError(f"{dest}: writing failed: {_describe_os_error(exc)}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
