"""C3D export (gait-lab format) through the ``ezc3d`` library (``pip install gaitpf[c3d]``).

What the file holds
-------------------
* No 3-D points; **analog channels** at the recording's rate (one analog sample per
  frame): per foot every sensor (``L_<name>`` / ``R_<name>``, unit ``kPa``/``N``/``au``),
  the total load (``L_Fz`` in N when it can be known, see
  :func:`gaitpf.io.export_common.total_channel`) and the centre of pressure
  ``L_COPx`` / ``L_COPy`` (mm, insole frame of that foot: x medial → lateral, y heel →
  toe; NaN while unloaded).
* More than 255 channels (sensel grids) continue in ``LABELS2``/``UNITS2``… as C3D
  readers expect (a parameter holds at most 255 entries).
* Both feet on one frame grid (:func:`~gaitpf.io.export_common.common_grid`): frames a
  foot did not deliver are NaN, never filled.
* **Events** in the standard ``EVENT`` group: contexts ``Left`` / ``Right``, labels
  ``Foot Strike`` / ``Foot Off`` (what Vicon Nexus, Mokka and Visual3D expect), times in
  seconds from the first frame, as given by the caller (gaitpf's detected events).
* ``MANUFACTURER`` / ``SUBJECTS`` carry gaitpf's version and the pseudonymous subject id.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OutputError
from ..model import Recording
from .atomic import atomic_path
from .export_common import common_grid, cop_mm, total_channel

__all__ = ["write_c3d", "read_c3d_labels", "C3D_EVENT_LABELS", "MAX_PARAM_ENTRIES"]

#: Entries per C3D parameter; longer lists continue in ``LABELS2``, ``LABELS3``… (Vicon's convention).
MAX_PARAM_ENTRIES = 255

#: gaitpf event name -> C3D event label
C3D_EVENT_LABELS = {"foot_strike": "Foot Strike", "foot_off": "Foot Off"}
_UNIT = {"kPa": "kPa", "N": "N", "au": "au"}


def _channels(rec: Recording) -> tuple[list[str], list[str], np.ndarray, float]:
    t0, n, idx = common_grid(rec)
    labels: list[str] = []
    units: list[str] = []
    cols: list[np.ndarray] = []
    for side in rec.sides:
        foot = rec.feet[side]
        pre = "L" if side == "left" else "R"
        names = foot.layout.names if foot.layout is not None else tuple(str(i + 1) for i in range(foot.n_sensors))

        def put(values: np.ndarray) -> np.ndarray:
            col = np.full(n, np.nan)
            col[idx[side]] = values
            return col

        for j, name in enumerate(names):
            labels.append(f"{pre}_{name}")
            units.append(_UNIT.get(foot.unit, foot.unit))
            cols.append(put(np.asarray(foot.values[:, j], dtype=float)))
        tname, total = total_channel(foot)
        labels.append(f"{pre}_Fz")
        units.append("N" if tname == "total_force_n" else foot.unit)
        cols.append(put(total))
        x, y = cop_mm(foot)
        for axis, v in (("x", x), ("y", y)):
            labels.append(f"{pre}_COP{axis}")
            units.append("mm")
            cols.append(put(v))
    return labels, units, np.vstack(cols), t0


def _set_first_units(path: Path, units: list[str]) -> None:
    """Rewrite ANALOG:UNITS (the first 255 units) of a written C3D file with ezc3d's core API.

    ezc3d's Python writer drops a UNITS parameter whose length differs from the number of
    analog channels, and a longer one would break the 255-entry limit.
    """
    from ezc3d import ezc3d as core

    f = core.c3d(str(path))
    param = core.Parameter("UNITS")
    param.set(core.VecString(units), [len(units)])
    f.parameter("ANALOG", param)
    f.write(str(path))


def read_c3d_labels(c: "object", name: str = "LABELS") -> list[str]:
    """All analog ``LABELS`` (or ``UNITS``) of an ezc3d object, ``LABELS2``, ``LABELS3``… appended."""
    group = c["parameters"]["ANALOG"]
    out = list(group[name]["value"])
    k = 2
    while f"{name}{k}" in group:
        out += list(group[f"{name}{k}"]["value"])
        k += 1
    return out


def write_c3d(path: str | Path, rec: Recording, gait_events: pd.DataFrame | None) -> Path:
    """Write ``rec`` as a C3D file (analog channels + gait events), atomically.

    Parameters
    ----------
    path : path-like
        Destination ``.c3d`` file.
    rec : Recording
    gait_events : DataFrame or None
        Columns ``time_s`` (on the recording's time axis), ``side``, ``event``
        (``foot_strike`` / ``foot_off``).

    Raises
    ------
    OutputError
        ``ezc3d`` is not installed, or the file cannot be written.
    """
    try:
        import ezc3d
    except ImportError as exc:
        raise OutputError(f"{path}: writing C3D needs the ezc3d library: pip install 'gaitpf[c3d]'") from exc
    from .. import __version__

    labels, units, data, t0 = _channels(rec)
    fs = float(rec.sampling_rate_hz)
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [fs]
    c["parameters"]["POINT"]["LABELS"]["value"] = []
    c["parameters"]["ANALOG"]["RATE"]["value"] = [fs]
    # A C3D parameter holds at most 255 entries: ezc3d continues LABELS in LABELS2, LABELS3…
    # itself; UNITS2… are added here and the first UNITS chunk is set after writing (below).
    c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
    if len(units) <= MAX_PARAM_ENTRIES:
        c["parameters"]["ANALOG"]["UNITS"]["value"] = units
    for k in range(MAX_PARAM_ENTRIES, len(units), MAX_PARAM_ENTRIES):
        c.add_parameter("ANALOG", f"UNITS{k // MAX_PARAM_ENTRIES + 1}", units[k: k + MAX_PARAM_ENTRIES])
    c["data"]["points"] = np.zeros((4, 0, data.shape[1]))
    c["data"]["analogs"] = data[None, :, :].astype(np.float64)
    c.add_parameter("SUBJECTS", "NAMES", [rec.subject_id])
    c.add_parameter("MANUFACTURER", "SOFTWARE", [f"gaitpf {__version__}"])
    if gait_events is not None:
        for _, ev in gait_events.iterrows():
            label = C3D_EVENT_LABELS.get(str(ev["event"]))
            if label is None or ev["side"] not in ("left", "right"):
                continue
            c.add_event(time=[0, float(ev["time_s"]) - t0], context=str(ev["side"]).capitalize(), label=label,
                        subject=rec.subject_id)
    p = Path(path)
    with atomic_path(p) as tmp:
        scratch = tmp.with_name(tmp.name + ".c3d")  # ezc3d appends .c3d to any other name
        try:
            c.write(str(scratch))
            if len(units) > MAX_PARAM_ENTRIES:
                _set_first_units(scratch, units[:MAX_PARAM_ENTRIES])
            os.replace(scratch, tmp)
        except Exception as exc:  # ezc3d raises plain RuntimeError/ValueError on I/O
            raise OutputError(f"{p}: cannot write the C3D file ({exc})") from exc
        finally:
            scratch.unlink(missing_ok=True)
    return p
