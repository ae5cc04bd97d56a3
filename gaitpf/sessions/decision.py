"""The decision rule for "a real change", the MDC it uses, and asymmetry oriented to the patient.

Pure numpy; no I/O, no printing, inputs never mutated. Used by
:mod:`gaitpf.sessions.progress`.

Decision rule
-------------
A change of a session versus baseline is called **real** only when both hold:

1. its 95 % confidence interval (block bootstrap, :func:`gaitpf.sessions.stats.change_vs_baseline`)
   excludes 0 — the change is larger than the stride-to-stride sampling error of the two
   sessions; and
2. its size exceeds the minimal detectable change, ``|Δ| > MDC95`` with
   ``MDC95 = 1.96·√2·SEM`` (Weir, J Strength Cond Res 2005;19:231) — the change is larger
   than what repeated measurement of an unchanged patient produces.

Both parts are reported (``ci_excludes_zero``, ``above_mdc95``); ``exceeds_mdc`` is their
conjunction. Tested by simulation (``tests/test_decisions.py``,
``benchmarks/bench_decisions.py``): unchanged pairs are called real at most at the CI's
error rate.

Which MDC (``mdc_kind``)
------------------------
The SEM is taken from the most complete source of repeated measurement the data offer:

* ``between_sessions`` — two or more *baseline sessions* (metadata ``phase = baseline``,
  e.g. two visits before treatment starts): SEM = SD of their session values (ddof 1).
  Covers day-to-day variation; the MDC a clinician should use.
* ``between_trials`` — repeated trials within sessions (≥ 2 df): pooled within-session
  SD of trial values, scaled to the trials a session pools
  (:func:`gaitpf.sessions.reliability.sem_trial_to_trial`). Covers trial-to-trial
  variation on one day, not between days: a lower bound for a change between days.
* ``within_session`` — otherwise: SEM = root mean bootstrap variance of the sessions'
  values (stride-to-stride sampling error only). The smallest of the three; a lower
  bound that understates day-to-day variation.

A repeated-measurement SEM is never taken below the within-session one (sampling error
is part of every repeated measurement; a smaller estimate is estimation noise).

Symmetry indices versus differences
-----------------------------------
SI, SA, GA and SR compare two *positive, ratio-scale* quantities (times, forces, load
shares). For a signed quantity that crosses zero (the medial–lateral index, −1 … +1) a
ratio is meaningless (SI 167 % for 0.05 vs −0.02), so its asymmetry is the difference in
its own units: ``lr_difference = L − R``, magnitude ``|L − R|``.

Orientation to the patient
--------------------------
With an affected side (metadata ``affected_side``), ``asym_affected`` states the
asymmetry as affected versus unaffected, **positive = the affected side's value is
larger**: ``100·(A − U)/((A + U)/2)`` for SI, the symmetry angle of (U, A) for SA,
``100·ln(A/U)`` for GA, ``A/U`` for SR (1 = symmetric), ``A − U`` for signed metrics.
Without an affected side the same orientation with the right side in the place of the
affected one (``asym_oriented``; ``asym_affected`` is then empty). Its CI comes from the
same bootstrap replicates as every other CI.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import reliability, stats

__all__ = [
    "SIGNED_METRICS",
    "MIN_SESSIONS_TREND_CI",
    "MDC_KINDS",
    "is_ratio_metric",
    "asymmetry",
    "oriented",
    "sem_within_session",
    "choose_mdc",
    "decide",
    "sign_convention",
]

#: Metrics that take both signs: asymmetry is the left − right difference in units, not an index.
SIGNED_METRICS: frozenset[str] = frozenset({"ml_index"})

#: Fewer sessions than this: the trend slope is shown without a CI (Sen's interval over 3–4
#: points has 3–6 pairwise slopes and does not keep its coverage; see the module docstring
#: of :mod:`gaitpf.sessions.progress`).
MIN_SESSIONS_TREND_CI = 5

#: mdc_kind → reader-facing description.
MDC_KINDS: dict[str, str] = {
    "between_sessions": "between sessions (repeated baseline sessions; includes day-to-day variation)",
    "between_trials": "between trials on the same day (repeated trials; a lower bound: day-to-day variation "
                      "not included)",
    "within_session": "within session (stride-to-stride sampling error only; a lower bound that understates "
                      "day-to-day variation)",
}


def is_ratio_metric(metric: str, left_mean: float, right_mean: float) -> bool:
    """True when symmetry indices apply: not a signed metric and both means are > 0."""
    return metric not in SIGNED_METRICS and bool(left_mean > 0 and right_mean > 0)


def asymmetry(left: Any, right: Any, index: str, ratio: bool, *, magnitude: bool = True) -> np.ndarray:
    """Asymmetry of left/right values: the index for ratio metrics, ``L − R`` for signed ones.

    ``magnitude=True`` gives ``|index|`` (``max(SR, 1/SR)``) or ``|L − R|``.
    """
    left = np.asarray(left, float)
    right = np.asarray(right, float)
    if ratio:
        return np.asarray(stats.index_values(left, right, index, magnitude=magnitude), float)
    d = left - right
    return np.abs(d) if magnitude else d


def oriented(left: Any, right: Any, index: str, ratio: bool, affected: str | None) -> np.ndarray:
    """Asymmetry of the affected versus the unaffected side, positive = affected larger (module docstring)."""
    left = np.asarray(left, float)
    if affected not in ("left", "right"):
        return np.full(left.shape, np.nan)
    a, u = (left, np.asarray(right, float)) if affected == "left" else (np.asarray(right, float), left)
    if not ratio:
        return a - u
    with np.errstate(divide="ignore", invalid="ignore"):
        if index == "sr":
            return a / u
        if index == "ga_pct":
            return 100.0 * np.log(a / u)
    return np.asarray(stats.index_values(u, a, index), float)


def sign_convention(index: str, affected: str | None) -> str:
    """The sentence printed next to oriented asymmetries."""
    name = stats.INDEX_NAMES[index][0]
    if affected in ("left", "right"):
        other = "right" if affected == "left" else "left"
        ref = "1 = symmetric, > 1" if index == "sr" else "positive"
        return (f"asymmetry oriented to the patient: {name} of the affected ({affected}) versus the unaffected "
                f"({other}) side, {ref} = the affected side's value is larger; signed metrics (medial–lateral "
                "index) as affected − unaffected in their units")
    ref = "SR as right/left, > 1" if index == "sr" else "positive"
    return (f"no affected side recorded: asymmetry oriented right versus left ({name} of (left, right), {ref} = "
            "the right side's value is larger); signed metrics (medial–lateral index) as right − left in their "
            "units (lr_difference stays left − right)")


def sem_within_session(signed_boot: Sequence[np.ndarray]) -> float:
    """Root mean bootstrap variance of the sessions' (signed) asymmetry: the within-session SEM."""
    v = [float(np.nanvar(b, ddof=1)) for b in signed_boot if np.isfinite(b).sum() > 2]
    return float(np.sqrt(np.mean(v))) if v else float("nan")


