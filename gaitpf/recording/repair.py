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

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import FormatError, GaitpfError, InputError, OutputError, SchemaError
from ..model import SIDES
from .repair_source import (
    checkpoint,
    is_space_error,
    open_source,
    padded_copy,
    remove_stale_temps,
    rows_on_disk,
    tmp_prefix,
    truncation,
)

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
    from ..io.hdf5_schema import FOOT_DATASETS
    from ..io.hdf5_validate import check_version

    if "schema_version" not in f.attrs:
        raise SchemaError(f"{p}: not a gaitpf recording (no 'schema_version' attribute); nothing to repair")
    check_version(f, p)
    sides = [s for s in SIDES if s in f]
    if not sides:
        raise SchemaError(f"{p}: the recording has neither a 'left' nor a 'right' foot group; nothing to repair")
    for side in sides:
        g = f[side]
        missing = [f"/{side}/{name}" for name in FOOT_DATASETS if name not in g]
        missing += [f"attribute {name!r} of /{side}" for name in ("sampling_rate_hz", "unit") if name not in g.attrs]
        if missing:
            raise SchemaError(f"{p}: required {', '.join(missing)} missing; cannot repair it")
        if g["values"].ndim != 2:
            raise SchemaError(f"{p}: /{side}/values must be 2-D (samples x sensors), found {g['values'].ndim}-D")
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
        on_disk = min(rows_on_disk(g[d], eof) for d in names)
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
        n_ann = min([_common_length(a, names)] + [rows_on_disk(a[d], eof) for d in names])
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
        checkpoint("locked")
        remove_stale_temps(p)
        cut = truncation(p)
        if cut is None:
            return _repair_from(p, p, force=force, eof=None)
        log.warning("%s: the file ends at %d bytes but HDF5 expects %d (a write failed, disk full?); recovering "
                    "the rows stored before its end", p, *cut)
        src = padded_copy(p, *cut)
        try:
            checkpoint("padded")
            report = _repair_from(p, src, force=True, eof=cut[0])
        finally:
            src.unlink(missing_ok=True)
        report.missing_bytes = cut[1] - cut[0]
        return report


def _repair_from(p: Path, src: Path, *, force: bool, eof: int | None) -> RepairReport:
    """Repair ``p`` reading from ``src`` (``p`` itself, or a padded copy of it cut at ``eof``)."""
    import h5py

    from ..io.atomic import atomic_path
    from ..io.hdf5_schema import LIBVER
    from .recorder_writer import describe_os_error

    unchanged = "the original is unchanged"
    try:
        with open_source(src, p) as (f, used_swmr):
            _validate(f, p)
            clean = bool(int(np.asarray(f.attrs.get("closed_cleanly", 0)).item())) and eof is None
            already = bool(int(np.asarray(f.attrs.get("repaired", 0)).item()))
            report = RepairReport(path=str(p), repaired=False, was_swmr_locked=used_swmr)
            if (clean or already) and not used_swmr and not force:
                return report
            lengths = _plan(f, p, eof, report)
            with atomic_path(p, prefix=tmp_prefix(p)) as tmp:
                try:
                    with h5py.File(tmp, "w", libver=LIBVER) as out:
                        _copy_group(f, out, lengths)
                        checkpoint("copied")
                        report.clock_refit = _refit_clocks(out, p)
                        out.attrs["closed_cleanly"] = np.int8(1 if clean else 0)
                        out.attrs["repaired"] = np.int8(1)
                except OSError as exc:
                    if is_space_error(exc):
                        raise OutputError(f"{p}: cannot write the repaired copy: {describe_os_error(exc)}; "
                                          f"{unchanged}") from exc
                    raise FormatError(f"{p}: the recording is damaged and cannot be repaired ({exc}); "
                                      f"{unchanged}") from exc
                checkpoint("written")
                # ``f`` is still open on the original (read-only); a POSIX rename is fine.
    except GaitpfError as exc:
        msg = str(exc).replace(str(src), str(p))   # name the user's file, not the padded copy
        if msg == str(exc) and unchanged in msg:
            raise
        raise type(exc)(msg if unchanged in msg else f"{msg}; {unchanged}") from exc
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
        raise FormatError(f"{p}: the recording is damaged and cannot be repaired ({type(exc).__name__}: "
                          f"{exc}); {unchanged}") from exc
    checkpoint("replaced")
    report.repaired = True
    log.info("%s", report.summary())
    return report
