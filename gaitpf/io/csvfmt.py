"""The generic gaitpf CSV format (``docs/csv_format.md``): import and export.

A clinic can export from any insole software into this shape::

    # gaitpf-csv: 1
    # sampling_rate_hz: 100
    # unit: N
    # subject_id: P017
    time_s,left_heel,left_mth1,...,right_heel,right_mth1,...
    0.00,12.5,0,...

Header lines ``# key: value`` come first; then one column line; then data. Delimiter
``,``, ``;`` or tab (detected from the column line); decimal comma with ``# decimal: ,``
when the delimiter is not a comma. Empty cells and ``NaN`` are missing samples.
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError, OutputError, SignalError
from ..model import SIDES, FootSignals, Recording, SensorLayout
from .hdf5_schema import UNITS
from .provenance import content_sha256, pseudonym
from ..layouts import standard_layout

__all__ = ["read_csv_recording", "write_csv_recording", "CSV_FORMAT_VERSION"]

log = logging.getLogger(__name__)

CSV_FORMAT_VERSION = 1
_IDENTITY = ("subject_id", "session", "trial", "created_utc")
_LAYOUT_FIELDS = ("x_mm", "y_mm", "region", "ml_zone", "area_mm2")


def _read_header(p: Path, lines: list[str]) -> tuple[dict[str, tuple[str, int]], int]:
    """Parse leading ``# key: value`` lines; return ({key: (value, line_no)}, index of column line)."""
    header: dict[str, tuple[str, int]] = {}
    i = 0
    while i < len(lines) and (lines[i].startswith("#") or not lines[i].strip()):
        body = lines[i].lstrip("#").strip()
        if ":" in body:
            key, value = body.split(":", 1)
            key = key.strip().lower().replace("-", "_").replace(" ", "_")
            if key in header:
                raise FormatError(f"{p}: line {i + 1}: header key {key!r} given twice (first on line {header[key][1]})")
            header[key] = (value.strip(), i + 1)
        i += 1
    if i >= len(lines):
        raise FormatError(f"{p}: no column line after the '# key: value' header; see docs/csv_format.md")
    return header, i


def _number(p: Path, header: dict[str, tuple[str, int]], key: str) -> float | None:
    if key not in header:
        return None
    text, line = header[key]
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{p}: line {line}: {key} must be a number, got {text!r}") from None
    return value


def _locate_bad_cell(p: Path, rows: list[str], first_line: int, delim: str, decimal: str) -> FormatError:
    for i, row in enumerate(rows):
        for j, cell in enumerate(row.split(delim)):
            tok = cell.strip()
            if tok == "" or tok.lower() == "nan":
                continue
            try:
                v = float(tok.replace(decimal, ".") if decimal != "." else tok)
            except ValueError:
                return FormatError(f"{p}: line {first_line + i}, column {j + 1}: {tok!r} is not a number")
            if not np.isfinite(v):
                return FormatError(f"{p}: line {first_line + i}, column {j + 1}: {tok!r} is not finite")
    return FormatError(f"{p}: cannot parse the data rows; see docs/csv_format.md")


def _layout(p: Path, header: dict[str, tuple[str, int]], side: str, names: list[str]) -> SensorLayout | None:
    key = f"{side}_layout" if f"{side}_layout" in header else "layout"
    if key not in header:
        return None
    layout_id, line = header[key]
    k = len(names)
    extra = {f: header.get(f"{side}_layout_{f}") for f in _LAYOUT_FIELDS}
    try:
        if extra["x_mm"] is not None:
            parts: dict[str, Any] = {}
            for f, item in extra.items():
                if item is None:
                    continue
                tokens = item[0].split()
                if len(tokens) != k:
                    raise FormatError(f"{p}: line {item[1]}: {side}_layout_{f} has {len(tokens)} entries for {k} sensors")
                parts[f] = tuple(tokens) if f in ("region", "ml_zone") else np.array(tokens, dtype=float)
            for f in ("y_mm", "region", "ml_zone"):
                if f not in parts:
                    raise FormatError(f"{p}: line {line}: custom layout {layout_id!r} needs '# {side}_layout_{f}:'")
            return SensorLayout(names=tuple(names), layout_id=layout_id, **parts)
        base = standard_layout(layout_id, side)
    except (SignalError, ValueError) as exc:
        raise FormatError(f"{p}: line {line}: {exc}") from exc
    if base.n_sensors != k:
        raise FormatError(f"{p}: line {line}: layout {layout_id!r} has {base.n_sensors} sensors but the file has {k} "
                          f"{side}_ columns")
    return dataclasses.replace(base, names=tuple(names))


