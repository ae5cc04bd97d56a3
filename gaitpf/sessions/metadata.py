"""Session metadata: the fields, their validation, and adding them to existing recordings.

Session metadata lives in each trial file's root attribute ``metadata`` (a JSON object,
HDF5 schema v1, see ``docs/hdf5_schema.md``). It can be given when recording
(``Recording.metadata``) or added later with :func:`update_file_metadata`
(``gaitpf session set``), which rewrites only that attribute — atomically: a copy of the
file gets the new attribute and then replaces the original, so a crash leaves the old
file intact.

Subject ids must be pseudonymous codes (``PF001``), never names: :func:`check_subject_id`
accepts only short codes of letters, digits, ``-``, ``_`` and ``.``.
"""
from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, OutputError, SchemaError

__all__ = [
    "SESSION_FIELDS",
    "PHASES",
    "REQUIRED_FOR_REPORT",
    "check_subject_id",
    "validate_metadata",
    "missing_fields",
    "read_file_metadata",
    "update_file_metadata",
]

log = logging.getLogger(__name__)

#: Session metadata keys → (type name, description). Stored in the ``metadata`` attribute.
SESSION_FIELDS: dict[str, tuple[str, str]] = {
    "date": ("date", "session date, ISO YYYY-MM-DD"),
    "session_no": ("int", "session number (1 = baseline; orders the sessions)"),
    "treatment": ("str", "treatment / study arm (e.g. 'insoles+stretching')"),
    "affected_side": ("side", "painful/affected side: left, right or none"),
    "pain_vas": ("float", "pain score on a 0–10 visual analogue scale"),
    "condition": ("str", "shoe / walking condition (e.g. 'own shoes, 10 m walkway')"),
    "walking_speed_m_s": ("float", "walking speed in m/s, if measured (stopwatch, treadmill)"),
    "notes": ("str", "free notes (no names or other identifying data)"),
    "phase": ("phase", "baseline, treatment or follow-up; two or more baseline sessions (before treatment) "
                       "give the between-session MDC"),
}

#: Accepted values of ``phase``.
PHASES: tuple[str, ...] = ("baseline", "treatment", "follow-up")

#: Fields whose absence the report mentions.
REQUIRED_FOR_REPORT: tuple[str, ...] = ("date", "session_no", "treatment", "affected_side", "pain_vas")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def check_subject_id(subject_id: str) -> str:
    """Return ``subject_id`` if it is a pseudonymous code, else raise InputError.

    A code is 1–40 characters of letters, digits, ``-``, ``_``, ``.``, starting with a
    letter or digit (no spaces, so ``"Jane Doe"`` is refused). gaitpf cannot tell a
    code from a name, so keep the key that maps codes to people outside the recordings.
    """
    s = str(subject_id)
    if not _ID_RE.match(s):
        raise InputError(
            f"subject id {s!r} is not a pseudonymous code; use 1–40 letters/digits/-/_/. without spaces "
            "(e.g. PF001) and keep names out of files and folder names"
        )
    return s


def _as_float(key: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"session metadata {key}={value!r} is not a number") from None
    if not math.isfinite(x):
        raise InputError(f"session metadata {key}={value!r} must be a finite number")
    return x


