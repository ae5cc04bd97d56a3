"""``gaitpf sessions SUBJECT [--root DIR] [--json]``: list a subject's sessions with headline metrics.

Uses the catalog of ``--root`` (``<root>/.gaitpf-catalog.sqlite``, rebuilt automatically;
``--rebuild`` forces a full rescan). Per session: date, number, treatment, affected side,
pain, trials, steady strides, cadence and the headline asymmetry with its 95 % CI.
"""
from __future__ import annotations

import json

import click

from .cmd_progress import _f, analysis_options, bootstrap_params

__all__ = ["command"]


@click.command("sessions")
@click.argument("subject")
@click.option("--root", type=click.Path(file_okay=False), default="recordings", show_default=True,
              help="Recordings root (<root>/<subject>/<session>/<trial>.h5).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per session).")
@click.option("--rebuild", is_flag=True, help="Rebuild the catalog from the files first.")
@analysis_options
def command(subject: str, root: str, as_json: bool, rebuild: bool, metric: str, index: str, n_boot: int,
            seed: int) -> None:
    """List SUBJECT's sessions (metadata and headline metrics)."""
    from pathlib import Path

    from ..sessions.catalog import Catalog
    from ..sessions.compare import subject_progress

    if rebuild and Path(root).is_dir():
        with Catalog(Path(root)) as cat:
            cat.rebuild()
    from .feedback import working

    with working(f"sessions of {subject}: analyzing every trial"):
        progress = subject_progress(subject, root=root, metric=metric, index=index,
                                    params=bootstrap_params(n_boot, seed))
    st = progress.session_table
    head = progress.table[progress.table["metric"] == progress.metric].set_index("label") \
        if len(progress.table) else None
    records = []
    for _, s in st.iterrows():
        rec = {k: (None if (isinstance(v, float) and v != v) else v) for k, v in s.items()}
        if head is not None and s["label"] in head.index:
            h = head.loc[s["label"]]
            rec.update({"asymmetry": float(h["value"]), "asymmetry_ci": [float(h["value_ci_low"]),
                                                                          float(h["value_ci_high"])],
                        "asym_affected": None if h["asym_affected"] != h["asym_affected"] else
                        float(h["asym_affected"])})
        records.append(rec)
    if as_json:
        click.echo(json.dumps({"subject_id": progress.subject_id, "metric": progress.metric,
                               "index": progress.index, "affected_side": progress.affected_side,
                               "sign_convention": progress.sign_convention, "sessions": records,
                               "left_out": progress.left_out},
                              indent=2, default=str))
        return
    click.echo(f"subject {progress.subject_id}: {len(st)} session(s), affected side "
               f"{progress.affected_side or 'not recorded'}")
    click.echo(f"{'session':<10} {'no':>3} {'date':<10} {'treatment':<16} {'side':<6} {'pain':>4} {'trials':>6} "
               f"{'L/R steady':>10} {'cad':>5}  asymmetry {progress.index} (95% CI)")
    for r in records:
        asym = (f"{_f(r['asymmetry'], '.2f')} ({_f(r['asymmetry_ci'][0], '.2f')}–{_f(r['asymmetry_ci'][1], '.2f')})"
                if "asymmetry" in r else "left out")
        click.echo(f"{str(r['session']):<10} {str(r['session_no'] if r['session_no'] is not None else '–'):>3} "
                   f"{str(r['date'] or '–'):<10} {str(r['treatment'] or '–')[:16]:<16} "
                   f"{str(r['affected_side'] or '–'):<6} {_f(r['pain_vas'], '.1f'):>4} "
                   f"{str(r['n_trials_used']) + '/' + str(r['n_trials']):>6} "
                   f"{str(r['n_steady_left']) + '/' + str(r['n_steady_right']):>10} {_f(r['cadence_spm'], '.0f'):>5}"
                   f"  {asym}")
        for key in ("condition", "notes", "confounders", "warnings"):
            if r.get(key):
                click.echo(f"{'':<10} {key}: {r[key]}")
    for w in progress.warnings:
        click.echo(f"warning: {w}", err=True)
    for w in progress.left_out:
        click.echo(f"left out: {w}", err=True)