def read_csv_recording(path: str | os.PathLike[str], *, sampling_rate_hz: float | None = None) -> Recording:
    """Read a gaitpf CSV file (see ``docs/csv_format.md``) into a Recording.

    Parameters
    ----------
    path : path-like
    sampling_rate_hz : float, optional
        The nominal rate (Hz) for a file whose header has no ``# sampling_rate_hz`` line
        (``--rate-hz`` on the command line). The rate is never guessed from ``time_s``:
        without either, the file is refused (the message suggests the rate ``time_s``
        implies); a header that states another rate is refused too.

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Anything that does not fit the format; the message names the line (1-based).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"{p}: no such file; check the path") from exc
    except UnicodeDecodeError as exc:
        raise FormatError(f"{p}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from exc
    except OSError as exc:
        raise InputError(f"{p}: cannot read the file ({exc.strerror})") from exc
    lines = text.splitlines()
    header, col_idx = _read_header(p, lines)
    col_line = lines[col_idx]
    delim = max([",", ";", "\t"], key=col_line.count)
    decimal = header.get("decimal", (".", 0))[0] or "."
    if decimal not in (".", ","):
        raise FormatError(f"{p}: line {header['decimal'][1]}: decimal must be '.' or ',', got {decimal!r}")
    if decimal == "," and delim == ",":
        raise FormatError(f"{p}: line {header['decimal'][1]}: a decimal comma needs ';' or tab as the delimiter")
    columns = [c.strip() for c in col_line.split(delim)]
    if not columns or columns[0] != "time_s":
        raise FormatError(f"{p}: line {col_idx + 1}: the first column must be 'time_s', got {columns[0]!r}; "
                          "see docs/csv_format.md")
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise FormatError(f"{p}: line {col_idx + 1}: duplicate column names {dup}")
    sensors: dict[str, list[int]] = {s: [] for s in SIDES}
    for j, c in enumerate(columns[1:], start=1):
        side = next((s for s in SIDES if c.startswith(f"{s}_") and len(c) > len(s) + 1), None)
        if side is None:
            raise FormatError(f"{p}: line {col_idx + 1}: column {j + 1} {c!r} must be 'left_<sensor>' or "
                              "'right_<sensor>'")
        sensors[side].append(j)
    if not any(sensors.values()):
        raise FormatError(f"{p}: line {col_idx + 1}: no left_<sensor> or right_<sensor> columns")
    rate = _number(p, header, "sampling_rate_hz")
    first = col_idx + 2  # 1-based line number of the first data row
    rows = lines[col_idx + 1:]
    while rows and not rows[-1].strip():
        rows.pop()
    if not rows:
        raise FormatError(f"{p}: no data rows after the column line {col_idx + 1}")
    counts = np.fromiter((r.count(delim) + 1 for r in rows), dtype=np.int64, count=len(rows))
    bad = np.flatnonzero(counts != len(columns))
    if bad.size:
        i = int(bad[0])
        hint = " (the file looks truncated)" if i == len(rows) - 1 else ""
        raise FormatError(f"{p}: line {first + i} has {counts[i]} fields, expected {len(columns)} like the column "
                          f"line{hint}")
    try:
        df = pd.read_csv(io.StringIO("\n".join(rows)), sep=delim, header=None, decimal=decimal, dtype="float64",
                         na_values=["", "nan", "NaN", "NAN"], keep_default_na=False, skipinitialspace=True,
                         skip_blank_lines=False, engine="c")
    except (ValueError, pd.errors.ParserError):
        raise _locate_bad_cell(p, rows, first, delim, decimal) from None
    data = df.to_numpy(dtype="float64")
    if data.shape != (len(rows), len(columns)) or np.isinf(data).any():
        raise _locate_bad_cell(p, rows, first, delim, decimal)
    t = data[:, 0]
    if np.isnan(t).any():
        raise FormatError(f"{p}: line {first + int(np.flatnonzero(np.isnan(t))[0])}: time_s is empty or NaN")
    steps = np.diff(t)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise FormatError(f"{p}: line {first + i}: time_s {float(t[i])!r} does not increase (previous {float(t[i - 1])!r})")
    if rate is None and sampling_rate_hz is None:
        guess = f" (time_s suggests {1.0 / np.median(steps):.6g} Hz)" if len(steps) else ""
        raise FormatError(f"{p}: no sampling rate: pass --rate-hz HZ (Python: sampling_rate_hz=HZ) or add "
                          f"'# sampling_rate_hz: <Hz>' to the header{guess}; see docs/csv_format.md")
    if rate is not None and not (np.isfinite(rate) and rate > 0):
        raise FormatError(f"{p}: line {header['sampling_rate_hz'][1]}: sampling_rate_hz must be > 0, got {rate}")
    if sampling_rate_hz is not None:
        if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
            raise InputError(f"{p}: --rate-hz must be > 0, got {sampling_rate_hz}")
        if rate is not None and not np.isclose(rate, sampling_rate_hz, rtol=1e-9, atol=0.0):
            raise FormatError(f"{p}: line {header['sampling_rate_hz'][1]}: the header says {rate:g} Hz but "
                              f"--rate-hz {sampling_rate_hz:g} was given; drop one of them")
        rate = float(sampling_rate_hz)
    feet: dict[str, FootSignals] = {}
    for side in SIDES:
        idx = sensors[side]
        if not idx:
            continue
        unit = header.get(f"{side}_unit", header.get("unit", ("au", 0)))
        if unit[0] not in UNITS:
            raise FormatError(f"{p}: line {unit[1]}: unit must be one of {', '.join(UNITS)}, got {unit[0]!r}")
        values = data[:, idx]
        present = np.flatnonzero(~np.isnan(values).all(axis=1))
        if present.size == 0:
            raise FormatError(f"{p}: every {side}_ value is empty or NaN; drop those columns or fix the export")
        n = int(present[-1]) + 1  # trailing rows where this foot is empty: the other foot is longer
        names = [columns[j][len(side) + 1:] for j in idx]
        device = header.get(f"{side}_device")
        try:
            feet[side] = FootSignals(
                side=side, values=values[:n], unit=unit[0], sampling_rate_hz=float(rate), time_s=t[:n].copy(),
                layout=_layout(p, header, side, names),
                device=json.loads(device[0]) if device else {"importer": "csv"},
            )
        except (SignalError, json.JSONDecodeError) as exc:
            raise FormatError(f"{p}: {side} foot: {exc}") from exc
    known = {"gaitpf_csv", "sampling_rate_hz", "unit", "decimal", "body_mass_kg", "metadata", "layout", *_IDENTITY}
    known |= {f"{s}_{k}" for s in SIDES for k in ("unit", "layout", "device", *(f"layout_{f}" for f in _LAYOUT_FIELDS))}
    metadata: dict[str, Any] = {}
    if "metadata" in header:
        try:
            metadata = json.loads(header["metadata"][0])
        except json.JSONDecodeError as exc:
            raise FormatError(f"{p}: line {header['metadata'][1]}: metadata must be a JSON object ({exc})") from exc
    metadata.update({k: v for k, (v, _) in header.items() if k not in known})
    mass = _number(p, header, "body_mass_kg")
    ident = {k: header[k][0] for k in _IDENTITY if k in header}
    digest = content_sha256(p)
    # no subject id in the file: a pseudonym from the content, never the file stem (often a name)
    return Recording(
        feet=feet, subject_id=ident.get("subject_id") or pseudonym(digest), session=ident.get("session", "1"),
        trial=ident.get("trial", "1"), body_mass_kg=mass if mass is not None and np.isfinite(mass) else None,
        source={"format": "csv", "path": str(p), "sha256": digest}, metadata=metadata,
        **({"created_utc": ident["created_utc"]} if "created_utc" in ident else {}),
    )


def _one_line(value: Any, what: str) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise OutputError(f"{what} contains a line break and cannot go into a CSV header")
    return text


def write_csv_recording(path: str | os.PathLike[str], rec: Recording) -> None:
    """Write a Recording in the gaitpf CSV format (atomically).

    The CSV holds one ``time_s`` column: the feet must share their time grid (a
    shorter foot's trailing cells are left empty). Annotations, quality flags and
    sample counters are not part of the CSV format.
    """
    from .atomic import atomic_path

    n = max(f.n_samples for f in rec.feet.values())
    longest = max(rec.feet.values(), key=lambda f: f.n_samples)
    t = longest.times_s()
    for foot in rec.feet.values():
        if not np.array_equal(foot.times_s(), t[: foot.n_samples]):
            raise OutputError(f"{path}: the feet have different time grids; a gaitpf CSV has one time_s column "
                              "(use HDF5 instead)")
    head = [f"# gaitpf-csv: {CSV_FORMAT_VERSION}", f"# sampling_rate_hz: {rec.sampling_rate_hz!r}"]
    for key in _IDENTITY:
        head.append(f"# {key}: {_one_line(getattr(rec, key), key)}")
    if rec.body_mass_kg is not None:
        head.append(f"# body_mass_kg: {float(rec.body_mass_kg)!r}")
    if rec.metadata:
        head.append(f"# metadata: {json.dumps(rec.metadata, ensure_ascii=False, sort_keys=True, default=str)}")
    cols: dict[str, np.ndarray] = {"time_s": t}
    for side in rec.sides:
        foot = rec.feet[side]
        head.append(f"# {side}_unit: {foot.unit}")
        head.append(f"# {side}_device: {json.dumps(foot.device, ensure_ascii=False, sort_keys=True, default=str)}")
        names = foot.layout.names if foot.layout is not None else tuple(f"s{j + 1}" for j in range(foot.n_sensors))
        lay = foot.layout
        if lay is not None:
            head.append(f"# {side}_layout: {lay.layout_id}")
            for f in _LAYOUT_FIELDS:
                v = getattr(lay, f)
                if v is not None:
                    head.append(f"# {side}_layout_{f}: " + " ".join(str(x) if isinstance(x, str) else repr(float(x))
                                                                   for x in v))
        for j, name in enumerate(names):
            if any(ch in name for ch in ",;\t \n"):
                raise OutputError(f"{path}: sensor name {name!r} contains a delimiter or space")
            col = np.full(n, np.nan)
            col[: foot.n_samples] = np.asarray(foot.values[:, j], dtype="float64")
            cols[f"{side}_{name}"] = col
    frame = pd.DataFrame(cols)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join(head) + "\n")
            frame.to_csv(fh, index=False, na_rep="", lineterminator="\n")
