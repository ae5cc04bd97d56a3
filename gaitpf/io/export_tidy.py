"""Tidy tables of a recording (``.csv`` / ``.parquet``): one row per sample, foot and sensor.

Frames table columns: ``time_s``, ``side``, ``sensor`` (the layout's name, else the
column number), the value with its unit in the column name (``pressure_kpa``,
``force_n`` or ``value_au``; a recording whose feet differ in unit has one column per
unit, empty where it does not apply), and the quality flags as booleans ``saturated``,
``gap_before``, ``interpolated`` (:data:`gaitpf.model.QUALITY_*`).

Events table (``<stem>.events<suffix>`` beside it) columns: ``time_s``, ``duration_s``,
``side``, ``event``, ``source``, ``description``: the gait events given by the caller
(``foot_strike`` / ``foot_off`` from gaitpf's analysis) plus the recording's annotations
(gaps, vendor events, markers), sorted by time.

Both files are written atomically (:func:`gaitpf.io.atomic.atomic_path`): complete or absent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OutputError
from ..model import QUALITY_GAP_BEFORE, QUALITY_INTERPOLATED, QUALITY_SATURATED, Recording
from .atomic import atomic_path

__all__ = ["frames_table", "events_table", "write_tidy", "events_path", "VALUE_COLUMN"]

#: unit -> name of the value column
VALUE_COLUMN = {"kPa": "pressure_kpa", "N": "force_n", "au": "value_au"}
EVENT_COLUMNS = ("time_s", "duration_s", "side", "event", "source", "description")


def frames_table(rec: Recording) -> pd.DataFrame:
    """Long (tidy) table of every foot's samples; see the module docstring for the columns."""
    parts = []
    for side in rec.sides:
        foot = rec.feet[side]
        n, k = foot.values.shape
        names = foot.layout.names if foot.layout is not None else tuple(str(i + 1) for i in range(k))
        q = foot.quality if foot.quality is not None else np.zeros(n, np.uint8)
        col = VALUE_COLUMN.get(foot.unit, f"value_{foot.unit.lower()}")
        parts.append(pd.DataFrame({
            "time_s": np.repeat(foot.times_s(), k),
            "side": side,
            "sensor": np.tile(np.asarray(names, dtype=object), n),
            col: np.asarray(foot.values, dtype=float).reshape(-1),
            "saturated": np.repeat((q & QUALITY_SATURATED) != 0, k),
            "gap_before": np.repeat((q & QUALITY_GAP_BEFORE) != 0, k),
            "interpolated": np.repeat((q & QUALITY_INTERPOLATED) != 0, k),
        }))
    table = pd.concat(parts, ignore_index=True)
    flags = ["saturated", "gap_before", "interpolated"]
    return table[[c for c in table.columns if c not in flags] + flags]


def events_table(rec: Recording, gait_events: pd.DataFrame | None) -> pd.DataFrame:
    """Gait events (``time_s``, ``side``, ``event``) plus the recording's annotations."""
    rows = []
    if gait_events is not None and len(gait_events):
        rows.append(pd.DataFrame({
            "time_s": gait_events["time_s"].to_numpy(float), "duration_s": 0.0,
            "side": gait_events["side"].to_numpy(object), "event": gait_events["event"].to_numpy(object),
            "source": "gaitpf", "description": "",
        }))
    ann = rec.annotations
    if len(ann):
        rows.append(pd.DataFrame({
            "time_s": ann["onset_s"].to_numpy(float), "duration_s": ann["duration_s"].to_numpy(float),
            "side": ann["side"].to_numpy(object), "event": ann["kind"].to_numpy(object),
            "source": "recording", "description": ann["description"].to_numpy(object),
        }))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.endswith("_s") else "object") for c in EVENT_COLUMNS})
    return pd.concat(rows, ignore_index=True).sort_values(["time_s", "side"], kind="stable", ignore_index=True)


def events_path(path: str | Path) -> Path:
    """Where the events table of ``path`` goes: ``<stem>.events<suffix>`` beside it."""
    p = Path(path)
    return p.with_name(f"{p.stem}.events{p.suffix}")


def write_tidy(path: str | Path, rec: Recording, gait_events: pd.DataFrame | None) -> tuple[Path, Path]:
    """Write the frames table to ``path`` and the events table beside it (format from the suffix).

    Raises
    ------
    OutputError
        Unsupported suffix, or the files cannot be written (neither is left half-written).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise OutputError(f"{p}: tidy tables are written as .csv or .parquet")
    frames, events = frames_table(rec), events_table(rec, gait_events)
    ev_path = events_path(p)
    with atomic_path(p) as tmp_frames, atomic_path(ev_path) as tmp_events:
        if suffix == ".csv":
            frames.to_csv(tmp_frames, index=False, float_format="%.10g")
            events.to_csv(tmp_events, index=False, float_format="%.10g")
        else:
            frames.to_parquet(tmp_frames, index=False)
            events.to_parquet(tmp_events, index=False)
    return p, ev_path
