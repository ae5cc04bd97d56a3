"""Figures of the clinician's report (matplotlib, Agg backend; no display needed).

Every function takes a :class:`~gaitpf.sessions.progress.Progress` (or a cohort table)
and returns a :class:`matplotlib.figure.Figure`, or ``None`` when there is nothing valid
to draw (the caller then states what was left out). :func:`to_png_base64` turns a
figure into an inline image for the self-contained HTML.
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
    "to_png_base64",
    "symmetry_plot",
    "lr_means_plot",
    "pain_plot",
    "curves_plot",
    "cop_plot",
    "regional_plot",
    "cohort_plot",
]

log = logging.getLogger(__name__)

SIDE_COLORS = {"left": "#1f77b4", "right": "#d62728"}
_DPI = 110


def to_png_base64(fig: Figure) -> str:
    """PNG bytes of ``fig`` as base64 text (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _x(progress: Progress, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    return np.arange(len(labels), dtype=float), labels


def _headline_rows(progress: Progress, metric: str | None = None) -> pd.DataFrame:
    t = progress.table
    if t.empty:
        return t
    return t[t["metric"] == (metric or progress.metric)].reset_index(drop=True)


def symmetry_plot(progress: Progress, metric: str | None = None) -> Figure | None:
    """Asymmetry magnitude per session with CIs, the baseline ± MDC95 band and the trend."""
    rows = _headline_rows(progress, metric)
    if rows.empty:
        return None
    metric = metric or progress.metric
    name, unit = stats.INDEX_NAMES[progress.index]
    x, labels = _x(progress, rows["session"].tolist())
    fig, ax = plt.subplots(figsize=(8, 3.6))
    v = rows["value"].to_numpy(float)
    lo, hi = rows["value_ci_low"].to_numpy(float), rows["value_ci_high"].to_numpy(float)
    mdc = progress.mdc.get(metric, {}).get("mdc95", np.nan)
    if np.isfinite(mdc):
        ax.axhspan(v[0] - mdc, v[0] + mdc, color="0.85", label=f"baseline ± MDC95 ({mdc:.2f}{unit})")
    ax.errorbar(x, v, yerr=[v - lo, hi - v], fmt="o-", color="#2c3e50", ecolor="#7f8c8d", capsize=4,
                label=f"{name} magnitude, {int(100 * progress.params.confidence)}% CI")
    tr = progress.trend.get(metric, {})
    if np.isfinite(tr.get("slope", np.nan)) and len(rows) >= 3:
        xs = rows["session_no"].to_numpy(float) if tr.get("x") == "session_no" else np.arange(1, len(rows) + 1)
        ax.plot(x, tr["intercept"] + tr["slope"] * xs, "--", color="#e67e22",
                label=f"Theil–Sen trend {tr['slope']:+.2f}{unit}/session "
                      f"(CI {tr['slope_ci_low']:+.2f} to {tr['slope_ci_high']:+.2f})")
    ax.set_xticks(x, labels, rotation=0)
    ax.set_ylabel(f"|{metric_label(metric)} {name.split('(')[-1].rstrip(')')}| ({unit or 'ratio'})")
    ax.set_title(f"{metric_label(metric).capitalize()} asymmetry per session (0 = symmetric)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def lr_means_plot(progress: Progress, metric: str | None = None) -> Figure | None:
    """Left and right means of the metric per session with CIs, and cadence."""
    rows = _headline_rows(progress, metric)
    if rows.empty:
        return None
    metric = metric or progress.metric
    x, labels = _x(progress, rows["session"].tolist())
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for k, side in enumerate(("left", "right")):
        m = rows[f"{side}_mean"].to_numpy(float)
        lo, hi = rows[f"{side}_ci_low"].to_numpy(float), rows[f"{side}_ci_high"].to_numpy(float)
        ax.errorbar(x + (k - 0.5) * 0.08, m, yerr=[m - lo, hi - m], fmt="o-", color=SIDE_COLORS[side],
                    capsize=3, label=side)
    ax.set_xticks(x, labels)
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    st = progress.session_table.set_index("session")
    cad = st.reindex(rows["session"])["cadence_spm"].to_numpy(float)
    if np.isfinite(cad).any():
        ax2 = ax.twinx()
        ax2.plot(x, cad, "s:", color="0.45", label="cadence")
        ax2.set_ylabel("cadence (steps/min)", color="0.35")
        mid = float(np.nanmedian(cad))
        ax2.set_ylim(min(np.nanmin(cad), 0.9 * mid), max(np.nanmax(cad), 1.1 * mid))  # ±10 %: no false drama
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="best")
    else:
        ax.legend(fontsize=8)
    ax.set_title(f"{metric_label(metric).capitalize()}: left vs right mean per session")
    fig.tight_layout()
    return fig


def pain_plot(progress: Progress) -> Figure | None:
    """Pain score (VAS 0–10) per session; None when no session has one."""
    st = progress.session_table
    if st.empty or st["pain_vas"].isna().all():
        return None
    x = np.arange(len(st), dtype=float)
    pain = pd.to_numeric(st["pain_vas"], errors="coerce").to_numpy(float)
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.bar(x, np.nan_to_num(pain), color=np.where(np.isfinite(pain), "#8e44ad", "none"), edgecolor="#8e44ad")
    for xi, p in zip(x, pain):
        ax.text(xi, (p if np.isfinite(p) else 0) + 0.2, f"{p:.1f}" if np.isfinite(p) else "n/a",
                ha="center", fontsize=8)
    ax.set_xticks(x, st["session"].tolist())
    ax.set_ylim(0, 10.8)
    ax.set_ylabel("pain (VAS 0–10)")
    ax.set_title("Pain score per session")
    ax.grid(axis="y", alpha=0.3)
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


def curves_plot(progress: Progress) -> Figure | None:
    """Mean ± SD stance load curves, left vs right, one panel per session."""
    used = [s for s in progress.sessions if s.boot is not None]
    if not used:
        return None
    n = len(used)
    cols = min(4, n)
    rows_ = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows_, cols, figsize=(2.6 * cols + 0.6, 2.3 * rows_ + 0.4), sharey=True, squeeze=False)
    unit = used[0].usable_trials[0].unit if used[0].usable_trials else ""
    pct = np.linspace(0, 100, 101)
    for ax, sd in zip(axes.ravel(), used):
        curves = _session_curves(sd)
        for side, c in curves.items():
            xs = np.linspace(0, 100, len(c["mean"])) if len(c["mean"]) != 101 else pct
            ax.plot(xs, c["mean"], color=SIDE_COLORS[side], lw=1.4, label=side)
            ax.fill_between(xs, c["mean"] - c["sd"], c["mean"] + c["sd"], color=SIDE_COLORS[side], alpha=0.2)
        ax.set_title(sd.label, fontsize=9)
        ax.set_xlabel("% stance", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].set_ylabel(f"total load ({unit})", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Stance load curves, mean ± SD (left vs right)", fontsize=10)
    fig.tight_layout()
    return fig


def cop_plot(progress: Progress) -> Figure | None:
    """Mean centre-of-pressure gait lines per session, both insoles seen from above."""
    used = [s for s in progress.sessions if s.boot is not None]
    paths = []
    for k, sd in enumerate(used):
        for t in sd.usable_trials[:1]:
            for side, c in t.cop.items():
                paths.append((k, sd.label, side, c))
    if not paths:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 4.6), sharey=True)
    cmap = plt.get_cmap("viridis")
    for ax, side in zip(axes, ("left", "right")):
        for k, label, s, c in paths:
            if s != side:
                continue
            # insole frame: x medial→lateral; show the left foot mirrored so both look as seen from above
            x = -np.asarray(c["x_mm"]) if side == "left" else np.asarray(c["x_mm"])
            ax.plot(x, c["y_mm"], color=cmap(k / max(len(used) - 1, 1)), lw=1.5, label=label)
        ax.set_title(f"{side} foot", fontsize=9)
        ax.set_xlabel("medial ← x (mm) → lateral" if side == "right" else "lateral ← x (mm) → medial", fontsize=8)
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("heel → toe y (mm)")
    axes[1].legend(fontsize=7, loc="best", title="session", title_fontsize=7)
    fig.suptitle("Centre-of-pressure gait lines (mean over steady strides, first usable trial)", fontsize=10)
    fig.tight_layout()
    return fig


