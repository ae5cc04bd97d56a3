"""stappone insoles CSV export: two soles interleaved by ``sole_id``, epoch-millisecond timestamps.

Method
------
* Columns by name: ``sole_id``, ``timestamp`` (ms since 1970-01-01 UTC), ``accel_*``,
  ``gyro_*``, ``magn_*``, ``pressure_01`` … ``pressure_NN``, optional ``corrupt``.
* ``sole_id`` 1 is read as the **left** sole and 2 as the right one: an assumption (the
  export does not name the sides), stated in ``source["sides"]``; pair two one-sole files
  with ``gaitpf import LEFT --right RIGHT`` if your files say otherwise.
* Time: ``(timestamp − first timestamp of either sole) / 1000`` s, one clock for both
  soles; the rate is ``1 / median(Δt)`` per sole (both must agree within 1 %);
  ``source["start_epoch_s"]`` keeps the absolute start.
* Rows flagged ``corrupt`` ≠ 0 are dropped like lost frames: the next sample of that sole
  carries ``QUALITY_GAP_BEFORE`` and a ``"gap"`` annotation is added; lost frames
  (timestamp jumps) likewise. Never filled.
* Pressure values are the sensor's raw counts (no unit in the export, nonzero while
  unloaded): unit ``au``; force is not known. No documented sensor map is public, so the
  recording carries **no layout** (COP and regional loads are not computed); see
  ``docs/formats/stappone.md``. IMU columns go to ``FootSignals.aux`` (raw counts).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError
from ..model import FootSignals, Recording, empty_annotations
from .vendor_common import provenance, gaps_from_time, timing_report

__all__ = ["read_stappone"]

SOLE_SIDE = {1: "left", 2: "right"}
_IMU = re.compile(r"^(accel|gyro|magn)_[xyz]$")


def read_stappone(path: str | Path) -> Recording:
    """Read a stappone CSV export into a :class:`Recording` (raw pressure counts, unit ``au``).

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Missing columns, non-numeric cells, a cut last row, unknown ``sole_id``,
        timestamps that do not increase, or soles at different rates.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise FormatError(f"{p}: not a text file") from exc
    import io

    try:
        d = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise FormatError(f"{p}: malformed CSV ({exc})") from exc
    pcols = sorted((c for c in d.columns if re.fullmatch(r"pressure_\d+", c)), key=lambda c: int(c.split("_")[1]))
    if "sole_id" not in d or "timestamp" not in d or not pcols:
        raise FormatError(f"{p}: needs sole_id, timestamp and pressure_NN columns; not a stappone export")
    num = d.apply(pd.to_numeric, errors="coerce")
    bad = num.isna() & (d != "")
    empty = d == ""
    if empty.to_numpy().any():
        r = int(np.flatnonzero(empty.any(axis=1).to_numpy())[0])
        what = "the last row is cut" if r == len(d) - 1 else f"row {r + 2} has empty cells"
        raise FormatError(f"{p}: {what}; the export is incomplete or malformed")
    if bad.to_numpy().any():
        r, c = map(int, np.argwhere(bad.to_numpy())[0])
        raise FormatError(f"{p}: row {r + 2} column {d.columns[c]!r}: {d.iat[r, c]!r} is not a number")
    ids = set(num["sole_id"].astype(int))
    if not ids <= set(SOLE_SIDE):
        raise FormatError(f"{p}: sole_id {sorted(ids - set(SOLE_SIDE))} unknown; stappone soles are 1 and 2")
    ts = num["timestamp"].to_numpy(dtype=np.int64)
    t0 = int(ts.min())
    corrupt = num["corrupt"].to_numpy() != 0 if "corrupt" in num else np.zeros(len(num), bool)
    feet: dict[str, FootSignals] = {}
    anns = []
    timings = {}
    for sole, side in SOLE_SIDE.items():
        rows = (num["sole_id"].to_numpy() == sole)
        if not rows.any():
            continue
        t_all = (ts[rows] - t0) / 1000.0
        timing = timing_report(p, t_all, what="frames")  # rate from every delivered row
        keep = ~corrupt[rows]
        t = t_all[keep]
        quality, gaps = gaps_from_time(t, timing["median_interval_s"], side)
        anns.append(gaps)
        sub = num[rows][keep]
        timing["n_corrupt_dropped"] = int(np.count_nonzero(~keep))
        timings[side] = timing
        feet[side] = FootSignals(
            side=side, values=sub[pcols].to_numpy(dtype=np.float32), unit="au",
            sampling_rate_hz=timing["sampling_rate_hz"], time_s=t, quality=quality, layout=None,
            device={"vendor": "stappone", "sole_id": sole, "importer": "gaitpf.io.vendor_stappone"},
            aux={f"{c}_raw": sub[c].to_numpy(dtype=float) for c in d.columns if _IMU.match(c)},
        )
    rates = [f.sampling_rate_hz for f in feet.values()]
    if max(rates) > 1.01 * min(rates):
        raise FormatError(f"{p}: the soles run at different rates {sorted(rates)} Hz")
    for f in feet.values():
        f.sampling_rate_hz = rates[0]
    source = {
        "format": "stappone-csv", "vendor": "stappone", "software_version": None,
        "start_epoch_s": t0 / 1000.0, "timing": timings,
        "sides": "sole_id 1 = left, 2 = right (assumed; the export does not name them)",
        "layout": "none: no documented sensor map (COP and regional loads unavailable)",
        "force": "not known (raw sensor counts)",
    }
    ann = pd.concat([a for a in anns if len(a)], ignore_index=True) if any(len(a) for a in anns) else empty_annotations()
    prov = provenance(p)
    source.update(path=prov["path"], sha256=prov["sha256"])
    return Recording(feet=feet, subject_id=prov["subject_id"], source=source, annotations=ann)
