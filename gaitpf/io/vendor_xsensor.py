"""XSENSOR CSV exports: per-frame blocks (``FRAME``/``SENSOR``/``SENSELS``) and the wide
one-row-per-frame variant.

Method
------
* **Block variant**: a ``Units:,<unit>`` line, then per frame ``FRAME,<n>``, ``Date,``,
  ``Time, hh:mm:ss.fff``, and per insole ``SENSOR,<name>`` (names end ``-LF`` / ``-RF``:
  the side) with ``Rows``, ``Columns``, ``Sensel Width (cm)``, ``Sensel Height (cm)``,
  summary keys (``Est. Load (N)`` is kept as the auxiliary channel
  ``vendor_est_load_n``), then ``SENSELS`` and ``Rows`` lines of values (blank lines in
  between are skipped). ``GROUP`` blocks (the vendor's regional summaries) are not
  imported. A frame without one insole's block is a lost frame for that foot (gap).
* **Wide variant**: a header row with a time column (``Time``/``Elapsed``…, seconds or
  ``hh:mm:ss.fff``), optionally ``Frame``, and one column per sensel named with its
  insole side (``LF``/``RF``) and its row and column (e.g. ``LF R3C7``, ``LF[3,7]``);
  one row per frame. Sensel size from ``Sensel Width/Height (cm)`` lines above the header
  when present, else area unknown.
* Time: seconds from the first frame (times of day wrap at midnight); the rate is
  ``1 / median(Δt)``; irregular timing is reported in ``source["timing"]``.
* Units: the ``Units`` (mmHg, kPa, PSI…) → kPa; a pressure key in another unit is
  refused as mixed units. Every sensel of the ``Rows × Columns`` grid is a sensor
  (cells outside the insole read 0 and carry no weight); positions per
  :mod:`gaitpf.io.vendor_grid` with the sensel size as spacing and area.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError
from ..model import FootSignals, Recording, empty_annotations
from .vendor_common import provenance, gaps_from_time, timing_report, to_kpa
from .vendor_grid import grid_layout_from_mask

__all__ = ["read_xsensor"]

log = logging.getLogger(__name__)
_SIDE = re.compile(r"(?:^|[-_\s\[(])(LF|RF)(?:$|[-_\s\])])")
_UNIT_KEY = re.compile(r"Pressure \(([^)]+)\)")
_CELL = re.compile(r"(?:^|[^A-Za-z])(LF|RF)\b.*?(\d+)\D+(\d+)\D*$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split(",")]


def _clock_s(p: Path, text: str) -> float:
    m = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d+)?)", text.strip())
    if not m:
        raise FormatError(f"{p}: time {text!r} is not hh:mm:ss.fff")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def _unwrap_day(t: np.ndarray) -> np.ndarray:
    """Seconds from the first value; a drop of more than 12 h is a midnight wrap."""
    wraps = np.concatenate([[0], np.cumsum(np.diff(t) < -43200)])
    return t + 86400.0 * wraps - t[0]


def read_xsensor(path: str | Path) -> Recording:
    """Read an XSENSOR CSV export (block or wide variant) into a :class:`Recording` in kPa.

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Unknown or mixed units, a sensor name without ``-LF``/``-RF``, a cut frame,
        sensels of the wrong shape, time that does not increase.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
    lines = text.split("\n")
    if not text.endswith("\n") and lines[-1].count(",") < max(ln.count(",") for ln in lines[:20]):
        raise FormatError(f"{p}: the last line is cut; the export is incomplete")
    units = [_cells(ln)[1] for ln in lines[:50] if ln.startswith("Units")]
    if not units:
        raise FormatError(f"{p}: no 'Units:' line; not an XSENSOR export")
    unit = units[0]
    other = {u for u in _UNIT_KEY.findall(text) if u != unit}
    if other:
        raise FormatError(f"{p}: mixed pressure units ({unit} and {', '.join(sorted(other))}) in one export")
    factor = to_kpa(p, unit)
    if any(ln.startswith("FRAME,") for ln in lines[:200]):
        feet_data, clock, frame_no = _blocks(p, lines)
        variant = "per-frame blocks"
    else:
        feet_data, clock, frame_no = _wide(p, lines)
        variant = "one row per frame"
    t_all = _unwrap_day(clock)
    timing = timing_report(p, t_all)
    feet, anns = {}, []
    for side, d in feet_data.items():
        sel = d["frames"]
        t = t_all[sel]
        quality, gaps = gaps_from_time(t, timing["median_interval_s"], side)
        anns.append(gaps)
        inside = np.ones((d["rows"], d["cols"]), bool)
        layout = grid_layout_from_mask(inside, row_mm=d["row_mm"], col_mm=d["col_mm"], side=side,
                                       area_mm2=d["row_mm"] * d["col_mm"] if d["row_mm"] else None,
                                       layout_id=f"xsensor-{d['rows']}x{d['cols']}")
        aux = {"vendor_est_load_n": np.asarray(d["load"], float)} if d.get("load") else {}
        feet[side] = FootSignals(
            side=side, values=(np.asarray(d["values"], float).reshape(len(sel), -1) * factor).astype(np.float32),
            unit="kPa", sampling_rate_hz=timing["sampling_rate_hz"], time_s=t,
            sample_counter=frame_no[sel] if frame_no is not None else None, quality=quality, layout=layout,
            device={"vendor": "XSENSOR Technology", "sensor": d["name"], "importer": "gaitpf.io.vendor_xsensor"},
            aux=aux,
        )
    if not feet:
        raise FormatError(f"{p}: no insole with a name ending -LF or -RF")
    source = {"format": "xsensor-csv", "variant": variant, "vendor": "XSENSOR Technology",
              "software_version": None, "units_in_file": unit, "timing": timing,
              "force": "pressure x sensel area (Sensel Width x Height)"}
    ann = pd.concat([a for a in anns if len(a)], ignore_index=True) if any(len(a) for a in anns) else empty_annotations()
    prov = provenance(p)
    source.update(path=prov["path"], sha256=prov["sha256"])
    return Recording(feet=feet, subject_id=prov["subject_id"], source=source, annotations=ann)


