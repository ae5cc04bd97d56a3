"""Moticon OpenGo text export (tab-separated ``.txt``), both header variants.

Method
------
* Header: ``# key: value`` lines (``Start timestamp`` in epoch ms only in newer
  exports), then one ``# time<TAB>…`` column line. Columns are found **by name**
  (``left pressure 1[N/cm²]`` …), so the older (``left steps[]``) and newer (event label
  pairs, COP velocity) layouts read alike; units come from the ``[…]`` of each name.
* Time base: the file's own ``time`` column is ``time_s`` (events line up with
  Moticon's reports); the rate is ``1 / median(Δt)`` (:func:`timing_report`).
* A row holding one side only is a frame the other insole did not deliver: that foot
  skips the row, its next sample carries ``QUALITY_GAP_BEFORE`` and a ``"gap"``
  annotation is added (never filled, never duplicated).
* Pressure: ``N/cm² × 10`` → kPa. Sensor positions: a fixed table of the 16 sensors'
  normalised positions (same for every size) scaled by the insole size
  (:data:`SIZE_LENGTH_MM`); areas scale with length². See ``docs/formats/moticon.md``
  for where the table comes from (least squares on the vendor's own force/COP
  columns) and which parts are assumptions.
* Vendor event columns (``left steps[]`` codes x1 = initial contact, x5 = toe-off;
  ``<group> label[]``/``<group>[]`` pairs) become ``kind="vendor_event"`` annotations;
  IMU, the vendor's total force and COP (COP (0, 0) while unloaded → NaN) and COP
  velocity are kept in ``FootSignals.aux``.
"""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError
from ..layouts import ml_zone_of, region_of, INSOLE_LENGTH_MM
from ..model import SIDES, FootSignals, Recording, SensorLayout
from .vendor_common import gaps_from_time, provenance, timing_report, to_kpa

__all__ = ["read_moticon", "looks_like_moticon", "moticon_layout", "SIZE_LENGTH_MM", "step_code_meaning"]

log = logging.getLogger(__name__)

N_SENSORS = 16
#: Normalised sensor centres of the OpenGo insole: (anterior-posterior, medial-lateral),
#: AP −0.5 heel … +0.5 toe, ML + medial … − lateral (the exporter's COP axes X and Y).
_NORM_POS = np.array([
    (-0.404, 0.110), (-0.416, -0.166), (-0.265, 0.089), (-0.287, -0.225),
    (-0.125, 0.061), (-0.152, -0.274), (0.081, 0.243), (-0.012, -0.392),
    (0.256, 0.273), (0.241, 0.064), (0.226, -0.116), (0.207, -0.295),
    (0.170, -0.463), (0.414, 0.178), (0.408, -0.082), (0.359, -0.312),
])
#: Active area of each sensor of a size-7 insole, cm² (scaled by length² for other sizes).
_AREA_SIZE7_CM2 = np.array([12.36, 11.06, 13.37, 13.12, 13.13, 13.02, 17.98, 18.22,
                            15.66, 12.43, 12.51, 12.68, 10.23, 10.13, 12.50, 6.48])
_REF_SIZE = 7
#: Insole length (mm) per OpenGo size code: 215 mm + 12 mm per size step (an assumption
#: consistent with the sensor-area ratio of sizes 3 and 7; see docs/formats/moticon.md).
SIZE_LENGTH_MM: dict[int, float] = {n: 215.0 + 12.0 * (n - 1) for n in range(1, 13)}
#: Insole width used to scale the medial-lateral coordinate, as a fraction of length.
WIDTH_FRACTION = 0.38

_PRESSURE = re.compile(r"^(left|right) pressure (\d+)\[(.*)\]$")
_BRACKET = re.compile(r"^(.*)\[(.*)\]$")
_STEP_CODES = {1: "initial contact", 5: "toe-off"}


def step_code_meaning(code: int) -> str:
    """Meaning of a ``steps[]`` code: last digit 1 = initial contact, 5 = toe-off (10s digit: 1 left, 2 right)."""
    return _STEP_CODES.get(int(code) % 10, f"code {int(code)}")


