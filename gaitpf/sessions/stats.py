"""Statistics for comparing sessions: symmetry indices, percentile CIs, change vs baseline.

Built on the block-bootstrap replicates of per-side session means. The pieces live in:

* :mod:`gaitpf.sessions.cycles` — gait cycles, the resampling unit (:class:`CycleData`).
* :mod:`gaitpf.sessions.bootstrap` — circular block bootstrap, block length, block df.
* :mod:`gaitpf.sessions.reliability` — measurement error (SEM, MDC95), trends and the
  few-strides warning.

The names of :mod:`~gaitpf.sessions.cycles` and :mod:`~gaitpf.sessions.bootstrap` are
re-exported here, so ``from gaitpf.sessions.stats import BootstrapParams`` keeps working.

Pure numpy/scipy; no I/O, no printing, inputs never mutated.

Small-sample correction (expanded percentile interval)
------------------------------------------------------
With ~100 cycles and blocks of ~10, the bootstrap variance rests on only ~10 blocks, so
plain percentile intervals cover less than nominal. The block-bootstrap variance has
about ``df = 1.5 · (n/L − 1)`` degrees of freedom (Meketon & Schmeiser 1984; see
:func:`gaitpf.sessions.bootstrap.block_df`). We therefore read the percentiles at the
tail level ``Φ(−t_{df, 1−α/2})`` instead of ``α/2`` — Hesterberg's *expanded
percentile* interval (Am Stat 2015;69:371) with the block df — which keeps the
asymmetry of the percentile interval and widens it like a t interval. For a change vs
baseline the df of the two sessions are combined by Welch–Satterthwaite.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
from scipy import stats as _sst

from ..analysis import symmetry as _sym
from .bootstrap import (
    BootstrapMeans,
    BootstrapParams,
    auto_block_length,
    block_bootstrap_weights,
    block_df,
    block_scale,
    bootstrap_means,
    lag1_autocorr,
)
from .cycles import CycleData, concat_cycles, cycles_from_strides

__all__ = [
    "INDEX_FUNCS",
    "INDEX_NAMES",
    "BootstrapParams",
    "CycleData",
    "BootstrapMeans",
    "cycles_from_strides",
    "concat_cycles",
    "lag1_autocorr",
    "auto_block_length",
    "block_bootstrap_weights",
    "bootstrap_means",
    "index_values",
    "percentile_ci",
    "block_df",
    "block_scale",
    "satterthwaite_df",
    "change_vs_baseline",
]

log = logging.getLogger(__name__)

#: Symmetry indices of (left, right) means, from the analysis core (vectorised).
INDEX_FUNCS: dict[str, Callable[[Any, Any], Any]] = {
    "si_pct": _sym.symmetry_index_pct,
    "sr": _sym.symmetry_ratio,
    "ga_pct": _sym.gait_asymmetry_pct,
    "sa_pct": _sym.symmetry_angle_pct,
}

#: Reader-facing names and units of the indices.
INDEX_NAMES: dict[str, tuple[str, str]] = {
    "si_pct": ("symmetry index (SI)", "%"),
    "sr": ("symmetry ratio (SR = L/R)", ""),
    "ga_pct": ("gait asymmetry (GA)", "%"),
    "sa_pct": ("symmetry angle (SA)", "%"),
}


def satterthwaite_df(var_a: float, df_a: float, var_b: float, df_b: float) -> float:
    """Welch–Satterthwaite df of a difference of two independent estimates."""
    num = (var_a + var_b) ** 2
    den = (var_a**2 / df_a if np.isfinite(df_a) else 0.0) + (var_b**2 / df_b if np.isfinite(df_b) else 0.0)
    if not (np.isfinite(num) and den > 0):
        return float(min(df_a, df_b))
    return float(max(1.0, num / den))


def index_values(left: Any, right: Any, index: str, *, magnitude: bool = False) -> Any:
    """Symmetry index ``index`` (key of :data:`INDEX_FUNCS`) of left/right values.

    ``magnitude=True`` returns the asymmetry magnitude: ``|x|`` for SI, SA and GA and
    ``max(SR, 1/SR)`` for SR, so that "less asymmetric" always means "smaller".
    """
    try:
        func = INDEX_FUNCS[index]
    except KeyError:
        raise ValueError(f"unknown symmetry index {index!r}; use one of {sorted(INDEX_FUNCS)}") from None
    out = np.asarray(func(left, right), dtype=float)
    if magnitude:
        if index == "sr":
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.maximum(out, 1.0 / out)
        else:
            out = np.abs(out)
    return out


def percentile_ci(
    samples: np.ndarray, confidence: float, *, df: float | None = None, scale: float = 1.0, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed percentile interval of bootstrap replicates (NaN replicates ignored).

    The tail level is ``Φ(−scale · t_{df, 1−α/2})`` (expanded percentile interval, see
    the module docstring) instead of ``α/2``; ``df=None``/``inf`` and ``scale=1`` give
    the plain percentile interval.
    """
    a = (1.0 - confidence) / 2.0
    q = _sst.t.ppf(1.0 - a, df) if (df is not None and np.isfinite(df)) else _sst.norm.ppf(1.0 - a)
    a = float(_sst.norm.cdf(-float(scale) * q))
    with np.errstate(invalid="ignore"):
        lo = np.nanquantile(samples, a, axis=axis)
        hi = np.nanquantile(samples, 1.0 - a, axis=axis)
    return lo, hi