def _blocks(p: Path, lines: list[str]) -> tuple[dict, np.ndarray, np.ndarray]:
    feet: dict[str, dict] = {}
    clock: list[float] = []
    numbers: list[int] = []
    i, n = 0, len(lines)
    while i < n:
        c = _cells(lines[i])
        key = c[0]
        if key == "FRAME":
            numbers.append(int(c[1]))
            clock.append(np.nan)
        elif key == "Time" and numbers:
            clock[-1] = _clock_s(p, c[1])
        elif key == "SENSOR" and numbers:
            m = _SIDE.search(c[1])
            if not m:
                raise FormatError(f"{p}: line {i + 1}: sensor {c[1]!r} does not end in -LF or -RF")
            side = "left" if m.group(1) == "LF" else "right"
            meta: dict[str, str] = {}
            i += 1
            while i < n and not lines[i].startswith("SENSELS"):
                cc = _cells(lines[i])
                if cc[0] in ("FRAME", "SENSOR", "GROUP"):
                    raise FormatError(f"{p}: line {i + 1}: sensor block without SENSELS; the export is malformed")
                if cc[0]:
                    meta[cc[0]] = cc[1] if len(cc) > 1 else ""
                i += 1
            try:
                rows, cols = int(meta["Rows"]), int(meta["Columns"])
            except (KeyError, ValueError):
                raise FormatError(f"{p}: sensor {c[1]!r} block lacks Rows/Columns") from None
            grid = []
            i += 1
            while i < n and len(grid) < rows:
                cc = _cells(lines[i])
                if cc[0] in ("FRAME", "SENSOR", "GROUP"):
                    break
                if any(cc):
                    grid.append(cc[:cols])
                i += 1
            if len(grid) < rows:
                raise FormatError(f"{p}: frame {numbers[-1]}: {c[1]} has {len(grid)} of {rows} sensel rows; "
                                  "the export is cut")
            try:
                vals = np.array(grid, dtype=float)
            except ValueError:
                raise FormatError(f"{p}: frame {numbers[-1]}: non-numeric sensel in {c[1]}") from None
            d = feet.setdefault(side, {"name": c[1], "rows": rows, "cols": cols, "values": [], "frames": [],
                                       "load": [], "row_mm": float(meta.get("Sensel Height (cm)", "nan")) * 10,
                                       "col_mm": float(meta.get("Sensel Width (cm)", "nan")) * 10})
            if (rows, cols) != (d["rows"], d["cols"]):
                raise FormatError(f"{p}: frame {numbers[-1]}: {c[1]} changes size to {rows} x {cols}")
            if d["frames"] and d["frames"][-1] == len(numbers) - 1:
                raise FormatError(f"{p}: frame {numbers[-1]} holds two {side} insoles")
            d["values"].append(vals.reshape(-1))
            d["frames"].append(len(numbers) - 1)
            try:
                d["load"].append(float(meta.get("Est. Load (N)", "nan")))
            except ValueError:
                d["load"].append(np.nan)
            continue
        i += 1
    if not numbers:
        raise FormatError(f"{p}: no FRAME blocks")
    clk = np.asarray(clock, float)
    if np.isnan(clk).any():
        raise FormatError(f"{p}: frame {numbers[int(np.flatnonzero(np.isnan(clk))[0])]} has no Time line")
    for d in feet.values():
        d["frames"] = np.asarray(d["frames"], dtype=np.int64)
        if not np.isfinite(d["row_mm"]):
            d["row_mm"] = d["col_mm"] = None
    return feet, clk, np.asarray(numbers, np.int64)