def looks_like_moticon(head: str) -> bool:
    """True when the first kilobytes ``head`` are an OpenGo text export."""
    return head.startswith("# ") and ("\n# time\t" in head or head.startswith("# time\t")) and (
        "pressure 1[" in head
    )


def moticon_layout(size: int | None) -> SensorLayout:
    """16-sensor OpenGo layout in the insole frame for insole ``size`` (None: size 7 assumed)."""
    n = _REF_SIZE if size is None or size not in SIZE_LENGTH_MM else int(size)
    length = SIZE_LENGTH_MM[n]
    y_mm = (_NORM_POS[:, 0] + 0.5) * length
    x_mm = -_NORM_POS[:, 1] * WIDTH_FRACTION * length
    scale = length / INSOLE_LENGTH_MM  # regions/zones judged on the reference insole
    area_mm2 = _AREA_SIZE7_CM2 * 100.0 * (length / SIZE_LENGTH_MM[_REF_SIZE]) ** 2
    return SensorLayout(
        x_mm=x_mm, y_mm=y_mm, region=region_of(y_mm / scale), ml_zone=ml_zone_of(x_mm / scale, y_mm / scale),
        names=tuple(str(i) for i in range(1, N_SENSORS + 1)), layout_id=f"moticon-opengo-size{n}",
        area_mm2=area_mm2,
    )


def _read_text(p: Path) -> str:
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _parse_header(p: Path, lines: list[str]) -> tuple[dict[str, str], list[str], int]:
    meta: dict[str, str] = {}
    i = 0
    columns: list[str] | None = None
    while i < len(lines) and lines[i].startswith("#"):
        body = lines[i][1:].strip()
        if body.startswith("time\t") or body == "time":
            columns = [c.strip() for c in body.split("\t")]
        elif ":" in body:
            k, v = body.split(":", 1)
            meta[k.strip().lower()] = v.strip()
        i += 1
    if columns is None:
        raise FormatError(f"{p}: no '# time<TAB>…' column line; not a Moticon OpenGo text export")
    while columns and not columns[-1]:
        columns.pop()
    return meta, columns, i


def _duration_s(text: str) -> float | None:
    m = re.fullmatch(r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)", text.strip())
    if not m:
        return None
    h = float(m.group(1) or 0)
    return h * 3600 + float(m.group(2)) * 60 + float(m.group(3))


def _aux_name(label: str) -> str:
    m = _BRACKET.match(label)
    name, unit = (m.group(1), m.group(2)) if m else (label, "")
    name = re.sub(r"^(left|right) ", "", name.strip())
    name = (name.replace("center of pressure", "vendor_cop").replace("total force", "vendor_total_force")
            .replace("acceleration", "accel").replace("angular", "gyro"))
    unit = {"-0.5...+0.5": "norm", "1": "norm_per_s", "N/cm²": "n_per_cm2"}.get(unit, unit)
    slug = re.sub(r"[^0-9a-z]+", "_", f"{name} {unit}".lower()).strip("_")
    return slug


