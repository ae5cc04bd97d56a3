"""Measurement error and trend across sessions: SEM, MDC95, Theil–Sen, few-strides warning.

Pure numpy/scipy; no I/O, no printing, inputs never mutated. The bootstrap confidence
intervals of a session's value and of its change vs baseline are in
:mod:`gaitpf.sessions.stats`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats as _sst

__all__ = ["MIN_STEADY_STRIDES", "mdc95", "sem_trial_to_trial", "sem_split_half", "theil_sen", "few_strides_warning"]

#: Steady strides per side below which an estimate is flagged as unstable (the
#: literature asks for about 30–60; e.g. Lord et al., Gait Posture 2011;34:443).
MIN_STEADY_STRIDES = 30


def mdc95(sem: float) -> float:
    """Minimal detectable change at 95 % confidence: ``MDC95 = 1.96 · √2 · SEM``.

    Reference: Weir JP. Quantifying test-retest reliability using the intraclass
    correlation coefficient and the SEM. J Strength Cond Res 2005;19:231–240.
    """
    return float(1.96 * np.sqrt(2.0) * float(sem))


def sem_trial_to_trial(values_by_session: Sequence[Sequence[float]]) -> dict[str, float]:
    """Standard error of measurement from repeated trials within sessions.

    ``SEM_trial = √(pooled within-session variance)``: the within-session variances
    (ddof = 1) of sessions with ≥ 2 finite trial values are pooled with weights
    ``k_j − 1``. A session's value pools its ``k`` trials, so the SEM of a session value
    is ``SEM_trial / √k̄`` (k̄ = mean trials per contributing session).

    Returns
    -------
    dict
        ``sem`` (of a session value), ``sem_trial``, ``df`` (NaN SEMs when no session
        has two trials).
    """
    ss, df, ks = 0.0, 0, []
    for vals in values_by_session:
        v = np.asarray(vals, dtype=float)
        v = v[np.isfinite(v)]
        if v.size >= 2:
            ss += float(((v - v.mean()) ** 2).sum())
            df += v.size - 1
            ks.append(v.size)
    if df == 0:
        return {"sem": float("nan"), "sem_trial": float("nan"), "df": 0}
    sem_trial = float(np.sqrt(ss / df))
    return {"sem": sem_trial / float(np.sqrt(np.mean(ks))), "sem_trial": sem_trial, "df": df}


def sem_split_half(halves: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Standard error of measurement from split-half reliability.

    Each session's steady cycles are split into a first and a second half in time;
    ``SEM_half = √(Σ (h1 − h2)² / (2m))`` over the m sessions (the SD of the
    differences / √2, with the mean difference taken as zero so that drift within a
    session counts as error). A half holds half the strides, so the SEM of a whole
    session value is ``SEM_half / √2``.

    Returns
    -------
    dict
        ``sem``, ``sem_half``, ``df`` (= m).
    """
    h = np.asarray([p for p in halves if np.all(np.isfinite(p))], dtype=float).reshape(-1, 2)
    if h.shape[0] == 0:
        return {"sem": float("nan"), "sem_half": float("nan"), "df": 0}
    sem_half = float(np.sqrt(np.sum((h[:, 0] - h[:, 1]) ** 2) / (2 * h.shape[0])))
    return {"sem": sem_half / float(np.sqrt(2.0)), "sem_half": sem_half, "df": int(h.shape[0])}


def theil_sen(x: Sequence[float], y: Sequence[float], *, confidence: float = 0.95) -> dict[str, float]:
    """Theil–Sen slope of ``y`` over ``x`` with its confidence interval.

    Median of pairwise slopes (Sen, JASA 1968;63:1379), via
    :func:`scipy.stats.theilslopes`; the interval is Sen's distribution-free interval.

    Returns
    -------
    dict
        ``slope, intercept, slope_ci_low, slope_ci_high, n``; NaNs for fewer than
        3 finite points.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    nan = float("nan")
    if ok.sum() < 3 or np.ptp(xa[ok]) == 0:
        return {"slope": nan, "intercept": nan, "slope_ci_low": nan, "slope_ci_high": nan, "n": int(ok.sum())}
    res = _sst.theilslopes(ya[ok], xa[ok], alpha=confidence)
    return {
        "slope": float(res.slope),
        "intercept": float(res.intercept),
        "slope_ci_low": float(res.low_slope),
        "slope_ci_high": float(res.high_slope),
        "n": int(ok.sum()),
    }


def few_strides_warning(n_steady: dict[str, int], *, label: str, minimum: int = MIN_STEADY_STRIDES) -> str | None:
    """A warning text when a side has fewer than ``minimum`` steady strides, else None."""
    low = {s: int(n) for s, n in n_steady.items() if int(n) < minimum}
    if not low:
        return None
    parts = ", ".join(f"{s} {n}" for s, n in sorted(low.items()))
    return (
        f"{label}: only {parts} steady strides (≥ {minimum} per side recommended); "
        "its estimates are unstable and its CIs wide — record a longer straight walk"
    )
