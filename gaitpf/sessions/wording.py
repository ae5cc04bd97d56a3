"""Reader-facing names, units and sentences of the session statistics (no numbers computed here).

* :func:`metric_label` / :func:`metric_unit` — "stance-time", "s"; forces in arbitrary
  units are labelled relative.
* :func:`describe_change` — the headline sentence: which index, baseline → now, the
  change in points and in % with CIs, the MDC95 with its kind, and the decision of
  :func:`gaitpf.sessions.decision.decide` in words.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import stats

__all__ = ["metric_label", "metric_unit", "force_scale", "describe_change", "fmt_index", "index_abbr"]

_METRIC_LABELS = {
    "stance_time_s": "stance-time", "swing_time_s": "swing-time", "stride_time_s": "stride-time",
    "step_time_s": "step-time", "single_support_s": "single-support", "stance_pct": "stance-%",
    "peak_force_1_pct_bw": "first-peak-force", "peak_force_2_pct_bw": "second-peak-force",
    "impulse_pct_bw_s": "impulse", "heel_load_pct": "heel-load", "midfoot_load_pct": "midfoot-load",
    "forefoot_load_pct": "forefoot-load", "toes_load_pct": "toe-load", "ml_index": "medial-lateral-index",
}
for _u in ("n", "kpa", "au"):
    _METRIC_LABELS.update({f"peak_force_1_{_u}": "first-peak-force", f"peak_force_2_{_u}": "second-peak-force",
                           f"impulse_{_u}_s": "impulse"})

_UNITS = (("_pct_bw_s", "%BW·s"), ("_pct_bw", "%BW"), ("_au_s", "a.u.·s"), ("_kpa_s", "kPa·s"), ("_n_s", "N·s"),
          ("_au", "a.u."), ("_kpa", "kPa"), ("_n", "N"), ("_pct", "%"), ("_s", "s"))


def metric_label(metric: str) -> str:
    """Reader-facing name of a metric ("stance-time")."""
    return _METRIC_LABELS.get(metric, metric.replace("_", " "))


def metric_unit(metric: str) -> str:
    """Unit of a metric from its name ("s", "%BW", "a.u."; "" for the dimensionless ml_index)."""
    for suffix, unit in _UNITS:
        if metric.endswith(suffix):
            return unit
    return ""


def force_scale(metric: str) -> str:
    """``relative`` for forces in arbitrary units (uncalibrated sensors), else ``absolute``."""
    return "relative" if ("_au" in metric) else "absolute"


def index_abbr(index: str) -> str:
    return {"si_pct": "|SI|", "sa_pct": "|SA|", "ga_pct": "GA", "sr": "SR, max(L/R, R/L)"}[index]


def fmt_index(x: float, index: str, signed: bool = False) -> str:
    """An index value as text (3 decimals for SR, 1 for %), with a real minus sign."""
    if x is None or not np.isfinite(x):
        return "n/a"
    text = f"{x:+.3f}" if (signed and index == "sr") else (f"{x:.3f}" if index == "sr" else
                                                           (f"{x:+.1f}" if signed else f"{x:.1f}"))
    return text.replace("-", "−")


def _verdict(row: Any, mdc: dict[str, Any], index: str, unit_word: str) -> str:
    mdc95 = mdc.get("mdc95", float("nan"))
    if not np.isfinite(mdc95):
        return "; MDC95 not available, no decision"
    kind = str(mdc.get("mdc_label") or mdc.get("method", "")).split(" (")[0]
    mdc_txt = f"MDC95 {fmt_index(mdc95, index)}{unit_word} ({kind})"
    excl = row.get("ci_excludes_zero") if hasattr(row, "get") else None
    lo, hi = row["change_abs_ci_low"], row["change_abs_ci_high"]
    if excl is None and np.isfinite(lo) and np.isfinite(hi):
        excl = bool(lo > 0 or hi < 0)
    above = bool(abs(row["change_abs"]) > mdc95)
    if excl and above:
        return f"; a real change: the CI excludes 0 and the change exceeds the {mdc_txt}"
    if not excl and not above:
        return f"; not a real change: the CI includes 0 and the change does not exceed the {mdc_txt}"
    if not excl:
        return f"; not a real change: the change exceeds the {mdc_txt} but its CI includes 0"
    return f"; not a real change: the CI excludes 0 but the change does not exceed the {mdc_txt}"


def describe_change(metric: str, index: str, row: Any, mdc: dict[str, Any], confidence: float, *,
                    unit_word: str, baseline_label: str, label: str) -> str:
    """One sentence: which index, baseline → now, absolute and relative change with CIs, MDC, decision."""
    unit = stats.INDEX_NAMES[index][1]
    pct = int(round(100 * confidence))
    rel = row["change_rel_pct"]

    def p0(x: float) -> str:
        return f"{x:+.0f}".replace("-", "−") if np.isfinite(x) else "n/a"

    rel_txt = (f", {p0(rel)}% relative ({pct}% CI {p0(row['change_rel_ci_low'])}% to "
               f"{p0(row['change_rel_ci_high'])}%)") if np.isfinite(rel) else ""
    return (
        f"{metric_label(metric)} asymmetry ({index_abbr(index)}) {fmt_index(row['value'] - row['change_abs'], index)}"
        f"{unit} ({baseline_label}) → {fmt_index(row['value'], index)}{unit} ({label}): "
        f"{fmt_index(row['change_abs'], index, True)}{unit_word} ({pct}% CI "
        f"{fmt_index(row['change_abs_ci_low'], index, True)} to {fmt_index(row['change_abs_ci_high'], index, True)})"
        f"{rel_txt}{_verdict(row, mdc, index, unit_word)}"
    )
