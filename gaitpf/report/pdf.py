"""The clinician's report as a PDF (matplotlib ``PdfPages``; no browser needed).

Same content as the HTML report: a summary page (headline, warnings, what was left out,
per-session table), one page per figure, the all-metrics change table and the methods.
"""
from __future__ import annotations

import html
import logging
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from .. import __version__  # noqa: E402
from ..sessions import stats  # noqa: E402
from ..sessions.progress import Progress  # noqa: E402
from .html import CHANGE_HEADER, METHODS_HTML, SESSION_HEADER, change_rows, figures, session_rows  # noqa: E402

__all__ = ["write_pdf"]

log = logging.getLogger(__name__)

_A4 = (8.27, 11.69)


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _text_page(pdf: PdfPages, blocks: list[tuple[str, str, float]]) -> None:
    """Pages of wrapped text blocks (style, text, font size), flowing to new pages."""
    fig = plt.figure(figsize=_A4)
    y = 0.95
    for style, text, size in blocks:
        width = int(95 * 10 / size)
        lines = []
        for para in text.split("\n"):
            lines.extend(textwrap.wrap(para, width) or [""])
        for line in lines:
            if y < 0.05:
                pdf.savefig(fig)
                plt.close(fig)
                fig = plt.figure(figsize=_A4)
                y = 0.95
            fig.text(0.06, y, line, fontsize=size, weight="bold" if style == "b" else "normal",
                     color="#8a1c1c" if style == "r" else "#222")
            y -= size / 72 / _A4[1] * 1.45
        y -= 0.008
    pdf.savefig(fig)
    plt.close(fig)


def _table_page(pdf: PdfPages, title: str, header: list[str], rows: list[list[str]]) -> None:
    fig = plt.figure(figsize=(_A4[1], _A4[0]))  # landscape
    fig.text(0.04, 0.94, title, fontsize=13, weight="bold")
    ax = fig.add_axes([0.02, 0.05, 0.96, 0.85])
    ax.axis("off")
    cells = [[_plain(c) for c in r] for r in rows] or [["–"] * len(header)]
    tab = ax.table(cellText=cells, colLabels=[textwrap.fill(h, 14) for h in header], loc="upper center",
                   cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    tab.scale(1.0, 1.6)
    pdf.savefig(fig)
    plt.close(fig)


def write_pdf(progress: Progress, path: str | os.PathLike[str], **_: Any) -> Path:
    """Write the PDF report atomically; returns the path."""
    from ..io.atomic import atomic_path

    p = Path(path)
    name = stats.INDEX_NAMES[progress.index][0]
    with atomic_path(p) as tmp:
        with PdfPages(tmp) as pdf:
            blocks: list[tuple[str, str, float]] = [
                ("b", "Gait symmetry across treatment sessions", 16),
                ("", f"Subject {progress.subject_id} · {len(progress.sessions)} session(s) · baseline "
                     f"{progress.baseline or '–'} · gaitpf {__version__}", 9),
                ("b", f"Headline ({name}, asymmetry magnitude)", 11),
                ("", progress.headline, 10),
            ]
            if progress.warnings:
                blocks.append(("b", "Read with care", 11))
                blocks += [("", "• " + w, 9) for w in progress.warnings]
            if progress.left_out:
                blocks.append(("b", "Left out of this report", 11))
                blocks += [("r", "• " + w, 9) for w in progress.left_out]
            notes = [(r["session"], r["notes"]) for _, r in progress.session_table.iterrows() if r["notes"]]
            if notes:
                blocks.append(("b", "Session notes", 11))
                blocks += [("", f"• {s}: {n}", 9) for s, n in notes]
            _text_page(pdf, blocks)
            _table_page(pdf, "Sessions", SESSION_HEADER, session_rows(progress))
            cr = change_rows(progress)
            if cr:
                _table_page(pdf, "All metrics: last session versus baseline", CHANGE_HEADER, cr)
            missing = []
            for title, fig, why in figures(progress):
                if fig is None:
                    missing.append(f"• {title}: not shown — {why}")
                    continue
                fig.suptitle(title, fontsize=11, y=1.02)
                pdf.savefig(fig, bbox_inches="tight")
                plt.close(fig)
            methods = [("b", "Methods", 13)] + [("", _plain(par).strip(), 9)
                                                 for par in METHODS_HTML.split("</p>") if _plain(par).strip()]
            if missing:
                methods = [("b", "Figures not shown", 11)] + [("r", m, 9) for m in missing] + methods
            _text_page(pdf, methods)
    return p
