"""The report's tables as rows of plain strings (escaped by the HTML writer).

Numbers use the typographic minus (U+2212) so a sign cannot be lost or read as a hyphen;
a missing value is "–".
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..sessions import stats

__all__ = ["num", "session_header", "session_rows", "result_header", "result_rows", "CHANGE_HEADER",
           "change_rows"]


def num(x: Any, fmt: str = "{:.2f}") -> str:
    """Formatted number with a real minus sign; "–" when missing or not finite."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return fmt.format(v).replace("-", "−") if np.isfinite(v) else "–"


def session_header() -> list[str]:
    return ["session", "date", "treatment", "shoe / condition", "pain (VAS 0–10)", "cadence (steps/min)",
            "speed (m/s)", "steady strides L/R", "used"]


def session_rows(ctx: Any) -> list[list[str]]:
    """One row per session (also those left out)."""
    out = []
    for s in ctx.sessions:
        out.append([s["label"], s["date"] or "–", s["treatment"] or "–", s["condition"] or "–",
                    num(s["pain_vas"], "{:.1f}"), num(s["cadence_spm"], "{:.0f}"), num(s["walking_speed_m_s"]),
                    f"{s['n_steady'][0]}/{s['n_steady'][1]}", "yes" if s["included"] else "left out"])
    return out


def result_header(ctx: Any) -> list[str]:
    unit = stats.INDEX_NAMES[ctx.progress.index][1] or "ratio"
    who = "affected vs unaffected" if ctx.affected_side else "right vs left"
    from .plots import metric_axis_label

    mu = metric_axis_label(ctx.progress.metric).rsplit("(", 1)
    mu = f" ({mu[1]}" if len(mu) == 2 else ""
    roles = ("unaffected", "affected") if ctx.affected_side else ("", "")
    return ["session", f"{ctx.unaffected_side} {roles[0]} mean{mu}".replace("  ", " "),
            f"{ctx.ref_side} {roles[1]} mean{mu}".replace("  ", " "), f"asymmetry, {who} ({unit}, 95% CI)",
            f"magnitude ({unit}, 95% CI)", "change vs baseline (95% CI)", "relative", "MDC95", "CI excl. 0",
            "> MDC95", "real change"]


def _yn(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "yes" if bool(x) else "no"
    return "–"


def _ci(v: Any, lo: Any, hi: Any, fmt: str = "{:.2f}") -> str:
    return f"{num(v, fmt)} ({num(lo, fmt)} to {num(hi, fmt)})"


def result_rows(ctx: Any) -> list[list[str]]:
    """Headline metric per usable session: means, oriented and magnitude asymmetry, change, decision.

    Every value is the statistics' own (:mod:`gaitpf.sessions.progress` table columns).
    """
    p = ctx.progress
    t = p.table
    if t.empty:
        return []
    rows = t[t["metric"] == p.metric]
    sfmt = "{:.3f}" if p.index == "sr" else "{:+.2f}"  # SR is a ratio around 1: no sign
    out = []
    for _, r in rows.iterrows():
        o = _ci(r["asym_oriented"], r["asym_oriented_ci_low"], r["asym_oriented_ci_high"], sfmt)
        mag = _ci(r["value"], r["value_ci_low"], r["value_ci_high"])
        means = [num(r[f"{ctx.unaffected_side}_mean"], "{:.3f}"), num(r[f"{ctx.ref_side}_mean"], "{:.3f}")]
        if not bool(r["is_baseline"]) and np.isfinite(float(r["change_abs"])):
            rel = num(r["change_rel_pct"], "{:+.0f}") + ("%" if np.isfinite(float(r["change_rel_pct"])) else "")
            out.append([r["session"], *means, o, mag, _ci(r["change_abs"], r["change_abs_ci_low"],
                                                           r["change_abs_ci_high"], "{:+.2f}"),
                        rel, num(r["mdc95"]), _yn(r["ci_excludes_zero"]), _yn(r["above_mdc95"]),
                        _yn(r["exceeds_mdc"])])
        else:
            word = "baseline" if bool(r["is_baseline"]) else "not comparable"
            out.append([r["session"], *means, o, mag, word, "", "", "", "", ""])
    return out


CHANGE_HEADER = ["metric", "asymmetry, baseline → latest", "change (95% CI)", "relative (95% CI)", "MDC95",
                 "CI excl. 0", "> MDC95", "real change", "trend / session (95% CI)"]


def change_rows(ctx: Any) -> list[list[str]]:
    """Latest usable session vs baseline for every metric (kinetic ones only with the baseline's layout)."""
    from .plots import metric_axis_label

    p = ctx.progress
    t = p.table
    used = ctx.used_labels
    if t.empty or len(used) < 2:
        return []
    last = t[t["label"] == used[-1]]
    rows = []
    for _, r in last.iterrows():
        m = r["metric"]
        if not r["comparable"] or not np.isfinite(float(r["change_abs"])):
            rows.append([metric_axis_label(m), "not compared (sensor layout differs from the baseline)", "", "", "", "",
                         "", "", ""])
            continue
        tr = p.trend.get(m, {})
        slope = num(tr.get("slope"), "{:+.2f}")
        if np.isfinite(float(tr.get("slope_ci_low", np.nan))):
            slope += f" ({num(tr['slope_ci_low'], '{:+.2f}')} to {num(tr['slope_ci_high'], '{:+.2f}')})"
        elif slope != "–":
            slope += " (no CI)"
        rel = (f"{num(r['change_rel_pct'], '{:+.0f}')}% ({num(r['change_rel_ci_low'], '{:+.0f}')} to "
               f"{num(r['change_rel_ci_high'], '{:+.0f}')}%)") if np.isfinite(float(r["change_rel_pct"])) else "–"
        unit = (stats.INDEX_NAMES[p.index][1] if r["asymmetry_kind"] == "index"
                else f"{(' ' + r['unit']) if r['unit'] else ''} (|L − R|)")
        rows.append([
            metric_axis_label(m), f"{num(float(r['value']) - float(r['change_abs']))} → {num(r['value'])}{unit}",
            _ci(r["change_abs"], r["change_abs_ci_low"], r["change_abs_ci_high"], "{:+.2f}"), rel,
            num(r["mdc95"]), _yn(r["ci_excludes_zero"]), _yn(r["above_mdc95"]), _yn(r["exceeds_mdc"]), slope,
        ])
    return rows
