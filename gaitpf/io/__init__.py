"""Recording files: the gaitpf HDF5 schema v1, importers and format dispatch.

::

    rec = read_recording("trial.h5")          # also gaitndd .hea/.let/.rit, gaitpdb .txt, CSV
    write_recording("out.h5", rec)             # HDF5 schema v1, atomically
    info = describe_file("trial.h5")           # what `gaitpf info` prints
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..errors import FormatError, InputError
from ..model import Recording
from .guard import display_path

__all__ = ["read_recording", "write_recording", "describe_file", "describe_recording", "detect_format",
           "ACCEPTED_FORMATS"]

log = logging.getLogger(__name__)

#: Human-readable list of what :func:`read_recording` accepts.
ACCEPTED_FORMATS = (
    "gaitpf HDF5 (.h5)",
    "PhysioNet gaitndd (.hea/.let/.rit)",
    "PhysioNet gaitpdb walk (.txt, 19 tab-separated columns)",
    "gaitpf CSV (.csv, see docs/csv_format.md)",
    "vendor exports recognised by content: Moticon OpenGo text, novel pedar ASCII, Tekscan F-Scan/I-Scan "
    "ASCII, XSENSOR CSV, stappone CSV (see docs/formats/)",
)

#: vendor format name -> (module, reader function); chosen by content (:mod:`gaitpf.io.sniff`).
VENDOR_READERS: dict[str, tuple[str, str]] = {
    "moticon": ("gaitpf.io.vendor_moticon", "read_moticon"),
    "pedar": ("gaitpf.io.vendor_pedar", "read_pedar"),
    "tekscan": ("gaitpf.io.vendor_tekscan", "read_tekscan"),
    "xsensor": ("gaitpf.io.vendor_xsensor", "read_xsensor"),
    "stappone": ("gaitpf.io.vendor_stappone", "read_stappone"),
}


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name the format of ``path``: ``"hdf5"``, ``"gaitndd"``, ``"gaitpdb"``, ``"csv"`` or a vendor.

    HDF5 and the vendor exports (:data:`VENDOR_READERS`) are recognised by content,
    whatever their extension; the others by extension plus, for gaitpdb, a look at the
    first line.

    Raises
    ------
    InputError
        The file does not exist (for gaitndd, the ``.hea`` header or signal file).
    FormatError
        None of the accepted formats; the message lists them.
    """
    from .gaitpdb import looks_like_gaitpdb
    from .hdf5 import is_hdf5

    p = Path(path)
    suffix = p.suffix.lower()
    if not p.exists():
        if suffix in (".hea", ".let", ".rit") and p.with_suffix(".hea").exists():
            return "gaitndd"
        raise InputError(f"{display_path(p)}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{display_path(p)}: is a directory; give a recording file ({'; '.join(ACCEPTED_FORMATS)})")
    if is_hdf5(p):
        return "hdf5"
    from .sniff import sniff_vendor

    vendor = sniff_vendor(p)
    if vendor is not None:
        return vendor
    if suffix in (".hea", ".let", ".rit"):
        return "gaitndd"
    if suffix == ".txt" and looks_like_gaitpdb(p):
        return "gaitpdb"
    if suffix in (".csv", ".tsv"):
        return "csv"
    raise FormatError(f"{display_path(p)}: unknown recording format; gaitpf reads {'; '.join(ACCEPTED_FORMATS)}")


def read_recording(path: str | os.PathLike[str], *, sampling_rate_hz: float | None = None) -> Recording:
    """Read any supported recording file into a :class:`~gaitpf.model.Recording`.

    ``sampling_rate_hz`` (Hz) is for CSV files without a ``# sampling_rate_hz`` header
    line (``--rate-hz`` on the command line; see ``docs/csv_format.md``); every other
    format states its rate, and giving one for it is an :class:`InputError`.

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Unknown format, or content that does not fit its format (``SchemaError`` for
        HDF5 files that do not match schema v1; ``DamagedFileError`` for whatever the
        file libraries raise on the bytes, :mod:`gaitpf.io.guard`; HDF5 files are
        checked in a child process under a deadline first).
    """
    from .guard import reading

    with reading(path):
        return _read(path, sampling_rate_hz)


