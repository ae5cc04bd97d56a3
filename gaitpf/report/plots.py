"""Figures of the clinician's report (matplotlib, Agg backend; no display needed).

Every function takes the report context (:class:`~gaitpf.report.context.ReportContext`;
or a cohort table) and returns a :class:`matplotlib.figure.Figure`, or ``None`` when there
is nothing valid to draw (the caller then states what was left out). Axes carry words
and units, never column names; percentage-of-load axes keep a minimum span
(:data:`MIN_SPAN_PCT`) so that tiny differences are not blown up to fill the plot.
:func:`to_png_base64` turns a figure into an inline image for the self-contained HTML.
The insole drawings (pressure maps, gait lines) are in :mod:`gaitpf.report.maps`.
"""
from __future__ import annotations

import base64
import io
import logging
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..sessions import stats  # noqa: E402
from ..sessions.progress import Progress, metric_label  # noqa: E402

__all__ = [
    "SIDE_COLORS",
    "MIN_SPAN_PCT",
    "literal",
    "metric_axis_label",
    "to_png_base64",
    "png_base64_and_width",
    "summary_trend_plot",
    "symmetry_plot",
    "lr_means_plot",
    "curves_plot",
    "regional_plot",
    "load_share_pain_plot",
    "cohort_plot",
]

log = logging.getLogger(__name__)

SIDE_COLORS = {"left": "#1f77b4", "right": "#d62728"}
_DPI = 150
#: Smallest y-axis span (percentage points) of regional-load plots.
MIN_SPAN_PCT = 10.0


def to_png_base64(fig: Figure) -> str:
    """PNG bytes of ``fig`` as base64 text (the figure is closed)."""
    return png_base64_and_width(fig)[0]


