"""The clinician's report: self-contained HTML (inline figures) and PDF.

::

    from gaitpf.sessions.compare import subject_progress
    from gaitpf.report import write_report
    write_report(subject_progress("PF001", root="recordings"), "report.html")   # or .pdf
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError

__all__ = ["write_report"]


def write_report(progress, path: str | os.PathLike[str]) -> Path:
    """Write the report; the format follows the extension (``.html``/``.htm`` or ``.pdf``)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm"):
        from .html import write_html

        return write_html(progress, p)
    if suffix == ".pdf":
        from .pdf import write_pdf

        return write_pdf(progress, p)
    raise InputError(f"{p}: unknown report format {suffix or '(no extension)'}; use .html or .pdf")
