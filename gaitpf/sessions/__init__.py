"""Subjects, sessions and trials: metadata, the catalog, and session-to-session statistics.

* :mod:`gaitpf.sessions.stats` — symmetry indices, percentile CIs, change vs baseline (pure).
* :mod:`gaitpf.sessions.bootstrap` — circular block bootstrap of per-side means (pure).
* :mod:`gaitpf.sessions.cycles` — gait cycles from stride tables, the resampling unit (pure).
* :mod:`gaitpf.sessions.reliability` — SEM, MDC95, Theil–Sen trend, few-strides warning (pure).
* :mod:`gaitpf.sessions.metadata` — session metadata fields, validation, rewriting a file's metadata.
* :mod:`gaitpf.sessions.catalog` — the rebuildable SQLite index of a recordings tree.
* :mod:`gaitpf.sessions.compare` — trials and sessions from files, session order.
* :mod:`gaitpf.sessions.identity` — what ``gaitpf compare`` compares (stored ids, duplicates, mixed subjects).
* :mod:`gaitpf.sessions.decision` — the "real change" rule, which MDC, signed metrics, affected-side orientation.
* :mod:`gaitpf.sessions.progress` / :mod:`~gaitpf.sessions.progress_tables` — sessions versus baseline.
* :mod:`gaitpf.sessions.wording` — metric names, units and the headline sentence.

Recordings live in ``<root>/<subject>/<session>/<trial>.h5`` with pseudonymous subject ids.
"""
