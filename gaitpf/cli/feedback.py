"""Progress feedback for commands that run longer than a second or two.

:func:`working` shows a rich spinner with the current step on stderr while the body runs,
when stderr is a terminal (as ``gaitpf batch``'s progress bar does). The spinner is
transient: once the command ends only its results (stdout) and, on bad input, the one
error line (stderr) remain. Pipes, logs and tests get no feedback lines.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

__all__ = ["working"]


@contextlib.contextmanager
def working(message: str, *, console: Any = None) -> Iterator[Callable[[str], None]]:
    """Context showing ``message`` while the body runs; yields ``update(step)`` for later steps.

    ``console``: a :class:`rich.console.Console` (default: stderr).
    """
    from rich.console import Console

    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield lambda _step: None
        return
    with console.status(message) as status:
        yield lambda step: status.update(f"{message}: {step}")
