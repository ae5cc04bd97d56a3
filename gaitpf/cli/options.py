"""Options shared by the commands that read a recording file or run the analysis.

* ``--rate-hz``: the sampling rate of a CSV file without a ``# sampling_rate_hz`` header
  line (the one CSV rule, ``docs/csv_format.md``: the rate comes from the header or from
  this option, never guessed; a header that says otherwise is an error).
* ``--params FILE``: analysis parameters as JSON (the format ``gaitpf batch --params``
  reads: ``{"events": {"high_fraction": 0.35}, "strides": {...}}``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import click

__all__ = ["rate_option", "params_option", "load_params"]


def rate_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--rate-hz", "rate_hz", type=click.FloatRange(min=0.0, min_open=True), default=None,
        help="Sampling rate (Hz) of a CSV file whose header has no '# sampling_rate_hz' line.")(func)


def params_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--params", "params_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
        help='Analysis parameters as JSON, as for `gaitpf batch --params`: {"events": {"high_fraction": 0.35}}.'
    )(func)


def load_params(path: Path | None) -> Any:
    """``AnalysisParams`` from a JSON file (None → the defaults); InputError naming the file otherwise."""
    from ..batch.runner import params_from_dict
    from ..errors import InputError

    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the parameters file ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: the parameters must be a JSON object of groups (preprocess, events, strides)")
    try:
        return params_from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
