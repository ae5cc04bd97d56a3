"""The clinician's report: self-contained HTML (inline figures) and the same document as PDF.

::

    from gaitpf.sessions.compare import subject_progress
    from gaitpf.report import write_report, write_reports
    write_report(subject_progress("PF001", root="recordings"), "report.html")   # or .pdf
    write_reports(progress, ["report.html", "report.pdf"])  # renders the figures once

The PDF is the HTML printed by headless Chromium (see :mod:`gaitpf.report.pdf`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ..errors import InputError

__all__ = ["write_report", "write_reports"]

_FORMATS = (".html", ".htm", ".pdf")


def _check(paths: Sequence[Path]) -> None:
    for p in paths:
        if p.suffix.lower() not in _FORMATS:
            raise InputError(f"{p}: unknown report format {p.suffix or '(no extension)'}; use .html or .pdf")


def write_reports(progress, paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Write the report to every path (format by extension), rendering the HTML once."""
    from .html import render_html

    ps = [Path(p) for p in paths]
    _check(ps)
    if any(p.suffix.lower() == ".pdf" for p in ps):
        from .pdf import find_chromium

        find_chromium()
    text = render_html(progress)
    for p in ps:
        if p.suffix.lower() == ".pdf":
            from .pdf import write_pdf

            write_pdf(progress, p, html_text=text)
        else:
            from ..io.atomic import atomic_path

            with atomic_path(p) as tmp:
                tmp.write_text(text, encoding="utf-8")
    return ps


def write_report(progress, path: str | os.PathLike[str]) -> Path:
    """Write the report; the format follows the extension (``.html``/``.htm`` or ``.pdf``)."""
    return write_reports(progress, [path])[0]
