"""Make a recording left open by a killed recorder a normal HDF5 file again.

Safety first (one writer per recording): :func:`repair` takes the recording's lock
(:mod:`gaitpf.io.filelock`), so a file that ``gaitpf record`` is still writing is refused
with one line and never touched; it validates the structure before copying anything;
it writes the repaired copy to a temporary file next to the original and swaps it in
atomically (``fsync``, :func:`os.replace`, ``fsync`` of the directory). A repair killed
at any moment leaves the original as it was, or (after the rename) the repaired file;
a temporary file it may leave (``.NAME.repair-*.tmp``) is removed by the next repair.
The input is only ever read: a truncated file (cut short by a full disk) is recovered
from a padded *copy*, keeping only the rows stored before its real end.

A recorder killed mid-recording (SIGKILL, power loss) leaves its SWMR file marked as
"open for writing": HDF5 then refuses normal opens and only SWMR read-only opens work
(they show everything flushed before the kill). :func:`repair` reads everything that
is readable through that SWMR path, writes it into a fresh file with the same schema
(same datasets, dtypes, chunking, compression and attributes; per-foot datasets cut to
their common length), and atomically replaces the original. The result says
``closed_cleanly = 0`` (the recording did not end normally) and ``repaired = 1``.

A killed recorder never ran the offline clock refit of a clean stop, so its ``time_s``
is the real-time alignment (up to ~14 ms between the feet in the first minutes). Where
the file holds the device counters and host receive times, the repaired copy gets the
same whole-recording refit (:func:`~gaitpf.recording.recorder_writer.realign_clocks`):
``time_s``, the annotation times and the per-foot ``clock_*`` attributes are rewritten.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import numpy as np

from ..errors import FormatError, GaitpfError, InputError, OutputError, SchemaError
from ..model import SIDES

__all__ = ["repair", "RepairReport"]

log = logging.getLogger(__name__)


@dataclass
class RepairReport:
    """What :func:`repair` found and recovered.

    Attributes
    ----------
    path : str
    repaired : bool
        False when the file was already a normal, cleanly closed file (nothing done).
    was_swmr_locked : bool
        The file could only be opened in SWMR read-only mode.
    frames : dict
        Frames recovered per side.
    duration_s : dict
        Time span recovered per side, s.
    trimmed_rows : dict
        Per side, rows dropped because some datasets of the foot were longer than others
        or held no real frame (a block half-written when the recorder died or the disk
        filled up).
    n_annotations : int
    clock_refit : dict
        Per side, the fitted clock attributes (``clock_offset_s``, ``clock_drift_ppm``,
        ``clock_residual_ms``) when ``time_s`` was refitted; empty for files without
        host receive times (imports) or too few frames.
    missing_bytes : int
        Bytes missing at the end of a truncated file (it ended before the size its
        superblock records: a write that failed on a full disk). Only rows stored before
        the real end are recovered; the input file itself is never extended.
    """

    path: str
    repaired: bool
    was_swmr_locked: bool
    frames: dict[str, int] = field(default_factory=dict)
    duration_s: dict[str, float] = field(default_factory=dict)
    trimmed_rows: dict[str, int] = field(default_factory=dict)
    n_annotations: int = 0
    clock_refit: dict[str, dict[str, float]] = field(default_factory=dict)
    missing_bytes: int = 0

    def summary(self) -> str:
        """One line for people."""
        if not self.repaired:
            return f"{self.path}: already a normal (cleanly closed or repaired) recording; nothing to repair"
        feet = ", ".join(f"{s}: {self.frames[s]} frames ({self.duration_s[s]:.1f} s)" for s in self.frames)
        trimmed = sum(self.trimmed_rows.values())
        return (f"{self.path}: repaired; recovered {feet}, {self.n_annotations} annotations"
                + (f"; dropped {trimmed} half-written rows" if trimmed else "")
                + (f"; clock refitted ({', '.join(self.clock_refit)})" if self.clock_refit else "")
                + (f"; the file was {self.missing_bytes} bytes short (failed write)" if self.missing_bytes else ""))


_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*?stored_eof = (\d+)")

#: Name of the temporary files of a repair: ``.NAME.repair-XXXX.tmp`` (and ``...pad.tmp``).
_TMP_TAG = ".repair-"


def _tmp_prefix(p: Path) -> str:
    return f".{p.name}{_TMP_TAG}"


def _remove_stale_temps(p: Path) -> list[str]:
    """Remove what a killed repair of ``p`` left (called under the lock, so no repair of
    ``p`` is running); returns the removed names."""
    directory = p.parent if str(p.parent) else Path(".")
    prefix, removed = _tmp_prefix(p), []
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


def _checkpoint(name: str) -> None:
    """Test hook: ``GAITPF_REPAIR_KILL_AT=NAME`` kills this process (SIGKILL) at that step,
    so that the tests can check what a repair killed at each moment leaves behind."""
    if os.environ.get("GAITPF_REPAIR_KILL_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _truncation(p: Path) -> tuple[int, int] | None:
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


def _padded_copy(p: Path, eof: int, stored: int) -> Path:
    """A copy of the truncated file ``p``, extended (sparse zeros) to its recorded size, so
    that HDF5 opens it; ``p`` itself is only read. Rows stored in the missing part are
    left out by :func:`_rows_on_disk`, never read as zeros."""
    import shutil
    import tempfile

    from ..io.atomic import _describe_os_error

    if stored - eof > 1 << 30:
        raise FormatError(f"{p}: the file ends at {eof} bytes but says it holds {stored}; too much is missing "
                          "to repair it; the file is unchanged")
    directory = p.parent if str(p.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=_tmp_prefix(p), suffix=".pad.tmp", dir=directory)
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


def _rows_on_disk(ds: Any, eof: int | None) -> int:
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


def _copy_attrs(src: Any, dst: Any) -> None:
    for key, value in src.attrs.items():
        dst.attrs[key] = value


def _common_length(group: Any, names: list[str]) -> int:
    lengths = [int(group[n].shape[0]) for n in names if n in group]
    return min(lengths) if lengths else 0


def _valid_length(group: Any, n: int) -> int:
    """Rows of a foot that hold real frames, decided by the device counters (host time
    stepping back never cuts the recording): :func:`gaitpf.io.hdf5_frames.valid_frames`."""
    from ..io.hdf5_frames import valid_frames

    if n == 0 or "sample_counter" not in group or "time_s" not in group:
        return n
    return valid_frames(group["sample_counter"][:n], group["time_s"][:n])


def _copy_dataset(ds: Any, parent: Any, name: str, n: int | None) -> None:
    data = ds[()] if ds.shape == () else (ds[:n] if n is not None else ds[...])
    kw: dict[str, Any] = {"dtype": ds.dtype}
    if ds.chunks is not None:
        kw.update(chunks=ds.chunks, maxshape=ds.maxshape)
        if ds.compression:
            kw.update(compression=ds.compression, compression_opts=ds.compression_opts)
        if ds.shuffle:
            kw["shuffle"] = True
    out = parent.create_dataset(name, data=data, **kw)
    _copy_attrs(ds, out)


def _copy_group(src: Any, dst: Any, lengths: dict[str, int]) -> None:
    import h5py

    _copy_attrs(src, dst)
    for name, obj in src.items():
        if isinstance(obj, h5py.Group):
            _copy_group(obj, dst.create_group(name), lengths)
        elif isinstance(obj, h5py.Dataset):
            n = lengths.get(obj.parent.name) if obj.ndim >= 1 else None
            _copy_dataset(obj, dst, name, n)


class _FileClockTarget:
    """The part of the recording writer's interface :func:`realign_clocks` uses, on an
    open h5py file (the repaired copy)."""

    def __init__(self, f: Any, path: Path) -> None:
        self._f, self.path = f, path
        self.feet = {
            side: SimpleNamespace(sampling_rate_hz=float(f[side].attrs["sampling_rate_hz"]))
            for side in SIDES
            if side in f and all(c in f[side] for c in ("sample_counter", "host_time_s", "time_s"))
        }

    def read_column(self, side: str, name: str) -> np.ndarray:
        return self._f[side][name][:]

    def rewrite_time_s(self, side: str, time_s: np.ndarray) -> None:
        self._f[side]["time_s"][:] = np.asarray(time_s, dtype="float64")

    def annotation_times(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if "annotations" not in self._f:
            return np.zeros(0), np.zeros(0), np.zeros(0, dtype=object)
        g = self._f["annotations"]
        sides = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in g["side"][:]], dtype=object)
        return g["onset_s"][:], g["duration_s"][:], sides

    def rewrite_annotation_times(self, onset_s: np.ndarray, duration_s: np.ndarray) -> None:
        g = self._f["annotations"]
        g["onset_s"][:] = np.asarray(onset_s, "float64")
        g["duration_s"][:] = np.asarray(duration_s, "float64")


def _refit_clocks(out: Any, path: Path) -> dict[str, dict[str, float]]:
    """Whole-recording clock refit of the repaired copy; returns the fits per side."""
    from .recorder_writer import realign_clocks

    fits = realign_clocks(_FileClockTarget(out, path))
    for side, values in fits.items():
        for key, value in values.items():
            out[side].attrs[key] = np.float64(value)
    return fits


def _validate(f: Any, p: Path) -> None:
    """Check the structure before anything is copied: a gaitpf recording of a supported
    schema, every foot with its datasets, 2-D values and a positive finite sampling rate."""
    from ..io.hdf5 import check_version, foot_length

    if "schema_version" not in f.attrs:
        raise SchemaError(f"{p}: not a gaitpf recording (no 'schema_version' attribute); nothing to repair")
    check_version(f, p)
    sides = [s for s in SIDES if s in f]
    if not sides:
        raise SchemaError(f"{p}: the recording has neither a 'left' nor a 'right' foot group; nothing to repair")
    for side in sides:
        foot_length(f, side, p, clean=False)
        try:
            fs = float(np.asarray(f[side].attrs["sampling_rate_hz"]).item())
        except (TypeError, ValueError):
            fs = float("nan")
        if not (np.isfinite(fs) and fs > 0):
            raise SchemaError(f"{p}: /{side} sampling_rate_hz is not a positive number; cannot repair it")


def _plan(f: Any, p: Path, eof: int | None, report: RepairReport) -> dict[str, int]:
    """Rows to keep per group (foot groups and annotations); fills ``report``."""
    from ..io.hdf5_schema import ANNOTATION_DATASETS, FOOT_DATASETS

    lengths: dict[str, int] = {}
    for side in SIDES:
        if side not in f:
            continue
        g = f[side]
        names = [d for d in FOOT_DATASETS if d in g]
        on_disk = min(_rows_on_disk(g[d], eof) for d in names)
        n = _valid_length(g, min(_common_length(g, names), on_disk))
        lengths[g.name] = n
        report.trimmed_rows[side] = max(int(g[d].shape[0]) for d in names) - n
        report.frames[side] = n
        t = g["time_s"][:n] if n else np.zeros(0)
        fs = float(np.asarray(g.attrs["sampling_rate_hz"]).item())
        report.duration_s[side] = float(max(t.max() - t.min(), 0.0) + 1.0 / fs) if len(t) else 0.0
    if "annotations" in f:
        a = f["annotations"]
        names = [d for d in ANNOTATION_DATASETS if d in a]
        n_ann = min([_common_length(a, names)] + [_rows_on_disk(a[d], eof) for d in names])
        if n_ann and "kind" in a:  # unwritten rows read as empty strings
            kinds = a["kind"][:n_ann]
            empty = np.flatnonzero(np.array([len(k) == 0 for k in kinds]))
            n_ann = int(empty[0]) if empty.size else n_ann
        lengths["/annotations"] = n_ann
        report.n_annotations = n_ann
    return lengths


def repair(path: str | os.PathLike[str], *, force: bool = False) -> RepairReport:
    """Rewrite a crashed (SWMR-locked, uncleanly closed or truncated) recording as a normal file.

    Steps: take the recording's lock (:mod:`gaitpf.io.filelock`; a file a recorder is
    writing is refused untouched), remove the temporary files of an earlier repair that
    was killed, validate the structure, decide per foot which rows are real frames (by
    the device counters, :func:`_valid_length`; for a truncated file only rows stored
    before its real end), write the repaired copy to a temporary file in the same
    directory, ``fsync`` it and move it over the original with :func:`os.replace`
    (then ``fsync`` the directory). Until that rename the original is unchanged, so a
    repair killed at any moment leaves it as it was (plus a temporary file that the next
    repair removes); after it, the repaired file.

    Parameters
    ----------
    path : path-like
        A gaitpf HDF5 recording.
    force : bool
        Rewrite even a cleanly closed file.

    Returns
    -------
    RepairReport

    Raises
    ------
    InputError
        The file is missing, or another process (a recorder, a repair) is using it.
    FormatError
        Not HDF5, or unreadable even in SWMR mode, or damaged beyond what can be recovered
        (the original is unchanged).
    SchemaError
        It is not a gaitpf recording.
    OutputError
        The repaired file cannot be written next to the original (the original is
        left untouched).
    """
    from ..io.filelock import RecordingLock

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a recording file")
    with RecordingLock(p, what="gaitpf repair", error=InputError):
        _checkpoint("locked")
        _remove_stale_temps(p)
        cut = _truncation(p)
        if cut is None:
            return _repair_from(p, p, force=force, eof=None)
        log.warning("%s: the file ends at %d bytes but HDF5 expects %d (a write failed, disk full?); recovering "
                    "the rows stored before its end", p, *cut)
        src = _padded_copy(p, *cut)
        try:
            _checkpoint("padded")
            report = _repair_from(p, src, force=True, eof=cut[0])
        finally:
            src.unlink(missing_ok=True)
        report.missing_bytes = cut[1] - cut[0]
        return report


def _fail_fast_fapl() -> Any:
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
def _open_source(src: Path, p: Path) -> Iterator[tuple[Any, bool]]:
    """Open the file to repair read-only: ``(h5py.File, opened_in_swmr_mode)``.

    A normal open first; a file a killed SWMR writer left "open for write" is opened in
    SWMR read mode with one metadata read attempt (:func:`_fail_fast_fapl`). Anything else
    goes through the reader (:func:`gaitpf.io.hdf5.open_hdf5`) for its error message.
    """
    import h5py

    from ..io.hdf5 import _OPEN_FOR_WRITE, open_hdf5

    try:
        f, swmr = h5py.File(src, "r"), False
    except OSError as exc:
        fapl = _fail_fast_fapl() if any(m in str(exc) for m in _OPEN_FOR_WRITE) else None
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


def _is_space_error(exc: OSError) -> bool:
    text = str(exc)
    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or "No space left" in text \
        or "File too large" in text or "Disk quota" in text


def _repair_from(p: Path, src: Path, *, force: bool, eof: int | None) -> RepairReport:
    """Repair ``p`` reading from ``src`` (``p`` itself, or a padded copy of it cut at ``eof``)."""
    import h5py

    from ..io.atomic import atomic_path
    from ..io.hdf5_schema import LIBVER
    from .recorder_writer import describe_os_error

    unchanged = "the original is unchanged"
    try:
        with _open_source(src, p) as (f, used_swmr):
            _validate(f, p)
            clean = bool(int(np.asarray(f.attrs.get("closed_cleanly", 0)).item())) and eof is None
            already = bool(int(np.asarray(f.attrs.get("repaired", 0)).item()))
            report = RepairReport(path=str(p), repaired=False, was_swmr_locked=used_swmr)
            if (clean or already) and not used_swmr and not force:
                return report
            lengths = _plan(f, p, eof, report)
            with atomic_path(p, prefix=_tmp_prefix(p)) as tmp:
                try:
                    with h5py.File(tmp, "w", libver=LIBVER) as out:
                        _copy_group(f, out, lengths)
                        _checkpoint("copied")
                        report.clock_refit = _refit_clocks(out, p)
                        out.attrs["closed_cleanly"] = np.int8(1 if clean else 0)
                        out.attrs["repaired"] = np.int8(1)
                except OSError as exc:
                    if _is_space_error(exc):
                        raise OutputError(f"{p}: cannot write the repaired copy: {describe_os_error(exc)}; "
                                          f"{unchanged}") from exc
                    raise FormatError(f"{p}: the recording is damaged and cannot be repaired ({exc}); "
                                      f"{unchanged}") from exc
                _checkpoint("written")
                # ``f`` is still open on the original (read-only); a POSIX rename is fine.
    except GaitpfError as exc:
        msg = str(exc).replace(str(src), str(p))   # name the user's file, not the padded copy
        if msg == str(exc) and unchanged in msg:
            raise
        raise type(exc)(msg if unchanged in msg else f"{msg}; {unchanged}") from exc
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
        raise FormatError(f"{p}: the recording is damaged and cannot be repaired ({type(exc).__name__}: "
                          f"{exc}); {unchanged}") from exc
    _checkpoint("replaced")
    report.repaired = True
    log.info("%s", report.summary())
    return report