def change_vs_baseline(
    base_point: Any,
    base_boot: np.ndarray,
    point: Any,
    boot: np.ndarray,
    *,
    confidence: float,
    base_df: float = float("inf"),
    df: float = float("inf"),
    base_scale: float = 1.0,
    scale: float = 1.0,
) -> dict[str, float]:
    """Absolute and relative change of a quantity versus baseline, with percentile CIs.

    ``Δ = x − x₀`` (same unit as x, e.g. percentage points for SA in %) and
    ``Δ_rel = 100 · (x − x₀) / |x₀|`` (%). The sessions are independent samples, so each
    replicate pairs independent bootstrap replicates of the two sessions.

    Parameters
    ----------
    base_point, point : float
        Estimates at baseline and at the session.
    base_boot, boot : ndarray (n_boot,)
        Their bootstrap replicates (same length).
    confidence : float
    base_df, df, base_scale, scale : float
        Degrees of freedom and expansion factor of each session's bootstrap
        (:class:`BootstrapMeans`); df are combined by Welch–Satterthwaite, scales as a
        variance-weighted mean of their squares (inf and 1 = plain percentile interval).

    Returns
    -------
    dict
        ``baseline, value, change_abs, change_abs_ci_low/high, change_rel_pct,
        change_rel_ci_low/high`` (relative NaN when the baseline is 0).
    """
    b0 = float(base_point)
    x = float(point)
    d_boot = np.asarray(boot, float) - np.asarray(base_boot, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_boot = 100.0 * d_boot / np.abs(np.asarray(base_boot, float))
        rel_boot = np.where(np.isfinite(rel_boot), rel_boot, np.nan)
        rel = 100.0 * (x - b0) / abs(b0) if b0 != 0 else float("nan")
    with np.errstate(invalid="ignore"):
        va, vb = float(np.nanvar(base_boot)), float(np.nanvar(boot))
        comb_df = satterthwaite_df(va, base_df, vb, df)
        comb_scale = float(np.sqrt((va * base_scale**2 + vb * scale**2) / (va + vb))) if va + vb > 0 else 1.0
    lo, hi = percentile_ci(d_boot, confidence, df=comb_df, scale=comb_scale)
    rlo, rhi = (
        percentile_ci(rel_boot, confidence, df=comb_df, scale=comb_scale) if np.isfinite(rel) else (np.nan, np.nan)
    )
    return {
        "baseline": b0,
        "value": x,
        "change_abs": x - b0,
        "change_abs_ci_low": float(lo),
        "change_abs_ci_high": float(hi),
        "change_rel_pct": float(rel),
        "change_rel_ci_low": float(rlo),
        "change_rel_ci_high": float(rhi),
        "df": comb_df,
    }
