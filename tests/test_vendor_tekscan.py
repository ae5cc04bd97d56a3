"""Tekscan F-Scan .asf / I-Scan CSV, one foot per file, and pairing LEFT --right RIGHT."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitpf.cli.main import main
from gaitpf.errors import FormatError
from gaitpf.io import detect_format, read_recording
from gaitpf.io.pairing import side_from_name

DATA = Path(__file__).parent / "data" / "vendor"
FSCAN = DATA / "fscan_excerptL.asf"
ISCAN = DATA / "iscan_excerpt.csv"


def test_fscan_grid_in_kpa_with_sensel_area_and_rate_from_seconds_per_frame():
    rec = read_recording(FSCAN)
    assert detect_format(FSCAN) == "tekscan"
    assert rec.sides == ("left",)  # the naming rule: stem ends in L
    foot = rec.feet["left"]
    lines = FSCAN.read_text().splitlines()
    grid = [ln.split(",") for ln in lines[lines.index("Frame 1") + 1: lines.index("Frame 1") + 61]]
    inside = sum(v != "B" for row in grid for v in row)
    assert foot.n_sensors == inside and foot.unit == "kPa"
    assert rec.sampling_rate_hz == pytest.approx(1 / 0.032)
    assert foot.layout.area_mm2[0] == pytest.approx(25.8064)
    assert rec.source["software_version"] == "Tekscan Pressure Measurement System 6.33"
    # row 1 is the toe end: the first row's sensels lie furthest from the heel
    assert foot.layout.y_mm[0] == foot.layout.y_mm.max() and foot.layout.region[0] == "toes"
    assert set(foot.layout.region) == {"heel", "midfoot", "forefoot", "toes"}
    # a value at a known cell: first frame with load somewhere equals the file's number
    frame = 30
    start = lines.index(f"Frame {frame}") + 1
    vals = [float(v) for row in lines[start:start + 60] for v in row.split(",") if v != "B"]
    np.testing.assert_allclose(foot.values[frame - 1], vals)


def test_iscan_variant_uses_per_frame_times_and_raw_units():
    rec = read_recording(ISCAN)
    foot = next(iter(rec.feet.values()))
    assert foot.unit == "au" and rec.source["variant"] == "I-Scan ASCII (CSV)"
    assert rec.source["timing"]["from"] == "per-frame times"
    assert rec.sampling_rate_hz == pytest.approx(10.0)
    assert "assumed" in rec.source["side"]
    assert rec.source["force"].startswith("not known")


def test_naming_rule_for_one_foot_files():
    assert side_from_name("FrasP01L.asf") == "left"
    assert side_from_name("walk_R.asf") == "right"
    assert side_from_name("p3-right-trial2.asf") == "right"
    assert side_from_name("trial.asf") is None and side_from_name("LR.asf") is None


def test_cut_fscan_export_is_refused(tmp_path):
    text = FSCAN.read_text()
    cut = tmp_path / "cutL.asf"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(FormatError, match="cut"):
        read_recording(cut)


def test_import_pairs_a_left_and_a_right_file(tmp_path, capsys):
    right = tmp_path / "walk_R.asf"
    right.write_text(FSCAN.read_text())
    out = tmp_path / "pair.h5"
    main(["import", str(FSCAN), "--right", str(right), "-o", str(out)])
    rec = read_recording(out)
    assert rec.sides == ("left", "right")
    assert rec.feet["left"].n_samples == rec.feet["right"].n_samples == 60
    assert rec.source["pairing"]["aligned"] == "file starts"
    # the right foot's layout is mirrored relative to the left one's
    lx, rx = rec.feet["left"].layout.x_mm, rec.feet["right"].layout.x_mm
    assert rec.feet["left"].layout.names == rec.feet["right"].layout.names
    np.testing.assert_allclose(lx, -rx)
    assert "pair.h5" in capsys.readouterr().out


def test_pairing_refuses_a_file_with_both_feet(tmp_path, capsys):
    out = tmp_path / "x.h5"
    with pytest.raises(SystemExit) as exc:
        main(["import", str(DATA / "moticon_live_excerpt.txt"), "--right", str(FSCAN), "-o", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--right pairs two one-foot files" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
