"""Plantar pressure maps and loaded gait lines of every session, for the report.

For each session and foot the usable trials are read again (the statistics keep only
stride tables), and :func:`gaitpf.analysis.pressure_map.pressure_map` /
:func:`~gaitpf.analysis.pressure_map.loaded_cop_path` run over each trial's *steady*
strides; trials of one session pool with stride-count weights. A trial whose layout
differs from the session's first is left out of its maps (and the reason kept), and a
baseline/latest difference map is only drawn between maps of the same layout and unit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.pressure_map import loaded_cop_path, pool_maps, pressure_map
from ..errors import GaitpfError
from ..model import SensorLayout

__all__ = ["FootMap", "SessionMaps", "collect_maps"]

log = logging.getLogger(__name__)


@dataclass
class FootMap:
    """Pooled map of one foot in one session (see :func:`collect_maps`)."""

    layout: SensorLayout
    unit_key: str
    peak: np.ndarray
    pti: np.ndarray
    unit: str
    absolute: bool
    n_strides: int
    cop_x_mm: np.ndarray | None = None
    cop_y_mm: np.ndarray | None = None

    @property
    def key(self) -> str:
        """Layout id, sensor count and unit: maps compare only within one key."""
        return f"{self.layout.layout_id}:{self.layout.n_sensors}:{self.unit_key}"


@dataclass
class SessionMaps:
    """Maps of one session: ``feet`` side → FootMap, and what was left out."""

    label: str
    feet: dict[str, FootMap] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


def _trial_maps(td: Any) -> tuple[dict[str, tuple[SensorLayout, str, dict, dict]], list[str]]:
    from ..io import read_recording

    out: dict[str, tuple[SensorLayout, str, dict, dict]] = {}
    why: list[str] = []
    try:
        rec = read_recording(td.path)
    except GaitpfError as exc:  # it was readable for the statistics; say so if not now
        return out, [f"{td.path.name}: unreadable for the pressure map ({exc})"]
    steady = td.strides[td.strides["steady"].to_numpy(dtype=bool)] if td.strides is not None else None
    for side, foot in rec.feet.items():
        if foot.layout is None:
            why.append(f"{td.path.name}, {side} foot: no sensor layout (positions unknown)")
            continue
        rows = steady[steady["side"] == side] if steady is not None else None
        if rows is None or rows.empty:
            why.append(f"{td.path.name}, {side} foot: no steady strides")
            continue
        v = foot.values
        m = pressure_map(v, strides=rows, sampling_rate_hz=foot.sampling_rate_hz, unit=foot.unit,
                         area_mm2=foot.layout.area_mm2)
        c = loaded_cop_path(v, strides=rows, x_mm=foot.layout.x_mm, y_mm=foot.layout.y_mm)
        out[side] = (foot.layout, foot.unit, m, c)
    return out, why


def collect_maps(progress: Any) -> dict[str, SessionMaps]:
    """Per session label: pooled pressure maps and gait lines of both feet.

    Sessions left out of the statistics are left out here too (their reason is in the
    progress' ``left_out``).
    """
    result: dict[str, SessionMaps] = {}
    for sd in progress.sessions:
        if getattr(sd, "boot", None) is None:
            continue
        sm = SessionMaps(sd.label)
        per_side: dict[str, list[tuple[SensorLayout, str, dict, dict]]] = {}
        for td in sd.usable_trials:
            maps, why = _trial_maps(td)
            sm.left_out.extend(f"session {sd.label}, {w}" for w in why)
            for side, item in maps.items():
                per_side.setdefault(side, []).append(item)
        for side, items in per_side.items():
            first = items[0]
            same = [it for it in items if it[0].layout_id == first[0].layout_id
                    and it[0].n_sensors == first[0].n_sensors and it[1] == first[1]]
            if len(same) < len(items):
                sm.left_out.append(f"session {sd.label}, {side} foot: {len(items) - len(same)} trial(s) with another "
                                   "sensor layout or unit left out of the pressure map")
            pooled = pool_maps([it[2] for it in same])
            if pooled is None:
                continue
            w = np.array([it[3]["n"] for it in same], dtype=float)
            cx = cy = None
            if w.sum() > 0:
                cx = sum(wi * it[3]["x_mm"] for wi, it in zip(w, same) if wi > 0) / w.sum()
                cy = sum(wi * it[3]["y_mm"] for wi, it in zip(w, same) if wi > 0) / w.sum()
            lay = first[0]
            sm.feet[side] = FootMap(layout=lay, unit_key=first[1], peak=pooled["peak"], pti=pooled["pti"],
                                    unit=pooled["unit"], absolute=pooled["absolute"], n_strides=pooled["n_strides"],
                                    cop_x_mm=cx, cop_y_mm=cy)
        result[sd.label] = sm
    return result
