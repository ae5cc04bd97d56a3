"""Find every recording under an archive root.

A recording is one of:

* a gaitpf HDF5 file (``*.h5`` / ``*.hdf5``; a file with that extension but no HDF5
  signature is still listed, so that the batch reports it as a failure instead of
  silently skipping it);
* a PhysioNet gaitndd record (its ``.hea`` header; ``.let``/``.rit``/``.ts`` are its
  companions);
* a PhysioNet gaitpdb walk (``*.txt`` whose first line has 19 tab-separated numbers);
* a gaitpf CSV file (``*.csv`` / ``*.tsv`` starting with ``# key: value`` header lines);
* a vendor export (Moticon, pedar, Tekscan, XSENSOR, stappone) recognised by its content
  whatever its extension (:func:`gaitpf.io.sniff.sniff_vendor`).

Hidden files and folders (``.cache``...) and the batch output folder are skipped. The
order is deterministic (sorted relative POSIX paths), so every run and every executor
sees the same list.

Subject/session/trial come from the archive layout ``.../recordings/<subject>/<session>/
<trial>.<ext>`` when a file sits in it (the archive's organisation wins), otherwise from
the recording itself (HDF5 root attributes, or what the importer derives), which the
worker fills in after reading the file.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..io.guard import display_path

__all__ = ["RecordingRef", "discover", "layout_ids", "input_files"]

log = logging.getLogger(__name__)

HDF5_SUFFIXES = (".h5", ".hdf5")
GAITNDD_COMPANIONS = (".hea", ".let", ".rit")


@dataclass(frozen=True)
class RecordingRef:
    """One recording found in the archive.

    Attributes
    ----------
    path : str
        Absolute path of the file read by :func:`gaitpf.io.read_recording`.
    rel_path : str
        Path relative to the archive root, POSIX separators (the recording's key in
        every output table); bytes of a file name that are not UTF-8 are written as
        ``\\xff`` escapes (:func:`gaitpf.io.guard.display_path`).
    fmt : str
        ``"hdf5"``, ``"gaitndd"``, ``"gaitpdb"`` or ``"csv"`` (as guessed from the name).
    layout_ids : tuple of (subject_id, session, trial) or None
        From the ``recordings/<subject>/<session>/<trial>`` layout, if the file is in it.
    """

    path: str
    rel_path: str
    fmt: str
    layout_ids: tuple[str, str, str] | None


def layout_ids(rel_path: str) -> tuple[str, str, str] | None:
    """``(subject, session, trial)`` from ``.../recordings/<subject>/<session>/<trial>.<ext>``.

    >>> layout_ids("study/recordings/P01/baseline/walk1.h5")
    ('P01', 'baseline', 'walk1')
    >>> layout_ids("misc/walk1.h5") is None
    True
    """
    parts = Path(rel_path).parts
    if len(parts) >= 4 and parts[-4] == "recordings":
        return parts[-3], parts[-2], Path(parts[-1]).stem
    return None


def _first_line(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.readline(4096)
    except OSError:
        return b""


def _classify(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    if suffix == ".hea":
        return "gaitndd"
    if suffix not in GAITNDD_COMPANIONS + (".ts",):
        from ..io.sniff import sniff_vendor

        vendor = sniff_vendor(path)
        if vendor is not None:
            return vendor
    if suffix == ".txt":
        from ..io.gaitpdb import looks_like_gaitpdb

        return "gaitpdb" if looks_like_gaitpdb(path) else None
    if suffix in (".csv", ".tsv"):
        return "csv" if _first_line(path).lstrip(b"\xef\xbb\xbf").startswith(b"#") else None
    return None


def input_files(ref: RecordingRef) -> list[Path]:
    """Every file whose bytes make up the recording (for the content hash), sorted.

    A gaitndd record is its ``.hea``, ``.let`` and ``.rit`` files (those that exist);
    every other format is one file.
    """
    p = Path(ref.path)
    if ref.fmt == "gaitndd":
        return [q for q in (p.with_suffix(s) for s in GAITNDD_COMPANIONS) if q.exists()]
    return [p]


def discover(root: str | os.PathLike[str], *, exclude: list[str | os.PathLike[str]] | None = None) -> list[RecordingRef]:
    """List every recording under ``root`` (recursively), sorted by relative path.

    Parameters
    ----------
    root : path-like
        Archive folder (or a single recording file).
    exclude : list of path-like, optional
        Folders to skip (the batch output folder when it lies inside ``root``).

    Returns
    -------
    list of RecordingRef

    Raises
    ------
    InputError
        ``root`` does not exist.
    """
    root_p = Path(root).resolve()
    if not root_p.exists():
        raise InputError(f"{root}: no such folder; give the archive folder to analyze")
    if root_p.is_file():
        fmt = _classify(root_p) or "unknown"
        return [RecordingRef(str(root_p), display_path(root_p.name), fmt, None)]
    skip = {Path(e).resolve() for e in (exclude or [])}
    refs: list[RecordingRef] = []
    for dirpath, dirnames, filenames in os.walk(root_p):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in skip)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = here / name
            fmt = _classify(p)
            if fmt is None:
                continue
            rel = display_path(p.relative_to(root_p).as_posix())  # text for the tables, even if not UTF-8
            refs.append(RecordingRef(str(p), rel, fmt, layout_ids(rel)))
    refs.sort(key=lambda r: r.rel_path)
    log.info("%s: found %d recording(s)", root, len(refs))
    return refs
