"""Make a recording left open by a killed recorder a normal HDF5 file again.

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
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import FormatError, SchemaError
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
    padded_bytes : int
        Zero bytes appended because the file ended before the size its superblock
        records (a write that failed on a full disk); the missing part reads as empty.
    """

    path: str
    repaired: bool
    was_swmr_locked: bool
    frames: dict[str, int] = field(default_factory=dict)
    duration_s: dict[str, float] = field(default_factory=dict)
    trimmed_rows: dict[str, int] = field(default_factory=dict)
    n_annotations: int = 0
    clock_refit: dict[str, dict[str, float]] = field(default_factory=dict)
    padded_bytes: int = 0

    def summary(self) -> str:
        """One line for people."""
        if not self.repaired:
            return f"{self.path}: already a normal (cleanly closed or repaired) recording; nothing to repair"
        feet = ", ".join(f"{s}: {self.frames[s]} frames ({self.duration_s[s]:.1f} s)" for s in self.frames)
        trimmed = sum(self.trimmed_rows.values())
        return (f"{self.path}: repaired; recovered {feet}, {self.n_annotations} annotations"
                + (f"; dropped {trimmed} half-written rows" if trimmed else "")
                + (f"; clock refitted ({', '.join(self.clock_refit)})" if self.clock_refit else "")
                + (f"; the file was {self.padded_bytes} bytes short (failed write)" if self.padded_bytes else ""))


_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*?stored_eof = (\d+)")


def _pad_truncated(p: Path) -> int:
    """Extend a file cut short by a full disk to the size its superblock records.

    HDF5 refuses to open a file whose end lies before the ``stored_eof`` of its superblock
    (the superblock was written, the data behind it was not). Appending zeros (sparse, it
    needs no disk space) lets the readable part be opened; rows that hold no real frame
    are dropped afterwards. Returns the number of bytes appended (0 if none were needed).
    """
    import h5py

    try:  # a normal open reports truncation (a SWMR open may not, or may hang)
        h5py.File(p, "r").close()
        return 0
    except OSError as exc:
        m = _TRUNCATED.search(str(exc))
        if not m:
            return 0
        eof, stored = int(m.group(1)), int(m.group(2))
    if stored <= eof or stored - eof > 1 << 30:
        return 0
    log.warning("%s: the file ends at %d bytes but HDF5 expects %d (a write failed, disk full?); padding it "
                "with zeros to recover the rest", p, eof, stored)
    os.truncate(p, stored)
    return stored - eof


def _copy_attrs(src: Any, dst: Any) -> None:
    for key, value in src.attrs.items():
        dst.attrs[key] = value


def _common_length(group: Any, names: list[str]) -> int:
    lengths = [int(group[n].shape[0]) for n in names if n in group]
    return min(lengths) if lengths else 0


def _valid_length(group: Any, n: int) -> int:
    """Rows of a foot that hold real frames.

    A flush that failed half-way (disk full) can leave the datasets' new extent on disk
    without their data: those rows read as the fill value (counter 0, time 0). Real frames
    have strictly increasing counters and increasing finite times, so the first row that
    breaks this ends the valid part.
    """
    if n <= 1 or "sample_counter" not in group or "time_s" not in group:
        return n
    counter = np.asarray(group["sample_counter"][:n])
    t = np.asarray(group["time_s"][:n], dtype=float)
    bad = np.flatnonzero((np.diff(counter) <= 0) | ~(np.diff(t) > 0) | ~np.isfinite(t[1:]))
    if not np.isfinite(t[0]):
        return 0
    return int(bad[0] + 1) if bad.size else n


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


def repair(path: str | os.PathLike[str], *, force: bool = False) -> RepairReport:
    """Rewrite a crashed (SWMR-locked or uncleanly closed) recording as a normal file.

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
    InputError, FormatError
        The file is missing, not HDF5, or unreadable even in SWMR mode.
    SchemaError
        It is not a gaitpf recording.
    OutputError
        The repaired file cannot be written next to the original (the original is
        left untouched).
    """
    import h5py

    from ..io.atomic import atomic_path
    from ..io.hdf5 import open_hdf5
    from ..io.hdf5_schema import ANNOTATION_DATASETS, FOOT_DATASETS, LIBVER

    p = Path(path)
    padded = _pad_truncated(p)
    with open_hdf5(p) as (f, used_swmr):
        if "schema_version" not in f.attrs:
            raise SchemaError(f"{p}: not a gaitpf recording (no 'schema_version' attribute); nothing to repair")
        clean = bool(int(np.asarray(f.attrs.get("closed_cleanly", 0)).item()))
        already = bool(int(np.asarray(f.attrs.get("repaired", 0)).item()))
        report = RepairReport(path=str(p), repaired=False, was_swmr_locked=used_swmr, padded_bytes=padded)
        if padded:
            clean = False  # whatever the file says, its last write failed
        if (clean or already) and not used_swmr and not padded and not force:
            return report
        lengths: dict[str, int] = {}
        for side in SIDES:
            if side in f:
                g = f[side]
                n = _valid_length(g, _common_length(g, list(FOOT_DATASETS)))
                lengths[g.name] = n
                longest = max(int(g[d].shape[0]) for d in FOOT_DATASETS if d in g)
                report.trimmed_rows[side] = longest - n
                report.frames[side] = n
                t = g["time_s"][:n] if "time_s" in g and n else np.zeros(0)
                fs = float(g.attrs.get("sampling_rate_hz", np.nan))
                report.duration_s[side] = float(t[-1] - t[0] + 1.0 / fs) if len(t) else 0.0
        if "annotations" in f:
            n_ann = _common_length(f["annotations"], list(ANNOTATION_DATASETS))
            if n_ann and "kind" in f["annotations"]:  # unwritten rows read as empty strings
                kinds = f["annotations"]["kind"][:n_ann]
                empty = np.flatnonzero(np.array([len(k) == 0 for k in kinds]))
                n_ann = int(empty[0]) if empty.size else n_ann
            lengths["/annotations"] = n_ann
            report.n_annotations = n_ann
        try:
            with atomic_path(p) as tmp:
                with h5py.File(tmp, "w", libver=LIBVER) as out:
                    _copy_group(f, out, lengths)
                    report.clock_refit = _refit_clocks(out, p)
                    out.attrs["closed_cleanly"] = np.int8(1 if clean else 0)
                    out.attrs["repaired"] = np.int8(1)
                # ``f`` is still open on the original (read-only); POSIX rename is fine.
        except OSError as exc:
            raise FormatError(f"{p}: reading the recording for repair failed ({exc}); the original is unchanged") \
                from exc
    report.repaired = True
    log.info("%s", report.summary())
    return report
