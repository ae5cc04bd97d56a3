"""The catalog: an embedded SQLite index of every recording under a recordings root.

The HDF5 files are the source of truth; the catalog only remembers what their headers
say (subject, session, trial, metadata, feet, layouts) so that listing a subject's
sessions does not reopen every file. It lives in ``<root>/.gaitpf-catalog.sqlite`` and
is refreshed on every use by comparing each file's size and modification time with what
it recorded: new and changed files are re-read, vanished ones dropped. Deleting the
catalog loses nothing — the next use rebuilds it by scanning. If the root is read-only
the catalog is kept in memory.

Tree layout (recommended, not required): ``<root>/<subject>/<session>/<trial>.h5``.

A file that cannot be read (damaged, not a gaitpf recording, HDF5 stalling on it: every
reader error is a :class:`~gaitpf.errors.GaitpfError`, see :mod:`gaitpf.io.guard`) is kept
in the catalog with its reason and never stops the scan. It belongs to no subject, except
in the tree layout, where :meth:`Catalog.files_of` returns it with the readable files of
the subject whose folder holds it, so that the analyses list it as left out with its
reason. File names that are not UTF-8 are stored as bytes.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..errors import GaitpfError, InputError
from ..io.guard import display_path, printable

__all__ = ["CATALOG_NAME", "Catalog", "scan_files", "read_header", "other_files", "folder_mismatch",
           "folder_mismatches"]

log = logging.getLogger(__name__)

CATALOG_NAME = ".gaitpf-catalog.sqlite"
_SCHEMA = 2
_COLUMNS = (
    "path", "mtime_ns", "size", "subject_id", "session", "trial", "created_utc", "metadata",
    "sides", "layouts", "units", "sampling_rate_hz", "duration_s", "closed_cleanly", "error",
)


def scan_files(root: Path) -> list[Path]:
    """Every ``*.h5`` under ``root`` (hidden names and temporary files skipped), sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".h5") and not f.startswith("."))
    return out


#: Suffixes of recordings in other formats that ``gaitpf import`` converts (the catalog reads .h5 only).
IMPORTABLE_SUFFIXES: tuple[str, ...] = (".hea", ".let", ".rit", ".ts", ".txt", ".csv", ".tsv", ".xml", ".asc",
                                        ".fgt", ".fsx", ".xls", ".xlsx")


#: Files gaitpf itself keeps beside the recordings (studio patient/visit/trial notes, recording
#: locks, reports, figures, tables, temporary files): never recordings, so not listed as left out.
OWN_SUFFIXES: tuple[str, ...] = (".json", ".lock", ".html", ".htm", ".pdf", ".png", ".svg", ".parquet",
                                 ".sqlite", ".tmp", ".log")


def other_files(root: Path) -> list[tuple[str, str]]:
    """``(relative path, reason)`` of every file under ``root`` that is not a ``*.h5`` recording.

    What a command scanning ``root`` looks at but does not analyze, so that it can list
    it. Hidden names are skipped (as :func:`scan_files` does) and so are the files gaitpf
    keeps beside recordings (:data:`OWN_SUFFIXES`).
    """
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if f.startswith(".") or f.endswith(".h5") or f.lower().endswith(OWN_SUFFIXES):
                continue
            rel = display_path((Path(dirpath) / f).relative_to(root).as_posix())
            if Path(f).suffix.lower() in IMPORTABLE_SUFFIXES:
                out.append((rel, "not a gaitpf .h5 recording; if it is a recording in another format, convert "
                                 "it with `gaitpf import FILE -o FILE.h5 --subject ID --session LABEL`"))
            else:
                out.append((rel, "not a recording"))
    return out


def folder_mismatch(rel_path: str, subject_id: Any, session: Any) -> str | None:
    """The warning when the tree layout's folder names disagree with what the file stores (else None).

    ``<subject>/<session>/<trial>.h5`` (or ``<subject>/<trial>.h5``): the stored ids are
    used, the folder names never; a file outside that layout is not checked.
    """
    parts = Path(rel_path).parts
    if len(parts) not in (2, 3):
        return None
    problems = []
    if str(subject_id or "") != parts[0]:
        problems.append(f"subject {subject_id!r} (folder {parts[0]!r})")
    if len(parts) == 3 and str(session or "") != parts[1]:
        problems.append(f"session {session!r} (folder {parts[1]!r})")
    if not problems:
        return None
    return f"{rel_path}: the file stores {' and '.join(problems)}; the stored ids are used"


