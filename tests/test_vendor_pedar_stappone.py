"""novel pedar ASCII and stappone CSV importers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitpf.errors import FormatError
from gaitpf.io import detect_format, read_recording
from gaitpf.io.vendor_pedar import ROW_SIZES, pedar_layout
from gaitpf.model import QUALITY_GAP_BEFORE

DATA = Path(__file__).parent / "data" / "vendor"
PEDAR = DATA / "pedar_excerpt.asc"
STAPPONE = DATA / "stappone_excerpt.csv"


def test_pedar_two_insoles_of_99_sensors_in_kpa():
    rec = read_recording(PEDAR)
    assert detect_format(PEDAR) == "pedar" and rec.sides == ("left", "right")
    row = PEDAR.read_text().splitlines()[10].split("\t")
    assert rec.feet["left"].values[0, 0] == pytest.approx(float(row[1]))
    assert rec.feet["right"].values[0, 0] == pytest.approx(float(row[100]))
    assert rec.feet["left"].n_sensors == rec.feet["right"].n_sensors == 99
    assert rec.sampling_rate_hz == pytest.approx(100.0) and rec.feet["left"].unit == "kPa"
    assert rec.source["force"].startswith("not known")
    assert not any("3DI_S001" in str(v) for v in rec.source.values())  # no file names kept


def test_pedar_layout_rows_heel_to_toe_medial_to_lateral():
    lay = pedar_layout()
    assert sum(ROW_SIZES) == 99 == lay.n_sensors
    assert lay.region[0] == "heel" and lay.region[98] == "toes"
    assert lay.x_mm[0] < lay.x_mm[4]  # sensor 1 medial, 5 lateral (x grows medial -> lateral)
    assert np.all(np.diff(lay.y_mm) >= 0)


def test_pedar_cut_export_refused(tmp_path):
    lines = PEDAR.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.asc"
    cut.write_text("".join(lines[:200]))
    with pytest.raises(FormatError, match="cut"):
        read_recording(cut)
    half = tmp_path / "half.asc"
    half.write_text("".join(lines[:-1]) + lines[-1][:60])
    with pytest.raises(FormatError, match="cut"):
        read_recording(half)


def test_pedar_is_recognised_with_another_extension(tmp_path):
    other = tmp_path / "walk.txt"
    other.write_bytes(PEDAR.read_bytes())
    assert detect_format(other) == "pedar"


def test_stappone_one_sole_raw_counts_with_imu_aux():
    rec = read_recording(STAPPONE)
    assert detect_format(STAPPONE) == "stappone" and rec.sides == ("left",)
    foot = rec.feet["left"]
    assert foot.unit == "au" and foot.n_sensors == 12 and foot.layout is None
    assert rec.sampling_rate_hz == pytest.approx(62.5)
    assert foot.values[0, 0] == 357 and "gyro_x_raw" in foot.aux
    assert rec.source["start_epoch_s"] == pytest.approx(1768494979.568)


def test_stappone_interleaved_soles_and_corrupt_rows(tmp_path):
    lines = STAPPONE.read_text().splitlines()
    out = [lines[0]]
    for i, ln in enumerate(lines[1:]):
        f = ln.split(",")
        if i == 100:
            f[-1] = "1"  # corrupt frame of the left sole
        out.append(",".join(f))
        out.append(",".join(["2"] + f[1:-1] + ["0"]))
    two = tmp_path / "two.csv"
    two.write_text("\n".join(out) + "\n")
    rec = read_recording(two)
    assert rec.sides == ("left", "right")
    left = rec.feet["left"]
    assert left.n_samples == rec.feet["right"].n_samples - 1
    assert np.count_nonzero(left.quality & QUALITY_GAP_BEFORE) == 1
    gaps = rec.annotations[rec.annotations.kind == "gap"]
    assert len(gaps) == 1 and gaps.side.iloc[0] == "left"


def test_stappone_cut_last_row_refused(tmp_path):
    text = STAPPONE.read_text()
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: len(text) - 40])
    with pytest.raises(FormatError, match="cut|incomplete"):
        read_recording(cut)


def test_pedar_without_mask_lines_and_with_one_insole(tmp_path):
    lines = PEDAR.read_text().splitlines(keepends=True)
    no_mask = tmp_path / "nomask.asc"
    no_mask.write_text("".join(lines[:5] + lines[9:]))
    rec = read_recording(no_mask)
    assert rec.feet["left"].n_sensors == rec.feet["right"].n_sensors == 99
    one = tmp_path / "left_only.asc"
    head = lines[:7] + ["right insole: \n"] + lines[8:10]
    rows = ["\t".join(ln.split("\t")[:100]) + "\t\n" for ln in lines[10:]]
    one.write_text("".join(head + rows))
    rec = read_recording(one)
    assert rec.sides == ("left",) and rec.feet["left"].n_sensors == 99
