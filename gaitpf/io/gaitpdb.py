"""Import PhysioNet "Gait in Parkinson's Disease" (gaitpdb) walks.

File format (the database's ``format.txt``): 19 tab-separated numeric columns, CRLF,
no header: time (s), L1..L8 and R1..R8 vertical force (N) of eight Ultraflex sensors
under each foot, then total left and total right force (N). 100 Hz. In every file of the
database the second row repeats the first sample exactly; the importer drops that
duplicate (recorded in ``source["dropped_lines"]``).

The file's own time column is validated (strictly increasing, 10 ms steps) but not
kept: it is written with four decimals from an accumulating float clock, so it drifts
by up to −8.5 ms over 2 minutes. Samples get the nominal 100 Hz grid instead.

Reference: Hausdorff JM, Gait in Parkinson's Disease 1.0.0, PhysioNet (2008); Goldberger
AL et al., Circulation 101(23):e215 (2000). Data licence: ODC-By 1.0.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError
from ..model import FootSignals, Recording
from ..layouts import gaitpdb_layout
from .provenance import content_sha256, pseudonym

__all__ = ["read_gaitpdb", "looks_like_gaitpdb", "read_demographics", "N_COLUMNS", "SAMPLING_RATE_HZ"]

log = logging.getLogger(__name__)

N_COLUMNS = 19
SAMPLING_RATE_HZ = 100.0
_NAME = re.compile(r"^(?P<study>Ga|Ju|Si)(?P<group>Co|Pt)(?P<num>\d+)_(?P<walk>\d+)$")
_EXPECT = "19 tab-separated numbers (time, L1..L8, R1..R8, total left, total right)"


def looks_like_gaitpdb(path: str | os.PathLike[str]) -> bool:
    """True if the first line has 19 tab-separated numbers (cheap sniff for dispatch)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4096).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    fields = first.split("\t")
    if len(fields) != N_COLUMNS:
        return False
    try:
        [float(x) for x in fields]
    except ValueError:
        return False
    return True


def _bad_line(p: Path, lines: list[str]) -> FormatError:
    """Locate the first line that does not parse as 19 finite numbers."""
    for i, line in enumerate(lines):
        for j, tok in enumerate(line.split("\t")):
            try:
                v = float(tok)
            except ValueError:
                return FormatError(f"{p}: line {i + 1}, column {j + 1}: {tok!r} is not a number; expected {_EXPECT}")
            if not np.isfinite(v):
                return FormatError(
                    f"{p}: line {i + 1}, column {j + 1}: {tok!r} is not a finite number; gaitpdb walks have no "
                    "missing values, so the file is damaged"
                )
    return FormatError(f"{p}: cannot parse the numbers; expected {_EXPECT}")


def _parse(p: Path) -> np.ndarray:
    try:
        raw = p.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{p}: no such file; check the path") from exc
    except OSError as exc:
        raise InputError(f"{p}: cannot read the file ({exc.strerror})") from exc
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{p}: byte {exc.start} is not ASCII text; expected a gaitpdb walk with {_EXPECT}") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 3:
        raise FormatError(f"{p}: only {len(lines)} lines; a gaitpdb walk has thousands of rows of {_EXPECT}")
    ncols = np.fromiter((ln.count("\t") + 1 for ln in lines), dtype=np.int64, count=len(lines))
    bad = np.flatnonzero(ncols != N_COLUMNS)
    if bad.size:
        i = int(bad[0])
        what = "the file is truncated" if i == len(lines) - 1 else "the file is damaged"
        raise FormatError(f"{p}: line {i + 1} has {ncols[i]} columns, expected {_EXPECT}; {what}")
    try:
        data = np.array([ln.split("\t") for ln in lines], dtype=np.float64)
    except ValueError:
        raise _bad_line(p, lines) from None
    if not np.isfinite(data).all():
        raise _bad_line(p, lines)
    return data


