"""The clinician's report as a PDF: the HTML report printed by headless Chromium.

Engine choice: Chromium's print-to-PDF (``chromium --headless --print-to-pdf``) rather than
WeasyPrint. Both are well kept; Chromium is already a system dependency of the project
(``.ci/system-deps`` installs Debian's ``chromium`` for the HTML rendering test), it
renders exactly what a clinician sees in a browser (same CSS engine, same fonts, PNG
figures, ``@page``/``break-inside`` print rules), and it adds no Python dependency tree
(WeasyPrint pulls in Pango/cairo bindings and its own CSS subset). The PDF is therefore
the same document as the HTML, with A4 pages, headings kept with their figures and no
page break inside a figure or table row (see the print CSS in :mod:`gaitpf.report.html`).

The Chromium executable is ``$GAITPF_CHROMIUM`` if set, else the first of ``chromium``,
``chromium-browser``, ``google-chrome`` on ``PATH``. Without one, :func:`write_pdf` raises
:class:`~gaitpf.errors.OutputError` with a one-line message saying what to install (the
HTML report needs no engine). The PDF is written atomically.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..errors import OutputError

__all__ = ["write_pdf", "find_chromium", "print_html_to_pdf", "PRINT_TIMEOUT_S"]

log = logging.getLogger(__name__)

#: Seconds Chromium may take to print one report.
PRINT_TIMEOUT_S = 180.0

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str:
    """Path of the Chromium executable, or raise OutputError saying what to install."""
    env = os.environ.get("GAITPF_CHROMIUM")
    if env:
        if shutil.which(env):
            return str(shutil.which(env))
        raise OutputError(f"GAITPF_CHROMIUM={env!r} is not an executable; point it at chromium or unset it")
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise OutputError("PDF report needs headless Chromium, which is not installed: install it (Debian: "
                      "apt-get install chromium) or set GAITPF_CHROMIUM, or write the .html report instead")


def print_html_to_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print an HTML file to ``pdf_path`` with headless Chromium (A4 from the page's CSS)."""
    exe = find_chromium()
    with tempfile.TemporaryDirectory(prefix="gaitpf-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-default-apps", f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", f"--print-to-pdf={pdf_path}",
               html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise OutputError(f"{pdf_path}: Chromium did not finish printing within {PRINT_TIMEOUT_S:.0f} s") from None
        except OSError as exc:
            raise OutputError(f"{pdf_path}: cannot run Chromium {exe} ({exc})") from exc
    if proc.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size < 1000:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise OutputError(f"{pdf_path}: Chromium failed to print the report (exit {proc.returncode}: {tail[0]})")


def write_pdf(progress: Any, path: str | os.PathLike[str], *, html_text: str | None = None, **kwargs: Any) -> Path:
    """Render the HTML report and print it to ``path`` (atomically); returns the path."""
    from ..io.atomic import atomic_path
    from .html import render_html

    p = Path(path)
    find_chromium()  # fail before the (slower) rendering when there is no engine
    text = html_text if html_text is not None else render_html(progress, **kwargs)
    with tempfile.TemporaryDirectory(prefix="gaitpf-report-") as tmpdir:
        src = Path(tmpdir) / "report.html"
        src.write_text(text, encoding="utf-8")
        out = Path(tmpdir) / "report.pdf"
        print_html_to_pdf(src, out)
        with atomic_path(p) as tmp:
            shutil.copyfile(out, tmp)
    return p
