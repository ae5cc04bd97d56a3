"""From files to sessions: analyze each trial, group trials into sessions, compare.

* :func:`load_trial` reads and analyzes one recording and keeps what the statistics and
  the report need (stride table, gait cycles, mean curves, COP gait lines). A trial that
  cannot be used (unreadable, one foot, no steady walking) is kept with its reason, so
  the report can say what was left out.
* :func:`group_sessions` groups trials by the ``session`` stored in the recording and
  orders sessions by ``session_no`` metadata, then date (the session date of the
  metadata, else the date the file was recorded), then the session label.
* :func:`subject_progress` runs the statistics of :mod:`gaitpf.sessions.progress` over a
  subject's sessions (:func:`gaitpf.sessions.identity.compare_files` over a list of files).
  The inputs of a comparison are identified by what the recordings store (subject,
  session, trial, date) and checked by :mod:`gaitpf.sessions.identity`: the same
  samples twice and different subjects are refused; never labelled by file name.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import GaitpfError, InputError
from . import stats
from .metadata import validate_metadata
from .trials import (FORCE_METRICS_BW, FORCE_METRICS_RAW, KINETIC_METRICS, MIN_CYCLES, REGIONAL_METRICS,
                     TIMING_METRICS, SessionData, TrialData)

__all__ = [
    "TIMING_METRICS",
    "KINETIC_METRICS",
    "FORCE_METRICS_BW",
    "FORCE_METRICS_RAW",
    "REGIONAL_METRICS",
    "trial_metrics",
    "content_hash",
    "MIN_CYCLES",
    "TrialData",
    "SessionData",
    "load_trial",
    "group_sessions",
    "session_order_key",
    "subject_files",
    "subject_progress",
]

log = logging.getLogger(__name__)

def _channel_ok(info: dict[str, Any], n: int) -> np.ndarray:
    ok = np.ones(n, dtype=bool)
    dead = [i for i in info.get("dead_channels", []) if 0 <= int(i) < n]
    ok[dead] = False
    return ok


def content_hash(rec: Any) -> str:
    """SHA-256 (16 hex digits) of a recording's samples: side, shape, dtype and values of each foot."""
    h = hashlib.sha256()
    for side in sorted(rec.feet):
        v = np.ascontiguousarray(rec.feet[side].values)
        h.update(f"{side}:{v.shape}:{v.dtype.str}:".encode())
        h.update(memoryview(v).cast("B"))
    return h.hexdigest()[:16]


def trial_metrics(strides: pd.DataFrame) -> list[str]:
    """The metrics of a stride table that the session statistics compare.

    Timing metrics; force metrics normalised to body weight when the table has them
    (body mass known, forces in N), otherwise the same force metrics in the recording's
    own unit (N, kPa or a.u.) — never dropped; regional load shares and ``ml_index``.
    """
    cols = set(strides.columns)

    def has(m: str) -> bool:
        return m in cols and bool(np.isfinite(pd.to_numeric(strides[m], errors="coerce")).any())

    out = [m for m in TIMING_METRICS if m in cols]
    force = [m for m in FORCE_METRICS_BW if has(m)]
    if not force:
        for u in ("n", "kpa", "au"):
            force = [m.format(u=u) for m in FORCE_METRICS_RAW if has(m.format(u=u))]
            if force:
                break
    return out + force + [m for m in REGIONAL_METRICS if has(m)]


def load_trial(path: str | os.PathLike[str]) -> TrialData:
    """Read and analyze one recording; never raises for a bad file (see ``error``)."""
    from ..analysis import analyze
    from ..analysis.kinetics import mean_cop_path
    from ..io import read_recording

    p = Path(path)
    td = TrialData(path=p)
    try:
        rec = read_recording(p)
    except GaitpfError as exc:
        td.error = f"unreadable: {exc}"
        return td
    td.subject_id, td.session, td.trial = str(rec.subject_id or ""), str(rec.session or ""), str(rec.trial or "")
    td.metadata = validate_metadata(rec.metadata, strict=False)
    td.content_hash = content_hash(rec)
    if td.metadata.get("date"):
        td.date, td.date_source = str(td.metadata["date"]), "metadata"
    elif str(rec.created_utc or "")[:10]:
        td.date, td.date_source = str(rec.created_utc)[:10], "recorded"
    td.sides = rec.sides
    td.unit = next(iter(rec.feet.values())).unit
    layouts = "/".join(
        (rec.feet[s].layout.layout_id if rec.feet[s].layout is not None else "none") for s in rec.sides
    )
    td.layout_key = f"{td.unit}:{layouts}:{next(iter(rec.feet.values())).n_sensors}"
    try:
        res = analyze(rec)
    except GaitpfError as exc:
        td.error = f"not analyzable: {exc}"
        return td
    td.strides = res.strides
    td.warnings = list(res.warnings)
    td.curves = res.curves
    steady = res.strides[res.strides["steady"].to_numpy(dtype=bool)]
    td.n_steady = {s: int((steady["side"] == s).sum()) for s in ("left", "right")}
    td.cadence_spm = float(steady["cadence_spm"].median()) if len(steady) else float("nan")
    for side in rec.sides:
        foot = rec.feet[side]
        rows = steady[steady["side"] == side]
        ok = _channel_ok(res.channels.get(side, {}), foot.n_sensors)
        path_ = mean_cop_path(foot.values, strides=rows, layout=foot.layout, channel_ok=ok)
        if path_["n"] > 0:
            td.cop[side] = path_
    if len(rec.sides) < 2:
        td.error = f"one foot only ({rec.sides[0]}): no left/right symmetry"
        return td
    metrics = trial_metrics(res.strides)
    td.cycles = stats.cycles_from_strides(res.strides, metrics=metrics)
    if min(td.n_steady.values()) == 0:
        td.error = "no steady walking (no steady strides on " + \
            " and ".join(s for s, n in td.n_steady.items() if n == 0) + ")"
    elif td.cycles.n_cycles < MIN_CYCLES:
        td.error = f"only {td.cycles.n_cycles} steady gait cycles (< {MIN_CYCLES}): too few for statistics"
    return td