def folder_mismatches(entries: pd.DataFrame) -> list[str]:
    """:func:`folder_mismatch` over catalog rows (:meth:`Catalog.entries`)."""
    out = []
    for p, subj, sess in zip(entries["path"], entries["subject_id"], entries["session"]):
        w = folder_mismatch(str(p), subj, sess)
        if w:
            out.append(w)
    return out


def _db_path(rel: str) -> str | bytes:
    """The catalog key of a relative path: text, or its bytes when the name is not UTF-8."""
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        return os.fsencode(rel)


def _fs_path(key: str | bytes) -> str:
    return os.fsdecode(key) if isinstance(key, bytes) else key


def read_header(path: Path) -> dict[str, Any]:
    """What the catalog stores about one file (no samples read)."""
    from ..io.hdf5 import file_info
    from .metadata import read_file_metadata

    info = file_info(path)
    meta = read_file_metadata(path)
    feet = info.get("feet", {})
    rate = info.get("sampling_rate_hz")
    return {
        "subject_id": info.get("subject_id", ""),
        "session": info.get("session", ""),
        "trial": info.get("trial", ""),
        "created_utc": info.get("created_utc", ""),
        "metadata": json.dumps(meta, sort_keys=True),
        "sides": ",".join(feet),
        "layouts": json.dumps({s: v.get("layout_id") for s, v in feet.items()}),
        "units": json.dumps({s: v.get("unit") for s, v in feet.items()}),
        "sampling_rate_hz": float(rate) if isinstance(rate, (int, float)) else None,
        "duration_s": max((v.get("duration_s", 0.0) for v in feet.values()), default=0.0),
        "closed_cleanly": int(bool(info.get("closed_cleanly", True))),
        "error": None,
    }


