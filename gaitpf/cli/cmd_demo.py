"""``gaitpf demo [--out DIR]``: the embedded demo (no hardware needed).

Simulates a plantar-fasciitis patient over treatment sessions, records every trial from
the virtual insoles (``--ble``: through the BLE path), analyzes the sessions and writes the clinician's report; prints
the headline change with its 95 % CI, whether it exceeds the MDC, and the simulated truth.
See :mod:`gaitpf.demo`.
"""
from __future__ import annotations

from pathlib import Path

import click

__all__ = ["command"]


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("recordings/demo"),
              show_default=True, help="Output folder (recordings, report, demo_summary.json).")
@click.option("--sessions", "n_sessions", type=click.IntRange(2, 12), default=8, show_default=True,
              help="Treatment sessions.")
@click.option("--trials", "n_trials", type=click.IntRange(1, 4), default=2, show_default=True,
              help="Walking trials per session.")
@click.option("--duration-s", type=click.FloatRange(30, 600), default=75.0, show_default=True,
              help="Length of each trial, s.")
@click.option("--speed", type=click.FloatRange(1, 50), default=50.0, show_default=True,
              help="Virtual-time speed-up of the BLE recording.")
@click.option("--ble", is_flag=True,
              help="Record every trial through the BLE virtual-insole path (`gaitpf record --simulate`; slower) "
                   "instead of writing the simulator's output directly.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed of the simulated patient.")
@click.option("--n-boot", type=click.IntRange(200, 100000), default=2000, show_default=True,
              help="Bootstrap replicates.")
@click.option("--no-pdf", is_flag=True, help="Write only the HTML report.")
def command(out: Path, n_sessions: int, n_trials: int, duration_s: float, speed: float, ble: bool, seed: int,
            n_boot: int, no_pdf: bool) -> None:
    """Simulate, record, analyze and report a plantar-fasciitis patient's treatment sessions."""
    from ..demo import DemoConfig, run_demo

    run_demo(DemoConfig(out=out, n_sessions=n_sessions, n_trials=n_trials, duration_s=duration_s, speed=speed,
                        ble=ble, seed=seed, n_boot=n_boot, pdf=not no_pdf), echo=click.echo)
