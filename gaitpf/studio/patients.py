"""Patients and visits under a recordings root (``ROOT/<subject>/<session>/<trial>.h5``).

The recordings are the source of truth: the patient list is the catalog's subjects
(:class:`~gaitpf.sessions.catalog.Catalog`) plus the patients created in the studio who
have no recording yet. What the recordings cannot hold before the first trial is kept in
small JSON files next to them:

* ``ROOT/<subject>/patient.json``: affected side and optional body mass (kg);
* ``ROOT/<subject>/<session>/visit.json``: the visit form (validated with
  :func:`gaitpf.sessions.metadata.validate_metadata`); it becomes every trial's session
  metadata (given to the recorder, and written into trials already recorded with
  :func:`~gaitpf.sessions.metadata.update_file_metadata`);
* ``ROOT/<subject>/<session>/trials.json``: the trial check verdicts and marks.

Discarded trials move to ``ROOT/<subject>/<session>/.discarded/`` (hidden folders are not
scanned by the catalog): nothing is deleted.

Pseudonymisation: ids must pass :func:`~gaitpf.sessions.metadata.check_subject_id`; in
addition :func:`id_warnings` warns (without refusing) when an id has no digit (it may be a
name) or contains a plausible date of birth (a valid calendar date, year 1900 to this year,
as YYYYMMDD, DDMMYYYY, YYYY-MM-DD, DD.MM.YYYY or DD-MM-YY...).
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GaitpfError, InputError, OutputError
from ..sessions.metadata import check_subject_id, update_file_metadata, validate_metadata

__all__ = ["Patient", "PatientStore", "id_warnings", "MAX_BODY_MASS_KG", "MIN_BODY_MASS_KG"]

log = logging.getLogger(__name__)

MIN_BODY_MASS_KG, MAX_BODY_MASS_KG = 20.0, 250.0
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[-./_]?(?P<m>[01]\d)[-./_]?(?P<d>[0-3]\d)(?!\d)"),
    re.compile(r"(?<!\d)(?P<d>[0-3]\d)[-./_]?(?P<m>[01]\d)[-./_]?(?P<y>(?:19|20)\d\d)(?!\d)"),
    re.compile(r"(?<!\d)(?P<d>[0-3]?\d)[-./](?P<m>[01]?\d)[-./](?P<y>\d\d)(?!\d)"),
)


def _plausible_birth_date(y: int, m: int, d: int) -> bool:
    today = _dt.date.today()
    if y < 100:
        y += 2000 if 2000 + y <= today.year else 1900
    try:
        day = _dt.date(y, m, d)
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= day <= today


def id_warnings(subject_id: str) -> list[str]:
    """Reasons why ``subject_id`` may identify a person (empty list: looks like a code).

    Rules: no digit at all (``JaneDoe``, ``doe.j``) may be a name; a substring that parses
    as a calendar date between 1900-01-01 and today may be a date of birth.
    """
    s = str(subject_id)
    out = []
    if not any(c.isdigit() for c in s):
        out.append(f"{s!r} has no digits and may be a name; use a pseudonymous code such as PF001")
    for pat in _DATE_PATTERNS:
        for m in pat.finditer(s):
            if _plausible_birth_date(int(m["y"]), int(m["m"]), int(m["d"])):
                out.append(f"{s!r} contains {m.group(0)!r}, which looks like a date (of birth?); "
                           "keep dates out of ids")
                return out
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s); ignored", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from ..io.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            Path(str(tmp)).write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from exc


@dataclass
class Patient:
    """One row of the patient list."""

    subject_id: str
    affected_side: str | None = None
    body_mass_kg: float | None = None
    sessions: list[str] = field(default_factory=list)
    last_date: str | None = None
    n_trials: int = 0


def _repaired(path: Path) -> bool:
    """``gaitpf repair`` ran on the file (it keeps ``closed_cleanly`` false and sets ``repaired``)."""
    from ..io.hdf5 import open_hdf5

    try:
        with open_hdf5(path) as (f, _swmr):
            return bool(int(f.attrs.get("repaired", 0)))
    except (GaitpfError, OSError, ValueError):
        return False


def _natural(label: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label)]


class PatientStore:
    """Patients, visits and trial files under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.root}: cannot create the recordings folder ({exc.strerror or exc})") from exc

    # -- patients -------------------------------------------------------------------------
    def patients(self, search: str = "") -> list[Patient]:
        """Every patient (catalog subjects + studio-created ones), filtered by ``search`` (substring)."""
        from ..sessions.catalog import Catalog

        with Catalog(self.root) as cat:
            cat.refresh()
            df = cat.entries()
        by_id: dict[str, Patient] = {}
        if len(df):
            df = df[df["error"].isna()]
            for sid, g in df.groupby("subject_id"):
                dates = [m.get("date") for m in g["metadata"] if m.get("date")]
                sides = [m.get("affected_side") for m in g["metadata"] if m.get("affected_side")]
                by_id[sid] = Patient(str(sid), affected_side=sides[-1] if sides else None,
                                     sessions=sorted({str(s) for s in g["session"]}, key=_natural),
                                     last_date=max(dates) if dates else None, n_trials=len(g))
        for d in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            info = _read_json(d / "patient.json")
            if not info and d.name not in by_id:
                continue
            pat = by_id.setdefault(d.name, Patient(d.name))
            pat.affected_side = info.get("affected_side", pat.affected_side)
            pat.body_mass_kg = info.get("body_mass_kg", pat.body_mass_kg)
        q = search.strip().lower()
        return [p for _, p in sorted(by_id.items()) if q in p.subject_id.lower()]

    def patient(self, subject_id: str) -> Patient:
        for p in self.patients():
            if p.subject_id == subject_id:
                return p
        raise InputError(f"no patient {subject_id!r} under {self.root}")

    def body_mass_kg(self, subject_id: str) -> float | None:
        """Body mass (kg): ``patient.json``, else the newest recording of the patient that has one."""
        mass = _read_json(self.root / subject_id / "patient.json").get("body_mass_kg")
        if mass is not None:
            return float(mass)
        from ..io.hdf5 import file_info

        d = self.root / subject_id
        files = sorted(d.glob("*/*.h5"), key=lambda p: p.stat().st_mtime, reverse=True) if d.is_dir() else []
        for f in files[:5]:
            try:
                m = file_info(f).get("body_mass_kg")
            except GaitpfError:
                continue
            if m is not None and MIN_BODY_MASS_KG <= float(m) <= MAX_BODY_MASS_KG:
                return float(m)
        return None

    def create_patient(self, subject_id: str, *, affected_side: str, body_mass_kg: float | None = None) -> Patient:
        """Create ``ROOT/<id>/patient.json``; raises InputError on an invalid or existing id."""
        sid = check_subject_id(str(subject_id).strip())
        side = validate_metadata({"affected_side": affected_side})["affected_side"]
        if body_mass_kg is not None:
            body_mass_kg = float(body_mass_kg)
            if not MIN_BODY_MASS_KG <= body_mass_kg <= MAX_BODY_MASS_KG:
                raise InputError(f"body mass {body_mass_kg:g} kg is outside {MIN_BODY_MASS_KG:g}–"
                                 f"{MAX_BODY_MASS_KG:g} kg")
        if any(p.subject_id.lower() == sid.lower() for p in self.patients()):
            raise InputError(f"patient {sid!r} exists already; pick it in the list")
        _write_json(self.root / sid / "patient.json", {"affected_side": side, "body_mass_kg": body_mass_kg})
        return Patient(sid, affected_side=side, body_mass_kg=body_mass_kg)

    # -- visits ----------------------------------------------------------------------------
    def next_session(self, subject_id: str) -> tuple[str, int]:
        """Label and number of the next visit: ``S<n>`` with n = 1 + the highest number so far."""
        numbers = [0]
        width = 1                                    # zero-padding of the labels already there (S01)
        d = self.root / subject_id
        if d.is_dir():
            for s in d.iterdir():
                if not s.is_dir() or s.name.startswith("."):
                    continue
                no = _read_json(s / "visit.json").get("session_no")
                m = re.fullmatch(r"[Ss](\d+)", s.name)
                if m:
                    width = max(width, len(m.group(1)))
                numbers.append(int(no) if isinstance(no, int) else (int(m.group(1)) if m else 0))
        try:
            numbers.append(int(self.last_visit(subject_id).get("session_no") or 0))
        except (TypeError, ValueError):
            pass
        n = max(numbers) + 1
        label = f"S{n:0{width}d}"
        while (d / label).exists():
            n += 1
            label = f"S{n:0{width}d}"
        return label, n

    def last_visit(self, subject_id: str) -> dict[str, Any]:
        """Metadata of the patient's latest visit (highest session number): the studio's
        ``visit.json`` files, else what the recordings say (sessions recorded elsewhere)."""
        from ..sessions.catalog import Catalog

        d = self.root / subject_id
        visits = [v for s in (d.iterdir() if d.is_dir() else ()) if s.is_dir() and (v := self.visit(subject_id, s.name))]
        if not visits:
            with Catalog(self.root) as cat:
                cat.refresh()
                df = cat.entries(subject_id)
            visits = [m for m in (df["metadata"] if len(df) else []) if isinstance(m, dict) and m]
        return dict(max(visits, key=lambda v: v.get("session_no", 0) or 0)) if visits else {}

    def session_dir(self, subject_id: str, session: str) -> Path:
        return self.root / subject_id / session

    def visit(self, subject_id: str, session: str) -> dict[str, Any]:
        return _read_json(self.session_dir(subject_id, session) / "visit.json")

    def save_visit(self, subject_id: str, session: str, values: dict[str, Any]) -> dict[str, Any]:
        """Validate and save the visit form; write it into the session's trials already recorded.

        Returns the validated metadata. Raises InputError (one line naming the field).
        """
        clean = {k: v for k, v in values.items() if v not in (None, "")}
        meta = validate_metadata(clean)
        if "session_no" not in meta:
            raise InputError("session number is required (1 = baseline)")
        if "date" not in meta:
            raise InputError("visit date is required (YYYY-MM-DD)")
        d = self.session_dir(subject_id, session)
        _write_json(d / "visit.json", meta)
        for f in self.trial_files(subject_id, session):
            update_file_metadata(f, meta)
        return meta

    # -- trials ----------------------------------------------------------------------------
    def trial_files(self, subject_id: str, session: str) -> list[Path]:
        d = self.session_dir(subject_id, session)
        return sorted(d.glob("*.h5"), key=lambda p: _natural(p.stem)) if d.is_dir() else []

    def next_trial(self, subject_id: str, session: str, *, create: bool = True) -> tuple[str, Path]:
        """Next automatic trial name ``T<k>`` (kept and discarded trials both count) and its path.

        ``create``: make the session folder (else only say what the name would be).
        """
        d = self.session_dir(subject_id, session)
        used = [p.stem for p in d.glob("*.h5")] + [p.stem for p in (d / ".discarded").glob("*.h5")]
        ks = [int(m.group(1)) for s in used if (m := re.fullmatch(r"T(\d+)", s))]
        k = max(ks, default=0) + 1
        if create:
            d.mkdir(parents=True, exist_ok=True)
        return f"T{k}", d / f"T{k}.h5"

    def trial_log(self, subject_id: str, session: str) -> dict[str, Any]:
        return _read_json(self.session_dir(subject_id, session) / "trials.json")

    def log_trial(self, subject_id: str, session: str, trial: str, entry: dict[str, Any]) -> None:
        path = self.session_dir(subject_id, session) / "trials.json"
        data = _read_json(path)
        data[trial] = {**data.get(trial, {}), **entry}
        _write_json(path, data)

    def discard_trial(self, path: Path) -> Path:
        """Move a trial to the session's ``.discarded/`` folder (never deleted); return the new path."""
        dest = path.parent / ".discarded" / path.name
        dest.parent.mkdir(exist_ok=True)
        try:
            os.replace(path, dest)
        except OSError as exc:
            raise OutputError(f"{path}: cannot move it to {dest.parent} ({exc.strerror or exc})") from exc
        return dest

    def unclean_files(self) -> list[Path]:
        """Recordings left open by a killed recorder (``gaitpf repair`` makes them normal files)."""
        from ..sessions.catalog import Catalog

        with Catalog(self.root) as cat:
            cat.refresh()
            df = cat.entries()
        if not len(df):
            return []
        return [Path(f) for f, c in zip(df["file"], df["closed_cleanly"]) if not int(c or 0) and not _repaired(Path(f))]