def read_demographics(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Parse gaitpdb ``demographics.txt`` → ``{subject: {group, age_years, height_m, body_mass_kg, speeds}}``.

    Heights are in cm for the Ju study and metres for Ga/Si; they are returned in metres.
    Weights are kg. ``NaN`` becomes ``None``.
    """
    rows = Path(path).read_text(encoding="ascii", errors="replace").splitlines()
    header = [h.strip() for h in rows[0].split("\t")]
    out: dict[str, dict[str, Any]] = {}

    def num(v: str) -> float | None:
        try:
            x = float(v)
        except ValueError:
            return None
        return x if np.isfinite(x) else None

    for line in rows[1:]:
        cells = [c.strip() for c in line.split("\t")]
        if not cells or not cells[0]:
            continue
        rec = dict(zip(header, cells))
        height = num(rec.get("Height", ""))
        if height is not None and height > 3.0:
            height = height / 100.0
        group = num(rec.get("Group", ""))
        out[cells[0]] = {
            "group": {1.0: "parkinson", 2.0: "control"}.get(group or 0.0, "unknown"),
            "age_years": num(rec.get("Age", "")),
            "height_m": height,
            "body_mass_kg": num(rec.get("Weight", "")),
            "hoehn_yahr": num(rec.get("HoehnYahr", "")),
            "speed_m_s": {k[6:]: num(v) for k, v in rec.items() if k.startswith("Speed_")},
        }
    return out


def read_gaitpdb(path: str | os.PathLike[str]) -> Recording:
    """Read one gaitpdb walk (``*.txt``) into a :class:`~gaitpf.model.Recording`.

    The subject id is a pseudonym from the file's content hash (``anon-XXXXXXXX``, see
    :mod:`gaitpf.io.provenance`), never the file name. A name following the PhysioNet
    scheme (``GaCo01_01``: study, group, subject number, walk) gives the trial (``01``) and
    the study/group metadata, and, if ``demographics.txt`` sits in the same folder, the
    subject's body mass (kg), age, height and this walk's speed (``body_mass_kg`` and
    ``metadata``).

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Not 19 numeric columns on every line (the message gives the line), non-finite
        values, or time not increasing.
    """
    p = Path(path)
    data = _parse(p)
    dropped: list[int] = []
    if np.array_equal(data[0, 1:], data[1, 1:]):
        data = np.delete(data, 1, axis=0)
        dropped.append(2)
    t = data[:, 0]
    steps = np.diff(t)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        line = i + 1 + (1 if dropped and i >= 1 else 0)
        raise FormatError(f"{p}: line {line}: time {t[i]} s does not increase; the rows are out of order or damaged")
    step_s = float(np.median(steps))
    if abs(step_s * SAMPLING_RATE_HZ - 1.0) > 0.02:
        raise FormatError(
            f"{p}: time steps are {step_s * 1000:.3g} ms but gaitpdb walks are sampled at 100 Hz (10 ms); "
            "this is not a gaitpdb walk"
        )
    warnings: list[str] = []
    for side, cols, total_col in (("left", slice(1, 9), 17), ("right", slice(9, 17), 18)):
        err = float(np.max(np.abs(data[:, cols].sum(axis=1) - data[:, total_col])))
        if err > 0.05:
            msg = f"{side} total column differs from the sum of the 8 sensors by up to {err:.3g} N"
            log.warning("%s: %s", p, msg)
            warnings.append(msg)
    m = _NAME.match(p.stem)
    # The PhysioNet code in the name only finds the demographics row; the recording's subject id
    # is a pseudonym from the content (a renamed file may carry a person's name).
    code, trial = (f"{m['study']}{m['group']}{m['num']}", m["walk"]) if m else (None, "1")
    digest = content_sha256(p)
    metadata: dict[str, Any] = {}
    if m:
        metadata = {"study": m["study"], "group": "control" if m["group"] == "Co" else "parkinson",
                    "walk": m["walk"], "dual_task": m["walk"] == "10"}
    body_mass_kg = None
    demo_path = p.parent / "demographics.txt"
    if code is not None and demo_path.is_file():
        try:
            demo = read_demographics(demo_path).get(code)
        except (OSError, IndexError) as exc:
            log.warning("%s: cannot read %s (%s); no body mass", p, demo_path, exc)
            demo = None
        if demo:
            body_mass_kg = demo["body_mass_kg"]
            metadata.update(
                {"age_years": demo["age_years"], "height_m": demo["height_m"], "hoehn_yahr": demo["hoehn_yahr"],
                 "gait_speed_m_s": demo["speed_m_s"].get(trial)}
            )
    device = {"model": "Infotronic Ultraflex (8 force sensors)", "importer": "gaitpdb"}
    feet = {
        side: FootSignals(
            side=side, values=data[:, cols], unit="N", sampling_rate_hz=SAMPLING_RATE_HZ,
            layout=gaitpdb_layout(side), device=dict(device),
        )
        for side, cols in (("left", slice(1, 9)), ("right", slice(9, 17)))
    }
    source: dict[str, Any] = {
        "format": "gaitpdb",
        "path": str(p),  # in memory only (error messages); never written to a recording
        "sha256": digest,
        "database": "PhysioNet Gait in Parkinson's Disease 1.0.0 (ODC-By 1.0)",
        "dropped_lines": dropped,
        "note": ("line 2 repeated line 1 exactly and was dropped; " if dropped else "")
        + "time column validated and replaced by the nominal 100 Hz grid",
        "warnings": warnings,
    }
    return Recording(
        feet=feet, subject_id=pseudonym(digest), session="1", trial=trial, body_mass_kg=body_mass_kg,
        source=source, metadata=metadata,
    )
