"""The generic gaitpf CSV format: hand-written files, round trips, line-numbered errors."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gaitpf.errors import FormatError, OutputError
from gaitpf.io import detect_format, read_recording
from gaitpf.io.csvfmt import read_csv_recording, write_csv_recording
from gaitpf.io.gaitpdb import read_gaitpdb
from gaitpf.layouts import grid_layout
from gaitpf.model import FootSignals, Recording

GACO = Path(__file__).parent / "data" / "gaitpdb" / "GaCo01_01.txt"

SMALL = """\
# gaitpf-csv: 1
# sampling_rate_hz: 50
# unit: N
# subject_id: P017
# session: baseline
# body_mass_kg: 64.5
# shoe: trainer
time_s,left_heel,left_toe,right_heel,right_toe
0.00,10,0,0,5
0.02,20.5,1,,6
0.04,30,2,nan,7
"""


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_small_file_by_hand(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, SMALL))
    assert (rec.subject_id, rec.session, rec.trial, rec.body_mass_kg) == ("P017", "baseline", "1", 64.5)
    assert rec.metadata == {"shoe": "trainer"} and rec.sampling_rate_hz == 50.0
    left, right = rec.feet["left"], rec.feet["right"]
    np.testing.assert_array_equal(left.values, [[10, 0], [20.5, 1], [30, 2]])
    np.testing.assert_array_equal(right.values, [[0, 5], [np.nan, 6], [np.nan, 7]])
    np.testing.assert_array_equal(left.time_s, [0.0, 0.02, 0.04])
    assert left.unit == "N" and left.layout is None and rec.source["format"] == "csv"


def test_semicolon_decimal_comma_bom_and_one_foot(tmp_path: Path) -> None:
    text = "\ufeff# sampling_rate_hz: 100\n# decimal: ,\n# unit: kPa\ntime_s;right_a;right_b\n0;1,5;2\n0,01;2,25;3\n"
    rec = read_csv_recording(_write(tmp_path, text))
    assert rec.sides == ("right",) and rec.feet["right"].unit == "kPa"
    np.testing.assert_array_equal(rec.feet["right"].values, [[1.5, 2.0], [2.25, 3.0]])
    assert rec.subject_id.startswith("anon-") and rec.subject_id != "t"  # a pseudonym, never the file stem


def test_tab_delimiter_and_standard_layout(tmp_path: Path) -> None:
    names = [f"c{j}" for j in range(8)]
    head = "# sampling_rate_hz: 100\n# layout: gaitpdb-8\ntime_s\t" + "\t".join(f"left_{n}" for n in names) + "\n"
    rows = "".join(f"{i / 100}\t" + "\t".join(str(i + j) for j in range(8)) + "\n" for i in range(4))
    rec = read_csv_recording(_write(tmp_path, head + rows))
    lay = rec.feet["left"].layout
    assert lay.layout_id == "gaitpdb-8" and lay.names == tuple(names) and lay.region[0] == "heel"
    assert rec.feet["left"].unit == "au"  # documented default
    bad = head.replace("gaitpdb-8", "gaitpf-16") + rows
    with pytest.raises(FormatError, match="line 2: layout 'gaitpf-16' has 16 sensors but the file has 8"):
        read_csv_recording(_write(tmp_path, bad))


def test_round_trip_real_walk(tmp_path: Path) -> None:
    rec = read_gaitpdb(GACO)
    path = tmp_path / "w.csv"
    write_csv_recording(path, rec)
    back = read_recording(path)
    assert detect_format(path) == "csv"
    for side in rec.sides:
        a, b = rec.feet[side], back.feet[side]
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.times_s(), b.time_s)
        assert a.layout.names == b.layout.names and a.layout.region == b.layout.region
        np.testing.assert_array_equal(a.layout.x_mm, b.layout.x_mm)
        assert a.device == b.device and a.unit == b.unit
    for name in ("subject_id", "session", "trial", "body_mass_kg", "created_utc", "metadata"):
        assert getattr(rec, name) == getattr(back, name)


def test_round_trip_unequal_feet_custom_layout_float32(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lay = grid_layout(12)
    rec = Recording(
        feet={
            "left": FootSignals("left", rng.random((30, 12)).astype(np.float32), "kPa", 200.0, layout=lay),
            "right": FootSignals("right", rng.normal(size=(20, 1)) * 1e-7, "au", 200.0),
        },
        subject_id="x", metadata={"n": 3, "nested": {"a": [1, 2]}},
    )
    path = tmp_path / "u.csv"
    write_csv_recording(path, rec)
    back = read_csv_recording(path)
    assert back.feet["left"].n_samples == 30 and back.feet["right"].n_samples == 20
    np.testing.assert_array_equal(back.feet["left"].values, rec.feet["left"].values.astype(np.float64))
    np.testing.assert_array_equal(back.feet["right"].values, rec.feet["right"].values)
    np.testing.assert_array_equal(back.feet["left"].layout.area_mm2, lay.area_mm2)
    np.testing.assert_array_equal(back.feet["left"].layout.y_mm, lay.y_mm)
    assert back.feet["right"].layout is None and back.metadata == rec.metadata


def test_write_refuses_different_time_grids(tmp_path: Path) -> None:
    rec = Recording(feet={
        "left": FootSignals("left", np.ones((3, 1)), "N", 100.0),
        "right": FootSignals("right", np.ones((3, 1)), "N", 100.0, time_s=np.array([0.0, 0.011, 0.02])),
    })
    with pytest.raises(OutputError, match="different time grids"):
        write_csv_recording(tmp_path / "d.csv", rec)
    assert os.listdir(tmp_path) == []


HEAD = "# sampling_rate_hz: 100\ntime_s,left_a,left_b\n"


@pytest.mark.parametrize(
    "text, message",
    [
        (HEAD + "0,1,2\n0.01,1,x\n", r"line 4, column 3: 'x' is not a number"),
        (HEAD + "0,1,2\n0.01,1\n", r"line 4 has 2 fields, expected 3 like the column line \(the file looks truncated\)"),
        (HEAD + "0,1,2\n0.01,1,2,3\n0.02,1,2\n", r"line 4 has 4 fields, expected 3"),
        (HEAD + "0,1,2\n0,1,2\n", r"line 4: time_s 0.0 does not increase"),
        (HEAD + "0,1,2\nnan,1,2\n", r"line 4: time_s is empty or NaN"),
        (HEAD + "0,1,2\n0.01,inf,2\n", r"line 4, column 2: 'inf' is not finite"),
        (HEAD + "0,,\n0.01,nan,\n", r"every left_ value is empty or NaN"),
        ("time_s,left_a\n0,1\n0.01,2\n", r"no sampling rate: pass --rate-hz HZ .*'# sampling_rate_hz: <Hz>' to the header \(time_s suggests 100 Hz\)"),
        ("# sampling_rate_hz: fast\ntime_s,left_a\n0,1\n", r"line 1: sampling_rate_hz must be a number"),
        ("# sampling_rate_hz: -5\ntime_s,left_a\n0,1\n", r"line 1: sampling_rate_hz must be > 0"),
        ("# sampling_rate_hz: 100\n# unit: lbs\ntime_s,left_a\n0,1\n", r"line 2: unit must be one of N, kPa, au"),
        ("# sampling_rate_hz: 100\ntime,left_a\n0,1\n", r"line 2: the first column must be 'time_s'"),
        ("# sampling_rate_hz: 100\ntime_s,left_a,pressure\n0,1,2\n", r"line 2: column 3 'pressure' must be"),
        ("# sampling_rate_hz: 100\ntime_s,left_a,left_a\n0,1,2\n", r"line 2: duplicate column names \['left_a'\]"),
        ("# sampling_rate_hz: 100\n# unit: N\n# unit: kPa\n", r"line 3: header key 'unit' given twice"),
        ("# sampling_rate_hz: 100\ntime_s,left_a\n", r"no data rows after the column line 2"),
        ("# sampling_rate_hz: 100\n", r"no column line"),
        ("# sampling_rate_hz: 100\n# decimal: ,\ntime_s,left_a\n0,1\n", r"line 2: a decimal comma needs"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FormatError, match=message) as err:
        read_csv_recording(path)
    assert str(path) in str(err.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(HEAD.encode() + b"0,1,\xff\n")
    with pytest.raises(FormatError, match="not UTF-8"):
        read_csv_recording(path)
