"""What the session commands compute, as functions returning DataFrames (for notebooks/scripts).

Each function is what one CLI command prints or writes; every table carries the
subject/session ids as columns and, in ``df.attrs``, what it is about and what was left
out (JSON-serialisable, so ``df.to_parquet`` keeps it)::

    gaitpf.subjects("recordings")                 # gaitpf subjects recordings
    gaitpf.progress("PF001", root="recordings")   # gaitpf progress PF001 --root recordings
    gaitpf.compare(["a.h5", "b.h5"])              # gaitpf compare a.h5 b.h5
    gaitpf.cohort("recordings", by="treatment")   # gaitpf cohort recordings -o cohort.parquet

Nothing is skipped silently: files that cannot be used are listed in ``attrs["left_out"]``
with their reason, and the counts in ``attrs`` say how many files were looked at.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from . import stats

__all__ = ["subjects", "progress", "compare", "cohort", "progress_frame"]


def _params(n_boot: int, seed: int) -> stats.BootstrapParams:
    return stats.BootstrapParams(n_boot=n_boot, seed=seed)


def progress_frame(result: Any) -> pd.DataFrame:
    """The table of a :class:`~gaitpf.sessions.progress.Progress`: one row per session × metric.

    Columns as :attr:`Progress.table` with ``subject_id`` first; ``attrs`` holds the
    subject, headline metric/index, baseline, headline sentence, MDC95 per metric,
    warnings and what was left out.
    """
    table = result.table.copy()
    table.insert(0, "subject_id", result.subject_id)
    d = result.to_dict()
    table.attrs = {k: d.get(k) for k in ("subject_id", "headline_metric", "index", "baseline", "affected_side",
                                         "sign_convention", "headline", "decision_rule", "left_out", "warnings")}
    table.attrs["mdc95"] = {m: v.get("mdc95") for m, v in (d.get("mdc") or {}).items()}
    return table


def progress(
    subject: str,
    *,
    root: str | os.PathLike[str] = "recordings",
    metric: str = "stance_time_s",
    index: str = "sa_pct",
    n_boot: int = 2000,
    seed: int = 20240611,
    workers: int = 1,
) -> pd.DataFrame:
    """Every session of a subject versus the baseline (``gaitpf progress``).

    Parameters
    ----------
    subject : str
        A subject folder, or a subject id under ``root``.
    root : path-like
        Recordings root (``<root>/<subject>/<session>/<trial>.h5``).
    metric, index : str
        Headline stride metric (a stride-table column) and symmetry index
        (``sa_pct``, ``si_pct``, ``ga_pct`` or ``sr``).
    n_boot, seed : int
        Block-bootstrap replicates and seed (same seed, same CIs).
    workers : int
        Processes analysing trials in parallel.

    Returns
    -------
    DataFrame
        One row per session × metric (:func:`progress_frame`).
    """
    from .compare import subject_progress

    return progress_frame(subject_progress(subject, root=root, metric=metric, index=index,
                                           params=_params(n_boot, seed), workers=workers))


def compare(
    files: Sequence[str | os.PathLike[str]],
    *,
    metric: str = "stance_time_s",
    index: str = "sa_pct",
    n_boot: int = 2000,
    seed: int = 20240611,
    allow_mixed_subjects: bool = False,
) -> pd.DataFrame:
    """Compare recordings of one subject, the earliest session the baseline (``gaitpf compare``).

    Returns
    -------
    DataFrame
        As :func:`progress` (one row per compared unit × metric).
    """
    from .identity import compare_files

    return progress_frame(compare_files(list(files), metric=metric, index=index, params=_params(n_boot, seed),
                                        allow_mixed_subjects=allow_mixed_subjects))


def cohort(
    root: str | os.PathLike[str],
    *,
    by: str = "treatment",
    metric: str = "stance_time_s",
    index: str = "sa_pct",
    n_boot: int = 2000,
    seed: int = 20240611,
) -> pd.DataFrame:
    """A study's tidy table of every subject under ``root`` (``gaitpf cohort``).

    Returns
    -------
    DataFrame
        :data:`~gaitpf.sessions.cohort.COHORT_COLUMNS`; ``attrs``: ``n_files`` (files
        looked at), ``n_subjects``, ``left_out`` (``"path: reason"`` per file or session
        not in the table).
    """
    from .cohort import build_cohort

    table, notes = build_cohort(root, by=by, metric=metric, index=index, params=_params(n_boot, seed))
    return table


def subjects(root: str | os.PathLike[str] = "recordings") -> pd.DataFrame:
    """The subjects of a recordings root with their sessions (``gaitpf subjects``).

    Returns
    -------
    DataFrame
        Indexed by ``subject_id``: ``n_sessions``, ``sessions`` (labels, natural order),
        ``n_recordings``, ``first_recorded``/``last_recorded`` (UTC dates), ``duration_s``
        (total). ``attrs``: ``root``, ``left_out`` (unreadable files with their reason),
        ``warnings`` (stored subject/session that disagree with the folder names).
    """
    from .catalog import Catalog, folder_mismatches
    from .compare import _natural

    with Catalog(Path(root)) as cat:
        cat.refresh()
        entries = cat.entries()
        unreadable = cat.unreadable()
    ok = entries[entries["error"].isna()]
    rows = []
    for subject, sub in ok.groupby("subject_id", sort=True):
        labels = sorted({str(s) for s in sub["session"]}, key=_natural)
        dates = sorted(str(c)[:10] for c in sub["created_utc"] if c)
        rows.append({"subject_id": str(subject), "n_sessions": len(labels), "sessions": ", ".join(labels),
                     "n_recordings": len(sub), "first_recorded": dates[0] if dates else None,
                     "last_recorded": dates[-1] if dates else None,
                     "duration_s": float(pd.to_numeric(sub["duration_s"], errors="coerce").sum())})
    cols = ["subject_id", "n_sessions", "sessions", "n_recordings", "first_recorded", "last_recorded", "duration_s"]
    out = pd.DataFrame(rows, columns=cols).astype({"n_sessions": "int64", "n_recordings": "int64"})
    out = out.set_index("subject_id")
    out.attrs = {"root": str(root), "n_files": len(entries),
                 "left_out": [f"{p}: unreadable ({e})" for p, e in unreadable],
                 "warnings": folder_mismatches(ok)}
    return out
