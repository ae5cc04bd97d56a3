"""Inter-limb coordination and curve symmetry: phase coordination index, trend symmetry.

Pure functions on the stride table and on mean curves; nothing is mutated, nothing
printed. Each documents its formula, range and source. Re-exported by
:mod:`gaitpf.analysis.symmetry`, where the per-metric indices live.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from .strides import steady_mask as _steady_mask

__all__ = ["phase_coordination_index", "trend_symmetry"]

log = logging.getLogger(__name__)


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