def choose_mdc(
    *,
    within_sem: float,
    baseline_values: Sequence[float],
    trial_values: Sequence[Sequence[float]],
) -> dict[str, Any]:
    """Pick the MDC95 of one metric (see "Which MDC" in the module docstring).

    Parameters
    ----------
    within_sem : float
        :func:`sem_within_session`.
    baseline_values : sequence of float
        Session values of the repeated baseline sessions (``phase = baseline``).
    trial_values : sequence of sequences
        Per session, the values of its trials (for the trial-to-trial SEM).

    Returns
    -------
    dict
        ``sem, mdc95, mdc_kind, mdc_label, method, df`` (``method`` = ``mdc_label``, kept for
        older readers).
    """
    sem, kind, df = within_sem, "within_session", 0
    bv = np.asarray([v for v in baseline_values if np.isfinite(v)], float)
    tt = reliability.sem_trial_to_trial(trial_values)
    if bv.size >= 2:
        sem, kind, df = float(np.std(bv, ddof=1)), "between_sessions", int(bv.size - 1)
    elif tt["df"] >= 2:
        sem, kind, df = tt["sem"], "between_trials", int(tt["df"])
    if kind != "within_session" and np.isfinite(within_sem):
        sem = max(sem, within_sem)
    mdc = reliability.mdc95(sem) if np.isfinite(sem) else float("nan")
    return {"sem": sem, "mdc95": mdc, "mdc_kind": kind, "mdc_label": MDC_KINDS[kind], "method": MDC_KINDS[kind],
            "df": df}


def decide(change: float, ci_low: float, ci_high: float, mdc95: float) -> dict[str, Any]:
    """Apply the decision rule: ``exceeds_mdc`` = CI excludes 0 **and** ``|change| > MDC95``.

    Returns
    -------
    dict
        ``ci_excludes_zero`` (bool or None), ``above_mdc95`` (bool or None),
        ``exceeds_mdc`` (bool, None when the MDC or CI is not available).
    """
    ci_ok = bool(np.isfinite(ci_low) and np.isfinite(ci_high))
    excl = bool(ci_low > 0 or ci_high < 0) if ci_ok else None
    above = bool(abs(change) > mdc95) if (np.isfinite(mdc95) and np.isfinite(change)) else None
    real = None if (excl is None or above is None) else bool(excl and above)
    return {"ci_excludes_zero": excl, "above_mdc95": above, "exceeds_mdc": real}
