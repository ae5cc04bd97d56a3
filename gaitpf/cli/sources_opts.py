"""Source options shared by ``gaitpf record`` and ``gaitpf live`` (device families, streams, LSL).

``--device-type``, ``--moticon-udp``, ``--lsl-in``/``--lsl-channels`` choose the source
(:class:`gaitpf.recording.source_factory.SourceChoice`); ``--lsl-out`` publishes what is recorded
to Lab Streaming Layer (:mod:`gaitpf.live.lsl_out`). A command decorated with
:func:`source_options` receives them as keyword arguments; :func:`choice_from` builds the
choice.
"""
from __future__ import annotations

from typing import Any, Callable

import click

__all__ = ["source_options", "choice_from", "OPTION_NAMES"]

OPTION_NAMES = ("device_type", "moticon_udp", "lsl_in", "lsl_channels", "lsl_out")


def source_options(f: Callable) -> Callable:
    """Add the source options to a click command."""
    opts = [
        click.option("--device-type", "device_type", default="gaitpf", show_default=True, metavar="TYPE",
                     help="BLE insole family: gaitpf or orphe (ORPHE INSOLE; sides from the devices' mount "
                          "position; --rate 100 or 200)."),
        click.option("--moticon-udp", "moticon_udp", default=None, metavar="HOST:PORT",
                     help="Record the Moticon OpenGo UDP live stream received on HOST:PORT (listen on "
                          "127.0.0.1 unless another address is given)."),
        click.option("--lsl-in", "lsl_in", default=None, metavar="STREAM_NAME",
                     help="Record a Lab Streaming Layer insole stream (channel labels left_*/right_*, "
                          "or --lsl-channels)."),
        click.option("--lsl-channels", "lsl_channels", default=None, metavar="left=A-B,right=C-D",
                     help="--lsl-in: 0-based channel ranges of each foot (default: from the labels)."),
        click.option("--lsl-out", "lsl_out", is_flag=True,
                     help="Publish the frames (LSL type Pressure) and online gait events (type Markers) "
                          "to Lab Streaming Layer."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def choice_from(opts: dict[str, Any]) -> Any:
    """The :class:`~gaitpf.recording.source_factory.SourceChoice` of the parsed options.

    Raises :class:`~gaitpf.errors.MissingExtraError` (one line naming the ``lsl`` extra) when an
    LSL option is given without pylsl installed.
    """
    from .._optional import require
    from ..recording.source_factory import SourceChoice

    for flag in ("lsl_in", "lsl_out"):          # before any insole or file is touched
        if opts.get(flag):
            require("pylsl", "lsl", feature=f"--{flag.replace('_', '-')}")
    return SourceChoice(device_type=str(opts.get("device_type") or "gaitpf").lower(),
                        moticon_udp=opts.get("moticon_udp"), lsl_in=opts.get("lsl_in"),
                        lsl_channels=opts.get("lsl_channels"))
