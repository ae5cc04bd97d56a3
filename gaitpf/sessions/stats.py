"""Statistics for comparing sessions: block bootstrap CIs and change vs baseline.

Measurement error (SEM, MDC95), trends and the few-strides warning are in
:mod:`gaitpf.sessions.reliability`.

Pure numpy/scipy/pandas; no I/O, no printing, inputs never mutated.

Why a *block* bootstrap
-----------------------
Consecutive strides are serially correlated (stride-time series have lag-1
autocorrelations of roughly 0.2–0.6 and long-range persistence; Hausdorff et al.,
J Appl Physiol 1995;78:349). Resampling single strides (the plain iid bootstrap)
treats them as independent and gives confidence intervals that are too narrow. We use
the **circular block bootstrap** (Politis & Romano 1992): the series of gait cycles is
cut into blocks of ``block_len`` consecutive cycles, blocks are drawn with replacement
(wrapping around the end) until the original length is reached.

Resampling unit: the gait cycle
-------------------------------
Each left stride starts a *cycle*; the right strides that start before the next left
stride belong to the same cycle. Resampling whole cycles keeps left/right pairs
together, so the positive within-cycle correlation of the two sides is preserved
(which matters for indices of L versus R). Per cycle we keep the per-side sum and count
of each metric; a bootstrap replicate is a weight vector over cycles (how often each
cycle was drawn), so replicate means are one matrix product ``W @ sums / W @ counts``.

Small-sample correction (expanded percentile interval)
------------------------------------------------------
With ~100 cycles and blocks of ~10, the bootstrap variance rests on only ~10 blocks
and is itself uncertain (and biased low by the mean-centring of short series), so plain
percentile intervals cover less than nominal. As in the batch-means method of
simulation output analysis, the block-bootstrap (overlapping-batch-means) variance has
about ``df = 1.5 · (n/L − 1)`` degrees of freedom (Meketon & Schmeiser, Proc. Winter
Simulation Conf. 1984), capped at ``n − 1``. We therefore read the percentiles at the
tail level ``Φ(−t_{df, 1−α/2})`` instead of ``α/2`` — Hesterberg's *expanded
percentile* interval (Am Stat 2015;69:371) with the block df — which keeps the
asymmetry of the percentile interval and widens it like a t interval.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _sst

from ..analysis import symmetry as _sym

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


@dataclass(frozen=True)
class BootstrapParams:
    """Tunables of the block bootstrap.

    Parameters
    ----------
    n_boot : int
        Number of bootstrap replicates (≥ 200; 2000 gives percentile CIs whose Monte
        Carlo error is ≈ 0.5 % coverage).
    confidence : float
        Two-sided confidence level of percentile intervals (0 < c < 1).
    block_len : int or None
        Cycles per block; ``None`` chooses it from the data (:func:`auto_block_length`).
        ``1`` is the plain iid bootstrap (too narrow for serially correlated strides).
    seed : int
        Seed of the random generator (results are reproducible).
    """

    n_boot: int = 2000
    confidence: float = 0.95
    block_len: int | None = None
    seed: int = 20240611

    def __post_init__(self) -> None:
        if int(self.n_boot) < 200:
            raise ValueError(f"n_boot must be ≥ 200 for percentile intervals, got {self.n_boot}")
        if not 0.0 < float(self.confidence) < 1.0:
            raise ValueError(f"confidence must lie in (0, 1), got {self.confidence}")
        if self.block_len is not None and int(self.block_len) < 1:
            raise ValueError(f"block_len must be ≥ 1 or None, got {self.block_len}")


@dataclass
class CycleData:
    """Per-cycle sums and counts of metrics for each side (see module docstring).

    Attributes
    ----------
    metrics : tuple of str
    sums, counts : dict side -> ndarray (n_cycles, n_metrics)
        Sum of finite values and number of finite values per cycle.
    """

    metrics: tuple[str, ...]
    sums: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]

    @property
    def n_cycles(self) -> int:
        return int(next(iter(self.sums.values())).shape[0])

    def n_strides(self, side: str) -> int:
        """Strides of ``side`` with a finite value of the first metric."""
        return int(self.counts[side][:, 0].sum()) if self.metrics else 0

    def cycle_means(self, side: str) -> np.ndarray:
        """Per-cycle mean of each metric, NaN where the cycle has no stride of ``side``."""
        c = self.counts[side]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, self.sums[side] / np.where(c > 0, c, 1), np.nan)

    def split(self, parts: int = 2) -> list["CycleData"]:
        """Split into ``parts`` contiguous pieces in time order (for split-half reliability)."""
        edges = np.linspace(0, self.n_cycles, parts + 1).round().astype(int)
        return [
            CycleData(
                self.metrics,
                {s: a[lo:hi] for s, a in self.sums.items()},
                {s: a[lo:hi] for s, a in self.counts.items()},
            )
            for lo, hi in zip(edges[:-1], edges[1:])
        ]


def _numeric(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def cycles_from_strides(
    strides: pd.DataFrame, *, metrics: Sequence[str], steady_only: bool = True
) -> CycleData:
    """Group the strides of one trial into gait cycles that keep left/right together.

    Parameters
    ----------
    strides : DataFrame
        Stride table of one trial (columns ``side``, ``ic_s``, ``steady`` and the
        metrics). Not modified.
    metrics : sequence of str
        Metric columns to carry (missing columns become NaN).
    steady_only : bool
        Use only rows with ``steady`` True (the analysis core's steady strides).

    Returns
    -------
    CycleData
        Cycles in time order. The anchor side is left (right when there is no left
        stride); strides of the other side before the first anchor join the first cycle.
    """
    metrics = tuple(metrics)
    rows = strides
    if steady_only and "steady" in rows.columns:
        rows = rows[rows["steady"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    side = rows["side"].astype(str).to_numpy() if len(rows) else np.array([], dtype=str)
    t = _numeric(rows, "ic_s")
    order = np.argsort(t, kind="stable")
    side, t = side[order], t[order]
    values = np.column_stack([_numeric(rows, m)[order] for m in metrics]) if metrics else np.empty((len(t), 0))
    anchor = "left" if (side == "left").any() else "right"
    is_anchor = side == anchor
    n_cycles = int(is_anchor.sum())
    cycle = np.maximum(np.cumsum(is_anchor) - 1, 0)
    sums, counts = {}, {}
    for s in ("left", "right"):
        m = side == s
        v = values[m]
        finite = np.isfinite(v)
        sums[s] = np.zeros((n_cycles, len(metrics)))
        counts[s] = np.zeros((n_cycles, len(metrics)))
        if n_cycles and m.any():
            np.add.at(sums[s], cycle[m], np.where(finite, v, 0.0))
            np.add.at(counts[s], cycle[m], finite.astype(float))
    return CycleData(metrics, sums, counts)


def concat_cycles(parts: Sequence[CycleData]) -> CycleData:
    """Concatenate the cycles of several trials of one session (trial order kept)."""
    if not parts:
        raise ValueError("concat_cycles needs at least one CycleData")
    metrics = parts[0].metrics
    if any(p.metrics != metrics for p in parts):
        raise ValueError("all CycleData must carry the same metrics")
    return CycleData(
        metrics,
        {s: np.concatenate([p.sums[s] for p in parts]) for s in ("left", "right")},
        {s: np.concatenate([p.counts[s] for p in parts]) for s in ("left", "right")},
    )


def lag1_autocorr(x: np.ndarray) -> float:
    """Lag-1 autocorrelation of a series (NaNs dropped; NaN for < 4 values).

    ``r1 = Σ (x_t − x̄)(x_{t+1} − x̄) / Σ (x_t − x̄)²``
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 4:
        return float("nan")
    d = x - x.mean()
    den = float(d @ d)
    return float(d[:-1] @ d[1:] / den) if den > 0 else float("nan")


def auto_block_length(series: np.ndarray) -> int:
    """Block length (in cycles) for the circular block bootstrap of a mean.

    ``L = max(⌈n^{1/3}⌉, ⌈2 · (2ρ / (1 − ρ²))^{2/3} · n^{1/3}⌉)``, clipped to ``[1, n/3]``,
    where ρ is the largest lag-1 autocorrelation of the columns of ``series`` (clipped to
    0 … 0.9). The second term is Carlstein's (Ann Stat 1986;14:1171) MSE-optimal block
    length for the mean of an AR(1) process, doubled: the optimal length balances bias
    and variance of the *variance* estimate, whereas interval coverage suffers mainly
    from its downward bias, which longer blocks reduce.

    Parameters
    ----------
    series : ndarray, shape (n,) or (n, k)
        Per-cycle values (NaN allowed).

    Returns
    -------
    int
    """
    x = np.asarray(series, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n < 4:
        return 1
    rhos = [lag1_autocorr(x[:, j]) for j in range(x.shape[1])]
    rhos = [r for r in rhos if np.isfinite(r)]
    rho = float(np.clip(max(rhos), 0.0, 0.9)) if rhos else 0.0
    base = n ** (1.0 / 3.0)
    carlstein = 2.0 * (2.0 * rho / (1.0 - rho**2)) ** (2.0 / 3.0) * base
    length = int(np.ceil(max(base, carlstein)))
    return int(np.clip(length, 1, max(1, n // 3)))


def block_bootstrap_weights(n: int, *, block_len: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n`` items is drawn in each circular-block-bootstrap replicate.

    Parameters
    ----------
    n : int
        Series length (cycles).
    block_len : int
        Consecutive items per block (1 = iid bootstrap).
    n_boot : int
        Replicates.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float, shape (n_boot, n)
        Each row sums to ``n``.
    """
    if n < 1:
        return np.zeros((n_boot, 0))
    block_len = int(min(max(block_len, 1), n))
    k = -(-n // block_len)
    starts = rng.integers(0, n, size=(n_boot, k))
    idx = ((starts[:, :, None] + np.arange(block_len)) % n).reshape(n_boot, k * block_len)[:, :n]
    flat = (idx + (np.arange(n_boot) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(float)


@dataclass
class BootstrapMeans:
    """Per-side means of each metric and their bootstrap replicates.

    Attributes
    ----------
    metrics : tuple of str
    point : dict side -> ndarray (n_metrics,)
    boot : dict side -> ndarray (n_boot, n_metrics)
    n_strides : dict side -> ndarray (n_metrics,)   finite strides per side and metric
    n_cycles, block_len : int
    """

    metrics: tuple[str, ...]
    point: dict[str, np.ndarray]
    boot: dict[str, np.ndarray]
    n_strides: dict[str, np.ndarray]
    n_cycles: int
    block_len: int
    df: float = float("inf")
    scale: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


def bootstrap_means(
    cycles: CycleData, *, params: BootstrapParams, rng: np.random.Generator | None = None
) -> BootstrapMeans:
    """Left/right means of every metric with circular-block-bootstrap replicates.

    Parameters
    ----------
    cycles : CycleData
    params : BootstrapParams
    rng : numpy.random.Generator, optional
        Defaults to ``np.random.default_rng(params.seed)``.

    Returns
    -------
    BootstrapMeans
        Replicates where a side got no stride are NaN.
    """
    rng = rng if rng is not None else np.random.default_rng(params.seed)
    n = cycles.n_cycles
    if params.block_len is None:
        per_cycle = np.column_stack([cycles.cycle_means("left"), cycles.cycle_means("right")])
        block_len = auto_block_length(per_cycle)
    else:
        block_len = int(params.block_len)
    w = block_bootstrap_weights(n, block_len=block_len, n_boot=int(params.n_boot), rng=rng)
    point, boot, nstr = {}, {}, {}
    for s in ("left", "right"):
        tot, cnt = cycles.sums[s], cycles.counts[s]
        c_all = cnt.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            point[s] = np.where(c_all > 0, tot.sum(axis=0) / np.where(c_all > 0, c_all, 1), np.nan)
            bs, bc = w @ tot, w @ cnt
            boot[s] = np.where(bc > 0, bs / np.where(bc > 0, bc, 1), np.nan)
        nstr[s] = c_all.astype(int)
    return BootstrapMeans(
        cycles.metrics, point, boot, nstr, n, block_len, block_df(n, block_len), block_scale(n, block_len)
    )


def block_scale(n: int, block_len: int) -> float:
    """Interval expansion ``√(b/(b−1))`` for ``b = n/L`` blocks (1 for b ≤ 1... capped at 2)."""
    b = n / max(block_len, 1)
    if b <= 1.25:
        return 2.0
    return float(min(2.0, np.sqrt(b / (b - 1.0))))


def block_df(n: int, block_len: int) -> float:
    """Degrees of freedom of a block-bootstrap variance: ``min(n − 1, 1.5 · (n/L − 1))``.

    The overlapping-batch-means value of Meketon & Schmeiser (1984); ``n − 1`` for the
    iid bootstrap (L = 1). At least 1.
    """
    if n < 2:
        return 1.0
    return float(max(1.0, min(n - 1.0, 1.5 * (n / max(block_len, 1) - 1.0))))


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
