"""The report's tables as rows of plain strings (escaped by the HTML writer).

Numbers use the typographic minus (U+2212) so a sign cannot be lost or read as a hyphen;
a missing value is "–".
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..sessions import stats
from .context import oriented_index

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
            f"{ctx.ref_side} {roles[1]} mean{mu}".replace("  ", " "), f"asymmetry, {who} ({unit})",
            f"magnitude ({unit}, 95% CI)", "change vs baseline (95% CI)", "relative", "MDC95", "CI excl. 0",
            "> MDC95", "real change"]


def _yn(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "yes" if bool(x) else "no"
    return "–"


def result_rows(ctx: Any) -> list[list[str]]:
    """Headline metric per usable session: means, oriented and magnitude asymmetry, change, decision."""
    p = ctx.progress
    t = p.table
    if t.empty:
        return []
    rows = t[t["metric"] == p.metric]
    out = []
    for _, r in rows.iterrows():
        o = float(oriented_index(r[f"{ctx.unaffected_side}_mean"], r[f"{ctx.ref_side}_mean"], p.index))
        mag = f"{num(r['value'])} ({num(r['value_ci_low'])} to {num(r['value_ci_high'])})"
        base = bool(r["is_baseline"])
        ch_ok = not base and np.isfinite(float(r["change_abs"]))
        if ch_ok:
            lo, hi = float(r["change_abs_ci_low"]), float(r["change_abs_ci_high"])
            excl = bool(lo > 0 or hi < 0)
            mdc = r.get("mdc95")
            big = bool(np.isfinite(float(mdc)) and abs(float(r["change_abs"])) > float(mdc)) if mdc is not None \
                else None
            real = excl and bool(big) and r.get("exceeds_mdc") is not False
            out.append([r["session"], num(r[f"{ctx.unaffected_side}_mean"], "{:.3f}"),
                        num(r[f"{ctx.ref_side}_mean"], "{:.3f}"), num(o, "{:+.2f}"), mag,
                        f"{num(r['change_abs'], '{:+.2f}')} ({num(lo, '{:+.2f}')} to {num(hi, '{:+.2f}')})",
                        num(r["change_rel_pct"], "{:+.0f}") + ("%" if np.isfinite(float(r["change_rel_pct"])) else ""),
                        num(mdc), _yn(excl), _yn(big), "yes" if real else "no"])
        else:
            word = "baseline" if base else "not comparable"
            out.append([r["session"], num(r[f"{ctx.unaffected_side}_mean"], "{:.3f}"),
                        num(r[f"{ctx.ref_side}_mean"], "{:.3f}"), num(o, "{:+.2f}"), mag, word, "", "", "", "", ""])
    return out


CHANGE_HEADER = ["metric", "asymmetry, baseline → latest", "change (95% CI)", "relative (95% CI)", "MDC95", "CI excl. 0",
                 "> MDC95", "trend / session"]


def change_rows(ctx: Any) -> list[list[str]]:
    """Latest usable session vs baseline for every metric (kinetic ones only with the baseline's layout)."""
    from .plots import metric_axis_label

    p = ctx.progress
    t = p.table
    used = ctx.used_labels
    if t.empty or len(used) < 2:
        return []
    last = t[t["session"] == used[-1]]
    unit = stats.INDEX_NAMES[p.index][1]
    rows = []
    for _, r in last.iterrows():
        m = r["metric"]
        if not r["comparable"] or not np.isfinite(float(r["change_abs"])):
            rows.append([metric_axis_label(m), "not compared (sensor layout differs from the baseline)", "", "", "", "",
                         "", ""])
            continue
        mdc = r.get("mdc95", p.mdc.get(m, {}).get("mdc95", np.nan))
        lo, hi = float(r["change_abs_ci_low"]), float(r["change_abs_ci_high"])
        tr = p.trend.get(m, {})
        slope = num(tr.get("slope"), "{:+.2f}") if np.isfinite(float(tr.get("slope_ci_low", np.nan))) else "–"
        rel = (f"{num(r['change_rel_pct'], '{:+.0f}')}% ({num(r['change_rel_ci_low'], '{:+.0f}')} to "
               f"{num(r['change_rel_ci_high'], '{:+.0f}')}%)") if np.isfinite(float(r["change_rel_pct"])) else "–"
        rows.append([
            metric_axis_label(m), f"{num(float(r['value']) - float(r['change_abs']))} → {num(r['value'])}{unit}",
            f"{num(r['change_abs'], '{:+.2f}')} ({num(lo, '{:+.2f}')} to {num(hi, '{:+.2f}')})", rel, num(mdc),
            _yn(bool(lo > 0 or hi < 0)), _yn(r.get("exceeds_mdc") if r.get("exceeds_mdc") is not None else None),
            slope,
        ])
    return rows
