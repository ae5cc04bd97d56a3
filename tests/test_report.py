"""The clinician's report as a person sees it: HTML in headless Chromium, PDF pages by poppler."""
from __future__ import annotations

import contextlib
import html as _html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from gaitpf.cli.main import main

from session_fixtures import build_subject, meta, write_standing, write_trial

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
A4_PT = (595.0, 842.0)
TREATMENT = r"$\frac{1}{2}$ insoles & $5 wedge"


def _screenshot(html: Path, png: Path, tmp: Path) -> np.ndarray:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium-profile'}",
           f"--screenshot={png}", "--window-size=1200,3000", html.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert png.exists(), f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return mpimg.imread(png)


def _ink(img: np.ndarray) -> float:
    rgb = (np.asarray(img)[..., :3] * 255).astype(np.uint8) if img.dtype != np.uint8 else img[..., :3]
    return float((rgb.min(axis=-1) < 235).mean())


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


def _pdf_text(pdf: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _pages_png(pdf: Path, tmp: Path) -> list[np.ndarray]:
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(pdf), str(tmp / "page")], check=True, timeout=120,
                   capture_output=True)
    return [mpimg.imread(p) for p in sorted(tmp.glob("page-*.png"))]


def _cells(html_text: str) -> list[str]:
    return [_html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", html_text, re.S)]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec")
    build_subject(root, "PF001", asyms=(12.0, 6.0, 3.0), trials=1, treatment=TREATMENT)
    # clinician's notes and a change of shoes in the last session (a confounder)
    from gaitpf.sessions.metadata import update_file_metadata

    for k, f in enumerate(sorted((root / "PF001").glob("S*/T1.h5")), start=1):
        update_file_metadata(f, {"notes": f"note for visit {k}", "condition": "own shoes" if k < 3 else "sandals"})
    out = tmp_path_factory.mktemp("out")
    main(["report", "PF001", "--root", str(root), "-o", str(out / "r.html"), "-o", str(out / "r.pdf"),
          "--n-boot", "300"])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["progress", "PF001", "--root", str(root), "--json", "--n-boot", "300"])
    (out / "progress.json").write_text(buf.getvalue(), encoding="utf-8")
    return out


def test_pdf_is_a4_and_page_one_is_the_summary(report, tmp_path):
    pdf = report / "r.pdf"
    sizes = _page_sizes(pdf)
    assert len(sizes) >= 4
    for w, h in sizes:
        assert abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2, sizes
    page1 = _pdf_text(pdf, "-f", "1", "-l", "1")
    for needle in ("Headline", "Decision:", "95% CI", "MDC95", "affected side: left", "and pain over the sessions",
                   "Plantar pressure, left foot (affected)", "Confounders", "sandals"):
        assert needle in page1, needle
    assert "Methods" not in page1 and "All metrics" not in page1
    page2 = _pdf_text(pdf, "-f", "2", "-l", "2").split()
    assert page2[0] in ("Sessions", "Read", "Confounders"), page2[:5]  # the summary did not spill over
    pages = _pages_png(pdf, tmp_path)
    assert len(pages) == len(sizes)
    assert _ink(pages[0]) > 0.08  # a full summary, not a three-quarters empty page
    assert all(_ink(p) > 0.003 for p in pages)


def test_no_table_text_is_cut_off(report):
    text_html = (report / "r.html").read_text(encoding="utf-8")
    pdf = report / "r.pdf"
    words = set(_pdf_text(pdf).split())
    cells = [c for c in _cells(text_html) if c.strip()]
    assert len(cells) > 60
    assert any("−" in c for c in cells)  # negative changes use a real minus sign
    missing = [(c, tok) for c in cells for tok in c.split() if tok not in words]
    assert not missing, missing[:10]
    # and nothing is printed beyond the page's right edge
    bbox = _pdf_text(pdf, "-bbox")
    xmax = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)]
    assert xmax and max(xmax) <= A4_PT[0] - 20


def test_dollar_signs_in_a_treatment_stay_literal(report):
    assert TREATMENT in " ".join(_pdf_text(report / "r.pdf").split())
    assert _html.escape(TREATMENT) in (report / "r.html").read_text(encoding="utf-8")


def test_notes_condition_side_and_sign_convention(report):
    text = (report / "r.html").read_text(encoding="utf-8")
    for k in (1, 2, 3):
        assert f"notes: note for visit {k}" in text
    assert "shoe/condition: sandals" in text
    assert "+ = affected side larger than unaffected, − = smaller" in text
    assert "left affected mean" in text
    assert "relative maps" not in text  # gaitpf-16 areas are known: the maps are in kPa
    assert text.count("condition &#x27;sandals&#x27; differs from the baseline&#x27;s") == 1  # confounder, once
    assert "confounder: condition &#x27;sandals&#x27; vs &#x27;own shoes&#x27; at baseline" in text  # per session
    for w in re.findall(r"<li>(session S\d: only[^<]*)</li>", text):
        assert text.count(w) == 1  # every warning once