def png_base64_and_width(fig: Figure) -> tuple[str, float]:
    """(PNG as base64 text, width in inches of the tightly cropped image); the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    width_px = int.from_bytes(data[16:20], "big")  # IHDR width
    return base64.b64encode(data).decode("ascii"), width_px / _DPI


_UNIT_WORDS = (("_pct_bw_s", "% body weight · s"), ("_pct_bw", "% body weight"), ("_load_pct", "% of stance load"),
               ("_pct", "% of stride"), ("_s", "s"))


def literal(text: Any) -> str:
    """User text for matplotlib with ``$`` escaped, so it is never typeset as math."""
    return str(text).replace("$", r"\$")


def metric_axis_label(metric: str) -> str:
    """Words and unit of a stride metric ("stance time (s)")."""
    unit = next((u for suf, u in _UNIT_WORDS if metric.endswith(suf)), "")
    words = metric_label(metric).replace("-", " ")
    return f"{words} ({unit})" if unit else words


def _min_span(ax: Any, lo: float, hi: float, span: float, floor: float | None = 0.0) -> None:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return
    mid = 0.5 * (lo + hi)
    half = max(0.5 * (hi - lo) * 1.15, 0.5 * span)
    a, b = mid - half, mid + half
    if floor is not None and a < floor:
        a, b = floor, floor + 2 * half
    ax.set_ylim(a, b)


def _headline_rows(progress: Progress, metric: str | None = None) -> pd.DataFrame:
    t = progress.table
    if t.empty:
        return t
    return t[t["metric"] == (metric or progress.metric)].reset_index(drop=True)


def _pain_axis(ax: Any, ctx: Any, labels: list[str], x: np.ndarray) -> bool:
    pain = {s["label"]: s["pain_vas"] for s in ctx.sessions}
    p = np.array([float(pain[lab]) if pain.get(lab) is not None else np.nan for lab in labels])
    if not np.isfinite(p).any():
        return False
    ax.bar(x, np.nan_to_num(p), width=0.5, color="#d7bde2", edgecolor="#8e44ad", label="pain (VAS)", zorder=1)
    ax.set_ylim(0, 10)
    ax.set_ylabel("pain (VAS 0–10)", color="#6c3483")
    return True


def summary_trend_plot(ctx: Any) -> Figure | None:
    """Left: asymmetry affected vs unaffected per session with CI; right: pain (VAS) per session."""
    progress = ctx.progress
    rows = _headline_rows(progress)
    if rows.empty:
        return None
    name, unit = stats.INDEX_NAMES[progress.index]
    abbr = name.split("(")[-1].split(" ")[0].rstrip(")")
    labels = [literal(x) for x in rows["session"]]
    x = np.arange(len(labels), dtype=float)
    a, u = ctx.ref_side, ctx.unaffected_side
    # the statistics' oriented value and its CI (same bootstrap replicates as every other CI)
    v = rows["asym_oriented"].to_numpy(float)
    lo, hi = rows["asym_oriented_ci_low"].to_numpy(float), rows["asym_oriented_ci_high"].to_numpy(float)
    fig, (ax, axp) = plt.subplots(1, 2, figsize=(7.4, 2.45), gridspec_kw={"width_ratios": [3, 2]})
    ref = 1.0 if progress.index == "sr" else 0.0
    ax.axhline(ref, color="0.5", lw=0.8)
    ax.errorbar(x, v, yerr=[np.nan_to_num(np.abs(v - lo)), np.nan_to_num(np.abs(hi - v))], fmt="o-",
                color="#2c3e50", ecolor="#7f8c8d", capsize=3)
    who = f"{a} (affected) vs {u}" if ctx.affected_side else "right vs left"
    ax.set_ylabel(f"{metric_label(progress.metric)} {abbr} ({unit or 'ratio'})", fontsize=8)
    ax.set_title(f"Asymmetry, {who}; 95% CI\n({ctx.sign_short})", fontsize=8)
    # the data and the symmetry line, with a minimum span (2 points; SR 0.1) so noise is not blown up
    ends = np.r_[lo, hi, v, ref]
    a0, b0 = float(np.nanmin(ends)), float(np.nanmax(ends))
    pad = max(0.15 * (b0 - a0), 0.5 * max(0.0, (0.1 if progress.index == "sr" else 2.0) - (b0 - a0)))
    ax.set_ylim(a0 - pad, b0 + pad)
    ax.set_xticks(x, labels, fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.set_xlabel("session", fontsize=8)
    if not _pain_axis(axp, ctx, rows["label"].tolist(), x):
        axp.axis("off")
        axp.text(0.5, 0.5, "no pain scores entered\n(gaitpf session set --pain)", ha="center", va="center",
                 fontsize=8, transform=axp.transAxes)
    else:
        axp.set_xticks(x, labels, fontsize=7)
        axp.tick_params(labelsize=7)
        axp.set_title("Pain per session", fontsize=8)
        axp.set_xlabel("session", fontsize=8)
        axp.yaxis.label.set_size(8)
        axp.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def symmetry_plot(ctx: Any, metric: str | None = None) -> Figure | None:
    """Asymmetry magnitude per session with CIs, the baseline ± MDC95 band and the trend."""
    progress = ctx.progress
    rows = _headline_rows(progress, metric)
    if rows.empty:
        return None
    metric = metric or progress.metric
    name, unit = stats.INDEX_NAMES[progress.index]
    labels = [literal(x) for x in rows["session"]]
    x = np.arange(len(labels), dtype=float)
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    v = rows["value"].to_numpy(float)
    lo, hi = rows["value_ci_low"].to_numpy(float), rows["value_ci_high"].to_numpy(float)
    mdc = progress.mdc.get(metric, {}).get("mdc95", np.nan)
    kind = ctx.decision.get("mdc_kind", "")
    if np.isfinite(mdc):
        ax.axhspan(max(v[0] - mdc, 0), v[0] + mdc, color="0.88", label=f"baseline ± MDC95 ({mdc:.2f}{unit}, {kind})")
    ax.errorbar(x, v, yerr=[v - lo, hi - v], fmt="o-", color="#2c3e50", ecolor="#7f8c8d", capsize=4,
                label=f"{name} magnitude, {int(100 * progress.params.confidence)}% CI")
    tr = progress.trend.get(metric, {})
    if np.isfinite(tr.get("slope", np.nan)) and len(rows) >= 3 and np.isfinite(tr.get("slope_ci_low", np.nan)):
        xs = rows["session_no"].to_numpy(float) if tr.get("x") == "session_no" else np.arange(1, len(rows) + 1)
        ax.plot(x, tr["intercept"] + tr["slope"] * xs, "--", color="#e67e22",
                label=f"Theil–Sen trend {tr['slope']:+.2f}{unit}/session "
                      f"(CI {tr['slope_ci_low']:+.2f} to {tr['slope_ci_high']:+.2f})".replace("-", "−"))
    ax.set_xticks(x, labels)
    ax.set_xlabel("session")
    ax.set_ylabel(f"{metric_label(metric)} asymmetry ({unit or 'ratio'})")
    sym = "1" if progress.index == "sr" else "0"
    ax.set_title(f"{metric_label(metric).capitalize()} asymmetry magnitude per session ({sym} = symmetric)",
                 fontsize=10)
    if progress.index == "sr":  # magnitude max(SR, 1/SR) >= 1
        top = float(np.nanmax(hi))
        ax.set_ylim(bottom=1.0 - 0.01, top=max(1.0 + 1.25 * (top - 1.0), 1.05))
    else:
        ax.set_ylim(bottom=0, top=max(float(np.nanmax(hi)) * 1.25, 1.0))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def lr_means_plot(ctx: Any, metric: str | None = None) -> Figure | None:
    """Affected and unaffected means of the metric per session with CIs, and cadence."""
    progress = ctx.progress
    rows = _headline_rows(progress, metric)
    if rows.empty:
        return None
    metric = metric or progress.metric
    labels = [literal(x) for x in rows["session"]]
    x = np.arange(len(labels), dtype=float)
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    for k, side in enumerate((ctx.ref_side, ctx.unaffected_side)):
        m = rows[f"{side}_mean"].to_numpy(float)
        lo, hi = rows[f"{side}_ci_low"].to_numpy(float), rows[f"{side}_ci_high"].to_numpy(float)
        role = (" (affected)" if side == ctx.affected_side else " (unaffected)") if ctx.affected_side else ""
        ax.errorbar(x + (k - 0.5) * 0.08, m, yerr=[m - lo, hi - m], fmt="o-", color=SIDE_COLORS[side],
                    capsize=3, label=f"{side}{role}")
    ax.set_xticks(x, labels)
    ax.set_xlabel("session")
    ax.set_ylabel(metric_axis_label(metric))
    ax.grid(alpha=0.3)
    cad = np.array([next((s["cadence_spm"] for s in ctx.sessions if s["label"] == lab), np.nan)
                    for lab in rows["label"]])
    if np.isfinite(cad).any():
        ax2 = ax.twinx()
        ax2.plot(x, cad, "s:", color="0.45", label="cadence")
        ax2.set_ylabel("cadence (steps/min)", color="0.35")
        mid = float(np.nanmedian(cad))
        ax2.set_ylim(min(np.nanmin(cad), 0.9 * mid), max(np.nanmax(cad), 1.1 * mid))  # ±10 %: no false drama
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        # below the axes: "best" cannot see the cadence axis' points and put the box over them
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3,
                  frameon=False)
    else:
        ax.legend(fontsize=7)
    ax.set_title(f"{metric_label(metric).capitalize()}: mean per side and session, 95% CI", fontsize=10)
    fig.tight_layout()
    return fig


def _session_curves(sd: Any) -> dict[str, dict[str, np.ndarray]]:
    """Per side: mean of trial means and pooled SD of the stance load curves."""
    out = {}
    for side in ("left", "right"):
        cs = [t.curves.get(side) for t in sd.usable_trials if t.curves.get(side) and t.curves[side].get("n", 0) > 0]
        if not cs:
            continue
        w = np.array([c["n"] for c in cs], float)
        means = np.array([c["mean"] for c in cs])
        sds = np.array([np.nan_to_num(c["sd"]) for c in cs])
        mean = (w[:, None] * means).sum(0) / w.sum()
        var = (w[:, None] * (sds**2 + (means - mean) ** 2)).sum(0) / w.sum()
        out[side] = {"mean": mean, "sd": np.sqrt(var)}
    return out


def curves_plot(ctx: Any) -> Figure | None:
    """Mean ± SD stance load curves, left vs right, one panel per session."""
    used = [s for s in ctx.progress.sessions if s.boot is not None]
    if not used:
        return None
    n = len(used)
    cols = min(4, n)
    rows_ = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows_, cols, figsize=(1.8 * cols + 0.8, 1.9 * rows_ + 0.5), sharey=True,
                             squeeze=False)
    units = {t.unit for sd in used for t in sd.usable_trials}
    unit = units.pop() if len(units) == 1 else "reading units"
    word = {"N": "total force (N)", "kPa": "summed pressure (kPa)", "au": "total load (arbitrary units)"}
    for ax, sd in zip(axes.ravel(), used):
        for side, c in _session_curves(sd).items():
            xs = np.linspace(0, 100, len(c["mean"]))
            ax.plot(xs, c["mean"], color=SIDE_COLORS[side], lw=1.2, label=side)
            ax.fill_between(xs, c["mean"] - c["sd"], c["mean"] + c["sd"], color=SIDE_COLORS[side], alpha=0.2)
        ax.set_title(literal(sd.label), fontsize=8)
        ax.set_xlabel("stance (%)", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for r in range(rows_):
        axes[r, 0].set_ylabel(word.get(unit, f"total load ({unit})"), fontsize=7)
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    return fig


_REGIONS = (("heel_load_pct", "heel", "#c0392b"), ("midfoot_load_pct", "midfoot", "#e67e22"),
            ("forefoot_load_pct", "forefoot", "#2980b9"))


def regional_plot(ctx: Any) -> Figure | None:
    """Heel / midfoot / forefoot share of the stance load per side and session, with CIs."""
    t = ctx.progress.table
    regions = [r for r in _REGIONS if not t.empty and r[0] in set(t["metric"])]
    if not regions:
        return None
    fig, axes = plt.subplots(1, len(regions), figsize=(2.5 * len(regions) + 0.4, 2.8), squeeze=False)
    for ax, (m, word, _c) in zip(axes[0], regions):
        rows = t[(t["metric"] == m) & t["comparable"].astype(bool)].reset_index(drop=True)
        x = np.arange(len(rows), dtype=float)
        lo_all, hi_all = [], []
        for k, side in enumerate((ctx.ref_side, ctx.unaffected_side)):
            v = rows[f"{side}_mean"].to_numpy(float)
            lo, hi = rows[f"{side}_ci_low"].to_numpy(float), rows[f"{side}_ci_high"].to_numpy(float)
            lo_all.append(lo)
            hi_all.append(hi)
            ax.errorbar(x + (k - 0.5) * 0.1, v, yerr=[v - lo, hi - v], fmt="o-", capsize=2, ms=3,
                        color=SIDE_COLORS[side], label=side)
        _min_span(ax, float(np.nanmin(lo_all)), float(np.nanmax(hi_all)), MIN_SPAN_PCT)
        ax.set_xticks(x, [literal(v) for v in rows["session"]], fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_ylabel(f"{word} share of stance load (%)", fontsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def load_share_pain_plot(ctx: Any) -> Figure | None:
    """Heel / midfoot / forefoot load share of the affected foot per session, with pain (VAS)."""
    t = ctx.progress.table
    side = ctx.ref_side
    regions = [r for r in _REGIONS if not t.empty and r[0] in set(t["metric"])]
    if not regions:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 2.8))
    labels = None
    lo_all, hi_all = [], []
    for m, word, c in regions:
        rows = t[(t["metric"] == m) & t["comparable"].astype(bool)].reset_index(drop=True)
        raw = rows["label"].tolist()
        labels = [literal(x) for x in raw]
        x = np.arange(len(rows), dtype=float)
        v = rows[f"{side}_mean"].to_numpy(float)
        lo, hi = rows[f"{side}_ci_low"].to_numpy(float), rows[f"{side}_ci_high"].to_numpy(float)
        lo_all.append(lo)
        hi_all.append(hi)
        ax.errorbar(x, v, yerr=[v - lo, hi - v], fmt="o-", capsize=2, ms=4, color=c, label=word, zorder=3)
    x = np.arange(len(labels), dtype=float)
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_xlabel("session")
    role = "affected" if ctx.affected_side else "no affected side entered"
    ax.set_ylabel(f"share of {side} foot load (%)", fontsize=8)
    ax.set_ylim(0, max(60.0, float(np.nanmax(hi_all)) + 5) * 1.2)  # headroom for the legend row
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    has_pain = _pain_axis(ax2, ctx, raw, x)
    if not has_pain:
        ax2.axis("off")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels() if has_pain else ([], [])
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left", ncol=4)
    ax.set_title(f"Regional load of the {side} foot ({role}) and pain per session; 95% CI", fontsize=9)
    fig.tight_layout()
    return fig


def cohort_plot(table: pd.DataFrame, *, by: str, metric: str, index: str) -> Figure | None:
    """Group mean ± 95 % CI (t, across subjects) of the asymmetry magnitude per session number."""
    sub = table[(table["metric"] == metric) & (table["statistic"] == "asymmetry")]
    if sub.empty:
        return None
    from scipy import stats as sst

    fig, ax = plt.subplots(figsize=(7, 3.6))
    x_col = "session_no" if sub["session_no"].notna().all() else "session_order"
    for k, (group, g) in enumerate(sub.groupby(by, dropna=False)):
        agg = g.groupby(x_col)["value"].agg(["mean", "std", "count"]).reset_index()
        half = np.where(agg["count"] > 1,
                        sst.t.ppf(0.975, np.maximum(agg["count"] - 1, 1)) * agg["std"] / np.sqrt(agg["count"]), 0.0)
        ax.errorbar(agg[x_col] + 0.06 * k, agg["mean"], yerr=np.nan_to_num(half), fmt="o-", capsize=3,
                    label=f"{by} = {group} (n ≤ {int(agg['count'].max())})")
    name, unit = stats.INDEX_NAMES[index]
    ax.set_xlabel("session number" if x_col == "session_no" else "session (in date order)")
    ax.set_ylabel(f"{name} magnitude ({unit or 'ratio'})")
    ax.set_title(f"{metric_label(metric).capitalize()} asymmetry by {by} (mean ± 95% CI across subjects)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
