"""The clinician's report as one self-contained HTML file (inline CSS, base64 PNG figures).

Layout: page 1 is a one-page A4 summary (headline change with its CI and the decision,
asymmetry affected vs unaffected and pain over the sessions, the affected foot's pressure
map baseline vs latest, confounders and cautions); the details follow (session tables
with treatment, condition and notes, all metrics, all figures, what was left out,
methods). The print CSS (``@page`` A4, headings kept with their figures, no page break
inside a table row or figure) is what :mod:`gaitpf.report.pdf` prints, so HTML and PDF
are the same document. Nothing is loaded from the network; all text is HTML-escaped (a
``$`` in a treatment name stays a ``$``).
"""
from __future__ import annotations

import datetime as _dt
import html
import logging
import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..sessions import stats
from ..sessions.progress import Progress, metric_label
from . import plots
from ..sessions.decision import MIN_SESSIONS_TREND_CI
from ..sessions.progress_tables import CADENCE_CHANGE_PCT
from ..sessions.reliability import MIN_STEADY_STRIDES
from .context import ReportContext, build_context
from .maps import cop_figure, pressure_maps_figure
from .tables import CHANGE_HEADER, change_rows, num, result_header, result_rows, session_header, session_rows

__all__ = ["render_html", "write_html", "METHODS_HTML", "report_context"]

log = logging.getLogger(__name__)

#: More cautions than this are counted on the summary page and listed in the details (each once).
SUMMARY_MAX_CAUTIONS = 3
#: Likewise for confounders.
SUMMARY_MAX_CONFOUNDERS = 3

_CSS = """
@page{size:A4;margin:11mm 12mm 12mm 12mm}
*{box-sizing:border-box}
body{font-family:DejaVu Sans,Arial,Helvetica,sans-serif;margin:0 auto;max-width:186mm;color:#222;background:#fff;
line-height:1.3;font-size:9.5pt}
h1{font-size:15pt;margin:0 0 2px 0;color:#1a3c5e}
h2{font-size:12pt;color:#1a3c5e;border-bottom:1.5px solid #1a3c5e;padding-bottom:1px;margin:14px 0 6px 0;
break-after:avoid;page-break-after:avoid}
h3{font-size:10pt;margin:8px 0 3px 0;color:#1a3c5e;break-after:avoid;page-break-after:avoid}
.meta{color:#444;font-size:8.5pt}
.headline{background:#eaf2fb;border-left:5px solid #1f77b4;padding:6px 10px;margin:8px 0}
.decision{font-weight:bold;margin-top:3px}.real{color:#1e7e34}.notreal{color:#7a4b00}
.warn{background:#fff6e0;border-left:5px solid #e6a100;padding:4px 10px;margin:6px 0;font-size:8.5pt}
.leftout{background:#fdecea;border-left:5px solid #c0392b;padding:4px 10px;margin:6px 0;font-size:8.5pt}
.warn ul,.leftout ul{margin:2px 0 2px 16px;padding:0}
table{border-collapse:collapse;font-size:7.5pt;margin:4px 0;width:100%;table-layout:auto}
th,td{border:1px solid #bbb;padding:2px 4px;text-align:right;vertical-align:top;overflow-wrap:break-word}
th{background:#f0f3f7;font-weight:bold}td.l,th.l{text-align:left}td.nw{white-space:nowrap}tr.base td{background:#f6f6f6}
tr,td,th{break-inside:avoid;page-break-inside:avoid}thead{display:table-header-group}
figure{margin:4px 0 8px 0;break-inside:avoid;page-break-inside:avoid}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:7.5pt;color:#444;margin-top:2px}
.summary{break-after:page;page-break-after:always}
.small{font-size:8pt;color:#333}.sign{font-size:8pt;color:#333;font-style:italic}
.keep{break-inside:avoid;page-break-inside:avoid}
ul.notes{margin:2px 0 6px 16px;padding:0;font-size:8pt}
@media screen{body{margin:16px auto}.summary{border-bottom:3px double #1a3c5e;padding-bottom:10px}}
"""