def read_moticon(path: str | Path) -> Recording:
    """Read a Moticon OpenGo text export into a :class:`Recording` (pressure in kPa).

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        No column line, no pressure columns, mixed pressure units, a row with some of a
        foot's sensors missing, a cut last line or data ending before the header's
        ``Duration``, time stamps that do not increase.
    """
    p = Path(path)
    text = _read_text(p)
    lines = text.splitlines()
    meta, columns, first = _parse_header(p, lines)
    if first >= len(lines) or not any(ln.strip() for ln in lines[first:]):
        raise FormatError(f"{p}: Moticon export without data rows (cut or empty export)")
    try:
        table = pd.read_csv(io.StringIO("\n".join(lines[first:])), sep="\t", header=None, dtype=str,
                            keep_default_na=False, na_values=[""], names=range(len(columns) + 8),
                            skip_blank_lines=True, engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise FormatError(f"{p}: malformed data rows ({exc})") from exc
    if table.iloc[:, len(columns):].notna().any().any():
        row = int(np.flatnonzero(table.iloc[:, len(columns):].notna().any(axis=1).to_numpy())[0])
        raise FormatError(f"{p}: data row {row + 1} has more fields than the {len(columns)} named columns")
    table = table.iloc[:, : len(columns)]
    table.columns = columns

    def numeric(col: str) -> np.ndarray:
        vals = pd.to_numeric(table[col], errors="coerce")
        bad = vals.isna() & table[col].notna()
        if bad.any():
            r = int(np.flatnonzero(bad.to_numpy())[0])
            raise FormatError(f"{p}: column {col!r} row {r + 1}: {table[col].iloc[r]!r} is not a number")
        return vals.to_numpy(dtype=float)

    t = numeric(columns[0])
    if np.isnan(t).any():
        r = int(np.flatnonzero(np.isnan(t))[0])
        raise FormatError(f"{p}: data row {r + 1} has no time")
    units: set[str] = set()
    sensor_cols: dict[str, list[str]] = {s: [] for s in SIDES}
    for c in columns:
        m = _PRESSURE.match(c)
        if m:
            sensor_cols[m.group(1)].append(c)
            units.add(m.group(3))
    if not any(sensor_cols.values()):
        raise FormatError(f"{p}: no 'left/right pressure N[unit]' columns; not a Moticon OpenGo export")
    if len(units) > 1:
        raise FormatError(f"{p}: mixed pressure units {sorted(units)} in one export; re-export with one unit")
    factor = to_kpa(p, units.pop())
    timing = timing_report(p, t, what="rows")
    interval = timing["median_interval_s"]
    # a cut export: the last line lost its fields, or the data end well before `Duration`
    last_fields = lines[-1].count("\t") + 1 if lines[-1].strip() else None
    if last_fields is not None and not text.endswith("\n") and last_fields < len(columns):
        raise FormatError(f"{p}: the last line is cut ({last_fields} of {len(columns)} fields); the export is incomplete")
    dur = _duration_s(meta.get("duration", ""))
    if dur is not None and t[-1] < dur - max(0.5, 5 * interval):
        raise FormatError(f"{p}: data end at {t[-1]:.3f} s but the header says Duration {dur:.3f} s; the export is cut")

    size = int(meta["size"]) if meta.get("size", "").strip().isdigit() else None
    if size not in SIZE_LENGTH_MM:
        log.warning("%s: insole size %r not known; assuming the size-%d layout", p, meta.get("size"), _REF_SIZE)
    serials = dict(re.findall(r"(Left|Right)\s+SN\s*(\S+?)(?:,|$)", meta.get("sensor insoles", "")))
    feet: dict[str, FootSignals] = {}
    ann_parts: list[pd.DataFrame] = []
    for side in SIDES:
        cols = sorted(sensor_cols[side], key=lambda c: int(_PRESSURE.match(c).group(2)))
        if not cols:
            continue
        if len(cols) != N_SENSORS:
            raise FormatError(f"{p}: {side} has {len(cols)} pressure columns, an OpenGo insole has {N_SENSORS}")
        vals = np.column_stack([numeric(c) for c in cols])
        have = np.isfinite(vals)
        present = have.all(axis=1)
        partial = have.any(axis=1) & ~present
        if partial.any():
            r = int(np.flatnonzero(partial)[0])
            raise FormatError(f"{p}: data row {r + 1}: some {side} pressure cells are empty, others not")
        if not present.any():
            log.info("%s: no %s frames; reading one foot", p, side)
            continue
        ts = t[present]
        quality, gaps = gaps_from_time(ts, interval, side)
        ann_parts.append(gaps)
        aux: dict[str, np.ndarray] = {}
        for c in columns:
            if c.startswith(f"{side} ") and c not in cols and not c.endswith("steps[]"):
                aux[_aux_name(c)] = numeric(c)[present]
        cop = [k for k in aux if k.startswith("vendor_cop_") and k.endswith("_norm")]
        if len(cop) == 2:  # (0, 0) while unloaded is "no COP", not a position
            zero = (aux[cop[0]] == 0) & (aux[cop[1]] == 0)
            for k in cop:
                aux[k] = np.where(zero, np.nan, aux[k])
        feet[side] = FootSignals(
            side=side, values=(vals[present] * factor).astype(np.float32), unit="kPa",
            sampling_rate_hz=timing["sampling_rate_hz"], time_s=ts, quality=quality,
            layout=moticon_layout(size),
            device={"vendor": "Moticon ReGo AG", "model": "OpenGo insole", "size": size,
                    "serial": serials.get(side.capitalize()), "importer": "gaitpf.io.vendor_moticon"},
            aux=aux,
        )
        missing = int(np.count_nonzero(~present))
        if missing:
            log.info("%s: %s insole did not deliver %d of %d rows (gaps, not filled)", p, side, missing, len(t))
    if not feet:
        raise FormatError(f"{p}: neither foot has a complete row of pressure values")
    ann_parts.append(_vendor_events(table, columns, t, numeric))
    ann = pd.concat([a for a in ann_parts if len(a)], ignore_index=True) if any(len(a) for a in ann_parts) else None
    source = {
        "format": "moticon-opengo-text",
        "vendor": "Moticon ReGo AG",
        "software": "OpenGo (text export)",
        "software_version": None,  # the text export does not state it
        "header_variant": "with start timestamp" if "start timestamp" in meta else "without start timestamp",
        "start_time": meta.get("start time"),
        "start_timestamp_ms": int(meta["start timestamp"]) if meta.get("start timestamp", "").isdigit() else None,
        "start_epoch_s": int(meta["start timestamp"]) / 1000.0 if meta.get("start timestamp", "").isdigit() else None,
        "recording_type": meta.get("recording type"),
        "insole_size": size,
        "layout_note": None if size in SIZE_LENGTH_MM else
        f"insole size {meta.get('size')!r} not known: the size-{_REF_SIZE} layout is assumed",
        "timing": timing,
        "layout_source": "docs/formats/moticon.md",
        "force": "pressure x sensor area (areas per insole size, docs/formats/moticon.md)",
    }
    kwargs: dict[str, Any] = {"annotations": ann} if ann is not None else {}
    prov = provenance(p)
    source.update(path=prov["path"], sha256=prov["sha256"])
    return Recording(feet=feet, subject_id=prov["subject_id"], source=source, **kwargs)


def _vendor_events(table: pd.DataFrame, columns: list[str], t: np.ndarray, numeric: Any) -> pd.DataFrame:
    rows: list[tuple[float, str, str]] = []
    for c in columns:
        if c.endswith(" steps[]"):
            side = c.split(" ", 1)[0].lower()
            codes = numeric(c)
            for i in np.flatnonzero(np.isfinite(codes)):
                rows.append((t[i], side if side in SIDES else "",
                             f"Moticon {step_code_meaning(int(codes[i]))} (steps code {int(codes[i])})"))
        elif c.endswith(" label[]"):
            group = c[: -len(" label[]")]
            value_col = f"{group}[]"
            values = numeric(value_col) if value_col in table else np.full(len(t), np.nan)
            labels = table[c]
            first = group.split(" ", 1)[0].lower()
            for i in np.flatnonzero(labels.notna().to_numpy() | np.isfinite(values)):
                v = values[i]
                lab = labels.iloc[i] if isinstance(labels.iloc[i], str) else ""
                rows.append((t[i], first if first in SIDES else "",
                             f"{group}: {lab} {v:g}".strip() if np.isfinite(v) else f"{group}: {lab}"))
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame({
        "onset_s": [r[0] for r in rows], "duration_s": 0.0, "kind": "vendor_event",
        "side": [r[1] for r in rows], "description": [r[2] for r in rows],
    }).sort_values("onset_s", kind="stable", ignore_index=True)

