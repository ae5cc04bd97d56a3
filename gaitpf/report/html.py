"""The clinician's report as one self-contained HTML file (inline CSS, base64 PNG figures).

Nothing is loaded from the network: no scripts, fonts or images outside the file, so it
opens anywhere (and prints) without connectivity. Text is HTML-escaped.
"""
from __future__ import annotations

import datetime as _dt
import html
import logging
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import __version__
from ..sessions import stats
from ..sessions.progress import Progress, metric_label
from . import plots

__all__ = ["render_html", "write_html", "figures", "METHODS_HTML", "session_rows", "change_rows"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:DejaVu Sans,Arial,Helvetica,sans-serif;margin:24px auto;max-width:1100px;color:#222;
background:#fff;line-height:1.4}
h1{font-size:1.6em;margin-bottom:0.2em;color:#1a3c5e}h2{font-size:1.2em;color:#1a3c5e;border-bottom:2px solid
#1a3c5e;padding-bottom:2px;margin-top:1.6em}
.meta{color:#555;font-size:0.9em}.headline{background:#eaf2fb;border-left:6px solid #1f77b4;padding:10px 14px;
font-size:1.05em;margin:14px 0}
.warn{background:#fff6e0;border-left:6px solid #e6a100;padding:8px 14px;margin:10px 0}
.leftout{background:#fdecea;border-left:6px solid #c0392b;padding:8px 14px;margin:10px 0}
table{border-collapse:collapse;font-size:0.85em;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f0f3f7}td.l,th.l{text-align:left}tr.base td{background:#f7f7f7}
img{max-width:100%;display:block;margin:8px 0}.yes{color:#1e7e34;font-weight:bold}.no{color:#777}
.small{font-size:0.85em;color:#444}
"""

METHODS_HTML = """
<p><b>Strides.</b> Steps are segmented from each insole's total load by the gaitpf analysis core; only
<i>steady</i> strides (walking bouts without their first/last strides, turns, pauses, gaps or outliers) enter
the statistics. A session pools its usable trials.</p>
<p><b>Symmetry indices</b> (from left/right means L, R; 0 = symmetric): symmetry index
SI = 100·(R−L)/(0.5·(R+L)) (Robinson et al. 1987); symmetry angle SA = (45° − arctan(L/R))/90°·100 %
(Zifchock et al. 2008); gait asymmetry GA = 100·|ln(R/L)| (Plotnik et al. 2005); symmetry ratio SR = L/R.
Changes are computed on the asymmetry <i>magnitude</i> (|SI|, |SA|, GA, max(SR, 1/SR)), so a negative change
means more symmetric; the side with the larger value is shown by the left/right means.</p>
<p><b>Confidence intervals.</b> Consecutive strides are serially correlated, so plain resampling of strides
gives intervals that are too narrow. We resample <i>gait cycles</i> (a left stride and the right stride that
follows it, kept together) with a circular block bootstrap (Politis &amp; Romano 1992; blocks of consecutive
cycles, length from the series' lag-1 autocorrelation, Carlstein 1986) and report expanded percentile
intervals (Hesterberg 2015) with the block degrees of freedom of overlapping batch means (Meketon &amp;
Schmeiser 1984).</p>
<p><b>Change versus baseline</b> is given in absolute units (percentage <i>points</i> for indices in %) and
relative to the baseline value (%), each with its CI from independent bootstrap replicates of the two
sessions. No relative change is given when the baseline asymmetry is within its MDC95 of perfect symmetry:
a percentage of measurement noise would be meaningless.</p>
<p><b>Minimal detectable change</b> MDC95 = 1.96·√2·SEM (Weir 2005). The SEM comes from this patient's own
data: trial-to-trial (pooled within-session SD of repeated trials, scaled to the number of trials pooled per
session) when there are enough repeated trials, otherwise split-half (first vs second half of each session's
steady cycles). It covers stride-to-stride and trial-to-trial variation, not day-to-day variation, so it is a
lower bound for a change between days. A change is flagged when its magnitude exceeds MDC95.</p>
<p><b>Trend</b>: Theil–Sen slope of the asymmetry over session numbers with Sen's confidence interval
(scipy.stats.theilslopes).</p>
<p><b>Confounders</b>: walking speed and cadence change symmetry and variability; cadence is shown for every
session (walking speed when it was entered in the metadata) and a cadence change of more than 5 % is flagged.
Fewer than 30 steady strides per side makes an estimate unstable and is flagged.</p>
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _num(x: Any, fmt: str = "{:.2f}") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return _e(x) if x not in (None, "") else "–"
    return fmt.format(v).replace("-", "−") if np.isfinite(v) else "–"


def figures(progress: Progress) -> list[tuple[str, Any, str]]:
    """(title, figure or None, what is missing when None) for every report figure."""
    return [
        ("Symmetry per session", plots.symmetry_plot(progress), "no usable session"),
        ("Left and right means per session", plots.lr_means_plot(progress), "no usable session"),
        ("Pain score per session", plots.pain_plot(progress), "no pain scores entered (gaitpf session set --pain)"),
        ("Force curves (mean ± SD)", plots.curves_plot(progress), "no usable session"),
        ("Centre-of-pressure gait lines", plots.cop_plot(progress),
         "no sensor layout with enough usable channels for a centre of pressure"),
        ("Regional load (heel / forefoot)", plots.regional_plot(progress),
         "no regional load (needs a sensor layout with heel and forefoot sensors)"),
    ]


def session_rows(progress: Progress) -> list[list[str]]:
    """Per-session table rows (strings) for HTML and PDF."""
    t = progress.table
    head = t[t["metric"] == progress.metric].set_index("session") if not t.empty else pd.DataFrame()
    out = []
    for _, r in progress.session_table.iterrows():
        h = head.loc[r["session"]] if r["session"] in head.index else None
        ci = (f"{_num(h['value'], '{:.2f}')} ({_num(h['value_ci_low'])}–{_num(h['value_ci_high'])})"
              if h is not None else "left out")
        if h is not None and not h["is_baseline"] and np.isfinite(h["change_abs"]):
            ch = f"{_num(h['change_abs'], '{:+.2f}')} ({_num(h['change_abs_ci_low'], '{:+.2f}')} to " \
                 f"{_num(h['change_abs_ci_high'], '{:+.2f}')})"
            rel = f"{_num(h['change_rel_pct'], '{:+.0f}')}%"
            mdc = "yes" if h["exceeds_mdc"] is True else ("no" if h["exceeds_mdc"] is False else "–")
        else:
            ch, rel, mdc = ("baseline", "", "") if (h is not None and h["is_baseline"]) else ("–", "–", "–")
        out.append([
            _e(r["session"]), _e(r["date"] or "–"), _e(r["treatment"] or "–"), _num(r["pain_vas"], "{:.1f}"),
            _num(r["cadence_spm"], "{:.0f}"), _num(r["walking_speed_m_s"], "{:.2f}"),
            f"{r['n_steady_left']}/{r['n_steady_right']}", ci, ch, rel, mdc,
        ])
    return out


SESSION_HEADER = ["session", "date", "treatment", "pain (VAS)", "cadence (spm)", "speed (m/s)",
                  "steady strides L/R", "asymmetry (95% CI)", "change vs baseline (95% CI)", "relative",
                  "> MDC95"]


def change_rows(progress: Progress) -> list[list[str]]:
    """Last session vs baseline for every metric."""
    t = progress.table
    used = [s for s in progress.sessions if s.boot is not None]
    if t.empty or len(used) < 2:
        return []
    last = t[t["session"] == used[-1].label]
    rows = []
    unit = stats.INDEX_NAMES[progress.index][1]
    for _, r in last.iterrows():
        m = r["metric"]
        mdc = progress.mdc.get(m, {}).get("mdc95", np.nan)
        if not r["comparable"]:
            rows.append([_e(metric_label(m)), "not compared (sensor layout differs from baseline)"] + [""] * 5)
            continue
        rows.append([
            _e(metric_label(m)),
            f"{_num(r['value'] - r['change_abs'])} → {_num(r['value'])}{unit}",
            f"{_num(r['change_abs'], '{:+.2f}')} ({_num(r['change_abs_ci_low'], '{:+.2f}')} to "
            f"{_num(r['change_abs_ci_high'], '{:+.2f}')})",
            f"{_num(r['change_rel_pct'], '{:+.0f}')}% ({_num(r['change_rel_ci_low'], '{:+.0f}')} to "
            f"{_num(r['change_rel_ci_high'], '{:+.0f}')}%)",
            _num(mdc),
            "yes" if r["exceeds_mdc"] is True else ("no" if r["exceeds_mdc"] is False else "–"),
            _num(progress.trend.get(m, {}).get("slope"), "{:+.2f}"),
        ])
    return rows


CHANGE_HEADER = ["metric", "baseline → last", "change, points (95% CI)", "relative (95% CI)", "MDC95",
                 "> MDC95", "trend / session"]


def _table(header: list[str], rows: list[list[str]], left_cols: int = 1, base_first: bool = False) -> str:
    th = "".join(f'<th class="{"l" if i < left_cols else ""}">{_e(h)}</th>' for i, h in enumerate(header))
    body = []
    for k, r in enumerate(rows):
        cls = ' class="base"' if (base_first and k == 0) else ""
        tds = "".join(f'<td class="{"l" if i < left_cols else ""}">{c}</td>' for i, c in enumerate(r))
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"<table><tr>{th}</tr>{''.join(body)}</table>"


def render_html(progress: Progress, *, title: str | None = None,
                figure_source: Callable[[Progress], list[tuple[str, Any, str]]] = figures) -> str:
    """The complete report as an HTML string (figures inline)."""
    name = stats.INDEX_NAMES[progress.index][0]
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_e(title or f'Gait report {progress.subject_id}')}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title or 'Gait symmetry across treatment sessions')}</h1>",
        f'<div class="meta">Subject <b>{_e(progress.subject_id)}</b> · {len(progress.sessions)} session(s) · '
        f"baseline {_e(progress.baseline or '–')} · generated {now} by gaitpf {__version__}</div>",
        f'<div class="headline"><b>Headline ({_e(name)}, asymmetry magnitude):</b> {_e(progress.headline)}</div>',
    ]
    if progress.warnings:
        parts.append('<div class="warn"><b>Read with care:</b><ul>' +
                     "".join(f"<li>{_e(w)}</li>" for w in progress.warnings) + "</ul></div>")
    if progress.left_out:
        parts.append('<div class="leftout"><b>Left out of this report:</b><ul>' +
                     "".join(f"<li>{_e(w)}</li>" for w in progress.left_out) + "</ul></div>")
    parts.append("<h2>Sessions</h2>")
    parts.append(f'<p class="small">Asymmetry = {_e(name)} magnitude of {_e(metric_label(progress.metric))}; '
                 "change in percentage points (absolute) and % of baseline (relative).</p>")
    parts.append(_table(SESSION_HEADER, session_rows(progress), left_cols=3, base_first=True))
    notes = [(r["session"], r["notes"]) for _, r in progress.session_table.iterrows() if r["notes"]]
    if notes:
        parts.append('<p class="small"><b>Session notes</b></p><ul class="small">' +
                     "".join(f"<li><b>{_e(s)}</b>: {_e(n)}</li>" for s, n in notes) + "</ul>")
    cr = change_rows(progress)
    if cr:
        parts.append("<h2>All metrics: last session versus baseline</h2>")
        parts.append(_table(CHANGE_HEADER, cr))
    parts.append("<h2>Figures</h2>")
    for fig_title, fig, missing in figure_source(progress):
        parts.append(f"<h3>{_e(fig_title)}</h3>")
        if fig is None:
            parts.append(f'<p class="leftout">Not shown: {_e(missing)}.</p>')
        else:
            parts.append(f'<img alt="{_e(fig_title)}" src="data:image/png;base64,{plots.to_png_base64(fig)}">')
    mdc = progress.mdc.get(progress.metric, {})
    parts.append("<h2>Methods</h2>" + METHODS_HTML)
    parts.append(f'<p class="small">This report: bootstrap replicates {progress.params.n_boot}, seed '
                 f"{progress.params.seed}; MDC method for the headline metric: {_e(mdc.get('method', '–'))} "
                 f"(df {_e(mdc.get('df', '–'))}).</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(progress: Progress, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write the report atomically; returns the path."""
    from ..io.atomic import atomic_path

    p = Path(path)
    text = render_html(progress, **kwargs)
    with atomic_path(p) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return p
