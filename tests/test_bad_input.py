"""Bad input for ``gaitpf import`` / ``gaitpf info``: one line on stderr naming the file, exit 2,
no traceback, no partial output."""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import pytest

from gaitpf.cli.main import main
from gaitpf.io import write_recording
from gaitpf.io.gaitpdb import read_gaitpdb

DATA = Path(__file__).parent / "data" / "gaitpdb"


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    assert exc.value.code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gaitpf: error: ") and "Traceback" not in err
    return lines[0]


def _both(capsys: pytest.CaptureFixture[str], bad: Path, tmp_path: Path) -> list[str]:
    """Run import and info on ``bad``; return both error lines; check no output file appeared."""
    before = set(os.listdir(tmp_path))
    out = tmp_path / "out.h5"
    msgs = [fails(capsys, "import", str(bad), "-o", str(out)), fails(capsys, "info", str(bad))]
    assert set(os.listdir(tmp_path)) == before and not out.exists()
    for msg in msgs:
        assert str(bad) in msg
    return msgs


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for msg in _both(capsys, tmp_path / "nope.h5", tmp_path):
        assert msg.endswith("nope.h5: no such file; check the path")


def test_unknown_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "notes.docx"
    bad.write_bytes(b"PK\x03\x04 not a recording")
    for msg in _both(capsys, bad, tmp_path):
        assert "unknown recording format; gaitpf reads gaitpf HDF5 (.h5); PhysioNet gaitndd" in msg
    txt = tmp_path / "readme.txt"
    txt.write_text("hello\tworld\n")
    assert "unknown recording format" in _both(capsys, txt, tmp_path)[0]


def test_truncated_gaitpdb(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = (DATA / "JuPt02_01.txt").read_bytes()
    bad = tmp_path / "JuPt02_01.txt"
    bad.write_bytes(data[: len(data) - 25])
    for msg in _both(capsys, bad, tmp_path):
        assert "line 5505 has" in msg and "truncated" in msg


def test_truncated_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "walk.csv"
    bad.write_text("# sampling_rate_hz: 100\ntime_s,left_a,right_a\n0,1,2\n0.01,3,4\n0.02,5")
    for msg in _both(capsys, bad, tmp_path):
        assert "line 5 has 2 fields, expected 3" in msg


def test_wrong_schema_version(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "old.h5"
    rec = read_gaitpdb(DATA / "JuPt02_01.txt")
    write_recording(bad, rec)
    with h5py.File(bad, "r+") as f:
        f.attrs["schema_version"] = 0
    for msg in _both(capsys, bad, tmp_path):
        assert "schema_version 0 found, but gaitpf" in msg and "reads schema version(s) 1" in msg
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = [1, 2]
    assert "no 'schema_version' attribute" in _both(capsys, plain, tmp_path)[1]


def test_damaged_hdf5(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = tmp_path / "good.h5"
    write_recording(good, read_gaitpdb(DATA / "JuPt02_01.txt"))
    bad = tmp_path / "cut.h5"
    bad.write_bytes(good.read_bytes()[:3000])
    good.unlink()
    for msg in _both(capsys, bad, tmp_path):
        assert "HDF5 cannot open the file" in msg


def test_nans(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = (DATA / "JuPt02_01.txt").read_bytes().split(b"\r\n")[:300]
    cells = lines[120].split(b"\t")
    cells[9] = b"NaN"
    lines[120] = b"\t".join(cells)
    pdb = tmp_path / "JuPt02_01.txt"
    pdb.write_bytes(b"\r\n".join(lines))
    for msg in _both(capsys, pdb, tmp_path):
        assert "line 121, column 10: 'NaN' is not a finite number" in msg
    csv = tmp_path / "nan.csv"
    csv.write_text("# sampling_rate_hz: 100\ntime_s,left_a\n0,1\nNaN,2\n")
    for msg in _both(capsys, csv, tmp_path):
        assert "line 4: time_s is empty or NaN" in msg
    allnan = tmp_path / "allnan.csv"
    allnan.write_text("# sampling_rate_hz: 100\ntime_s,left_a,right_a\n0,nan,1\n0.01,nan,2\n")
    assert "every left_ value is empty or NaN" in _both(capsys, allnan, tmp_path)[0]
    msg = fails(capsys, "import", str(DATA / "JuPt02_01.txt"), "-o", str(tmp_path / "o.h5"), "--body-mass-kg", "nan")
    assert "--body-mass-kg nan" in msg and not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize("where", ["missing_dir", "file_as_dir", "is_dir"])
def test_unwritable_output(capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = {"missing_dir": tmp_path / "no" / "such" / "o.h5", "file_as_dir": blocker / "o.h5",
           "is_dir": tmp_path}[where]
    before = sorted(os.listdir(tmp_path))
    msg = fails(capsys, "import", str(DATA / "JuPt02_01.txt"), "-o", str(out))
    assert str(out) in msg and ("cannot write here" in msg or "is a directory" in msg)
    assert sorted(os.listdir(tmp_path)) == before
