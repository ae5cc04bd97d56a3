"""Per-session table, trend and confounders of :mod:`gaitpf.sessions.progress` (no statistics of change).

* :func:`session_table` — one row per session: stored ids (``session``, ``subject_id``,
  ``trials``), ``date`` and where it came from, the metadata (``treatment``,
  ``condition``, ``affected_side``, ``pain_vas``, ``phase``), the clinician's ``notes``
  (metadata, never overwritten), gaitpf's ``warnings`` and the ``confounders`` flagged
  versus baseline, cadence, steady strides and inclusion.
* :func:`trend_table` — Theil–Sen slope per metric; Sen's CI only from
  :data:`~gaitpf.sessions.decision.MIN_SESSIONS_TREND_CI` sessions on; none for mixed subjects.
* :func:`confounders` — cadence change > :data:`CADENCE_CHANGE_PCT` % and a change of the
  shoe/walking ``condition`` versus baseline, flagged per session.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import decision, reliability
from .trials import SessionData

__all__ = ["CADENCE_CHANGE_PCT", "session_table", "trend_table", "confounders"]

#: Cadence change versus baseline (%) above which the report warns of a speed confound.
CADENCE_CHANGE_PCT = 5.0


def session_table(sessions: Sequence[SessionData], base: SessionData | None) -> pd.DataFrame:
    """One row per session (see the module docstring)."""
    rows = []
    for sd in sessions:
        md = sd.metadata
        rows.append({
            "label": sd.label, "session": sd.session_id or sd.label, "subject_id": sd.subject_id,
            "trials": ", ".join(t.trial or "–" for t in sd.trials),
            "files": [str(t.path) for t in sd.trials],
            "session_no": sd.session_no, "date": sd.date,
            "date_source": "metadata" if md.get("date") else ("recorded" if sd.date else ""),
            "phase": md.get("phase"), "treatment": md.get("treatment"), "condition": md.get("condition"),
            "affected_side": md.get("affected_side"), "pain_vas": md.get("pain_vas"),
            "walking_speed_m_s": md.get("walking_speed_m_s"), "notes": md.get("notes") or "",
            "cadence_spm": sd.cadence_spm,
            "n_trials": len(sd.trials), "n_trials_used": len(sd.usable_trials) if sd.boot is not None else 0,
            "n_steady_left": sd.n_steady("left"), "n_steady_right": sd.n_steady("right"),
            "n_cycles": sd.boot.n_cycles if sd.boot is not None else 0,
            "block_len": sd.boot.block_len if sd.boot is not None else None,
            "included": sd.boot is not None, "is_baseline": sd is base,
            "confounders": "; ".join(sd.confounders), "warnings": "; ".join(sd.warnings),
        })
    return pd.DataFrame(rows)


def trend_table(table: pd.DataFrame, used: Sequence[SessionData], metrics: list[str], conf: float, mixed: bool,
           warnings: list[str]) -> dict[str, dict[str, Any]]:
    """Theil–Sen slope of the asymmetry magnitude per metric; CI only from MIN_SESSIONS_TREND_CI sessions."""
    trend: dict[str, dict[str, Any]] = {}
    if not len(table) or mixed:
        return trend
    have_no = all(s.session_no is not None for s in used)
    for m in metrics:
        sub = table[(table["metric"] == m) & table["comparable"]]
        x = sub["session_no"].to_numpy(float) if have_no else np.arange(1, len(sub) + 1, dtype=float)
        ts = reliability.theil_sen(x, sub["value"].to_numpy(float), confidence=conf)
        ts["x"] = "session_no" if have_no else "session order"
        if ts["n"] < decision.MIN_SESSIONS_TREND_CI:
            ts["slope_ci_low"] = ts["slope_ci_high"] = float("nan")
            ts["ci_note"] = (f"no CI with fewer than {decision.MIN_SESSIONS_TREND_CI} sessions (Sen's interval "
                             "over so few points does not keep its coverage)")
        trend[m] = ts
    if len(used) < 3:
        warnings.append("trend needs ≥ 3 usable sessions; not estimated")
    return trend


def confounders(used: Sequence[SessionData], warnings: list[str]) -> list[str]:
    """Flag cadence and shoe/walking-condition changes versus baseline (they confound symmetry).

    Each flag is added to the session's ``confounders`` (short form) and ``warnings`` and to
    ``warnings`` (sentence); the sentences are also returned.
    """
    out: list[str] = []
    if not used:
        return out
    base = used[0]
    for sd in used[1:]:
        c0, c1 = base.cadence_spm, sd.cadence_spm
        if np.isfinite(c0) and np.isfinite(c1) and c0 > 0 and abs(100 * (c1 - c0) / c0) > CADENCE_CHANGE_PCT:
            w = (f"session {sd.label}: cadence {c1:.0f} vs {c0:.0f} steps/min at baseline "
                 f"({100 * (c1 - c0) / c0:+.0f}%); walking speed differs, and symmetry and variability change "
                 "with speed — interpret the change with care")
            sd.confounders.append(f"cadence {100 * (c1 - c0) / c0:+.0f}% vs baseline")
            sd.warnings.append(w)
            warnings.append(w)
            out.append(w)
        k0, k1 = base.metadata.get("condition"), sd.metadata.get("condition")
        if k0 and k1 and str(k0).strip().lower() != str(k1).strip().lower():
            w = (f"session {sd.label}: condition {k1!r} differs from the baseline's {k0!r}; shoes and walking "
                 "conditions change plantar load and symmetry — the change may be theirs, not the treatment's")
            sd.confounders.append(f"condition {k1!r} vs {k0!r} at baseline")
            sd.warnings.append(w)
            warnings.append(w)
            out.append(w)
    return out