def _read(path: str | os.PathLike[str], sampling_rate_hz: float | None = None) -> Recording:
    fmt = detect_format(path)
    log.debug("%s: reading as %s", display_path(path), fmt)
    if sampling_rate_hz is not None and fmt != "csv":
        raise InputError(f"{display_path(path)}: --rate-hz is only for CSV files without a sampling_rate_hz "
                         f"header; this {fmt} file states its own rate")
    if fmt == "hdf5":
        from .hdf5 import read_hdf5

        return read_hdf5(path)
    if fmt == "gaitndd":
        from .gaitndd import read_gaitndd

        return read_gaitndd(path)
    if fmt == "gaitpdb":
        from .gaitpdb import read_gaitpdb

        return read_gaitpdb(path)
    if fmt in VENDOR_READERS:
        import importlib

        module, func = VENDOR_READERS[fmt]
        return getattr(importlib.import_module(module), func)(path)
    from .csvfmt import read_csv_recording

    return read_csv_recording(path, sampling_rate_hz=sampling_rate_hz)


def write_recording(path: str | os.PathLike[str], rec: Recording) -> None:
    """Write ``rec`` as a gaitpf HDF5 file (schema v1), atomically: complete or absent.

    Raises
    ------
    OutputError
        The directory is missing or unwritable, or the disk is full.
    """
    from .hdf5 import write_hdf5

    write_hdf5(path, rec)


def describe_recording(rec: Recording, *, path: str | os.PathLike[str] | None = None,
                       fmt: str | None = None) -> dict[str, Any]:
    """The :func:`gaitpf.io.hdf5.file_info` dictionary for an in-memory recording.

    ``closed_cleanly``, ``opened_swmr`` and ``schema_version`` are ``None`` (they only
    apply to gaitpf HDF5 files).
    """
    import numpy as np

    ann = rec.annotations
    feet = {}
    for side in rec.sides:
        foot = rec.feet[side]
        t = foot.times_s()
        gaps = ann[(ann["kind"] == "gap") & ann["side"].isin([side, "", "both"])] if len(ann) else ann
        feet[side] = {
            "frames": foot.n_samples,
            "sensors": foot.n_sensors,
            "unit": foot.unit,
            "layout_id": foot.layout.layout_id if foot.layout is not None else None,
            "sampling_rate_hz": float(foot.sampling_rate_hz),
            "duration_s": round(float(t[-1] - t[0] + 1.0 / foot.sampling_rate_hz), 6) if len(t) else 0.0,
            "n_lost_frames": None,
            "gaps": {"count": int(len(gaps)), "total_s": float(gaps["duration_s"].sum()) if len(gaps) else 0.0},
            "clock_residual_ms": None,
        }
    mass = rec.body_mass_kg
    return {
        "path": display_path(path) if path is not None else None,
        "format": fmt,
        "schema_version": None,
        "subject_id": rec.subject_id,
        "session": rec.session,
        "trial": rec.trial,
        "body_mass_kg": float(mass) if mass is not None and np.isfinite(mass) else None,
        "created_utc": rec.created_utc,
        "closed_cleanly": None,
        "opened_swmr": None,
        "sampling_rate_hz": float(rec.sampling_rate_hz),
        "n_annotations": int(len(ann)),
        "feet": feet,
    }


def describe_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What ``gaitpf info`` shows: :func:`~gaitpf.io.hdf5.file_info` for HDF5, else from the imported data.

    Raises the same errors as :func:`read_recording`.
    """
    from .guard import reading

    with reading(path):
        fmt = detect_format(path)
        if fmt == "hdf5":
            from .hdf5 import file_info

            return file_info(path)
        return describe_recording(_read(path), path=path, fmt=fmt)
