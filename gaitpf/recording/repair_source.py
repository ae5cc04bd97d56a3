"""Reading a damaged recording for :func:`gaitpf.recording.repair.repair`.

* :func:`open_source`: open the file read-only, normally or (a killed SWMR writer's file)
  in SWMR read mode with **one** metadata read attempt (:func:`fail_fast_fapl`), so that
  a damaged file fails at once instead of hanging in HDF5's retry loop.
* Truncated files (cut short by a full disk): :func:`truncation` detects them,
  :func:`padded_copy` makes a padded *copy* HDF5 can open (the input is only read) and
  :func:`rows_on_disk` keeps only rows whose chunks lie before the real end, so that no
  zero of the padding is ever taken for data.
* Leftovers: a repair names its temporary files ``.NAME.repair-*.tmp``
  (:func:`tmp_prefix`); :func:`remove_stale_temps` removes those of a killed repair.
* :func:`checkpoint`: the test hook that kills a repair at a named step.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import FormatError, OutputError

__all__ = ["open_source", "truncation", "padded_copy", "rows_on_disk", "tmp_prefix", "remove_stale_temps",
           "checkpoint", "is_space_error"]

log = logging.getLogger("gaitpf.recording.repair")

_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*?stored_eof = (\d+)")

#: Name of the temporary files of a repair: ``.NAME.repair-XXXX.tmp`` (and ``...pad.tmp``).
_TMP_TAG = ".repair-"


def tmp_prefix(p: Path) -> str:
    return f".{p.name}{_TMP_TAG}"


def remove_stale_temps(p: Path) -> list[str]:
    """Remove what a killed repair of ``p`` left (called under the lock, so no repair of
    ``p`` is running); returns the removed names."""
    directory = p.parent if str(p.parent) else Path(".")
    prefix, removed = tmp_prefix(p), []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            try:
                os.unlink(directory / name)
                removed.append(name)
            except OSError as exc:
                log.warning("%s: could not remove %s left by an earlier repair: %s", p, name, exc)
    if removed:
        log.info("%s: removed %s left by a repair that did not finish", p, ", ".join(removed))
    return removed


def checkpoint(name: str) -> None:
    """Test hook: ``GAITPF_REPAIR_KILL_AT=NAME`` kills ``gaitpf repair`` (SIGKILL) at that step,
    so that the tests can check what a repair killed at each moment leaves behind. Inside
    the CLI's isolated child (:func:`gaitpf.io.guard.run_isolated`) the waiting CLI process
    is killed first, as a user's ``kill -9`` of the command would."""
    if os.environ.get("GAITPF_REPAIR_KILL_AT") == name:
        import signal

        from ..io.guard import isolated_parent_pid

        parent = isolated_parent_pid()
        if parent is not None:
            os.kill(parent, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def truncation(p: Path) -> tuple[int, int] | None:
    """``(bytes in the file, bytes its superblock records)`` if the file was cut short.

    HDF5 refuses to open a file whose end lies before the ``stored_eof`` of its superblock
    (a write failed on a full disk, or the file was copied incompletely). A normal open
    reports it (a SWMR open may not, or may hang).
    """
    import h5py

    try:
        h5py.File(p, "r").close()
        return None
    except OSError as exc:
        m = _TRUNCATED.search(str(exc))
        if not m:
            return None
        eof, stored = int(m.group(1)), int(m.group(2))
    return (eof, stored) if stored > eof else None


def padded_copy(p: Path, eof: int, stored: int) -> Path:
    """A copy of the truncated file ``p``, extended (sparse zeros) to its recorded size, so
    that HDF5 opens it; ``p`` itself is only read. Rows stored in the missing part are
    left out by :func:`rows_on_disk`, never read as zeros."""
    import shutil
    import tempfile

    from ..io.atomic import _describe_os_error

    if stored - eof > 1 << 30:
        raise FormatError(f"{p}: the file ends at {eof} bytes but says it holds {stored}; too much is missing "
                          "to repair it; the file is unchanged")
    directory = p.parent if str(p.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=tmp_prefix(p), suffix=".pad.tmp", dir=directory)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{p}: cannot repair here: {_describe_os_error(exc)}; the file is unchanged") from exc
    tmp = Path(name)
    try:
        shutil.copyfile(p, tmp)
        os.truncate(tmp, stored)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{p}: cannot copy the truncated file to repair it: {_describe_os_error(exc)}; "
                          "the file is unchanged") from exc
    return tmp


def rows_on_disk(ds: Any, eof: int | None) -> int:
    """Rows of a chunked dataset stored before byte ``eof`` (all if ``eof`` is None)."""
    n = int(ds.shape[0]) if ds.ndim else 0
    if eof is None or ds.chunks is None or n == 0:
        return n
    dsid = ds.id
    for i in range(dsid.get_num_chunks()):
        info = dsid.get_chunk_info(i)
        if info.byte_offset is None or info.byte_offset + info.size > eof:
            n = min(n, int(info.chunk_offset[0]))
    return n


def fail_fast_fapl() -> Any:
    """A file-access property list whose SWMR reads try each metadata block once.

    A SWMR reader retries a metadata read whose checksum fails (by default 100 times,
    with growing sleeps: a concurrent writer may be half-way through an update). The file
    being repaired has no writer (this repair holds its lock), so a failing checksum means
    damage: one attempt turns what would be a hang on a damaged file into an error.
    h5py does not wrap ``H5Pset_metadata_read_attempts``; it is called in the HDF5 library
    h5py loaded. None when that library cannot be found (then the reader's defaults apply).
    """
    import ctypes
    import glob

    import h5py

    libs = sorted(p for p in glob.glob(os.path.join(os.path.dirname(h5py.__file__), os.pardir, "h5py.libs",
                                                    "libhdf5-*.so*")) if "_hl" not in os.path.basename(p))
    if not libs:
        return None
    try:
        lib = ctypes.CDLL(libs[0])
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        if lib.H5Pset_metadata_read_attempts(ctypes.c_int64(fapl.id), ctypes.c_uint(1)) < 0:
            return None
        return fapl
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def open_source(src: Path, p: Path) -> Iterator[tuple[Any, bool]]:
    """Open the file to repair read-only: ``(h5py.File, opened_in_swmr_mode)``.

    A normal open first; a file a killed SWMR writer left "open for write" is opened in
    SWMR read mode with one metadata read attempt (:func:`fail_fast_fapl`). Anything else
    goes through the reader (:func:`gaitpf.io.hdf5.open_hdf5`) for its error message.
    """
    import h5py

    from ..io.hdf5 import open_hdf5
    from ..io.hdf5_validate import _OPEN_FOR_WRITE

    try:
        f, swmr = h5py.File(src, "r"), False
    except OSError as exc:
        fapl = fail_fast_fapl() if any(m in str(exc) for m in _OPEN_FOR_WRITE) else None
        if fapl is None:
            with open_hdf5(src) as pair:
                yield pair
            return
        fid = h5py.h5f.open(os.fsencode(src), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
        f, swmr = h5py.File(fid), True
        log.info("%s: left open by a recorder that did not close it; reading it in SWMR mode", p)
    try:
        yield f, swmr
    finally:
        f.close()


def is_space_error(exc: OSError) -> bool:
    text = str(exc)
    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or "No space left" in text \
        or "File too large" in text or "Disk quota" in text
