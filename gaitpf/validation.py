"""Compare a gaitpf stride table with a PhysioNet gaitndd reference (.ts) table.

Pure helpers (numpy/pandas and gaitpf's own symmetry formulas); used by
``benchmarks/validate_physionet.py`` and ``tests/test_validation_physionet.py``.

Mapping of the reference table (13 columns, see :mod:`gaitpf.io.gaitndd`):

* row ``k`` describes the **left stride** ``[time_s − left_stride_s, time_s]`` (left IC to
  left IC); its left stance starts at the first IC, its left TO is
  ``time_s − left_stride_s + left_stance_s``;
* the row's **right stride** is the one that starts at the last right IC *before* the
  left stride starts (checked on all 16 shared records: this pairing reproduces the
  reference right stride times within one sample, every other pairing is off by
  tens of ms).

Matching: a reference left IC (``time_s``) is matched when a detected left IC lies
within ``tol_s`` (20 ms). A reference left stride is matched when both its ICs are.

Steady walking, the same rule for both tables: a stride is steady when its stride time
is within ``outlier_fraction`` (20 %) of the running median of ``median_window`` (11)
strides of the same foot, is not longer than ``pause_factor`` (1.8) × that median or
``max_stride_s``, and is not the first/last stride of the table (the same median rule
:mod:`gaitpf.analysis.strides` applies). For a reference row both its left and its right
stride must pass. Our own steady strides are the stride table's ``steady`` column.

Metrics per record (errors = ours − reference):

* ``ic_median_abs_ms`` – median |error| of matched left ICs (ms);
* ``matched_pct`` – % of reference left ICs with a detected IC within ``tol_s``;
* ``recall_pct`` – % of steady reference left ICs matched;
* ``precision_pct`` – % of our steady left strides (inside the reference's time span)
  whose IC matches a reference IC;
* ``right_stride_mae_ms``, ``left/right_stance_mae_ms``, ``left/right_swing_mae_ms`` –
  mean |error| over reference rows that are steady, whose left stride is matched, and
  whose paired stride of that foot our bout detection also calls steady (a missed or
  extra contact makes our stride a pause/outlier and shows in recall/precision); the
  right stride must also be within ``right_gate_s`` (±100 ms) of the reference right
  stride time (the reference gives no right IC times, so this gates the right side as
  the 20 ms IC match gates the left); ``right_matched_pct`` = % of steady reference rows
  whose paired right stride passes the gate;
* ``left_ic_or_alt_within_tol`` – reference left ICs within ``tol_s`` of a detected IC or
  of the alternative placement of an IC flagged ambiguous (``ic_alt_s``);
* ``left/right_stance_median_ms``, ``left/right_swing_median_ms`` – the median |error|
  over the same rows (robust to a few wrong events);
* stance/swing SI and GA (``symmetry_index_pct``, ``gait_asymmetry_pct`` of the left and
  right means) from our steady strides and from the steady reference rows, and their
  absolute difference in percentage points.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .analysis.strides import StrideParams, pause_and_outlier
from .analysis.symmetry import gait_asymmetry_pct, symmetry_index_pct

__all__ = ["ValidationRule", "steady_by_median", "reference_strides", "record_metrics", "TARGETS", "check_targets"]


@dataclass(frozen=True)
class ValidationRule:
    """Matching tolerance and steady-walking rule (defaults = the project's targets)."""

    tol_s: float = 0.020
    #: a paired right stride whose time differs from the reference by more is not a match
    right_gate_s: float = 0.100
    #: the stride table's own median rule, applied to the reference table too
    strides: StrideParams = field(default_factory=StrideParams)


#: Accuracy targets: metric → (comparison, limit). ``le`` = must be ≤, ``ge`` = ≥.
TARGETS: dict[str, tuple[str, float]] = {
    "ic_median_abs_ms": ("le", 5.0),
    "matched_pct": ("ge", 98.0),
    "recall_pct": ("ge", 98.0),
    "precision_pct": ("ge", 98.0),
    "right_stride_mae_ms": ("le", 5.0),
    "left_stance_mae_ms": ("le", 15.0),
    "right_stance_mae_ms": ("le", 15.0),
    "left_swing_mae_ms": ("le", 15.0),
    "right_swing_mae_ms": ("le", 15.0),
    "stance_si_diff_pp": ("le", 1.0),
    "swing_si_diff_pp": ("le", 1.0),
    "stance_ga_diff_pp": ("le", 1.0),
    "swing_ga_diff_pp": ("le", 1.0),
}


def steady_by_median(stride_s: np.ndarray, rule: ValidationRule) -> np.ndarray:
    """Median-based steady mask of a stride-time series (s), first/last stride excluded."""
    x = np.asarray(stride_s, dtype=float)
    if len(x) == 0:
        return np.zeros(0, bool)
    pause, outlier = pause_and_outlier(x, params=rule.strides)
    ok = ~pause & ~outlier & np.isfinite(x)
    ok[[0, -1]] = False
    return ok


def reference_strides(ref: pd.DataFrame, rule: ValidationRule = ValidationRule()) -> pd.DataFrame:
    """Reference rows with explicit left event times and a ``steady`` flag."""
    out = pd.DataFrame(
        {
            "left_ic_s": (ref["time_s"] - ref["left_stride_s"]).to_numpy(float),
            "left_next_ic_s": ref["time_s"].to_numpy(float),
            "left_stride_s": ref["left_stride_s"].to_numpy(float),
            "left_stance_s": ref["left_stance_s"].to_numpy(float),
            "left_swing_s": ref["left_swing_s"].to_numpy(float),
            "right_stride_s": ref["right_stride_s"].to_numpy(float),
            "right_stance_s": ref["right_stance_s"].to_numpy(float),
            "right_swing_s": ref["right_swing_s"].to_numpy(float),
        }
    )
    out["steady"] = steady_by_median(out["left_stride_s"].to_numpy(), rule) & steady_by_median(
        out["right_stride_s"].to_numpy(), rule
    )
    return out


def _nearest(sorted_t: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and signed distance to the nearest element of ``sorted_t`` for each query."""
    if len(sorted_t) == 0:
        return np.zeros(len(query), np.int64), np.full(len(query), np.inf)
    j = np.clip(np.searchsorted(sorted_t, query), 1, max(len(sorted_t) - 1, 1))
    j0 = np.clip(j - 1, 0, len(sorted_t) - 1)
    j1 = np.clip(j, 0, len(sorted_t) - 1)
    pick = np.where(np.abs(sorted_t[j1] - query) < np.abs(sorted_t[j0] - query), j1, j0)
    return pick, sorted_t[pick] - query


def _ms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.mean(np.abs(x)) * 1000.0) if len(x) else float("nan")


def _alt_match(left: pd.DataFrame, ref_ic: np.ndarray, tol: float) -> np.ndarray:
    """Reference ICs within ``tol`` of the alternative placement of one of our ambiguous ICs."""
    if "ic_ambiguous" not in left or len(left) == 0:
        return np.zeros(len(ref_ic), bool)
    amb = left[left["ic_ambiguous"].to_numpy(bool)]
    alt = np.sort(amb["ic_alt_s"].to_numpy(float))
    _, err = _nearest(alt, ref_ic)
    return np.abs(err) <= tol


def _med_ms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(np.abs(x)) * 1000.0) if len(x) else float("nan")


def _side_means(table: pd.DataFrame, col: str) -> tuple[float, float]:
    steady = table[table["steady"].to_numpy(bool)]
    left = steady.loc[steady["side"] == "left", col].mean()
    right = steady.loc[steady["side"] == "right", col].mean()
    return float(left), float(right)


def record_metrics(table: pd.DataFrame, ref: pd.DataFrame, rule: ValidationRule = ValidationRule()) -> dict[str, Any]:
    """Accuracy of one record's stride table against its reference table.

    Parameters
    ----------
    table : DataFrame
        gaitpf stride table (both feet) of the record.
    ref : DataFrame
        Reference table as returned by :func:`gaitpf.io.gaitndd.read_gaitndd_reference`.
    rule : ValidationRule

    Returns
    -------
    dict
        The metrics listed in the module docstring plus counts (``n_ref``,
        ``n_ref_steady``, ``n_ours_steady``) and the raw SI/GA values.
    """
    tol = rule.tol_s
    rs = reference_strides(ref, rule)
    left = table[table["side"] == "left"].sort_values("ic_s")
    right = table[table["side"] == "right"].sort_values("ic_s")
    l_ic = np.unique(np.concatenate([left["ic_s"].to_numpy(float), left["next_ic_s"].to_numpy(float)]))

    # -- left IC matching
    _, err_end = _nearest(l_ic, rs["left_next_ic_s"].to_numpy())
    _, err_start = _nearest(l_ic, rs["left_ic_s"].to_numpy())
    m_end = np.abs(err_end) <= tol
    m_both = m_end & (np.abs(err_start) <= tol)
    steady = rs["steady"].to_numpy(bool)

    # -- precision: our steady left strides inside the reference span
    ref_ics = np.unique(np.concatenate([rs["left_ic_s"].to_numpy(), rs["left_next_ic_s"].to_numpy()]))
    lo, hi = ref_ics.min() - tol, ref_ics.max() + tol
    ours_steady = left[left["steady"].to_numpy(bool)]
    in_span = ours_steady[(ours_steady["ic_s"] >= lo) & (ours_steady["ic_s"] <= hi)]
    _, err_ours = _nearest(ref_ics, in_span["ic_s"].to_numpy(float))

    # -- left stride pairing (our stride starting at the matched start IC)
    lpos, _ = _nearest(left["ic_s"].to_numpy(float), rs["left_ic_s"].to_numpy())
    lrow = left.iloc[lpos] if len(left) else None
    sel = steady & m_both
    if lrow is not None:
        sel_l = sel & lrow["steady"].to_numpy(bool)
        l_stance_err = lrow["stance_time_s"].to_numpy() - rs["left_stance_s"].to_numpy()
        l_swing_err = lrow["swing_time_s"].to_numpy() - rs["left_swing_s"].to_numpy()
    else:
        sel_l = np.zeros(len(rs), bool)
        l_stance_err = l_swing_err = np.full(len(rs), np.nan)

    # -- right stride pairing: the last right IC before the left stride starts
    r_ic = right["ic_s"].to_numpy(float)
    if len(r_ic):
        rpos = np.searchsorted(r_ic, rs["left_ic_s"].to_numpy() - tol) - 1
        has = rpos >= 0
        rrow = right.iloc[np.clip(rpos, 0, len(right) - 1)]
        r_stride_err = np.where(has, rrow["stride_time_s"].to_numpy() - rs["right_stride_s"].to_numpy(), np.nan)
        r_stance_err = np.where(has, rrow["stance_time_s"].to_numpy() - rs["right_stance_s"].to_numpy(), np.nan)
        r_swing_err = np.where(has, rrow["swing_time_s"].to_numpy() - rs["right_swing_s"].to_numpy(), np.nan)
        # gate as on the left: a right stride whose time is off by more than right_gate_s is
        # a missed/extra right contact, not a timing error (counted in right_matched_pct)
        r_ok = has & (np.abs(r_stride_err) <= rule.right_gate_s)
        sel_r = sel & r_ok & rrow["steady"].to_numpy(bool)
    else:
        sel_r = r_ok = np.zeros(len(rs), bool)
        r_stride_err = r_stance_err = r_swing_err = np.full(len(rs), np.nan)

    out: dict[str, Any] = {
        "n_ref": int(len(rs)),
        "n_ref_steady": int(steady.sum()),
        "n_ours_steady": int(len(in_span)),
        "ic_median_abs_ms": float(np.median(np.abs(err_end[m_end])) * 1000.0) if m_end.any() else float("nan"),
        "matched_pct": float(100.0 * m_end.mean()) if len(rs) else float("nan"),
        "recall_pct": float(100.0 * m_end[steady].mean()) if steady.any() else float("nan"),
        "precision_pct": float(100.0 * np.mean(np.abs(err_ours) <= tol)) if len(in_span) else float("nan"),
        "right_stride_mae_ms": _ms(r_stride_err[sel_r]),
        "left_stance_mae_ms": _ms(l_stance_err[sel_l]),
        "right_stance_mae_ms": _ms(r_stance_err[sel_r]),
        "left_swing_mae_ms": _ms(l_swing_err[sel_l]),
        "right_swing_mae_ms": _ms(r_swing_err[sel_r]),
        "right_matched_pct": float(100.0 * r_ok[steady].mean()) if steady.any() else float("nan"),
        "left_stance_median_ms": _med_ms(l_stance_err[sel_l]),
        "right_stance_median_ms": _med_ms(r_stance_err[sel_r]),
        "left_swing_median_ms": _med_ms(l_swing_err[sel_l]),
        "right_swing_median_ms": _med_ms(r_swing_err[sel_r]),
        "left_ic_within_tol": int(m_end.sum()),
        "left_ic_or_alt_within_tol": int((m_end | _alt_match(left, rs["left_next_ic_s"].to_numpy(), tol)).sum()),
    }
    ref_steady = rs[steady]
    for phase in ("stance", "swing"):
        ol, orr = _side_means(table, f"{phase}_time_s")
        rl = float(ref_steady[f"left_{phase}_s"].mean())
        rr = float(ref_steady[f"right_{phase}_s"].mean())
        si_o, si_r = symmetry_index_pct(ol, orr), symmetry_index_pct(rl, rr)
        ga_o, ga_r = gait_asymmetry_pct(ol, orr), gait_asymmetry_pct(rl, rr)
        out[f"{phase}_si_pct"] = float(si_o)
        out[f"{phase}_si_ref_pct"] = float(si_r)
        out[f"{phase}_ga_pct"] = float(ga_o)
        out[f"{phase}_ga_ref_pct"] = float(ga_r)
        out[f"{phase}_si_diff_pp"] = float(abs(si_o - si_r))
        out[f"{phase}_ga_diff_pp"] = float(abs(ga_o - ga_r))
    return out


def check_targets(metrics: dict[str, Any]) -> list[str]:
    """Names of the :data:`TARGETS` a record's metrics miss (NaN counts as a miss)."""
    failed = []
    for name, (op, limit) in TARGETS.items():
        v = metrics.get(name, float("nan"))
        ok = np.isfinite(v) and (v <= limit if op == "le" else v >= limit)
        if not ok:
            failed.append(name)
    return failed