METHODS_HTML = f"""
<p><b>Strides.</b> Steps are segmented from each insole's total load by the gaitpf analysis core; only
<i>steady</i> strides (walking bouts without their first/last strides, turns, pauses, gaps or outliers) enter
the statistics, the pressure maps and the gait lines. A session pools its usable trials.</p>
<p><b>Asymmetry.</b> Symmetry indices compare two <i>positive, ratio-scale</i> quantities (times, forces, load
shares) and are used only for those (from the left/right means L, R; 0 = symmetric, SR 1): symmetry index
SI = 100·(R−L)/(0.5·(R+L)) (Robinson et al. 1987); symmetry angle SA = (45° − arctan(L/R))/90°·100 %
(Zifchock et al. 2008); gait asymmetry GA = 100·|ln(R/L)| (Plotnik et al. 2005); symmetry ratio SR = L/R.
For a <i>signed</i> quantity that crosses zero (the medial–lateral index) a ratio is meaningless, so its
asymmetry is the left − right difference in its own units. Changes are computed on the asymmetry
<i>magnitude</i> (|SI|, |SA|, GA, max(SR, 1/SR), |L − R|), so a negative change means more symmetric.</p>
<p><b>Sign convention.</b> Where the affected side is entered, the oriented asymmetry is the index of the
unaffected (U) and affected (A) side: SI = 100·(A−U)/(0.5·(A+U)), SA of (U, A), GA = 100·ln(A/U), SR = A/U,
A − U for signed metrics; <i>positive (SR &gt; 1) means the affected side's value is larger</i>. Without an
affected side the right side takes the affected side's place (positive = right larger). The oriented value's
95 % CI comes from the same bootstrap replicates as every other CI.</p>
<p><b>Confidence intervals.</b> Gait cycles (a left stride and the right stride that follows it) are resampled
with a circular block bootstrap (Politis &amp; Romano 1992), block length from the lag-1 autocorrelation
(Carlstein 1986), expanded percentile intervals (Hesterberg 2015).</p>
<p><b>Decision rule.</b> A change versus baseline is called <i>real</i> only when <i>both</i> hold: its 95 % CI
excludes 0 (larger than the stride-to-stride sampling error of the two sessions) <i>and</i> |change| &gt; MDC95,
the minimal detectable change MDC95 = 1.96·√2·SEM (Weir 2005; larger than what repeated measurement of an
unchanged patient produces). Both parts are shown (“CI excl. 0”, “&gt; MDC95”). The SEM comes from the most
complete repeated measurement the data offer, named with every MDC: <i>between sessions</i> — two or more
baseline sessions (phase = baseline), SEM = their SD; includes day-to-day variation, the MDC to use;
<i>between trials</i> — repeated trials on the same day, pooled trial-to-trial SD scaled to the trials a
session pools; a lower bound, day-to-day variation not included; <i>within session</i> — otherwise, the
bootstrap standard error of a session's value (stride-to-stride sampling only); the smallest, a lower bound
that understates day-to-day variation. A repeated-measurement SEM is never taken below the within-session
one.</p>
<p><b>Trend.</b> Theil–Sen slope of the asymmetry magnitude over the session numbers; its confidence interval
(Sen's interval) only from {MIN_SESSIONS_TREND_CI} sessions on — with fewer sessions it rests on so few pairwise
slopes that it does not keep its coverage, and the slope is shown without a CI.</p>
<p><b>Plantar pressure.</b> Per sensor, its unloaded level (1st percentile of the record) is subtracted;
peak pressure is the maximum during each stance and the pressure–time integral (PTI) the sum of pressure × sample
interval over the stance; both are averaged over steady strides. Force readings become pressure with the sensor
area (kPa = 1000·N/mm²); without a known area the maps are <i>relative</i> (reading units per sensor). Regional
load share is each region's share of the stance load (heel &lt; 30 %, midfoot &lt; 55 %, forefoot &lt; 80 % of
insole length; Cavanagh &amp; Ulbrecht 1994). The gait line (centre of pressure) is drawn only while the foot
carries ≥ 10 % of its stance peak load.</p>
<p><b>Confounders</b>: walking speed and cadence change symmetry, shoes and walking conditions change plantar
load; a cadence change of more than {CADENCE_CHANGE_PCT:g} % and a change of the shoe/walking condition versus
the baseline are flagged. Fewer than {MIN_STEADY_STRIDES} steady strides per side makes an estimate unstable and
is flagged.</p>
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _img(fig: Any, alt: str) -> str:
    data, w = plots.png_base64_and_width(fig)
    return f'<img alt="{_e(alt)}" style="width:{min(w, 7.3):.2f}in" src="data:image/png;base64,{data}">'


def _figure(title: str, fig: Any, missing: str, caption: str = "") -> str:
    if fig is None:
        return f'<div class="keep"><h3>{_e(title)}</h3><p class="leftout">Not shown: {_e(missing)}.</p></div>'
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f"<figure><h3>{_e(title)}</h3>{_img(fig, title)}{cap}</figure>"


def _table(header: list[str], rows: list[list[str]], left_cols: int = 1, base_first: bool = False) -> str:
    th = "".join(f'<th class="{"l" if i < left_cols else ""}">{_e(h)}</th>' for i, h in enumerate(header))
    body = []
    for k, r in enumerate(rows):
        cls = ' class="base"' if (base_first and k == 0) else ""
        tds = "".join(f'<td class="{"l" if i < left_cols else ""}{" nw" if len(str(c)) <= 12 or " " not in str(c) else ""}">{_e(c)}</td>'
                      for i, c in enumerate(r))
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _list(cls: str, title: str, items: list[str]) -> str:
    if not items:
        return ""
    return f'<div class="{cls}"><b>{_e(title)}</b><ul>' + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul></div>"


def report_context(progress: Progress) -> ReportContext:
    """The report context including the pressure maps (reads the trial files again)."""
    from .pressure import collect_maps

    maps = collect_maps(progress)
    ctx = build_context(progress, maps=maps)
    for sm in maps.values():
        ctx.left_out.extend(w for w in sm.left_out if w not in ctx.left_out)
    return ctx


def _summary(ctx: ReportContext, title: str | None) -> list[str]:
    p = ctx.progress
    name = stats.INDEX_NAMES[p.index][0]
    used = ctx.used_labels
    dates = [s["date"] for s in ctx.sessions if s["included"] and s["date"]]
    span = f"{dates[0]} to {dates[-1]}" if len(dates) > 1 else (dates[0] if dates else "dates not entered")
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    d = ctx.decision
    parts = ['<section class="summary">',
             f"<h1>{_e(title or 'Gait report: symmetry and plantar pressure across sessions')}</h1>",
             f'<div class="meta">Subject <b>{_e(p.subject_id)}</b> · {len(used)} of {len(p.sessions)} session(s) '
             f"usable ({_e(span)}) · baseline {_e(p.baseline or '–')} · <b>{_e(ctx.side_text)}</b> · generated "
             f"{now} by gaitpf {_e(__version__)}</div>",
             f'<div class="headline"><b>Headline ({_e(name)}, asymmetry magnitude, '
             f'{"1" if p.index == "sr" else "0"} = symmetric):</b> {_e(p.headline)}']
    if d["available"]:
        cls = "real" if d["real"] else "notreal"
        parts.append(f'<div class="decision {cls}">Decision: {_e(d["text"])}. Change {num(d["change"], "{:+.2f}")} '
                     f'(95% CI {num(d["ci_low"], "{:+.2f}")} to {num(d["ci_high"], "{:+.2f}")}); MDC95 '
                     f'{num(d["mdc95"])} ({_e(d["mdc_kind"])}).</div>')
        tr = p.trend.get(p.metric, {})
        if tr.get("ci_note"):
            parts.append(f'<div class="small">Trend: {_e(tr["ci_note"])}.</div>')
    else:
        parts.append(f'<div class="decision notreal">Decision: {_e(d["text"])}.</div>')
    parts.append("</div>")
    fig = plots.summary_trend_plot(ctx)
    parts.append(_figure("Asymmetry (affected vs unaffected) and pain over the sessions" if ctx.affected_side
                         else "Asymmetry (right vs left) and pain over the sessions", fig,
                         "no usable session", f"Sign convention: {ctx.sign_text}."))
    pm, why = pressure_maps_figure(ctx, "peak", sides=(ctx.ref_side,), width_in=7.2, height_in=3.4)
    parts.append(_figure(f"Plantar pressure, {ctx.ref_side} foot"
                         f"{' (affected)' if ctx.affected_side else ''}: baseline, latest and difference", pm,
                         why, why))
    conf = ctx.confounders or [f"none flagged (cadence within {CADENCE_CHANGE_PCT:g} % of baseline; shoe/walking "
                               "condition unchanged or not entered)"]
    if len(conf) <= SUMMARY_MAX_CONFOUNDERS:
        parts.append(_list("warn", "Confounders", conf))
    else:
        parts.append(f'<div class="warn"><b>Confounders:</b> {len(conf)} flagged (e.g. {_e(conf[0])}); all are '
                     "listed under “Confounders” in the details.</div>")
    if len(ctx.warnings) <= SUMMARY_MAX_CAUTIONS:
        parts.append(_list("warn", "Read with care", ctx.warnings))
    else:
        parts.append(f'<div class="warn"><b>Read with care:</b> {len(ctx.warnings)} cautions (e.g. '
                     f'{_e(ctx.warnings[0])}); all are listed under “Read with care” in the details.</div>')
    if ctx.left_out:
        parts.append(f'<p class="small">{len(ctx.left_out)} item(s) were left out of this report; the details '
                     "pages list each with its reason.</p>")
    parts.append("</section>")
    return parts


def _session_notes(ctx: ReportContext) -> str:
    """Per session: treatment, condition, the clinician's notes, gaitpf's confounders and warnings."""
    items = []
    for s in ctx.sessions:
        bits = [f"treatment: {s['treatment'] or 'not entered'}", f"shoe/condition: {s['condition'] or 'not entered'}",
                f"notes: {s['notes'] or 'none'}"]
        extra = "".join(f"<li class='small'>confounder: {_e(c)}</li>" for c in s["confounders"])
        extra += "".join(f"<li class='small'>gaitpf: {_e(w)}</li>" for w in s["warnings"])
        items.append(f"<li><b>{_e(s['label'])}</b> — {_e('; '.join(bits))}" +
                     (f"<ul class='notes'>{extra}</ul>" if extra else "") + "</li>")
    return '<ul class="notes">' + "".join(items) + "</ul>"


def render_html(progress: Progress, *, title: str | None = None, ctx: ReportContext | None = None) -> str:
    """The complete report as an HTML string (figures inline)."""
    ctx = ctx or report_context(progress)
    p = ctx.progress
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{_e(title or f'Gait report {p.subject_id}')}</title><style>{_CSS}</style></head><body>"]
    parts += _summary(ctx, title)
    if len(ctx.confounders) > SUMMARY_MAX_CONFOUNDERS:
        parts.append("<h2>Confounders</h2>" + _list("warn", "Flagged:", ctx.confounders))
    if len(ctx.warnings) > SUMMARY_MAX_CAUTIONS:
        parts.append("<h2>Read with care</h2>" + _list("warn", "Cautions:", ctx.warnings))
    parts.append("<h2>Sessions</h2>")
    parts.append(_table(session_header(), session_rows(ctx), left_cols=4, base_first=True))
    parts.append(f'<div class="keep"><h3>Results per session ({_e(metric_label(p.metric))})</h3>'
                 f'<p class="sign">Oriented asymmetry: {_e(ctx.sign_short)} ({_e(ctx.sign_text)}). '
                 "Magnitude, change and MDC95 in percentage points for % indices.</p>")
    parts.append(_table(result_header(ctx), result_rows(ctx), left_cols=1, base_first=True) + "</div>")
    parts.append("<h3>Treatment, shoe/condition and notes per session</h3>" + _session_notes(ctx))
    cr = change_rows(ctx)
    if cr:
        parts.append(f'<h2>All metrics: latest session versus baseline</h2><p class="sign">Asymmetry magnitude '
                     f"({_e(stats.INDEX_NAMES[p.index][0])}) of each metric; change in percentage points for % "
                     "indices; “CI excl. 0” and “&gt; MDC95” together make a real change.</p>")
        parts.append(_table(CHANGE_HEADER, cr))
    parts.append("<h2>Figures</h2>")
    for quantity, word in (("peak", "mean peak pressure"), ("pti", "pressure–time integral")):
        fig, why = pressure_maps_figure(ctx, quantity, height_in=2.25)  # two such figures fit one A4 page
        parts.append(_figure(f"Plantar pressure maps: {word}, both feet", fig, why, why))
    fig, why = cop_figure(ctx)
    parts.append(_figure("Centre-of-pressure gait lines on the insole", fig, why))
    parts.append(_figure("Regional load of the affected foot and pain" if ctx.affected_side else
                         "Regional load (right foot) and pain", plots.load_share_pain_plot(ctx),
                         "no regional load (needs a sensor layout with heel, midfoot and forefoot sensors)"))
    parts.append(_figure("Regional load per side", plots.regional_plot(ctx),
                         "no regional load (needs a sensor layout with heel, midfoot and forefoot sensors)"))
    parts.append(_figure("Asymmetry magnitude per session with MDC95 band and trend", plots.symmetry_plot(ctx),
                         "no usable session"))
    parts.append(_figure("Mean per side and session", plots.lr_means_plot(ctx), "no usable session"))
    parts.append(_figure("Stance load curves, mean ± SD", plots.curves_plot(ctx), "no usable session"))
    if ctx.left_out:
        parts.append("<h2>Left out of this report</h2>" + _list("leftout", "What was left out and why:",
                                                                    ctx.left_out))
    mdc = p.mdc.get(p.metric, {})
    parts.append("<h2>Methods</h2>" + METHODS_HTML)
    parts.append(f'<p class="small">This report: bootstrap replicates {p.params.n_boot}, seed {p.params.seed}; '
                 f"MDC for the headline metric: {_e(mdc.get('mdc_label', '–'))} "
                 f"(SEM {num(mdc.get('sem'), '{:.3f}')}, df {_e(mdc.get('df', '–'))}). "
                 f"Sign convention: {_e(ctx.sign_text)}.</p>")
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
