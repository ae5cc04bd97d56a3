"""Trials and sessions as the session statistics see them (data only, no file access).

* :class:`TrialData` — one analyzed trial, or why it cannot be used;
* :class:`SessionData` — the trials of one session and their pooled statistics;
* the metric families compared across sessions and :data:`MIN_CYCLES`.

Filled by :mod:`gaitpf.sessions.compare` (files → trials → sessions), read by
:mod:`gaitpf.sessions.progress` (sessions → statistics); kept apart so that neither
imports the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import stats

__all__ = [
    "TIMING_METRICS", "KINETIC_METRICS", "FORCE_METRICS_BW", "FORCE_METRICS_RAW", "REGIONAL_METRICS",
    "MIN_CYCLES", "TrialData", "SessionData",
]

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
