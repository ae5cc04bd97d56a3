"""``gaitpf session set|show TARGET``: session metadata, recorded with the trial or added later.

TARGET is one trial file or a session folder (every ``*.h5`` in it). ``set`` validates the
values (date YYYY-MM-DD, pain 0–10, side left/right/none) and rewrites each file's
``metadata`` attribute atomically (the samples are untouched)::

    gaitpf session set recordings/PF001/S03 --date 2024-03-07 --session-no 3 \\
        --treatment "insoles+stretching" --affected-side left --pain 4.5 --condition "own shoes"
"""
from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["command"]


def _targets(target: Path) -> list[Path]:
    from ..errors import InputError
    from ..sessions.catalog import scan_files

    if target.is_dir():
        files = scan_files(target)
        if not files:
            raise InputError(f"{target}: no .h5 recordings in this folder")
        return files
    if not target.exists():
        raise InputError(f"{target}: no such file or folder")
    return [target]


@click.group("session")
def command() -> None:
    """Set or show session metadata (date, treatment, pain score...)."""


@command.command("set")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--date", help="Session date, YYYY-MM-DD.")
@click.option("--session-no", "session_no", help="Session number (1 = baseline).")
@click.option("--treatment", help="Treatment / study arm.")
@click.option("--affected-side", type=click.Choice(["left", "right", "none"]), help="Painful/affected side.")
@click.option("--pain", "pain_vas", help="Pain score, VAS 0–10.")
@click.option("--condition", help="Shoe / walking condition.")
@click.option("--speed", "walking_speed_m_s", help="Walking speed, m/s (if measured).")
@click.option("--notes", help="Free notes (no names).")
@click.option("--phase", type=click.Choice(["baseline", "treatment", "follow-up"]),
              help="Study phase; two or more baseline sessions give the between-session MDC.")
@click.option("--clear", multiple=True, metavar="FIELD", help="Remove a field (repeatable).")
def set_(target: Path, clear: tuple[str, ...], **values: str | None) -> None:
    """Set session metadata of TARGET (a trial file or a session folder)."""
    from ..errors import InputError
    from ..sessions.metadata import SESSION_FIELDS, update_file_metadata

    bad = [c for c in clear if c not in SESSION_FIELDS]
    if bad:
        raise InputError(f"--clear {bad[0]!r}: unknown field; fields are {', '.join(SESSION_FIELDS)}")
    changes = {k: v for k, v in values.items() if v is not None}
    if not changes and not clear:
        raise InputError("nothing to set; give at least one of --date, --session-no, --treatment, --affected-side, "
                         "--pain, --condition, --speed, --notes, --phase or --clear")
    for f in _targets(target):
        meta = update_file_metadata(f, changes, remove=clear)
        click.echo(f"{f}: {json.dumps(meta, sort_keys=True, ensure_ascii=False)}")


@command.command("show")
@click.argument("target", type=click.Path(path_type=Path))
def show(target: Path) -> None:
    """Show the session metadata of TARGET (a trial file or a session folder)."""
    from ..sessions.metadata import missing_fields, read_file_metadata

    for f in _targets(target):
        meta = read_file_metadata(f)
        miss = missing_fields(meta)
        click.echo(f"{f}: {json.dumps(meta, sort_keys=True, ensure_ascii=False)}"
                   + (f"  (missing: {', '.join(miss)})" if miss else ""))
