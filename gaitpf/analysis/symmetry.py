"""Left/right symmetry of gait metrics, inter-limb coordination and curve symmetry.

Pure functions on numbers, arrays and the stride table; nothing is mutated, nothing
printed. Every index documents its formula, range, sign convention and source.

Sign convention used throughout: **positive = right larger** (SI, SA), matching
``SI = 100·(R−L)/(0.5·(R+L))``.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

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


def _steady_mask(table: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the steady rows (missing ``steady`` → False; no column → every row)."""
    if "steady" not in table.columns:
        return np.ones(len(table), dtype=bool)
    col = table["steady"]
    if col.dtype == np.bool_:  # the usual case: no missing values to fill
        return col.to_numpy()
    return col.astype("boolean").fillna(False).to_numpy(dtype=bool)


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
        Columns :data:`SYMMETRY_COLUMNS`; SD is the sample SD (ddof = 1, NaN for n < 2);
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
    frame = pd.DataFrame({c: out[c] for c in SYMMETRY_COLUMNS})
    frame["metric"] = frame["metric"].astype(object)
    return frame


def _numeric(table: pd.DataFrame, col: str) -> np.ndarray:
    """A column as float64, NaN where missing or not numeric."""
    return pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _ic_times(table: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """All initial-contact times (s) of the ``rows`` (mask) of one side: every ``ic_s`` and ``next_ic_s``."""
    parts = [_numeric(table, c)[rows] for c in ("ic_s", "next_ic_s") if c in table.columns]
    if not parts:
        return np.empty(0)
    t = np.concatenate(parts)
    return np.unique(t[np.isfinite(t)])


def phase_coordination_index(table: pd.DataFrame, *, reference: str = "longer_swing") -> dict[str, Any]:
    """Phase coordination index (PCI) of bilateral stepping, in percent.

    For each steady stride of the reference leg (IC_ref,i → IC_ref,i+1, times in s)
    that contains exactly one contralateral initial contact t_c::

        φ_i     = 360° · (t_c − t_ref,i) / (t_ref,i+1 − t_ref,i)
        φ_ABS   = mean |φ_i − 180°|                (accuracy, deg)
        φ_CV    = 100 · SD(φ) / mean(φ)            (consistency, %, sample SD)
        P_φ_ABS = 100 · φ_ABS / 180°
        PCI     = φ_CV + P_φ_ABS

    0 = perfect anti-phase stepping; larger = worse coordination. Healthy young adults
    ≈ 2–4 % (Plotnik et al. 2007: about 2.5–3 % young, higher in older adults and
    Parkinson's disease).

    Reference leg: as in Plotnik et al., the leg with the longer mean swing time over
    steady strides (``reference="longer_swing"``; ties or missing swing times fall
    back to left). ``reference="left"``/``"right"`` forces a leg. The chosen leg is
    returned as ``reference_side``. φ is not wrapped (it lies in 0–360°).

    Reference: Plotnik M, Giladi N, Hausdorff JM. A new measure for quantifying the
    bilateral coordination of human gait: effects of aging and Parkinson's disease.
    Exp Brain Res 2007;181:561–570.

    Parameters
    ----------
    table : DataFrame
        Stride table with ``side``, ``ic_s``, ``next_ic_s`` and ``steady``
        (``swing_time_s`` for the reference choice).
    reference : {"longer_swing", "left", "right"}

    Returns
    -------
    dict
        ``pci_pct``, ``phi_abs_deg``, ``phi_cv_pct``, ``phi_mean_deg``, ``n_strides``
        (strides used) and ``reference_side``. NaN values when fewer than 2 strides
        qualify.
    """
    if reference not in ("longer_swing", "left", "right"):
        raise ValueError(f"reference must be 'longer_swing', 'left' or 'right', got {reference!r}")
    nan_result: dict[str, Any] = {
        "pci_pct": float("nan"), "phi_abs_deg": float("nan"), "phi_cv_pct": float("nan"),
        "phi_mean_deg": float("nan"), "n_strides": 0, "reference_side": None,
    }
    if table.empty or "side" not in table.columns:
        return nan_result
    # row selections as numpy masks over the columns used: no copy of the stride table
    side = table["side"].astype(str).to_numpy()
    steady = _steady_mask(table)
    ref = reference
    if ref == "longer_swing":
        ref = "left"
        if "swing_time_s" in table.columns:
            sw = pd.to_numeric(table["swing_time_s"], errors="coerce")[steady]
            steady_side = side[steady]
            sw_l = sw[steady_side == "left"].mean()
            sw_r = sw[steady_side == "right"].mean()
            if np.isfinite(sw_l) and np.isfinite(sw_r) and sw_r > sw_l:
                ref = "right"
    other = "right" if ref == "left" else "left"
    nan_result["reference_side"] = ref
    ref_rows = steady & (side == ref)
    t0 = _numeric(table, "ic_s")[ref_rows]
    t1 = _numeric(table, "next_ic_s")[ref_rows]
    contra = _ic_times(table, side == other)
    if t0.size == 0 or contra.size == 0:
        return nan_result
    ok = np.isfinite(t0) & np.isfinite(t1) & (t1 > t0)
    j = np.searchsorted(contra, np.where(ok, t0, 0.0), side="right")
    jc = np.minimum(j, contra.size - 1)
    jn = np.minimum(j + 1, contra.size - 1)
    inside = ok & (j < contra.size) & (contra[jc] < t1)
    # exactly one contralateral IC inside the stride
    single = inside & ((j + 1 >= contra.size) | (contra[jn] >= t1))
    if int(single.sum()) < 2:
        out = dict(nan_result)
        out["n_strides"] = int(single.sum())
        return out
    phi = 360.0 * (contra[jc[single]] - t0[single]) / (t1[single] - t0[single])
    phi_mean = float(phi.mean())
    phi_abs = float(np.abs(phi - 180.0).mean())
    phi_cv = float(100.0 * phi.std(ddof=1) / phi_mean) if phi_mean > 0 else float("nan")
    return {
        "pci_pct": phi_cv + 100.0 * phi_abs / 180.0,
        "phi_abs_deg": phi_abs,
        "phi_cv_pct": phi_cv,
        "phi_mean_deg": phi_mean,
        "n_strides": int(phi.size),
        "reference_side": ref,
    }


def _eig2(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (λ1 ≥ λ2) of the symmetric 2×2 matrices [[a, b], [b, c]]."""
    mid = 0.5 * (a + c)
    rad = np.sqrt(np.maximum((0.5 * (a - c)) ** 2 + b**2, 0.0))
    return mid + rad, mid - rad


def trend_symmetry(left_curve: Any, right_curve: Any) -> dict[str, float]:
    """Trend symmetry of two time-normalised curves (e.g. mean stance load curves).

    Method of Crenshaw & Richards (2006): subtract each curve's mean, plot right
    against left (n points in the plane), and find the principal axis (eigenvector of
    the 2×2 covariance matrix of the points, eigenvalues λ1 ≥ λ2). The variability
    *about* the principal axis relative to the variability *along* it measures how
    much the shapes differ, independently of their amplitude and offset.

    Returned keys:

    ``trend_symmetry``
        ``1 − λ2/λ1`` in 0 … 1; 1 = identical shapes (any scale), 0 = no common trend.
        Signed: when the principal axis has a negative slope (one curve is the other
        upside down) the value is negated, so the full range is −1 … 1.
    ``variability_ratio``
        ``λ2/λ1`` (variability about / along the eigenvector, the ratio Crenshaw &
        Richards report); 0 = perfect.
    ``range_amplitude``
        ``range(right) / range(left)`` (Crenshaw & Richards call this ratio the range
        amplitude); 1 = equal amplitudes.
    ``range_offset``
        ``mean(right) − mean(left)`` in the curves' unit (the paper's range offset).
    ``phase_offset_pct``
        Circular shift of the right curve, in % of the cycle (one sample of an
        n-point curve spanning 0–100 % is 100/(n−1) %; range ≈ −50 … +50), that
        maximises the trend symmetry (equivalently, for equal shapes, the lag of
        maximal cross-correlation). Positive = right lags left. Stance curves start and
        end near zero load, so the circular shift is a good approximation.
    ``trend_symmetry_aligned``
        ``trend_symmetry`` after applying that shift.

    NaN inputs, unequal lengths, fewer than 3 points or a flat curve give NaN outputs.

    Reference: Crenshaw SJ, Richards JG. A method for analyzing joint symmetry and
    normalcy, with an application to analyzing gait. Gait Posture 2006;24:515–521.

    Parameters
    ----------
    left_curve, right_curve : array_like, shape (n,)

    Returns
    -------
    dict of float
    """
    keys = ("trend_symmetry", "variability_ratio", "range_amplitude", "range_offset",
            "phase_offset_pct", "trend_symmetry_aligned")
    nan = {k: float("nan") for k in keys}
    x = np.asarray(left_curve, dtype=float).ravel()
    y = np.asarray(right_curve, dtype=float).ravel()
    if x.size != y.size or x.size < 3 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return nan
    xc = x - x.mean()
    yc = y - y.mean()
    n = x.size
    # All circular shifts of the right curve at once: shifted[s, i] = yc[(i + s) % n];
    # if right lags left by d samples (y[i] = x[i - d]) the best shift is s = d.
    idx = (np.arange(n)[None, :] + np.arange(n)[:, None]) % n
    shifted = yc[idx]
    a = np.full(n, (xc @ xc) / n)
    b = shifted @ xc / n
    c = np.full(n, (yc @ yc) / n)
    lam1, lam2 = _eig2(a, b, c)
    if not lam1[0] > 0 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return nan
    ratio = np.clip(lam2 / lam1, 0.0, 1.0)
    # Signed: an inverted shape (negative covariance) must not count as symmetric.
    signed = np.where(b > 0, 1.0, -1.0) * (1.0 - ratio)
    best = int(np.argmax(signed))
    lag = best if best <= n // 2 else best - n
    return {
        "trend_symmetry": float(signed[0]),
        "variability_ratio": float(ratio[0]),
        "range_amplitude": float(np.ptp(y) / np.ptp(x)),
        "range_offset": float(y.mean() - x.mean()),
        "phase_offset_pct": float(100.0 * lag / (n - 1)),
        "trend_symmetry_aligned": float(signed[best]),
    }