def validate_metadata(meta: Mapping[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """Check and normalise session metadata.

    Parameters
    ----------
    meta : mapping
        Keys of :data:`SESSION_FIELDS` (other keys are kept unchanged). ``None`` values
        are dropped.
    strict : bool
        Raise on an invalid value (True), or drop it with a log warning (False, for
        reading files written by others).

    Returns
    -------
    dict
        ``date`` as ``YYYY-MM-DD``, ``session_no`` int ≥ 0, ``pain_vas`` float in 0–10,
        ``affected_side`` in {"left", "right", "none"}, ``walking_speed_m_s`` > 0.

    Raises
    ------
    InputError
        (strict) a value is invalid; the message names it and the accepted range.
    """
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if value is None:
            continue
        try:
            out[key] = _validate_one(key, value)
        except InputError as exc:
            if strict:
                raise
            log.warning("ignoring invalid session metadata: %s", exc)
    return out


def _validate_one(key: str, value: Any) -> Any:
    if key == "date":
        text = str(value).strip()
        try:
            return _dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise InputError(f"session metadata date={value!r} is not a date; use YYYY-MM-DD") from None
    if key == "session_no":
        try:
            n = int(str(value).strip())
        except ValueError:
            raise InputError(f"session metadata session_no={value!r} is not a whole number") from None
        if n < 0:
            raise InputError(f"session metadata session_no={n} must be ≥ 0")
        return n
    if key == "pain_vas":
        x = _as_float(key, value)
        if not 0.0 <= x <= 10.0:
            raise InputError(f"session metadata pain_vas={x:g} is outside the 0–10 VAS scale")
        return x
    if key == "walking_speed_m_s":
        x = _as_float(key, value)
        if not 0.05 <= x <= 5.0:
            raise InputError(f"session metadata walking_speed_m_s={x:g} is not a walking speed (0.05–5 m/s)")
        return x
    if key == "affected_side":
        s = str(value).strip().lower()
        if s not in ("left", "right", "none"):
            raise InputError(f"session metadata affected_side={value!r} must be left, right or none")
        return s
    if key == "phase":
        s = str(value).strip().lower()
        if s not in PHASES:
            raise InputError(f"session metadata phase={value!r} must be one of {', '.join(PHASES)}")
        return s
    if key in ("treatment", "condition", "notes"):
        return str(value).strip()
    return value


def missing_fields(meta: Mapping[str, Any], fields: tuple[str, ...] = REQUIRED_FOR_REPORT) -> list[str]:
    """Fields of ``fields`` that ``meta`` lacks (or holds empty)."""
    return [f for f in fields if meta.get(f) in (None, "")]


def read_file_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata`` attribute of a gaitpf HDF5 file (without reading samples)."""
    from ..io.hdf5 import open_hdf5
    from ..io.hdf5_schema import from_json

    p = Path(path)
    with open_hdf5(p) as (f, _swmr):
        if "metadata" not in f.attrs:
            raise SchemaError(f"{p}: root attribute 'metadata' is missing; is this a gaitpf HDF5 recording?")
        return from_json(f.attrs["metadata"], what=f"{p}: root attribute 'metadata'")


def update_file_metadata(
    path: str | os.PathLike[str], changes: Mapping[str, Any], *, remove: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Merge ``changes`` into a recording's session metadata (atomically) and return it.

    Parameters
    ----------
    path : path-like
        A gaitpf HDF5 recording (closed; not being recorded).
    changes : mapping
        New values (validated with :func:`validate_metadata`).
    remove : tuple of str
        Keys to delete.

    Raises
    ------
    InputError
        Invalid value, missing file, or the file is still open in a recorder.
    OutputError
        The directory is not writable.
    """
    from ..io.filelock import locked

    p = Path(path)
    new = validate_metadata(changes)
    if not p.is_file():
        raise InputError(f"{p}: no such recording")
    with locked(p, what="gaitpf session set", error=InputError):  # never under a running recorder
        return _rewrite_metadata(p, new, remove)


def _rewrite_metadata(p: Path, new: dict[str, Any], remove: tuple[str, ...]) -> dict[str, Any]:
    """:func:`update_file_metadata` under the recording's lock."""
    import h5py

    from ..io.atomic import atomic_path
    from ..io.hdf5_schema import to_json

    meta = read_file_metadata(p)
    for key in remove:
        meta.pop(key, None)
    meta.update(new)
    with atomic_path(p) as tmp:
        shutil.copy2(p, tmp)
        try:
            with h5py.File(tmp, "r+") as f:
                if not bool(f.attrs.get("closed_cleanly", True)):
                    raise InputError(
                        f"{p}: the recording was not closed cleanly (still recording, or the recorder was "
                        "killed); run `gaitpf repair` first"
                    )
                f.attrs["metadata"] = to_json(meta)
        except OSError as exc:
            raise OutputError(f"{p}: cannot rewrite the metadata attribute ({exc})") from exc
    log.info("updated session metadata of %s: %s", p, sorted(new))
    return meta
