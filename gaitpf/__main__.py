"""``python -m gaitpf``: the same command line as the ``gaitpf`` console script."""
from __future__ import annotations

from .cli.main import main

if __name__ == "__main__":
    main()
