"""Optional dependencies: import them at command time, or say which extra installs them.

The core install (``pip install gaitpf``) runs every command except those that need an
extra (see ``[project.optional-dependencies]`` in ``pyproject.toml``):

* ``live`` — PySide6 and pyqtgraph for ``gaitpf live``;
* ``cluster`` — dask.distributed for ``gaitpf batch --scheduler``;
* ``lsl`` — pylsl (bundles liblsl) for ``--lsl-in`` / ``--lsl-out`` of ``record`` and ``live``.

Every command-time import of such a module goes through :func:`require`, so a missing one
is one line naming the extra (``pip install 'gaitpf[live]'``) and exit code 2, never an
"internal error".
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtraError

__all__ = ["require", "EXTRAS"]

#: extra -> the modules a command imports from it (what :func:`require` is called with).
EXTRAS: dict[str, tuple[str, ...]] = {
    "live": ("PySide6.QtWidgets", "pyqtgraph"),
    "cluster": ("dask.distributed",),
    "lsl": ("pylsl",),
}


def require(module: str, extra: str, *, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise :class:`MissingExtraError` naming ``extra``.

    Parameters
    ----------
    module : str
        Dotted module name (e.g. ``"dask.distributed"``).
    extra : str
        The gaitpf extra that installs it (``"live"``, ``"cluster"``).
    feature : str
        What needs it, as the user typed it (``"gaitpf live"``, ``"batch --scheduler"``).

    Raises
    ------
    MissingExtraError
        The module (or a module it needs) cannot be imported; one line with the reason and
        the ``pip install 'gaitpf[EXTRA]'`` command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # ModuleNotFoundError, or a broken install (missing shared library)
        missing = getattr(exc, "name", None)
        if isinstance(exc, ModuleNotFoundError) and missing:
            why = f"the optional dependency {missing.split('.')[0]} is not installed"
        else:
            why = f"the optional dependency {module} cannot be imported ({' '.join(str(exc).split())})"
        raise MissingExtraError(f"{feature} needs the '{extra}' extra: {why}; "
                                f"install it with `pip install 'gaitpf[{extra}]'`") from exc