def regional_plot(progress: Progress) -> Figure | None:
    """Heel and forefoot share of the stance load per side and session, with CIs."""
    t = progress.table
    regions = [m for m in ("heel_load_pct", "forefoot_load_pct") if not t.empty and m in set(t["metric"])]
    if not regions:
        return None
    fig, axes = plt.subplots(1, len(regions), figsize=(4.2 * len(regions), 3.2), squeeze=False)
    for ax, m in zip(axes[0], regions):
        rows = t[t["metric"] == m].reset_index(drop=True)
        x = np.arange(len(rows), dtype=float)
        for k, side in enumerate(("left", "right")):
            v = rows[f"{side}_mean"].to_numpy(float)
            lo, hi = rows[f"{side}_ci_low"].to_numpy(float), rows[f"{side}_ci_high"].to_numpy(float)
            ax.errorbar(x + (k - 0.5) * 0.1, v, yerr=[v - lo, hi - v], fmt="o-", capsize=3,
                        color=SIDE_COLORS[side], label=side)
        ax.set_xticks(x, rows["session"].tolist(), fontsize=8)
        ax.set_ylabel("% of stance load")
        ax.set_title(metric_label(m).replace("-", " ").capitalize(), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Regional load per side", fontsize=10)
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
    ax.set_xlabel(x_col.replace("_", " "))
    ax.set_ylabel(f"{name} magnitude ({unit or 'ratio'})")
    ax.set_title(f"{metric_label(metric).capitalize()} asymmetry by {by} (mean ± 95% CI across subjects)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
