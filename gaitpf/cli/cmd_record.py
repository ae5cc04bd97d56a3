"""``gaitpf record``: record both insoles over BLE into a crash-safe HDF5 file.

::

    gaitpf record --left ADDR --right ADDR -o trial.h5 --subject S01 --session 1 [--duration 60]
    gaitpf record --simulate -o trial.h5 --subject S01 --session 1 --duration 30 [--speed 2 ...]

``--simulate`` starts the virtual insole harness (a private D-Bus, a fake BlueZ and two
virtual insoles walking with :mod:`gaitpf.sim.gait_model`) in this process and records it
through *the same* BLE client, decoder, sequencer, clock alignment and recorder as real
insoles. Only allow-listed insoles are accepted; by default the allow-list is exactly
``--left`` and ``--right``.

The file grows while recording (SWMR: ``gaitpf live --attach`` or any ``h5py`` reader with
``swmr=True`` can follow it) and is flushed at least every ``--flush-interval`` seconds;
after a crash ``gaitpf repair`` makes it a normal file. Ctrl-C or SIGTERM stop recording
and close the file cleanly.

One writer per file: the recorder holds an exclusive lock on ``OUTPUT.lock`` (see
:mod:`gaitpf.io.filelock`) for the whole recording, so a second ``gaitpf record`` (or
``gaitpf live`` recording, or ``gaitpf repair``) on the same file is refused with one line
and never touches it. An existing OUTPUT is never replaced unless ``--overwrite``.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..recording.session_run import run_record
from .sources_opts import choice_from, source_options

__all__ = ["command"]


class _StatusPrinter:
    """Status on stderr: a rich live line on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, quiet: bool, *, plain_every_s: float = 5.0) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.plain_every_s = plain_every_s
        self._last_plain = 0.0
        self._live: Any = None

    def __enter__(self) -> "_StatusPrinter":
        if not self.quiet and self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live("connecting…", console=Console(stderr=True), refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def __call__(self, status: Any) -> None:
        if self.quiet:
            return
        line = "recording " + status.line()
        if self._live is not None:
            self._live.update(line)
        elif time.monotonic() - self._last_plain >= self.plain_every_s:
            self._last_plain = time.monotonic()
            click.echo(line, err=True)


def _lsl_out(source: Any, body_mass_kg: float | None) -> tuple[Any, dict[str, Any]]:
    """``--lsl-out``: publish frames and online events to LSL while recording."""
    from ..live.lsl_out import LslPublisher

    pub = LslPublisher(source, body_mass_kg=body_mass_kg)
    return pub, {"frames": pub.frames_name, "markers": pub.markers_name}


def _quiet_unraisable(unraisable: Any) -> None:
    """h5py objects that cannot be freed after a failed write (disk full) complain while being
    garbage-collected; the recorder already reported the error in one line, so log them only."""
    logging.getLogger(__name__).debug("ignored in %r: %s", unraisable.object, unraisable.exc_value)


def _parse_drop(value: str) -> tuple[str, float, float]:
    try:
        side, after, length = value.split(":")
        if side not in ("left", "right"):
            raise ValueError
        return side, float(after), float(length)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected SIDE:AFTER_S:FOR_S, e.g. left:1.0:0.5") from None


@click.command("record")
@click.option("--left", help="BLE address of the left insole (see `gaitpf scan`).")
@click.option("--right", help="BLE address of the right insole.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="HDF5 file to record to (it grows while recording). An existing file is left alone "
                   "(see --overwrite); one that another recorder or `gaitpf repair` is using is refused.")
@click.option("--overwrite", is_flag=True,
              help="Replace OUTPUT if it already exists (never while another process is using it).")
@click.option("--subject", "subject_id", required=True, help="Pseudonymous subject id (never a name).")
@click.option("--session", required=True, help="Session label (e.g. 1, baseline).")
@click.option("--trial", default="1", show_default=True, help="Trial label.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0.1), default=None,
              help="Stop after S seconds of recording (virtual seconds with --simulate; default: until Ctrl-C).")
@click.option("--allow", multiple=True, metavar="ADDR",
              help="Allow-listed insole address or serial (repeatable; default: exactly --left and --right).")
@click.option("--rate", "rate_hz", type=click.IntRange(10, 2000), default=None,
              help="Ask the insoles for this sampling rate, Hz (default: the device's own).")
@click.option("--body-mass-kg", type=click.FloatRange(20, 250), default=None, help="Body mass, kg.")
@click.option("--flush-interval", "flush_interval_s", type=click.FloatRange(0.05, 10), default=0.5,
              show_default=True, help="Longest time between two flushes to disk, s (what a crash can lose).")
@click.option("--scan-timeout", "scan_timeout_s", type=click.FloatRange(0.5, 120), default=10.0, show_default=True,
              help="How long to look for the insoles, s.")
@click.option("--quiet", is_flag=True, help="No status line.")
@click.option("--simulate", is_flag=True, help="Record two virtual insoles (no hardware) through the BLE path.")
@click.option("--speed", type=click.FloatRange(0.1, 50), default=1.0, show_default=True,
              help="--simulate: virtual time runs this many times faster than real time.")
@click.option("--cadence-spm", type=click.FloatRange(40, 200), default=108.0, show_default=True,
              help="--simulate: cadence, steps per minute.")
@click.option("--asymmetry", "asymmetry_pct", type=click.FloatRange(0, 40), default=0.0, show_default=True,
              help="--simulate: stance-time symmetry index, % (needs --affected-side).")
@click.option("--affected-side", type=click.Choice(["left", "right"]), default=None,
              help="--simulate: painful side.")
@click.option("--sensors", "n_sensors", type=click.IntRange(1, 64), default=16, show_default=True,
              help="--simulate: sensors per insole.")
@click.option("--seed", type=int, default=0, show_default=True, help="--simulate: random seed.")
@click.option("--min-free-mb", type=click.FloatRange(min=0), default=None, hidden=True,
              help="Stop cleanly when less than this much disk space is left, MiB (default 16; 0 = off).")
@click.option("--sim-drop", "sim_drops", multiple=True, hidden=True,
              help="--simulate test hook: SIDE:AFTER_S:FOR_S drops that link after AFTER_S s of streaming.")
@source_options
def command(left: str | None, right: str | None, output: Path, overwrite: bool, subject_id: str, session: str,
            trial: str,
            duration_s: float | None, allow: tuple[str, ...], rate_hz: int | None, body_mass_kg: float | None,
            flush_interval_s: float, scan_timeout_s: float, quiet: bool, simulate: bool, speed: float,
            cadence_spm: float, asymmetry_pct: float, affected_side: str | None, n_sensors: int, seed: int,
            sim_drops: tuple[str, ...], min_free_mb: float | None, **source_opts: Any) -> None:
    """Record both insoles into OUTPUT (crash-safe HDF5), until --duration or Ctrl-C."""
    from ..errors import InputError, OutputError

    choice = choice_from(source_opts)
    choice.check(simulate=simulate, left=left, right=right)
    if not simulate and choice.needs_addresses and (not left or not right):
        raise InputError("give both --left and --right insole addresses (see `gaitpf scan`), or --simulate")
    if not simulate and (speed != 1.0 or sim_drops):
        raise InputError("--speed and --sim-drop only apply with --simulate")
    gait = None
    if simulate:
        from ..sim.gait_model import GaitParams

        gait = GaitParams(cadence_spm=cadence_spm, step_time_asymmetry_pct=asymmetry_pct,
                          affected_side=affected_side, n_sensors=n_sensors, seed=seed,
                          sampling_rate_hz=float(rate_hz or 100.0),
                          body_mass_kg=body_mass_kg if body_mass_kg is not None else 70.0)
    drops = [_parse_drop(d) for d in sim_drops]
    if not output.parent.exists():   # recordings/<subject>/<session>/<trial>.h5: make the folders
        from ..errors import OutputError

        try:
            output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{output}: cannot create the folder {output.parent} ({exc.strerror or exc})") from exc
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable
    try:
        with _StatusPrinter(quiet) as printer:
            result = asyncio.run(run_record(
                left=left, right=right, output=output, subject_id=subject_id, session=session, trial=trial,
                duration_s=duration_s, allow=allow, rate_hz=rate_hz, body_mass_kg=body_mass_kg,
                flush_interval_s=flush_interval_s, simulate=simulate, speed=speed, gait=gait, seed=seed,
                sim_drops=drops, status=printer, scan_timeout_s=scan_timeout_s,
                min_free_bytes=None if min_free_mb is None else int(min_free_mb * 2**20), overwrite=overwrite,
                source_choice=choice, wrap_source=_lsl_out if source_opts.get("lsl_out") else None))
    except OutputError as exc:
        if getattr(exc, "file_unclosable", False):
            # HDF5 could not close the file after a failed write (disk full) and would crash
            # at interpreter exit: report the one-line error and leave at once.
            click.echo(f"gaitpf: error: {exc}", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)
        raise
    finally:
        sys.unraisablehook = previous_hook
    feet = ", ".join(f"{s} {result.frames[s]} frames (lost {result.lost_frames[s]}, gaps {result.gaps[s]})"
                     for s in result.frames)
    click.echo(f"recorded {result.elapsed_s * speed:.1f} s ({result.stop_reason}): {feet} -> {output}")
