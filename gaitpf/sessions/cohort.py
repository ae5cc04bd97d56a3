"""A study's tidy table: subjects × sessions × metrics × statistic, for pandas/R.

One row per (subject, session, metric, statistic) with ``value``, ``ci_low``,
``ci_high``; session covariates (group, date, days since baseline, pain, cadence,
walking speed, steady strides) repeat on every row so the table can be filtered and
modelled directly (e.g. a mixed model of ``value ~ session_no * treatment + (1|subject_id)``).

Statistics: ``left_mean``, ``right_mean``, ``index_signed`` (signed index, positive =
right larger; ratio-scale metrics only), ``lr_difference`` (left − right, in the metric's
units), ``asymmetry`` (index magnitude, 0 = symmetric), ``change_abs`` and
``change_rel_pct`` (versus the subject's baseline).
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from . import stats
from .catalog import Catalog, folder_mismatches, other_files
from .compare import group_sessions, load_trial
from .progress import Progress, compute_progress
from .wording import metric_unit

__all__ = ["COHORT_COLUMNS", "progress_rows", "build_cohort"]

log = logging.getLogger(__name__)

COHORT_COLUMNS: tuple[str, ...] = (
    "subject_id", "group", "session", "session_no", "session_order", "date", "days_since_baseline",
    "is_baseline", "pain_vas", "cadence_spm", "walking_speed_m_s", "n_steady_left", "n_steady_right",
    "metric", "index", "statistic", "value", "value_unit", "ci_low", "ci_high", "exceeds_mdc", "mdc95",
)

#: Statistics in the asymmetry index's units (those the MDC95 applies to); the others are in
#: the metric's units (``left_mean``, ``right_mean``, ``lr_difference``) or % (``change_rel_pct``).
INDEX_STATISTICS: frozenset[str] = frozenset({"index_signed", "asymmetry", "change_abs"})


def _days(date: Any, base: Any) -> float:
    try:
        return float((_dt.date.fromisoformat(str(date)) - _dt.date.fromisoformat(str(base))).days)
    except (TypeError, ValueError):
        return float("nan")


def progress_rows(progress: Progress, *, by: str) -> pd.DataFrame:
    """The tidy rows of one subject's :class:`Progress`."""
    t = progress.table
    st = progress.session_table.set_index("label")
    used = [s for s in progress.sessions if s.boot is not None]
    order = {s.label: k + 1 for k, s in enumerate(used)}
    base_md = used[0].metadata if used else {}
    group = base_md.get(by)
    if group in (None, ""):
        group = next((s.metadata.get(by) for s in progress.sessions if s.metadata.get(by)), "unknown")
    rows = []
    specs = [
        ("left_mean", "left_mean", "left_ci_low", "left_ci_high"),
        ("right_mean", "right_mean", None, None),
        ("index_signed", "index_signed", None, None),
        ("lr_difference", "lr_difference", None, None),
        ("asymmetry", "value", "value_ci_low", "value_ci_high"),
        ("change_abs", "change_abs", "change_abs_ci_low", "change_abs_ci_high"),
        ("change_rel_pct", "change_rel_pct", "change_rel_ci_low", "change_rel_ci_high"),
    ]
    for _, r in t.iterrows():
        s = st.loc[r["label"]]
        common = {
            "subject_id": progress.subject_id, "group": str(group), "session": r["session"],
            "session_no": r["session_no"], "session_order": order.get(r["label"]), "date": r["date"],
            "days_since_baseline": _days(r["date"], base_md.get("date")), "is_baseline": bool(r["is_baseline"]),
            "pain_vas": s["pain_vas"], "cadence_spm": s["cadence_spm"], "walking_speed_m_s": s["walking_speed_m_s"],
            "n_steady_left": s["n_steady_left"], "n_steady_right": s["n_steady_right"],
            "metric": r["metric"], "index": r["index"],
        }
        for name, col, lo, hi in specs:
            if name == "right_mean":
                lo, hi = "right_ci_low", "right_ci_high"
            if col not in r or (name.startswith("change") and r["is_baseline"]):
                continue
            in_index = name in INDEX_STATISTICS
            index_unit = str(r.get("unit") or "") if r["index"] == "left_minus_right" else \
                ("ratio" if r["index"] == "sr" else "% (index points)")
            rows.append({**common, "statistic": name, "value": r[col],
                         "value_unit": index_unit if in_index else ("%" if name == "change_rel_pct"
                                                                    else metric_unit(r["metric"])),
                         "ci_low": r[lo] if lo else np.nan, "ci_high": r[hi] if hi else np.nan,
                         "exceeds_mdc": r.get("exceeds_mdc") if name == "change_abs" else None,
                         # the MDC95 is in the index's units: only on rows in those units
                         "mdc95": progress.mdc.get(r["metric"], {}).get("mdc95", np.nan) if in_index else np.nan})
    return pd.DataFrame(rows, columns=list(COHORT_COLUMNS))


def build_cohort(
    root: str | os.PathLike[str],
    *,
    by: str = "treatment",
    metric: str = "stance_time_s",
    index: str = "sa_pct",
    params: stats.BootstrapParams | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Analyze every subject under ``root``; return (tidy table, notes on what was left out).

    Every file under ``root`` is either analyzed or named in the notes with its reason
    (unreadable, not a recording, a recording in another format, a session or trial left
    out by the statistics); ``table.attrs`` holds the counts (``n_files``,
    ``n_recordings``, ``n_subjects``), the notes (``left_out``) and the warnings
    (stored ids that disagree with the folder names).
    """
    params = params or stats.BootstrapParams()
    with Catalog(Path(root)) as cat:
        cat.refresh()
        entries = cat.entries()
    others = other_files(Path(root))
    n_files = len(entries) + len(others)
    notes = [f"{p}: unreadable ({e})" for p, e in zip(entries["path"], entries["error"]) if isinstance(e, str)]
    notes += [f"{p}: {why}" for p, why in others]
    entries = entries[entries["error"].isna()]
    if entries.empty:
        raise InputError(f"{root}: no readable gaitpf recordings found ({len(others)} other file(s): "
                         f"{'; '.join(notes[:3]) or 'none'})")
    warnings = folder_mismatches(entries)
    parts = []
    for subject, sub in entries.groupby("subject_id", sort=True):
        trials = [load_trial(f) for f in sub["file"]]
        prog = compute_progress(group_sessions(trials), subject_id=str(subject), metric=metric, index=index,
                                params=params)
        notes += [f"{subject}: {x}" for x in prog.left_out]
        if prog.table.empty:
            notes.append(f"{subject}: no usable session, not in the table")
            continue
        parts.append(progress_rows(prog, by=by))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(COHORT_COLUMNS))
    for col in ("subject_id", "group", "session", "date", "metric", "index", "statistic"):
        table[col] = table[col].astype("string")
    table["session_no"] = pd.to_numeric(table["session_no"], errors="coerce").astype("Int64")
    table["exceeds_mdc"] = table["exceeds_mdc"].astype("boolean")
    table["value_unit"] = table["value_unit"].astype("string")
    for col in ("session_order", "n_steady_left", "n_steady_right"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
    for col in ("days_since_baseline", "pain_vas", "cadence_spm", "walking_speed_m_s", "value", "ci_low",
                "ci_high", "mdc95"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    table["is_baseline"] = table["is_baseline"].astype("boolean")
    table.attrs = {"root": str(root), "by": by, "metric": metric, "index": index,
                   "n_files": n_files,
                   "n_recordings": int(len(entries)), "n_subjects": int(table["subject_id"].nunique()),
                   "left_out": list(notes), "warnings": warnings}
    return table, notes
