"""novel pedar ASCII export (``.asc``): both insoles, 99 sensors each, pressure in kPa.

Method
------
* Ten header lines: ``file name: … date/time …`` (the file name is **not** kept),
  ``sensor type: …``, ``total time [secs] … time per frame [secs] … scanning rate [Hz]``,
  ``pressure values in <unit>``, ``mask definition:`` with ``left insole: 1,2,…`` and
  ``right insole: …`` (the sensor numbers exported per insole, in column order), then the
  ``time[secs]`` column line and tab-separated rows: time, the left insole's sensors, the
  right insole's sensors.
* Time base: the file's ``time[secs]`` column; the rate is ``1 / median(Δt)`` and is
  checked against the header's scanning rate (a difference is logged); a file ending
  before ``total time`` or with a cut last row is refused.
* Layout (:func:`pedar_layout`): the pedar insole's 99 sensors lie in 15 rows from heel
  to toe (5, then 12 rows of 7, then 6, then 4 sensors), numbered from the medial to the
  lateral edge within a row, sensor 1 at the medial heel. Row centres are the fractions of
  insole length in :data:`ROW_Y_FRACTION`; within a row the sensors share the local
  insole width equally (gaitpf's reference outline, :mod:`gaitpf.layouts`), on a 260 mm
  reference insole (the export does not give the insole size). Sensor areas depend on the
  insole size and are not in the export: force is not known (said in ``source``).
"""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError
from ..layouts import INSOLE_LENGTH_MM, _edges, ml_zone_of, region_of
from ..model import FootSignals, Recording, SensorLayout
from .vendor_common import provenance, gaps_from_time, timing_report, to_kpa

__all__ = ["read_pedar", "pedar_layout", "ROW_SIZES", "ROW_Y_FRACTION"]

log = logging.getLogger(__name__)

#: Sensors per row, heel → toe (sum 99).
ROW_SIZES = (5,) + (7,) * 12 + (6, 4)
#: Row centres as fractions of insole length (heel 0 → toe 1); see docs/formats/pedar.md.
ROW_Y_FRACTION = (0.12, 0.19, 0.26, 0.33, 0.39, 0.46, 0.52, 0.58, 0.64, 0.69, 0.74, 0.80, 0.85, 0.905, 0.96)


def pedar_layout(numbers: list[int] | None = None) -> SensorLayout:
    """Layout of the pedar sensors ``numbers`` (1-based, default all 99) on the 260 mm reference insole."""
    xs, ys = [], []
    for n_row, frac in zip(ROW_SIZES, ROW_Y_FRACTION):
        y = frac * INSOLE_LENGTH_MM
        med, lat = _edges(np.array([y]))
        for j in range(n_row):
            xs.append(float(med[0] + (j + 0.5) / n_row * (lat[0] - med[0])))
            ys.append(y)
    x_all, y_all = np.array(xs), np.array(ys)
    idx = np.arange(99) if numbers is None else np.asarray(numbers) - 1
    x, y = x_all[idx], y_all[idx]
    return SensorLayout(x_mm=x, y_mm=y, region=region_of(y), ml_zone=ml_zone_of(x, y),
                        names=tuple(str(i + 1) for i in idx), layout_id="pedar-99")


def _mask(p: Path, head: str, side: str) -> list[int] | None:
    """Sensor numbers exported for ``side`` (None: the header has no mask definition)."""
    m = re.search(rf"^{side} insole:[ \t]*([0-9, \t]*)$", head, flags=re.M | re.I)
    if not m:
        return None
    nums = [int(x) for x in re.sub(r"\s", "", m.group(1)).split(",") if x]
    if any(not 1 <= n <= 99 for n in nums):
        raise FormatError(f"{p}: {side} insole mask lists sensors outside 1..99")
    return nums


