"""``gaitpf`` entry point: a lazy click group and the one-line error contract.

Every command lives in its own module ``gaitpf.cli.cmd_<name>`` exposing a click
command named ``command``; it is imported only when invoked, so ``gaitpf analyze``
never imports Qt or bleak. Errors derived from :class:`gaitpf.errors.GaitpfError`
print one line ``gaitpf: error: ...`` on stderr and exit with code 2; ``--debug``
shows the traceback.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from .. import __version__
from ..errors import GaitpfError

#: command name -> (module, one-line help). Modules expose ``command``.
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("gaitpf.cli.cmd_analyze", "Segment steps and compute stride metrics and symmetry."),
    "import": ("gaitpf.cli.cmd_import", "Convert a gaitndd/gaitpdb/CSV file to a gaitpf HDF5 recording."),
    "info": ("gaitpf.cli.cmd_info", "Describe a recording (frames, duration, gaps, clean close)."),
    "demo": ("gaitpf.cli.cmd_demo", "Run the embedded demo (no hardware needed)."),
    "simulate": ("gaitpf.cli.cmd_simulate", "Write a virtual-insole recording with ground truth."),
    "scan": ("gaitpf.cli.cmd_scan", "List insoles advertising the gaitpf service."),
    "record": ("gaitpf.cli.cmd_record", "Record both insoles into a crash-safe HDF5 file."),
    "repair": ("gaitpf.cli.cmd_repair", "Make a file left open by a killed recorder a normal file again."),
    "live": ("gaitpf.cli.cmd_live", "Live gait view (record, attach to a recording, or replay)."),
    "studio": ("gaitpf.cli.cmd_studio", "The clinician's workstation: one window for a whole visit."),
    "session": ("gaitpf.cli.cmd_session", "Set session metadata (date, treatment, pain score...)."),
    "sessions": ("gaitpf.cli.cmd_sessions", "List a subject's sessions with headline metrics."),
    "subjects": ("gaitpf.cli.cmd_subjects", "List the subjects of a recordings root with their sessions."),
    "compare": ("gaitpf.cli.cmd_compare", "Compare trials: symmetry change with CIs and MDC."),
    "progress": ("gaitpf.cli.cmd_progress", "All of a subject's sessions versus baseline."),
    "report": ("gaitpf.cli.cmd_report", "Write the clinician's HTML/PDF report for a subject."),
    "cohort": ("gaitpf.cli.cmd_cohort", "Tidy subjects x sessions x metrics table for a study."),
    "batch": ("gaitpf.cli.cmd_batch", "Re-analyze a whole archive in parallel, resumably."),
    "export": ("gaitpf.cli.cmd_export", "Export a recording as tidy CSV/Parquet or C3D with gait events."),
}


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if _available(n))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaitpf")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """gaitpf: gait analysis for pressure-sensing shoe insoles."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _pass_file_name_bytes() -> None:
    """Let stdout/stderr write file names that are not UTF-8 (their original bytes, as ``ls`` does)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and str(getattr(stream, "encoding", "")).lower().replace("-", "") == "utf8":
                stream.reconfigure(errors="surrogateescape")
        except (AttributeError, ValueError, OSError):  # not a reconfigurable text stream (captured, closed)
            pass


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; map gaitpf errors to one line on stderr and exit code 2."""
    _pass_file_name_bytes()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        return cli.main(args=args, prog_name="gaitpf", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("gaitpf: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except GaitpfError as exc:
        if debug:
            raise
        click.echo(f"gaitpf: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("gaitpf: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # an internal bug: still one line unless --debug
        if debug:
            raise
        click.echo(
            f"gaitpf: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback "
            "and report it)",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