def _wide(p: Path, lines: list[str]) -> tuple[dict, np.ndarray, np.ndarray | None]:
    meta: dict[str, str] = {}
    head = None
    for i, ln in enumerate(lines):
        cc = _cells(ln)
        if sum(bool(_CELL.search(x)) for x in cc) >= 4:
            head = i
            break
        if cc and cc[0]:
            meta[cc[0].rstrip(":")] = cc[1] if len(cc) > 1 else ""
    if head is None:
        raise FormatError(f"{p}: neither FRAME blocks nor a header row with LF/RF sensel columns")
    import io

    table = pd.read_csv(io.StringIO("\n".join(lines[head:])), dtype=str, keep_default_na=False)
    table = table[(table != "").any(axis=1)]
    cols = list(table.columns)
    tcol = next((c for c in cols if re.search(r"time|elapsed", c, re.I)), None)
    if tcol is None:
        raise FormatError(f"{p}: the wide table has no time column")
    tv = table[tcol].str.strip()
    clock = np.array([_clock_s(p, x) if ":" in x else float(x) for x in tv]) if len(tv) else np.array([])
    fcol = next((c for c in cols if c.strip().lower() in ("frame", "frame #", "frame number")), None)
    numbers = pd.to_numeric(table[fcol]).to_numpy(np.int64) if fcol else None
    feet = {}
    size_mm = {k: float(v) * 10 for k, v in meta.items() if k.startswith("Sensel") and re.match(r"[0-9.]+$", v)}
    for tag, side in (("LF", "left"), ("RF", "right")):
        cells = [(c, _CELL.search(c)) for c in cols]
        cells = [(c, int(m.group(2)), int(m.group(3))) for c, m in cells if m and m.group(1) == tag]
        if not cells:
            continue
        rows, ncols = max(r for _, r, _ in cells), max(k for _, _, k in cells)
        grid_cols = {(r, k): c for c, r, k in cells}
        if len(grid_cols) != rows * ncols:
            raise FormatError(f"{p}: {tag} sensel columns do not fill a {rows} x {ncols} grid")
        order = [grid_cols[(r, k)] for r in range(1, rows + 1) for k in range(1, ncols + 1)]
        block = table[order].apply(pd.to_numeric, errors="coerce")
        if block.isna().to_numpy().any():
            r = int(np.flatnonzero(block.isna().any(axis=1).to_numpy())[0])
            what = "the last row is cut" if r == len(block) - 1 else f"row {r + 1} has empty or non-numeric sensels"
            raise FormatError(f"{p}: {what}")
        row_mm = size_mm.get("Sensel Height (cm)")
        feet[side] = {"name": tag, "rows": rows, "cols": ncols, "values": block.to_numpy(float),
                      "frames": np.arange(len(block)), "row_mm": row_mm,
                      "col_mm": size_mm.get("Sensel Width (cm)", row_mm)}
    return feet, clock, numbers
