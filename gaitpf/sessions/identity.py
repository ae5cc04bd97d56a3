"""What a comparison compares: inputs identified by what the recordings store.

``gaitpf compare`` receives file names, but a file name says nothing reliable about
whom and when it recorded (``PF01/S01/t1.h5`` and ``PF01/S03/t1.h5`` share the stem
``t1``). Every input is therefore identified by the subject, session and trial ids
stored in the recording and by its date (metadata ``date``, else the day it was
recorded), and checked before any statistics:

* **the same recording twice is refused**: two inputs whose samples have the same
  content hash (:func:`gaitpf.sessions.compare.content_hash`; a copy or a file whose
  metadata was rewritten keeps its hash) would pool one walk as two and halve its
  apparent error;
* **different subjects are refused** unless asked for explicitly
  (``--allow-mixed-subjects``): a difference between two people is not a change of one
  patient, and a trend over them means nothing;
* **units and order** (:func:`comparison_units`): files of different stored sessions are
  pooled per session; files that all belong to one session are compared trial by
  trial. Units are put in session order (session number, date, label — see
  :func:`gaitpf.sessions.compare.session_order_key`), so the baseline is the earliest
  session whatever the order of the arguments.

No statistics here; :func:`check_inputs` raises :class:`~gaitpf.errors.InputError` with
one line naming the files.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

from ..errors import InputError
from . import stats
from .compare import SessionData, TrialData, group_sessions, load_trial

__all__ = ["check_inputs", "comparison_units", "compare_files"]

log = logging.getLogger(__name__)


def check_inputs(trials: Sequence[TrialData], *, allow_mixed_subjects: bool = False) -> list[str]:
    """Refuse duplicated recordings and (unless allowed) mixed subjects.

    Parameters
    ----------
    trials : sequence of TrialData
        Loaded inputs (unreadable ones are ignored here).
    allow_mixed_subjects : bool
        Accept recordings of different subjects (a warning is returned instead).

    Returns
    -------
    list of str
        Warnings (mixed subjects when allowed).

    Raises
    ------
    InputError
        Two inputs hold the same samples, or the subjects differ and mixing is not allowed.
    """
    readable = [t for t in trials if t.content_hash]
    seen: dict[str, TrialData] = {}
    for t in readable:
        other = seen.get(t.content_hash)
        if other is not None:
            raise InputError(
                f"{other.path} and {t.path} hold the same recording (identical samples, content hash "
                f"{t.content_hash}); give each recording once"
            )
        seen[t.content_hash] = t
    by_subject: dict[str, list[str]] = {}
    for t in readable:
        by_subject.setdefault(t.subject_id or "(none)", []).append(str(t.path))
    if len(by_subject) > 1:
        listing = "; ".join(f"{s}: {', '.join(ps)}" for s, ps in sorted(by_subject.items()))
        if not allow_mixed_subjects:
            raise InputError(
                f"the recordings are of different subjects ({listing}); a difference between people is not a "
                "patient's change — pass --allow-mixed-subjects to compare them anyway"
            )
        return [f"recordings of different subjects compared ({listing}): differences are between people, "
                "not changes of one patient; no trend is estimated"]
    return []


def comparison_units(trials: Sequence[TrialData]) -> tuple[list[SessionData], list[str], list[str]]:
    """Group readable inputs into the units compared, in session order.

    * Several stored sessions: one unit per (subject, session), its files pooled as
      trials; label = the session id (``subject/session`` when subjects are mixed).
    * One stored session (or none stored): one unit per file, label
      ``session/trial``; inputs that store the same session and trial get ``#k`` (their
      position among the inputs) appended, with a warning.

    Returns
    -------
    sessions : list of SessionData
    warnings : list of str
    left_out : list of str
        Unreadable inputs (not part of any unit).
    """
    warnings: list[str] = []
    left_out = [f"{t.path}: {t.error}" for t in trials if not t.content_hash]
    readable = [t for t in trials if t.content_hash]
    position = {id(t): k for k, t in enumerate(trials, start=1)}
    mixed = len({t.subject_id for t in readable}) > 1
    keys = {(t.subject_id, t.session) for t in readable}
    if len(keys) > 1:
        def key(t: TrialData) -> str:
            s = t.session or "(no session)"
            return f"{t.subject_id}/{s}" if mixed else s
    else:
        ids = [f"{t.session or '–'}/{t.trial or '–'}" for t in readable]
        dup = {i for i in ids if ids.count(i) > 1}
        for i in sorted(dup):
            files = [str(t.path) for t, j in zip(readable, ids) if j == i]
            warnings.append(f"{', '.join(files)} all store session/trial {i}: labelled {i} #k by their position "
                            "among the inputs; give each trial its own id (--session/--trial when recording)")
        labels = {id(t): (j + f" #{position[id(t)]}" if j in dup else j) for t, j in zip(readable, ids)}

        def key(t: TrialData) -> str:
            return labels[id(t)]

        if readable:
            log.debug("comparing %d trials of one session", len(readable))
    sessions = group_sessions(readable, key=key)
    given = [key(t) for t in readable]
    given = list(dict.fromkeys(given))
    if [s.label for s in sessions] != given and sessions:
        warnings.append(f"inputs put in session order (session number, date, id): baseline is {sessions[0].label}, "
                        f"then {', '.join(s.label for s in sessions[1:])}")
    return sessions, warnings, left_out


def compare_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    metric: str = "stance_time_s",
    index: str = "sa_pct",
    params: stats.BootstrapParams | None = None,
    allow_mixed_subjects: bool = False,
):
    """Compare recordings identified by what they store; the earliest session is the baseline.

    Files of different stored sessions are pooled per session and the sessions compared
    in session order; files that all belong to one session are compared trial by trial
    (see :func:`gaitpf.sessions.identity.comparison_units`).

    Raises
    ------
    InputError
        Fewer than two files, none of them exists, the same samples given twice, or
        different subjects without ``allow_mixed_subjects``.
    """
    from .progress import compute_progress

    if len(paths) < 2:
        raise InputError("compare needs at least two recordings (the earliest session is the baseline)")
    missing = [str(p) for p in paths if not Path(p).exists()]
    if len(missing) == len(paths):
        raise InputError(f"{missing[0]}: no such file (none of the {len(paths)} recordings to compare exists)")
    trials = [load_trial(p) for p in paths]
    mixed = check_inputs(trials, allow_mixed_subjects=allow_mixed_subjects)
    sessions, notes, left_out = comparison_units(trials)
    notes = mixed + notes
    subjects = sorted({t.subject_id for t in trials if t.subject_id})
    progress = compute_progress(sessions, subject_id=",".join(subjects) or "?", metric=metric, index=index,
                                params=params or stats.BootstrapParams(), trial_mode=True)
    progress.warnings[:0] = notes
    progress.left_out[:0] = left_out
    return progress
