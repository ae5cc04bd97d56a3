"""Progress feedback for commands that run longer than a second or two.

:func:`working` shows a rich spinner with the current step on stderr when stderr is a
terminal, and prints each step as one plain line otherwise (logs, pipes, tests), so a
long command is never silent. Results go to stdout, feedback to stderr.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

__all__ = ["working"]


@contextlib.contextmanager
def working(message: str, *, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """Context showing ``message`` while the body runs; yields ``update(step)`` for later steps."""
    if quiet:
        yield lambda _step: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        print(f"{message}...", file=sys.stderr, flush=True)
        yield lambda step: print(f"  {step}", file=sys.stderr, flush=True)
        return
    with console.status(message) as status:
        yield lambda step: status.update(f"{message}: {step}")