def read_pedar(path: str | Path) -> Recording:
    """Read a novel pedar ASCII export into a two-foot :class:`Recording` in kPa.

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Missing header lines, a unit gaitpf cannot convert, a column count that does not
        fit the masks, a cut export, time that does not increase.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="cp1252").replace("\r\n", "\n")
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
    m = re.search(r"^time\[secs\].*$", text, flags=re.M)
    if not m:
        raise FormatError(f"{p}: no 'time[secs]' column line; not a pedar ASCII export")
    head, body = text[: m.start()], text[m.end() + 1:]
    unit_m = re.search(r"pressure values in\s+(\S+)", head)
    if not unit_m:
        raise FormatError(f"{p}: no 'pressure values in <unit>' header line")
    factor = to_kpa(p, unit_m.group(1))
    left, right = _mask(p, head, "left"), _mask(p, head, "right")
    rows = [ln for ln in body.split("\n") if ln.strip()]
    if not rows:
        raise FormatError(f"{p}: no data rows; the export is cut or empty")
    if left is None or right is None:  # no mask lines: the column line numbers the sensors, left then right
        numbers = [int(x) for x in text[m.start(): m.end()].split("\t")[1:] if x.strip()]
        half = len(numbers) // 2
        if left is None and right is None and (len(numbers) % 2 or numbers[:half] != numbers[half:]):
            raise FormatError(f"{p}: no mask definition and the columns are not two equal insoles")
        left = numbers[:half] if left is None else left
        right = numbers[len(left):] if right is None else right
    n_cols = 1 + len(left) + len(right)
    last_fields = len(rows[-1].rstrip("\t ").split("\t"))
    if last_fields < n_cols:
        raise FormatError(f"{p}: the last row is cut ({last_fields} of {n_cols} fields); the export is incomplete")
    try:
        data = pd.read_csv(io.StringIO("\n".join(rows)), sep="\t", header=None, usecols=range(n_cols),
                           dtype=float, engine="c").to_numpy()
    except (ValueError, pd.errors.ParserError) as exc:
        raise FormatError(f"{p}: malformed data rows ({exc})") from exc
    if np.isnan(data).any():
        r = int(np.flatnonzero(np.isnan(data).any(axis=1))[0])
        raise FormatError(f"{p}: data row {r + 1} has empty or non-numeric cells")
    t = data[:, 0]
    timing = timing_report(p, t)
    rate_m = re.search(r"scanning rate \[Hz\]:\s*([0-9.]+)", head)
    if rate_m and abs(float(rate_m.group(1)) - timing["sampling_rate_hz"]) > 0.01 * float(rate_m.group(1)):
        log.warning("%s: time column gives %.6g Hz, header says %s Hz", p, timing["sampling_rate_hz"], rate_m.group(1))
    total_m = re.search(r"total time \[secs\]:\s*([0-9.]+)", head)
    if total_m and t[-1] < float(total_m.group(1)) - 2 * timing["median_interval_s"]:
        raise FormatError(f"{p}: data end at {t[-1]:.3f} s but the header says total time {total_m.group(1)} s; "
                          "the export is cut")
    sensor = re.search(r"sensor type:\s*(.*)$", head, flags=re.M)
    when = re.search(r"date/time\s+(.*)$", head, flags=re.M)
    feet = {}
    anns = []
    col = 1
    for side, nums in (("left", left), ("right", right)):
        vals = data[:, col: col + len(nums)] * factor
        col += len(nums)
        if not nums:
            continue  # this insole was not exported
        quality, gaps = gaps_from_time(t, timing["median_interval_s"], side)
        anns.append(gaps)
        feet[side] = FootSignals(
            side=side, values=vals.astype(np.float32), unit="kPa", sampling_rate_hz=timing["sampling_rate_hz"],
            time_s=t.copy(), quality=quality, layout=pedar_layout(nums),
            device={"vendor": "novel GmbH", "model": "pedar", "sensor_type": sensor.group(1).strip() if sensor else None,
                    "importer": "gaitpf.io.vendor_pedar"},
        )
    source = {
        "format": "pedar-ascii", "vendor": "novel GmbH", "software_version": None,
        "recorded": when.group(1).strip() if when else None, "units_in_file": unit_m.group(1),
        "timing": timing, "force": "not known (sensor areas depend on the insole size, not in the export)",
        "layout_source": "docs/formats/pedar.md",
    }
    ann = pd.concat([a for a in anns if len(a)], ignore_index=True) if any(len(a) for a in anns) else None
    prov = provenance(p)
    source.update(path=prov["path"], sha256=prov["sha256"])
    return Recording(feet=feet, subject_id=prov["subject_id"], source=source,
                     **({"annotations": ann} if ann is not None else {}))
