"""``gaitpf subjects [ROOT] [--json]``: the subjects of a recordings root with their sessions.

Reads the catalog of ROOT (default ``recordings``; rebuilt automatically). Lists what
cannot be read, and warns where a file's stored subject/session disagrees with the folder
it sits in (the stored ids are what every analysis uses). See
:func:`gaitpf.sessions.api.subjects`.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["command"]


@click.command("subjects")
@click.argument("root", required=False, default="recordings", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per subject).")
def command(root: Path, as_json: bool) -> None:
    """List the subjects under ROOT with their sessions and recordings."""
    from ..sessions.api import subjects

    table = subjects(root)
    if as_json:
        rows = [{"subject_id": s, **{k: (None if v != v else v) for k, v in r.items()}}
                for s, r in table.to_dict(orient="index").items()]
        click.echo(json.dumps({"root": str(root), "subjects": rows, "left_out": table.attrs["left_out"],
                               "warnings": table.attrs["warnings"]}, indent=2, default=str))
        return
    click.echo(f"{root}: {len(table)} subject(s), {table.attrs['n_files']} recording file(s), "
               f"{len(table.attrs['left_out'])} unreadable")
    click.echo(f"{'subject':<12} {'sessions':>8} {'files':>5} {'first':<10} {'last':<10}  session labels")
    for subject, r in table.iterrows():
        click.echo(f"{str(subject):<12} {r['n_sessions']:>8} {r['n_recordings']:>5} {r['first_recorded'] or '–':<10} "
                   f"{r['last_recorded'] or '–':<10}  {r['sessions']}")
    for w in table.attrs["warnings"]:
        click.echo(f"warning: {w}", err=True)
    for n in table.attrs["left_out"]:
        click.echo(f"left out: {n}", err=True)
