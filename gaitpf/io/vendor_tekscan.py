"""Tekscan ASCII exports: F-Scan movie (``.asf``) and the I-Scan CSV variant (one sensor per file).

Method
------
* Header ``KEY value`` lines up to ``ASCII_DATA @@`` (``ROWS``, ``COLS``,
  ``ROW_SPACING``/``COL_SPACING`` with unit, ``SENSEL_AREA`` with unit,
  ``SECONDS_PER_FRAME``, ``UNITS``, ``START_FRAME``/``END_FRAME``, ``VERSION``,
  ``SENSOR_TYPE``, ``MIRROR_COL``); then ``Frame N`` blocks of ``ROWS`` lines of ``COLS``
  comma-separated values (``B`` = sensel outside the insole); a closing ``@@``.
* I-Scan frame lines carry the frame's relative time (s) in the second field: the rate
  comes from those (:func:`timing_report`); F-Scan frames carry only their number, so the
  rate is ``1 / SECONDS_PER_FRAME`` and missing frame numbers are gaps.
* Units: ``KPa``/``PSI``/``MPa``… → kPa; ``raw`` stays ``au`` (uncalibrated). Sensel area
  (``SENSEL_AREA``) is stored per sensor, so force = pressure × area.
* One file is one foot. Its side comes from the naming rule
  (:func:`gaitpf.io.pairing.side_from_name`); without a match it is assumed ``left`` and
  ``source["side"]`` says so. Two files pair with ``gaitpf import LEFT --right RIGHT``.
* A cut export (no closing ``@@``, fewer frames than ``END_FRAME − START_FRAME + 1``,
  an incomplete frame) is refused.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ..errors import FormatError, InputError
from ..model import FootSignals, Recording
from .pairing import side_from_name
from .vendor_common import provenance, gaps_from_time, timing_report, to_kpa
from .vendor_grid import grid_layout_from_mask

__all__ = ["read_tekscan"]

log = logging.getLogger(__name__)
_LEN_MM = {"mm": 1.0, "millimeters": 1.0, "cm": 10.0, "centimeters": 10.0, "in": 25.4, "inches": 25.4}
_AREA_MM2 = {"mm2": 1.0, "cm2": 100.0, "in2": 645.16, "sq.in.": 645.16}


def _number_unit(p: Path, key: str, text: str, table: dict[str, float]) -> float:
    m = re.match(r"\s*([-+0-9.eE]+)\s*(\S*)", text)
    if not m:
        raise FormatError(f"{p}: header {key} {text!r} is not '<number> <unit>'")
    unit = m.group(2).lower() or next(iter(table))
    if unit not in table:
        raise FormatError(f"{p}: header {key} has unit {m.group(2)!r}; gaitpf knows {', '.join(table)}")
    return float(m.group(1)) * table[unit]


def read_tekscan(path: str | Path) -> Recording:
    """Read a Tekscan F-Scan ``.asf`` / I-Scan CSV ASCII movie as a one-foot :class:`Recording`.

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Missing header keys, unknown units, a cut export, a frame of the wrong shape,
        or a sensel mask that changes between frames.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n")
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
    head, sep, body = text.partition("ASCII_DATA @@")
    if not sep:
        raise FormatError(f"{p}: no 'ASCII_DATA @@' line; not a Tekscan ASCII export")
    hdr: dict[str, str] = {}
    for line in head.split("\n"):
        parts = line.strip().split(None, 1)
        if parts and re.fullmatch(r"[A-Z_0-9]+", parts[0]):
            hdr[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    for key in ("ROWS", "COLS", "ROW_SPACING", "COL_SPACING", "SECONDS_PER_FRAME", "UNITS"):
        if key not in hdr:
            raise FormatError(f"{p}: Tekscan header key {key} is missing")
    n_rows, n_cols = int(hdr["ROWS"]), int(hdr["COLS"])
    if "\n@@" not in body:
        raise FormatError(f"{p}: no closing '@@' line; the export is cut")
    body = body[: body.rindex("\n@@")]
    blocks = re.split(r"^Frame\s+", body, flags=re.M)[1:]
    if not blocks:
        raise FormatError(f"{p}: no 'Frame N' blocks")
    numbers = np.empty(len(blocks), dtype=np.int64)
    rel_t = np.full(len(blocks), np.nan)
    cells = []
    for i, block in enumerate(blocks):
        first, _, grid = block.partition("\n")
        fields = [f.strip() for f in first.split(",")]
        try:
            numbers[i] = int(fields[0])
        except ValueError:
            raise FormatError(f"{p}: frame header 'Frame {first[:30]}' has no frame number") from None
        if len(fields) > 1 and fields[1]:
            try:
                rel_t[i] = float(fields[1])
            except ValueError:
                pass
        lines = [ln for ln in grid.split("\n") if ln.strip()]
        if len(lines) != n_rows or any(ln.count(",") != n_cols - 1 for ln in lines):
            raise FormatError(f"{p}: frame {numbers[i]} is not {n_rows} rows x {n_cols} values; the export is cut or malformed")
        cells.append(",".join(lines))
    try:
        flat = np.array(",".join(cells).replace("B", "nan").split(","), dtype=float)
    except ValueError as exc:
        raise FormatError(f"{p}: a sensel value is not a number or B ({exc})") from exc
    frames = flat.reshape(len(blocks), n_rows, n_cols)
    inside = np.isfinite(frames[0])
    if not np.array_equal(np.isfinite(frames).all(axis=0), inside) or not inside.any():
        raise FormatError(f"{p}: the B (outside the insole) mask changes between frames or is empty")
    if "START_FRAME" in hdr and "END_FRAME" in hdr:
        expected = int(hdr["END_FRAME"]) - int(hdr["START_FRAME"]) + 1
        if len(blocks) < expected:
            raise FormatError(f"{p}: {len(blocks)} frames but the header announces {expected}; the export is cut")
    unit_text = hdr["UNITS"].strip()
    if unit_text.lower() == "raw":
        factor, unit = 1.0, "au"
    else:
        factor, unit = to_kpa(p, unit_text), "kPa"
    spf = float(hdr["SECONDS_PER_FRAME"].split()[0])
    if np.isfinite(rel_t).all():
        t = rel_t - rel_t[0]
        timing = timing_report(p, t)
        timing["from"] = "per-frame times"
    else:
        t = (numbers - numbers[0]) * spf
        timing = timing_report(p, t)
        timing["from"] = "frame numbers x SECONDS_PER_FRAME"
    interval = timing["median_interval_s"]
    if abs(interval - spf) > 0.01 * spf:
        log.warning("%s: frame times give %.6g s per frame, the header says %.6g", p, interval, spf)
    guessed = side_from_name(p)
    side = guessed or "left"
    area = _number_unit(p, "SENSEL_AREA", hdr["SENSEL_AREA"], _AREA_MM2) if "SENSEL_AREA" in hdr else None
    layout = grid_layout_from_mask(
        inside, row_mm=_number_unit(p, "ROW_SPACING", hdr["ROW_SPACING"], _LEN_MM),
        col_mm=_number_unit(p, "COL_SPACING", hdr["COL_SPACING"], _LEN_MM), side=side, area_mm2=area,
        layout_id=f"tekscan-{hdr.get('SENSOR_TYPE', 'grid').lower()}-{n_rows}x{n_cols}",
        mirror_col=hdr.get("MIRROR_COL", "0").strip() == "1", mirror_row=hdr.get("MIRROR_ROW", "0").strip() == "1",
    )
    quality, gaps = gaps_from_time(t, interval, side)
    foot = FootSignals(
        side=side, values=(frames[:, inside] * factor).astype(np.float32), unit=unit,
        sampling_rate_hz=timing["sampling_rate_hz"], time_s=t, sample_counter=numbers, quality=quality,
        layout=layout,
        device={"vendor": "Tekscan", "sensor_type": hdr.get("SENSOR_TYPE"), "hardware": hdr.get("HARDWARE"),
                "importer": "gaitpf.io.vendor_tekscan", "side_from_file_name": True},
    )
    variant = "F-Scan ASCII movie" if hdr.get("SENSOR_TYPE", "").upper() == "FSCAN" else "I-Scan ASCII (CSV)"
    source = {
        "format": "tekscan-ascii", "variant": variant, "vendor": "Tekscan",
        "software_version": hdr.get("VERSION"), "map_version": hdr.get("MAP_VERSION"),
        "units_in_file": unit_text, "recorded": hdr.get("TIME"), "timing": timing,
        "side": side if guessed else "left (assumed: the file does not say, and its name has no L/R mark)",
        "sensel_area_mm2": area,
        "force": "pressure x SENSEL_AREA" if area is not None and unit == "kPa" else "not known (raw units)",
    }
    prov = provenance(p)
    source.update(path=prov["path"], sha256=prov["sha256"])
    return Recording(feet={side: foot}, subject_id=prov["subject_id"], source=source, annotations=gaps)
