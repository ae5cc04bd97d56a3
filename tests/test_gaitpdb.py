"""PhysioNet gaitpdb importer (vendored real walks) and the standard sensor layouts."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from gaitpf.errors import FormatError, InputError, SignalError
from gaitpf.io import detect_format, read_recording
from gaitpf.io.gaitpdb import looks_like_gaitpdb, read_demographics, read_gaitpdb
from gaitpf.layouts import (
    INSOLE_LENGTH_MM,
    foot_outline_mm,
    gaitpdb_layout,
    gaitpf16_layout,
    grid_layout,
    ml_zone_of,
    region_of,
    standard_layout,
)

DATA = Path(__file__).parent / "data" / "gaitpdb"
GACO = DATA / "GaCo01_01.txt"
JUPT = DATA / "JuPt02_01.txt"


def test_gaco01_values_from_the_file() -> None:
    rec = read_recording(GACO)
    assert detect_format(GACO) == "gaitpdb"
    sha = hashlib.sha256(GACO.read_bytes()).hexdigest()
    assert (rec.subject_id, rec.session, rec.trial) == ("anon-" + sha[:8], "1", "01")  # never the file name
    assert rec.source["sha256"] == sha and "name" not in rec.source
    assert rec.body_mass_kg == 83.0  # demographics.txt, Weight column
    assert rec.metadata["group"] == "control" and rec.metadata["height_m"] == 1.80
    assert rec.metadata["gait_speed_m_s"] == 1.075
    left, right = rec.feet["left"], rec.feet["right"]
    assert (left.n_samples, left.n_sensors, left.unit, left.sampling_rate_hz) == (12118, 8, "N", 100.0)
    # line 1 of the file; line 2 repeats it and is dropped; line 3 differs in L8 (62.59)
    np.testing.assert_array_equal(left.values[0], [199.1, 87.34, 91.08, 24.09, 21.12, 87.67, 87.23, 64.57])
    assert right.values[0, 7] == 79.53
    assert left.values[1, 7] == 62.59 and left.values[2, 6] == 89.1
    # last line: 121.1715  352.44 ... total right 609.51
    assert left.values[-1, 0] == 347.27 and right.values[-1, 7] == 147.29
    assert np.isclose(right.values[-1].sum(), 609.51)
    np.testing.assert_allclose(left.times_s()[:3], [0.0, 0.01, 0.02])
    assert rec.source["dropped_lines"] == [2] and rec.source["warnings"] == []
    assert left.layout.names[0] == "L1" and right.layout.names[0] == "R1"


def test_jupt02_patient() -> None:
    rec = read_gaitpdb(JUPT)
    assert rec.subject_id.startswith("anon-") and rec.body_mass_kg == 68.0
    assert rec.metadata["group"] == "parkinson" and rec.metadata["height_m"] == 1.60  # cm → m
    assert rec.feet["right"].n_samples == 5504
    assert rec.duration_s == pytest.approx(55.04)
    # swing reads exactly 0 N: both feet are unloaded for part of the walk
    for foot in rec.feet.values():
        assert (foot.total() == 0).mean() > 0.2


def test_without_demographics_body_mass_is_unknown(tmp_path: Path) -> None:
    shutil.copy(JUPT, tmp_path / "JuPt02_01.txt")
    rec = read_gaitpdb(tmp_path / "JuPt02_01.txt")
    assert rec.body_mass_kg is None and rec.subject_id == read_gaitpdb(JUPT).subject_id  # same content


def test_other_file_name_gets_a_pseudonym_not_its_stem(tmp_path: Path) -> None:
    lines = JUPT.read_bytes().split(b"\r\n")[:200]
    (tmp_path / "walk a.txt").write_bytes(b"\r\n".join(lines) + b"\r\n")
    rec = read_recording(tmp_path / "walk a.txt")
    assert rec.subject_id.startswith("anon-") and "walk" not in rec.subject_id
    assert rec.trial == "1" and rec.feet["left"].n_samples == 199 and rec.metadata == {}


def test_demographics_table() -> None:
    demo = read_demographics(DATA / "demographics.txt")
    assert demo["GaPt03"]["body_mass_kg"] == 50.0 and demo["GaPt03"]["height_m"] == 1.45
    assert demo["GaPt04"]["body_mass_kg"] is None  # NaN in the table
    assert demo["JuPt02"]["speed_m_s"]["01"] == 0.906


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")


def _write(tmp_path: Path, lines: list[bytes]) -> Path:
    out = tmp_path / "GaCo01_01.txt"
    out.write_bytes(b"\r\n".join(lines))
    return out


def test_truncated_file_names_the_last_line(tmp_path: Path) -> None:
    data = JUPT.read_bytes()
    cut = tmp_path / "JuPt02_01.txt"
    cut.write_bytes(data[: len(data) - 40])
    with pytest.raises(FormatError, match=r"line 5505 has \d+ columns, expected 19 .*truncated"):
        read_gaitpdb(cut)


@pytest.mark.parametrize(
    "token, message",
    [(b"abc", r"line 101, column 5: 'abc' is not a number"), (b"NaN", r"line 101, column 5: 'NaN' is not a finite")],
)
def test_bad_value_names_line_and_column(tmp_path: Path, token: bytes, message: str) -> None:
    lines = _lines(JUPT)
    cells = lines[100].split(b"\t")
    cells[4] = token
    lines[100] = b"\t".join(cells)
    with pytest.raises(FormatError, match=message):
        read_gaitpdb(_write(tmp_path, lines))


def test_time_going_backwards(tmp_path: Path) -> None:
    lines = _lines(JUPT)
    lines[50], lines[51] = lines[51], lines[50]
    with pytest.raises(FormatError, match="line 52: time .* does not increase"):
        read_gaitpdb(_write(tmp_path, lines))


def test_total_mismatch_is_reported(tmp_path: Path) -> None:
    lines = _lines(JUPT)[:300]
    cells = lines[200].split(b"\t")
    cells[17] = b"9999"
    lines[200] = b"\t".join(cells)
    rec = read_gaitpdb(_write(tmp_path, lines))
    assert "left total column differs" in rec.source["warnings"][0]


def test_empty_and_missing(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_bytes(b"")
    assert not looks_like_gaitpdb(tmp_path / "e.txt")
    with pytest.raises(FormatError, match="only 0 lines"):
        read_gaitpdb(tmp_path / "e.txt")
    with pytest.raises(InputError, match="no such file"):
        read_gaitpdb(tmp_path / "nope.txt")


# -- layouts -----------------------------------------------------------------------------
def _inside_outline(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd ray casting against foot_outline_mm()."""
    poly = foot_outline_mm()
    inside = np.zeros(len(x), bool)
    for (x1, y1), (x2, y2) in zip(poly[:-1], poly[1:]):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xc)
    return inside


