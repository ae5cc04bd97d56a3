"""The clinician's report as a person sees it: HTML rendered by headless Chromium, PDF pages by pdftoppm."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from gaitpf.cli.main import main

from session_fixtures import build_subject, write_standing, write_trial

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _screenshot(html: Path, png: Path, tmp: Path) -> np.ndarray:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-default-apps", "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium-profile'}",
           f"--screenshot={png}", "--window-size=1200,3000", html.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert png.exists(), f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return mpimg.imread(png)


def _ink(img: np.ndarray) -> tuple[float, int]:
    """(share of non-white pixels, number of distinct colours)."""
    rgb = (np.asarray(img)[..., :3] * 255).astype(np.uint8) if img.dtype != np.uint8 else img[..., :3]
    nonwhite = float((rgb.min(axis=-1) < 235).mean())
    colours = len(np.unique(rgb.reshape(-1, 3)[::7], axis=0))
    return nonwhite, colours


def _pdf_pages(pdf: Path, tmp: Path) -> list[np.ndarray]:
    prefix = tmp / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(prefix)], check=True, timeout=120,
                   capture_output=True)
    return [mpimg.imread(p) for p in sorted(tmp.glob("page-*.png"))]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec")
    build_subject(root, "PF001", asyms=(12.0, 8.0, 5.0, 3.0), trials=1)
    out = tmp_path_factory.mktemp("out")
    main(["report", "PF001", "--root", str(root), "-o", str(out / "r.html"), "-o", str(out / "r.pdf"),
          "--n-boot", "400"])
    return out


def test_html_is_self_contained(reports):
    text = (reports / "r.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 6
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)
    assert "<script" not in text
    for needle in ("stance-time asymmetry (|SA|)", "MDC95", "Methods", "Theil", "block bootstrap", "relative"):
        assert needle in text


def test_html_renders_in_chromium(reports, tmp_path):
    img = _screenshot(reports / "r.html", tmp_path / "shot.png", tmp_path)
    assert img.shape[0] == 3000 and img.shape[1] == 1200
    nonwhite, colours = _ink(img)
    print(f"HTML screenshot: {100 * nonwhite:.1f}% non-white pixels, {colours} distinct colours")
    assert nonwhite > 0.05
    assert colours > 100


def test_pdf_pages_render(reports, tmp_path):
    pages = _pdf_pages(reports / "r.pdf", tmp_path)
    assert len(pages) >= 8  # summary, sessions table, change table, 6 figures, methods
    for k, page in enumerate(pages):
        nonwhite, colours = _ink(page)
        assert nonwhite > 0.003, f"PDF page {k + 1} is blank"
    assert max(_ink(p)[1] for p in pages) > 50


def test_report_with_bad_input_still_renders(tmp_path):
    root = tmp_path / "rec"
    write_trial(root, "PF010", "S1", "T1", asym=10, seed=1, metadata={"session_no": 1})   # pain etc. missing
    write_trial(root, "PF010", "S1", "T2", asym=10, seed=2, metadata={"session_no": 1}, one_foot="left")
    write_standing(root, "PF010", "S2", "T1", metadata={"session_no": 2})
    out = tmp_path / "bad.html"
    main(["report", "PF010", "--root", str(root), "-o", str(out), "-o", str(tmp_path / "bad.pdf"), "--n-boot", "400"])
    text = out.read_text(encoding="utf-8")
    assert "Left out of this report" in text
    assert "one foot only (left)" in text
    assert "no usable trial" in text
    assert "Not shown: no pain scores entered" in text
    assert "one session only" in text
    assert "metadata missing: date, treatment, affected_side, pain_vas" in text
    img = _screenshot(out, tmp_path / "bad.png", tmp_path)
    assert _ink(img)[0] > 0.03
    pages = _pdf_pages(tmp_path / "bad.pdf", tmp_path)
    assert pages and all(_ink(p)[0] > 0.003 for p in pages)


def test_report_rejects_unknown_format(tmp_path, capsys):
    build_subject(tmp_path, "PF011", asyms=(5.0,))
    with pytest.raises(SystemExit) as exc:
        main(["report", "PF011", "--root", str(tmp_path), "-o", str(tmp_path / "r.docx")])
    assert exc.value.code == 2
    assert "use .html or .pdf" in capsys.readouterr().err
