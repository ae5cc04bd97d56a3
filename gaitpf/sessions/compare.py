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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import GaitpfError, InputError
from . import stats
from .metadata import validate_metadata

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

#: Timing metrics compared across sessions (independent of the sensor layout).
TIMING_METRICS: tuple[str, ...] = ("stance_time_s", "swing_time_s", "stride_time_s", "step_time_s",
                                   "single_support_s", "stance_pct")
#: Force metrics normalised to body weight (used when the recording has body mass and forces in N).
FORCE_METRICS_BW: tuple[str, ...] = ("peak_force_1_pct_bw", "peak_force_2_pct_bw", "impulse_pct_bw_s")
#: The same force metrics in the recording's own unit (``{u}`` = n, kpa or au), used without body
#: mass; in ``au`` (uncalibrated sensors) they are relative values (see :func:`force_scale`).
FORCE_METRICS_RAW: tuple[str, ...] = ("peak_force_1_{u}", "peak_force_2_{u}", "impulse_{u}_s")
#: Regional load shares and the signed medial–lateral index (need a sensor layout).
REGIONAL_METRICS: tuple[str, ...] = ("heel_load_pct", "midfoot_load_pct", "forefoot_load_pct", "toes_load_pct",
                                     "ml_index")
#: Kinetic/regional metrics compared when present (only between sessions with the same layout and unit):
#: every name a trial may carry (force metrics in %BW or in the recording's unit).
KINETIC_METRICS: tuple[str, ...] = (
    FORCE_METRICS_BW + tuple(m.format(u=u) for u in ("n", "kpa", "au") for m in FORCE_METRICS_RAW) + REGIONAL_METRICS
)
#: Fewer gait cycles than this: the trial/session is left out of the statistics.
MIN_CYCLES = 10


@dataclass
class TrialData:
    """One analyzed trial (or why it could not be used).

    Attributes
    ----------
    path : Path
    subject_id, session, trial : str
        As stored in the recording (never taken from the file name).
    date : str or None
        Session date ``YYYY-MM-DD``: the metadata ``date``, else the day the file was recorded.
    date_source : {"metadata", "recorded", ""}
    content_hash : str
        SHA-256 (first 16 hex digits) of the samples of both feet: the same recording
        under another name or with other metadata has the same hash.
    metadata : dict
        Validated session metadata of the file (invalid values dropped with a warning).
    sides : tuple of str
    layout_key : str
        ``unit:layout_left/layout_right`` — kinetic metrics compare only within one key.
    strides : DataFrame or None
        The analysis core's stride table.
    cycles : CycleData or None
        Steady gait cycles (timing + kinetic metrics).
    curves : dict side -> {"mean", "sd", "n"}
        Mean ± SD stance load curves (0–100 % stance) in ``unit``.
    cop : dict side -> {"x_mm", "y_mm", ...}
        Mean COP gait line per side (absent without a usable layout).
    unit : str
    cadence_spm : float
    n_steady : dict side -> int
    error : str or None
        Why the trial is not usable (None = usable).
    warnings : list of str
    """

    path: Path
    subject_id: str = ""
    session: str = ""
    trial: str = ""
    date: str | None = None
    date_source: str = ""
    content_hash: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    sides: tuple[str, ...] = ()
    layout_key: str = ""
    strides: pd.DataFrame | None = None
    cycles: stats.CycleData | None = None
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)
    cop: dict[str, dict[str, Any]] = field(default_factory=dict)
    unit: str = ""
    cadence_spm: float = float("nan")
    n_steady: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.error is None


@dataclass
class SessionData:
    """The trials of one session and their pooled statistics.

    Attributes
    ----------
    label : str
        Unique label of the unit compared: the stored session id (``subject/session`` when
        subjects are mixed; ``session/trial`` when trials of one session are compared).
    trials : list of TrialData
        All trials, usable or not.
    metadata : dict
        Session metadata merged over the trials (first value wins; conflicts are noted).
    boot : BootstrapMeans or None
        Pooled left/right means with block-bootstrap replicates (None = left out).
    warnings : list of str
        Warnings and what was left out, for the report (the clinician's notes are
        ``metadata["notes"]``, kept apart).
    confounders : list of str
        What changed versus baseline besides the treatment (cadence, condition).
    """

    label: str
    trials: list[TrialData]
    metadata: dict[str, Any] = field(default_factory=dict)
    cycles: stats.CycleData | None = None
    boot: stats.BootstrapMeans | None = None
    warnings: list[str] = field(default_factory=list)
    confounders: list[str] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        """The session stored in the recordings ("" when none)."""
        return next((t.session for t in self.trials if t.session), "")

    @property
    def subject_id(self) -> str:
        return next((t.subject_id for t in self.trials if t.subject_id), "")

    @property
    def date(self) -> str | None:
        """Session date (metadata ``date``, else the day the first trial was recorded)."""
        if self.metadata.get("date"):
            return str(self.metadata["date"])
        return next((t.date for t in self.trials if t.date), None)

    @property
    def usable_trials(self) -> list[TrialData]:
        return [t for t in self.trials if t.usable]

    @property
    def session_no(self) -> int | None:
        return self.metadata.get("session_no")

    @property
    def layout_key(self) -> str:
        keys = [t.layout_key for t in self.usable_trials]
        return keys[0] if keys else ""

    @property
    def cadence_spm(self) -> float:
        vals = [t.cadence_spm for t in self.usable_trials if np.isfinite(t.cadence_spm)]
        return float(np.mean(vals)) if vals else float("nan")

    def n_steady(self, side: str) -> int:
        return int(sum(t.n_steady.get(side, 0) for t in self.usable_trials))


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

    subject_id, files = subject_files(subject, root=root)
    trials = _load_all(files, workers=workers)
    sessions = group_sessions(trials)
    return compute_progress(sessions, subject_id=subject_id, metric=metric, index=index,
                            params=params or stats.BootstrapParams())
