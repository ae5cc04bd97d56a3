"""``gaitpf repair FILE``: make a recording left open by a killed recorder a normal file.

Everything the recorder had flushed before it died is copied (through the SWMR read
path) into a fresh file with the same schema, which atomically replaces FILE. The file
then says ``closed_cleanly: NO`` (the recording did not end normally) and carries
``repaired = 1``; its time base gets the offline clock refit of a clean stop. A cleanly closed file is left alone (``--force`` rewrites it anyway).

A file that a recorder (or another repair) is using is refused with one line, exit 2,
and not touched. The repaired copy is written next to FILE and swapped in atomically, so
a repair killed at any moment leaves FILE intact (see :mod:`gaitpf.recording.repair`);
what it leaves behind is removed by the next run. Which rows are frames is decided by the
device counters, never by host time. A truncated FILE is only read, never extended.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click


@click.command("repair")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Rewrite the file even if it was closed cleanly.")
@click.option("--json", "as_json", is_flag=True, help="Print what was recovered as JSON.")
def command(file: Path, force: bool, as_json: bool) -> None:
    """Repair FILE (a recording whose recorder was killed) in place."""
    from ..io.guard import deadline_s, reading, run_isolated
    from ..recording.repair import repair

    # in a child process under a deadline: HDF5 can stall or crash on a damaged file
    with reading(file):
        report = run_isolated(repair, file, force=force, timeout_s=deadline_s(file), path=file, what="repairing",
                              quiet=False)
    click.echo(json.dumps(asdict(report), indent=2, sort_keys=True) if as_json else report.summary())