@dataclass
class Catalog:
    """SQLite index of the recordings under ``root``.

    Parameters
    ----------
    root : path-like
        The recordings root (must exist).
    """

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: recordings folder does not exist; check the path (or --root)")
        self.db_path = self.root / CATALOG_NAME
        self._con = self._connect()

    # -- database ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.db_path)
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version != _SCHEMA:
                con.execute("DROP TABLE IF EXISTS recordings")
            self._create(con)
            con.execute(f"PRAGMA user_version = {_SCHEMA}")
            con.commit()
            return con
        except sqlite3.DatabaseError as exc:
            log.warning("%s: catalog unusable (%s); rebuilding it", self.db_path, exc)
            try:
                self.db_path.unlink(missing_ok=True)
                con = sqlite3.connect(self.db_path)
            except (OSError, sqlite3.Error):
                con = sqlite3.connect(":memory:")
            self._create(con)
            return con
        except OSError:
            con = sqlite3.connect(":memory:")
            self._create(con)
            return con

    @staticmethod
    def _create(con: sqlite3.Connection) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS recordings (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, "
            "subject_id TEXT, session TEXT, trial TEXT, created_utc TEXT, metadata TEXT, sides TEXT, "
            "layouts TEXT, units TEXT, sampling_rate_hz REAL, duration_s REAL, closed_cleanly INTEGER, "
            "error TEXT)"
        )
        con.execute("CREATE INDEX IF NOT EXISTS by_subject ON recordings(subject_id, session)")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- refresh ----------------------------------------------------------------------
    def refresh(self) -> dict[str, int]:
        """Bring the index up to date with the files; return counts added/updated/removed."""
        files = scan_files(self.root)
        known = {
            row[0]: (row[1], row[2]) for row in self._con.execute("SELECT path, mtime_ns, size FROM recordings")
        }
        seen: set[str] = set()
        counts = {"added": 0, "updated": 0, "removed": 0, "unreadable": 0}
        for f in files:
            rel = _db_path(f.relative_to(self.root).as_posix())
            seen.add(rel)
            try:
                st = f.stat()
            except OSError:
                continue
            if known.get(rel) == (st.st_mtime_ns, st.st_size):
                continue
            try:
                row = read_header(f)
            except GaitpfError as exc:
                row = {c: None for c in _COLUMNS[3:]}
                row["error"] = printable(str(exc))
                counts["unreadable"] += 1
                log.info("%s: unreadable: %s", display_path(f), row["error"])
            else:
                mismatch = folder_mismatch(display_path(_fs_path(rel)), row["subject_id"], row["session"])
                if mismatch:  # the commands list these (see folder_mismatches); logged once here
                    log.info("%s", mismatch)
            row.update(path=rel, mtime_ns=st.st_mtime_ns, size=st.st_size)
            self._con.execute(
                f"INSERT OR REPLACE INTO recordings ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [row.get(c) for c in _COLUMNS],
            )
            counts["updated" if rel in known else "added"] += 1
        gone = [p for p in known if p not in seen]
        self._con.executemany("DELETE FROM recordings WHERE path = ?", [(p,) for p in gone])
        counts["removed"] = len(gone)
        self._con.commit()
        log.debug("catalog %s refreshed: %s", self.db_path, counts)
        return counts

    def rebuild(self) -> dict[str, int]:
        """Forget everything and rescan (what deleting the catalog file does)."""
        self._con.execute("DELETE FROM recordings")
        self._con.commit()
        return self.refresh()

    # -- queries ----------------------------------------------------------------------
    def entries(self, subject_id: str | None = None) -> pd.DataFrame:
        """Catalog rows (optionally of one subject) with parsed ``metadata`` dicts and absolute ``file``."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM recordings"
        args: Iterable[Any] = ()
        if subject_id is not None:
            sql += " WHERE subject_id = ?"
            args = (subject_id,)
        rows = self._con.execute(sql + " ORDER BY path", tuple(args)).fetchall()
        df = pd.DataFrame(rows, columns=list(_COLUMNS)).astype({"path": object})
        df["metadata"] = [json.loads(m) if isinstance(m, str) and m else {} for m in df["metadata"]]
        # object dtype: a file name that is not UTF-8 cannot live in an Arrow-backed string column
        df["file"] = pd.Series([str(self.root / _fs_path(p)) for p in df["path"]], index=df.index, dtype=object)
        df["path"] = [display_path(_fs_path(p)) for p in df["path"]]
        return df

    def unreadable(self) -> list[tuple[str, str]]:
        """``(relative path as text, reason)`` of every file that could not be read, sorted."""
        rows = self._con.execute("SELECT path, error FROM recordings WHERE error IS NOT NULL").fetchall()
        return sorted((display_path(_fs_path(p)), e) for p, e in rows)

    def subjects(self) -> list[str]:
        """Subject ids with at least one readable recording, sorted."""
        rows = self._con.execute(
            "SELECT DISTINCT subject_id FROM recordings WHERE error IS NULL ORDER BY subject_id"
        ).fetchall()
        return [r[0] for r in rows]

    def files_of(self, subject_id: str) -> list[Path]:
        """Recordings of one subject (InputError naming the known subjects if none).

        The readable files whose ``subject_id`` attribute is ``subject_id``, plus the
        unreadable files in the folder ``<root>/<subject_id>/`` (tree layout): readers of
        these raise the reason, so analyses list them as left out.
        """
        df = self.entries(subject_id)
        df = df[df["error"].isna()]
        bad = self.entries()
        bad = bad[bad["error"].notna()]
        in_folder = [Path(f) for f in bad["file"]
                     if Path(f).relative_to(self.root).parts[:1] == (subject_id,)]
        if df.empty and not in_folder:
            known = self.subjects()
            hint = f"known subjects: {', '.join(known)}" if known else "no readable recordings there"
            raise InputError(f"no recordings of subject {subject_id!r} under {self.root} ({hint})")
        return sorted([Path(f) for f in df["file"]] + in_folder)