def _signed(x: float, fmt: str = "{:+.2f}") -> str:
    return fmt.format(x).replace("-", "−")


def test_report_and_progress_json_agree(report):
    """Page 1's decision, change, CI and MDC, and the oriented asymmetry per session, are the JSON's."""
    data = json.loads((report / "progress.json").read_text(encoding="utf-8"))
    rows = [r for r in data["metrics"] if r["metric"] == data["headline_metric"]]
    last = rows[-1]
    assert last["change_abs"] is not None and data["affected_side"] == "left"
    page1 = " ".join(_pdf_text(report / "r.pdf", "-f", "1", "-l", "1").split())
    expect = (f"Change {_signed(last['change_abs'])} (95% CI {_signed(last['change_abs_ci_low'])} to "
              f"{_signed(last['change_abs_ci_high'])}); MDC95 {last['mdc95']:.2f}")
    assert expect in page1
    word = "Decision: real change" if last["exceeds_mdc"] else "Decision: not shown to be a real change"
    assert word in page1
    assert data["mdc"][data["headline_metric"]]["mdc_label"].split(" (")[0] in page1
    cells = _cells((report / "r.html").read_text(encoding="utf-8"))
    for r in rows:  # the oriented asymmetry and its CI, as in the JSON
        assert r["asym_affected"] == r["asym_oriented"]
        assert (f"{_signed(r['asym_affected'])} ({_signed(r['asym_oriented_ci_low'])} to "
                f"{_signed(r['asym_oriented_ci_high'])})") in cells
        assert r["asym_oriented_ci_low"] <= r["asym_affected"] <= r["asym_oriented_ci_high"]


def test_html_is_self_contained_and_renders(report, tmp_path):
    text = (report / "r.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 8
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)
    assert "<script" not in text
    assert "@page{size:A4" in text
    img = _screenshot(report / "r.html", tmp_path / "shot.png", tmp_path)
    assert _ink(img) > 0.05


def test_report_with_bad_input_still_renders(tmp_path):
    root = tmp_path / "rec"
    write_trial(root, "PF010", "S1", "T1", asym=10, seed=1, metadata={"session_no": 1})   # pain etc. missing
    write_trial(root, "PF010", "S1", "T2", asym=10, seed=2, metadata={"session_no": 1}, one_foot="left")
    write_standing(root, "PF010", "S2", "T1", metadata={"session_no": 2})
    write_trial(root, "PF010", "S3", "T1", asym=5, seed=3, metadata={}, n_sensors=8)  # no metadata, other layout
    out = tmp_path / "bad.html"
    main(["report", "PF010", "--root", str(root), "-o", str(out), "-o", str(tmp_path / "bad.pdf"), "--n-boot", "200"])
    text = out.read_text(encoding="utf-8")
    assert "Left out of this report" in text
    assert "one foot only (left)" in text
    assert "no strides found (is this a walking trial?" in text
    assert "no usable trial" in text
    assert "affected side not entered" in text and "right vs left" in text
    assert "metadata missing: date, treatment, affected_side, pain_vas" in text
    assert "kinetic/regional metrics not compared" in text
    assert "sensor layout or unit differs from the baseline" in text  # no difference map across layouts
    assert "relative maps (sensor area unknown, reading units per sensor): S3 left, S3 right" in text
    sizes = _page_sizes(tmp_path / "bad.pdf")
    assert sizes and all(abs(w - A4_PT[0]) < 2 for w, _ in sizes)
    pages = _pages_png(tmp_path / "bad.pdf", tmp_path)
    assert all(_ink(p) > 0.003 for p in pages)


def test_one_session_report(tmp_path):
    root = tmp_path / "rec"
    write_trial(root, "PF012", "S1", "T1", asym=8, seed=4, metadata=meta(1))
    main(["report", "PF012", "--root", str(root), "-o", str(tmp_path / "one.pdf"), "--n-boot", "200"])
    page1 = _pdf_text(tmp_path / "one.pdf", "-f", "1", "-l", "1")
    assert "one session only" in page1 and "no change can be judged" in page1


def test_report_rejects_unknown_format_and_missing_engine(tmp_path, capsys, monkeypatch):
    build_subject(tmp_path, "PF011", asyms=(5.0,))
    with pytest.raises(SystemExit) as exc:
        main(["report", "PF011", "--root", str(tmp_path), "-o", str(tmp_path / "r.docx")])
    assert exc.value.code == 2
    assert "use .html or .pdf" in capsys.readouterr().err
    monkeypatch.setenv("GAITPF_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(SystemExit) as exc:
        main(["report", "PF011", "--root", str(tmp_path), "-o", str(tmp_path / "r.pdf")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "GAITPF_CHROMIUM" in err
    assert not (tmp_path / "r.pdf").exists()