def test_gaitpdb_layout_maps_format_txt() -> None:
    left, right = gaitpdb_layout("left"), gaitpdb_layout("right")
    # format.txt: L2 at X=-700 (far from the body midline) is lateral, L3 at X=-300 medial
    assert left.ml_zone[1] == "lateral" and left.ml_zone[2] == "medial"
    assert left.x_mm[1] == pytest.approx(26.0) and left.x_mm[2] == pytest.approx(-26.0)
    # Y -800..800 → 26..234 mm (0.13 mm/unit on a 260 mm insole)
    assert left.y_mm[0] == pytest.approx(26.0) and left.y_mm[7] == pytest.approx(234.0)
    assert left.region == ("heel", "heel", "heel", "midfoot", "midfoot", "forefoot", "forefoot", "toes")
    # mirror-safe: both feet have the same coordinates in the insole frame
    np.testing.assert_array_equal(left.x_mm, right.x_mm)
    assert left.ml_zone == right.ml_zone and right.names[1] == "R2"
    assert _inside_outline(left.x_mm, left.y_mm).all()


def test_gaitpf16_layout() -> None:
    lay = standard_layout("gaitpf-16")
    assert lay.n_sensors == 16 and lay.layout_id == "gaitpf-16"
    counts = {r: lay.region.count(r) for r in ("heel", "midfoot", "forefoot", "toes")}
    assert counts == {"heel": 3, "midfoot": 3, "forefoot": 6, "toes": 4}
    assert lay.ml_zone[lay.names.index("mth1")] == "medial" and lay.ml_zone[lay.names.index("mth5")] == "lateral"
    assert lay.ml_zone[lay.names.index("hallux")] == "medial"
    assert _inside_outline(lay.x_mm, lay.y_mm).all()
    assert gaitpf16_layout().area_mm2[0] == pytest.approx(113.097, abs=1e-3)


@pytest.mark.parametrize("n", [1, 7, 100, 1000])
def test_grid_layout_exact_count_inside_outline(n: int) -> None:
    lay = grid_layout(n)
    assert lay.n_sensors == n and lay.layout_id == f"grid-{n}"
    assert _inside_outline(lay.x_mm, lay.y_mm).all()
    assert len(set(zip(lay.x_mm.round(6), lay.y_mm.round(6)))) == n
    if n == 1000:  # ~19 600 mm² insole / 1000 sensels ≈ 4.4 mm pitch, all regions covered
        assert 3.5 < np.sqrt(lay.area_mm2[0]) < 5.0
        assert set(lay.region) == {"heel", "midfoot", "forefoot", "toes"}
        assert set(lay.ml_zone) == {"medial", "central", "lateral"}


def test_outline_and_zones() -> None:
    poly = foot_outline_mm()
    np.testing.assert_array_equal(poly[0], poly[-1])
    assert poly[:, 1].min() == 0 and poly[:, 1].max() == INSOLE_LENGTH_MM
    assert region_of(np.array([10.0, 100.0, 180.0, 250.0])) == ("heel", "midfoot", "forefoot", "toes")
    assert ml_zone_of(np.array([-40.0, 0.0, 40.0]), np.full(3, 180.0)) == ("medial", "central", "lateral")
    with pytest.raises(SignalError, match="unknown sensor layout"):
        standard_layout("foo-3")
    with pytest.raises(SignalError, match="positive number"):
        grid_layout(0)
