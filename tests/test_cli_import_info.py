"""``gaitpf import`` and ``gaitpf info`` end to end through the real CLI entry point."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from gaitpf.cli.main import main
from gaitpf.io import read_recording
from gaitpf.io.gaitpdb import read_gaitpdb
from gaitpf.io.hdf5 import FootSpec, RecordingWriter

DATA = Path(__file__).parent / "data" / "gaitpdb"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_import_gaitpdb_then_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_h5 = tmp_path / "ga.h5"
    code, out, err = run(capsys, "import", str(DATA / "GaCo01_01.txt"), "-o", str(out_h5))
    assert code == 0, err
    assert out.strip() == (
        f"{out_h5}: subject anon-81bcedc0 session 1 trial 01: left 12118 frames x 8 sensors (N), "  # sha256 pseudonym
        "right 12118 frames x 8 sensors (N); 121.2 s at 100 Hz (from gaitpdb)"
    )
    rec, orig = read_recording(out_h5), read_gaitpdb(DATA / "GaCo01_01.txt")
    np.testing.assert_array_equal(rec.feet["left"].values, orig.feet["left"].values.astype(np.float32))
    assert rec.body_mass_kg == 83.0 and rec.source["format"] == "gaitpdb"

    code, out, err = run(capsys, "info", str(out_h5), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["schema_version"] == 1 and info["closed_cleanly"] is True and info["opened_swmr"] is False
    assert info["feet"]["right"]["frames"] == 12118 and info["feet"]["right"]["duration_s"] == 121.18

    code, out, _ = run(capsys, "info", str(out_h5))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{out_h5}  (gaitpf-hdf5, schema v1)"
    assert "subject anon-81bcedc0  session 1  trial 01  body mass 83 kg" in lines[1]
    assert lines[2] == "closed cleanly: yes"
    assert lines[4].split() == ["side", "frames", "sensors", "unit", "rate_hz", "duration_s", "lost", "gaps",
                                "gap_s", "clock_ms", "layout"]
    assert lines[5].split() == ["left", "12118", "8", "N", "100", "121.18", "0", "0", "0.00", "n/a", "gaitpdb-8"]


def test_import_overrides_identity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_h5 = tmp_path / "j.h5"
    code, out, err = run(capsys, "import", str(DATA / "JuPt02_01.txt"), "-o", str(out_h5), "--subject", "P9",
                         "--session", "3", "--trial", "t2", "--body-mass-kg", "70.5")
    assert code == 0, err
    rec = read_recording(out_h5)
    assert (rec.subject_id, rec.session, rec.trial, rec.body_mass_kg) == ("P9", "3", "t2", 70.5)
    assert "subject P9 session 3 trial t2" in out


def test_import_csv_and_info_on_non_hdf5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("# sampling_rate_hz: 10\n# unit: N\ntime_s,left_a,right_a\n0,1,2\n0.1,3,4\n0.2,5,\n")
    code, out, err = run(capsys, "info", str(csv), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["format"] == "csv" and info["closed_cleanly"] is None and info["schema_version"] is None
    assert info["feet"]["left"]["frames"] == 3 and info["feet"]["right"]["frames"] == 2
    assert info["feet"]["left"]["duration_s"] == pytest.approx(0.3)
    code, out, _ = run(capsys, "info", str(csv))
    assert "closed cleanly: n/a" in out
    code, out, err = run(capsys, "import", str(csv), "-o", str(tmp_path / "c.h5"))
    assert code == 0, err
    np.testing.assert_array_equal(read_recording(tmp_path / "c.h5").feet["right"].values[:, 0], [2, 4])


def test_info_on_unclean_file_shows_swmr_and_gaps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "live.h5"
    feet = {"left": FootSpec(2, "au", 100.0)}
    w = RecordingWriter(path, subject_id="L", session="1", trial="1", feet=feet)
    w.append("left", np.ones((50, 2)), time_s=np.arange(50) / 100.0)
    w.add_annotation(0.2, 0.1, "gap", "left", "10 lost")
    w.set_foot_attrs("left", n_lost_frames=10, clock_residual_ms=1.25)
    w.flush()
    # the writer is still open (as during a recording): info must work from another process
    proc = subprocess.run([sys.executable, "-m", "gaitpf.cli.main", "info", str(path)], capture_output=True,
                          text=True, timeout=60)
    w.close()
    assert proc.returncode == 0, proc.stderr
    assert "closed cleanly: NO  (opened read-only in SWMR mode" in proc.stdout
    row = [ln for ln in proc.stdout.splitlines() if ln.startswith("left")][0].split()
    assert row == ["left", "50", "2", "au", "100", "0.50", "10", "1", "0.10", "1.25", "-"]
    code, out, _ = run(capsys, "info", str(path), "--json")
    assert json.loads(out)["closed_cleanly"] is True


def test_reimport_hdf5_is_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert run(capsys, "import", str(DATA / "JuPt02_01.txt"), "-o", str(a))[0] == 0
    assert run(capsys, "import", str(a), "-o", str(b))[0] == 0
    with h5py.File(a) as fa, h5py.File(b) as fb:
        np.testing.assert_array_equal(fa["right/values"][()], fb["right/values"][()])
        assert fa.attrs["created_utc"] == fb.attrs["created_utc"]
    assert sorted(os.listdir(tmp_path)) == ["a.h5", "b.h5"]
