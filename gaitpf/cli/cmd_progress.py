"""``gaitpf progress SUBJECT [--root DIR] [--json]``: every session of a subject versus baseline.

SUBJECT is a subject folder (``recordings/PF001``) or a pseudonymous id looked up in the
catalog of ``--root`` (default ``recordings``). Prints the headline change (which index,
absolute points and relative %, each with its 95 % CI, and whether it exceeds the MDC95),
a per-session table, the trend, and what was left out. ``--json`` prints everything as JSON.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import click

__all__ = ["command", "analysis_options", "bootstrap_params", "render_progress", "emit"]


def analysis_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--metric/--index/--n-boot/--seed shared by progress, compare, report, sessions, cohort."""
    func = click.option("--seed", type=int, default=20240611, show_default=True,
                        help="Bootstrap random seed (results are reproducible).")(func)
    func = click.option("--n-boot", type=click.IntRange(200, 100000), default=2000, show_default=True,
                        help="Bootstrap replicates.")(func)
    func = click.option("--index", type=click.Choice(["sa_pct", "si_pct", "ga_pct", "sr"]), default="sa_pct",
                        show_default=True, help="Symmetry index: SA (angle), SI, GA or SR.")(func)
    func = click.option("--metric", default="stance_time_s", show_default=True,
                        help="Headline stride metric (a stride-table column, e.g. swing_time_s).")(func)
    return func


def bootstrap_params(n_boot: int, seed: int) -> Any:
    from ..sessions.stats import BootstrapParams

    return BootstrapParams(n_boot=n_boot, seed=seed)


def _f(x: Any, spec: str) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return format(v, spec).replace("-", "−") if v == v and abs(v) != float("inf") else "–"


def _yn(x: Any) -> str:
    return {True: "yes", False: "no"}.get(x if isinstance(x, bool) else None, "–")


def render_progress(progress: Any) -> str:
    """Plain-text rendering for the terminal."""
    from ..sessions.progress import metric_label
    from ..sessions.stats import INDEX_NAMES

    name, unit = INDEX_NAMES[progress.index]
    lines = [f"subject {progress.subject_id}: {len(progress.sessions)} session(s), baseline "
             f"{progress.baseline or '–'}, affected side {progress.affected_side or 'not recorded'}", "",
             progress.headline, ""]
    head = progress.table[progress.table["metric"] == progress.metric] if len(progress.table) else None
    abbr = name.split("(")[-1].rstrip(")")
    hdr = (f"{'session':<10} {'date':<10} {'pain':>4} {'cad':>5} {'L/R steady':>10}  "
           f"{'|' + abbr + '| (95% CI)':<20} {'aff.':>6} {'change (95% CI)':<24} {'rel':>6} {'CI≠0':>4} "
           f"{'>MDC':>4} {'real':>4}")
    lines.append(f"{metric_label(progress.metric)} asymmetry per session ({name} magnitude, {unit or 'ratio'}; "
                 f"aff. = signed, {progress.sign_convention}):")
    lines.append(hdr)
    for _, s in progress.session_table.iterrows():
        r = head[head["label"] == s["label"]] if head is not None and len(head) else []
        aff = ""
        if len(r):
            r = r.iloc[0]
            val = f"{_f(r['value'], '.2f')} ({_f(r['value_ci_low'], '.2f')}–{_f(r['value_ci_high'], '.2f')})"
            aff = _f(r["asym_affected"], "+.2f")
            if r["is_baseline"]:
                ch, rel, excl, above, real = "baseline", "", "", "", ""
            else:
                ch = f"{_f(r['change_abs'], '+.2f')} ({_f(r['change_abs_ci_low'], '+.2f')} to " \
                     f"{_f(r['change_abs_ci_high'], '+.2f')})"
                rel = _f(r["change_rel_pct"], "+.0f") + "%"
                excl, above, real = _yn(r["ci_excludes_zero"]), _yn(r["above_mdc95"]), _yn(r["exceeds_mdc"])
        else:
            val, ch, rel, excl, above, real = "left out", "", "", "", "", ""
        lines.append(f"{str(s['label']):<10} {str(s['date'] or '–'):<10} {_f(s['pain_vas'], '.1f'):>4} "
                     f"{_f(s['cadence_spm'], '.0f'):>5} {str(s['n_steady_left']) + '/' + str(s['n_steady_right']):>10}"
                     f"  {val:<20} {aff:>6} {ch:<24} {rel:>6} {excl:>4} {above:>4} {real:>4}")
        extra = [f"{k}: {s[k]}" for k in ("treatment", "condition", "notes", "confounders") if s.get(k)]
        if extra:
            lines.append(f"{'':<10} " + " · ".join(extra))
    mdc = progress.mdc.get(progress.metric)
    if mdc:
        lines.append(f"\nMDC95 {_f(mdc['mdc95'], '.2f')}{'' if progress.index == 'sr' else ' points'} "
                     f"(SEM {_f(mdc['sem'], '.3f')}, {mdc['mdc_label']}, df {mdc['df']})")
    lines.append("decision: a change is real only when its 95% CI excludes 0 (CI≠0) and |change| > MDC95 (>MDC)")
    tr = progress.trend.get(progress.metric)
    if tr and tr.get("n", 0) >= 3:
        ci = (f"95% CI {_f(tr['slope_ci_low'], '+.3f')} to {_f(tr['slope_ci_high'], '+.3f')}"
              if tr.get("slope_ci_low") == tr.get("slope_ci_low") and "ci_note" not in tr else tr.get("ci_note", ""))
        lines.append(f"trend (Theil–Sen) {_f(tr['slope'], '+.3f')} per session ({ci})")
    for w in progress.warnings:
        lines.append(f"warning: {w}")
    for w in progress.left_out:
        lines.append(f"left out: {w}")
    return "\n".join(lines)


def emit(progress: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(progress.to_dict(), indent=2, allow_nan=False))
    else:
        click.echo(render_progress(progress))


@click.command("progress")
@click.argument("subject")
@click.option("--root", type=click.Path(file_okay=False), default="recordings", show_default=True,
              help="Recordings root (<root>/<subject>/<session>/<trial>.h5).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes analysing trials in parallel.")
@analysis_options
def command(subject: str, root: str, as_json: bool, workers: int, metric: str, index: str, n_boot: int,
            seed: int) -> None:
    """All of SUBJECT's sessions versus baseline: change with CIs, MDC and trend."""
    from ..sessions.compare import subject_progress

    from .feedback import working

    with working(f"progress of {subject}: analyzing every trial and bootstrapping the sessions"):
        progress = subject_progress(subject, root=root, metric=metric, index=index,
                                    params=bootstrap_params(n_boot, seed), workers=workers)
    emit(progress, as_json)