def _natural(label: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label)]


def session_order_key(sd: SessionData, position: int = 0) -> tuple[Any, ...]:
    """Sort key of a session: ``session_no``, then date, then the label (naturally), then input order."""
    no = sd.metadata.get("session_no")
    return (no if no is not None else float("inf"), sd.date or "9999-99-99", _natural(sd.label), position)


def group_sessions(
    trials: Sequence[TrialData], *, key: Callable[[TrialData], str] | None = None
) -> list[SessionData]:
    """Group trials into sessions and put them in session order (:func:`session_order_key`).

    Parameters
    ----------
    trials : sequence of TrialData
    key : callable, optional
        Trial → unit label; default: the session stored in the recording (the folder
        name for a file that stores none).
    """
    key = key or (lambda t: t.session or t.path.parent.name)
    groups: dict[str, list[TrialData]] = {}
    first: dict[str, int] = {}
    for i, t in enumerate(trials):
        k = key(t)
        groups.setdefault(k, []).append(t)
        first.setdefault(k, i)
    sessions = []
    for label, members in groups.items():
        sd = SessionData(label=label, trials=members)
        for t in members:
            for k, v in t.metadata.items():
                if k not in sd.metadata:
                    sd.metadata[k] = v
                elif sd.metadata[k] != v and k != "notes":
                    sd.warnings.append(f"trials disagree on {k} ({sd.metadata[k]!r} vs {v!r} in {t.path.name}); "
                                       f"using {sd.metadata[k]!r}")
        sessions.append(sd)
    return sorted(sessions, key=lambda sd: session_order_key(sd, first[sd.label]))


def subject_files(subject: str, *, root: str | os.PathLike[str] | None) -> tuple[str, list[Path]]:
    """Resolve SUBJECT (a folder, or an id under ``root``) to (subject id, recording files)."""
    from .catalog import Catalog, scan_files

    p = Path(subject)
    if p.is_dir():
        files = scan_files(p)
        if not files:
            raise InputError(f"{p}: no .h5 recordings in this folder")
        return p.name, files
    root_p = Path(root if root is not None else "recordings")
    if not root_p.is_dir():
        raise InputError(
            f"{subject!r} is not a folder and the recordings root {root_p} does not exist; give the subject's "
            "folder or --root"
        )
    with Catalog(root_p) as cat:
        cat.refresh()
        return subject, cat.files_of(subject)


def _load_all(files: Sequence[Path], *, workers: int = 1) -> list[TrialData]:
    if workers > 1 and len(files) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as ex:
            return list(ex.map(load_trial, files))
    return [load_trial(f) for f in files]


def subject_progress(
    subject: str,
    *,
    root: str | os.PathLike[str] | None = None,
    metric: str = "stance_time_s",
    index: str = "sa_pct",
    params: stats.BootstrapParams | None = None,
    workers: int = 1,
):
    """Analyze every session of a subject and compare them with the baseline.

    Returns
    -------
    gaitpf.sessions.progress.Progress
    """
    from .progress import compute_progress

    from .catalog import folder_mismatch, other_files

    subject_id, files = subject_files(subject, root=root)
    trials = _load_all(files, workers=workers)
    sessions = group_sessions(trials)
    result = compute_progress(sessions, subject_id=subject_id, metric=metric, index=index,
                              params=params or stats.BootstrapParams())
    # the subject's folder may hold files that are not recordings: listed, never skipped silently
    folder = Path(subject) if Path(subject).is_dir() else Path(root if root is not None else "recordings") / subject
    if folder.is_dir():
        result.left_out.extend(f"{folder.name}/{p}: {why}" for p, why in other_files(folder))
    base = folder.parent
    for t in trials:  # stored ids that disagree with the folders: said, the stored ones used
        try:
            rel = t.path.relative_to(base).as_posix()
        except ValueError:
            continue
        w = folder_mismatch(rel, t.subject_id, t.session) if t.subject_id else None  # unreadable: no ids
        if w:
            result.warnings.append(w)
    return result
