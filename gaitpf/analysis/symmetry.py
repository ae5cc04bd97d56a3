"""Left/right symmetry of gait metrics, inter-limb coordination and curve symmetry.

Pure functions on numbers, arrays and the stride table; nothing is mutated, nothing
printed. Every index documents its formula, range, sign convention and source. The
phase coordination index and trend symmetry live in :mod:`gaitpf.analysis.coordination`
and are re-exported here.

Sign convention used throughout: **positive = right larger** (SI, SA), matching
``SI = 100·(R−L)/(0.5·(R+L))``.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from .coordination import phase_coordination_index, trend_symmetry  # re-exported: part of this API
from .strides import steady_mask as _steady_mask

__all__ = [
    "symmetry_index_pct",
    "symmetry_ratio",
    "gait_asymmetry_pct",
    "symmetry_angle_pct",
    "default_metrics",
    "symmetry_table",
    "phase_coordination_index",
    "trend_symmetry",
    "TIMING_METRICS",
    "SYMMETRY_COLUMNS",
]

log = logging.getLogger(__name__)

#: Timing metrics of the stride table, in the order they are reported.
TIMING_METRICS: tuple[str, ...] = (
    "stride_time_s",
    "stance_time_s",
    "swing_time_s",
    "stance_pct",
    "swing_pct",
    "step_time_s",
    "single_support_s",
    "double_support_s",
    "initial_double_support_s",
    "terminal_double_support_s",
    "cadence_spm",
)

#: Columns of :func:`symmetry_table`.
SYMMETRY_COLUMNS: tuple[str, ...] = (
    "metric", "left_mean", "right_mean", "left_sd", "right_sd", "left_n", "right_n",
    "si_pct", "sr", "ga_pct", "sa_pct",
)

#: Stride-table columns that are identifiers or time stamps, never metrics.
_NOT_METRICS: frozenset[str] = frozenset({"ic_s", "to_s", "next_ic_s", "stride_no", "bout_id"})


def _pair(left: Any, right: Any) -> tuple[np.ndarray, np.ndarray]:
    left_a = np.asarray(left, dtype=float)
    right_a = np.asarray(right, dtype=float)
    return np.broadcast_arrays(left_a, right_a)


def _out(x: np.ndarray) -> np.ndarray | float:
    """Return a Python float for 0-d results, an ndarray otherwise."""
    return float(x) if np.ndim(x) == 0 else x


def symmetry_index_pct(left: Any, right: Any) -> np.ndarray | float:
    """Symmetry index (SI) in percent.

    ``SI = 100 · (R − L) / (0.5 · (R + L))``

    Range −200 … +200 % for non-negative inputs; 0 = perfect symmetry; positive =
    right larger. Undefined (NaN) where ``R + L = 0`` or an input is NaN.
    Healthy gait: |SI| of stride/stance/swing time typically < 2–5 % (Sadeghi et al.
    2000, Gait Posture 12:34; Patterson et al. 2010, Gait Posture 31:241).

    Reference: Robinson RO, Herzog W, Nigg BM. Use of force platform variables to
    quantify the effects of chiropractic manipulation on gait symmetry. J Manipulative
    Physiol Ther 1987;10:172–176.

    Parameters
    ----------
    left, right : array_like
        Values of the same metric for each side (any matching/broadcastable shape).

    Returns
    -------
    float or ndarray
    """
    l, r = _pair(left, right)
    den = 0.5 * (r + l)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, 100.0 * (r - l) / np.where(den != 0, den, 1.0), np.nan)
    return _out(out)


def symmetry_ratio(left: Any, right: Any) -> np.ndarray | float:
    """Symmetry ratio ``SR = L / R``.

    Range 0 … ∞ for positive inputs; 1 = perfect symmetry; > 1 = left larger.
    NaN where ``R = 0`` or an input is NaN. Patterson et al. (2010, Gait Posture
    31:241) recommend swing-time ratio (larger/smaller) and report a healthy upper
    limit of about 1.06 for swing time.

    Parameters
    ----------
    left, right : array_like

    Returns
    -------
    float or ndarray
    """
    l, r = _pair(left, right)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(r != 0, l / np.where(r != 0, r, 1.0), np.nan)
    return _out(out)


def gait_asymmetry_pct(left: Any, right: Any) -> np.ndarray | float:
    """Gait asymmetry (GA) in percent.

    ``GA = 100 · |ln(R / L)|``

    Range 0 … ∞; 0 = perfect symmetry; unsigned. NaN where the ratio is not a positive
    finite number (a zero or sign change on either side). Plotnik et al. (2007) report
    GA of swing time ≈ 2–4 % in healthy young and older adults (larger in Parkinson's
    disease).

    Reference: Plotnik M, Giladi N, Balash Y, Peretz C, Hausdorff JM. Is freezing of
    gait in Parkinson's disease related to asymmetric motor function? Ann Neurol
    2005;57:656–663 (defined on mean swing times).

    Parameters
    ----------
    left, right : array_like

    Returns
    -------
    float or ndarray
    """
    l, r = _pair(left, right)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = r / np.where(l != 0, l, np.nan)
        ok = np.isfinite(ratio) & (ratio > 0)
        out = np.where(ok, 100.0 * np.abs(np.log(np.where(ok, ratio, 1.0))), np.nan)
    return _out(out)


def symmetry_angle_pct(left: Any, right: Any) -> np.ndarray | float:
    """Symmetry angle (SA) in percent.

    ``SA = (45° − arctan(L / R)) / 90° · 100``; when ``45° − arctan(L/R) > 90°``
    (only possible when L and R have opposite signs and |L| > |R|) the paper's
    correction ``SA = (45° − arctan(L/R) − 180°) / 90° · 100`` applies.

    Range −100 … +100 %; 0 = perfect symmetry; for same-sign values |SA| ≤ 50 %
    (beyond only when the signs differ; 100 = equal magnitude, opposite sign).
    For small differences SA ≈ SI/π. Positive = right larger. Because arctan is
    bounded, a zero on one side is finite: ``R = 0, L > 0`` gives −50 % (the limit
    of ``arctan(L/R) → 90°``). NaN only where both are 0 or an input is NaN.

    Reference: Zifchock RA, Davis I, Higginson J, Royer T. The symmetry angle: a novel,
    robust method of quantifying asymmetry. Gait Posture 2008;27:622–627.

    Parameters
    ----------
    left, right : array_like

    Returns
    -------
    float or ndarray
    """
    l, r = _pair(left, right)
    with np.errstate(divide="ignore", invalid="ignore"):
        # arctan(L/R) in degrees; R = 0 gives ±90° (the limit), 0/0 gives NaN.
        ratio = np.where(r != 0, l / np.where(r != 0, r, 1.0), np.sign(l) * np.inf)
        ratio = np.where((l == 0) & (r == 0), np.nan, ratio)
        angle = 45.0 - np.degrees(np.arctan(ratio))
        angle = np.where(angle > 90.0, angle - 180.0, angle)
    return _out(angle / 90.0 * 100.0)


def default_metrics(table: pd.DataFrame) -> list[str]:
    """Numeric per-stride metric columns of ``table`` that make sense for symmetry.

    Timing metrics first (:data:`TIMING_METRICS` order), then every other numeric,
    non-boolean column (kinetic columns) in table order. Event indices (``*_idx``),
    time stamps (``ic_s``, ``to_s``, ``next_ic_s``) and identifiers (``stride_no``,
    ``bout_id``) are excluded.

    Parameters
    ----------
    table : DataFrame
        A stride table (optionally with kinetic columns).

    Returns
    -------
    list of str
    """
    dtypes = dict(zip(table.columns, table.dtypes))

    def usable(col: str) -> bool:
        if col in _NOT_METRICS or col.endswith("_idx"):
            return False
        dtype = dtypes[col]
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)

    timing = [m for m in TIMING_METRICS if m in table.columns and usable(m)]
    rest = [c for c in table.columns if isinstance(c, str) and c not in timing and usable(c)]
    return timing + rest


def _steady_rows(table: pd.DataFrame) -> pd.DataFrame:
    if "steady" not in table.columns:
        return table
    return table[_steady_mask(table)]


def _as_float(col: pd.Series) -> np.ndarray:
    """Column values as float64, NaN where missing or not numeric (``pd.to_numeric(errors="coerce")``)."""
    if pd.api.types.is_float_dtype(col.dtype) or pd.api.types.is_integer_dtype(col.dtype) \
            or pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def symmetry_table(table: pd.DataFrame, *, metrics: list[str]) -> pd.DataFrame:
    """Left/right mean, SD, n and SI, SR, GA, SA of each metric over steady strides.

    Symmetry indices are computed from the left and right **means** (one value per
    metric). A side without strides gives NaN symmetry while the other side's mean is
    still reported.

    Parameters
    ----------
    table : DataFrame
        Stride table with ``side`` and ``steady`` columns (rows with ``steady`` False
        are ignored; a table without ``steady`` uses every row).
    metrics : list of str
        Columns to summarise (see :func:`default_metrics`); missing columns give NaN.

    Returns
    -------
    DataFrame
        Columns :data:`SYMMETRY_COLUMNS`, indexed by the metric name; SD is the sample SD (ddof = 1, NaN for n < 2);
        n counts finite values.
    """
    steady = _steady_mask(table)  # row selections as numpy masks: no copy of the table
    n_rows = int(np.count_nonzero(steady))
    side = (table["side"].astype(str).to_numpy()[steady] if "side" in table.columns
            else np.full(n_rows, "", dtype=object))
    out: dict[str, list[Any]] = {c: [] for c in SYMMETRY_COLUMNS}
    stats: dict[str, dict[str, np.ndarray]] = {}
    # every metric column as float once (NaN where missing or not numeric), then split by side
    full = np.empty((n_rows, len(metrics)))
    for j, m in enumerate(metrics):
        full[:, j] = _as_float(table[m])[steady] if m in table.columns else np.nan
    for s in ("left", "right"):
        mask = side == s
        block = full[mask]
        finite = np.isfinite(block)
        n = finite.sum(axis=0)
        total = np.where(finite, block, 0.0).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
            dev2 = np.where(finite, (block - mean) ** 2, 0.0).sum(axis=0)
            sd = np.where(n > 1, np.sqrt(dev2 / np.maximum(n - 1, 1)), np.nan)
        stats[s] = {"mean": mean, "sd": sd, "n": n}
    lm, rm = stats["left"]["mean"], stats["right"]["mean"]
    out["metric"] = list(metrics)
    out["left_mean"] = lm
    out["right_mean"] = rm
    out["left_sd"] = stats["left"]["sd"]
    out["right_sd"] = stats["right"]["sd"]
    out["left_n"] = stats["left"]["n"].astype(np.int64)
    out["right_n"] = stats["right"]["n"].astype(np.int64)
    out["si_pct"] = np.atleast_1d(symmetry_index_pct(lm, rm))
    out["sr"] = np.atleast_1d(symmetry_ratio(lm, rm))
    out["ga_pct"] = np.atleast_1d(gait_asymmetry_pct(lm, rm))
    out["sa_pct"] = np.atleast_1d(symmetry_angle_pct(lm, rm))
    # indexed by the metric (``sym.loc["stance_time_s"]``); the ``metric`` column stays for
    # tables that drop the index (Parquet/CSV written with ``index=False``, concatenations)
    frame = pd.DataFrame({c: out[c] for c in SYMMETRY_COLUMNS}, index=pd.Index(list(metrics), dtype=object))
    frame["metric"] = frame["metric"].astype(object)
    return frame

