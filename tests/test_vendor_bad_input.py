"""Bad vendor input through the CLI: one line naming the file and the problem, exit 2, nothing written."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from gaitpf.cli.main import main

DATA = Path(__file__).parent / "data" / "vendor"
MOTICON = DATA / "moticon_normal_excerpt.txt"


def fails(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert exc.value.code == 2 and out == "" and len(lines) == 1, err
    assert lines[0].startswith("gaitpf: error: ") and "Traceback" not in err
    return lines[0]


def _import_fails(capsys, tmp_path: Path, bad: Path) -> str:
    before = set(os.listdir(tmp_path))
    out = tmp_path / "out.h5"
    msg = fails(capsys, "import", str(bad), "-o", str(out))
    assert str(bad) in msg and not out.exists() and set(os.listdir(tmp_path)) == before
    return msg


def test_truncated_exports(tmp_path, capsys):
    for src in (MOTICON, DATA / "fscan_excerptL.asf", DATA / "pedar_excerpt.asc", DATA / "xsensor_excerpt.csv"):
        text = src.read_bytes()
        bad = tmp_path / f"cut_{src.name}"
        bad.write_bytes(text[: len(text) // 2])
        assert "cut" in _import_fails(capsys, tmp_path, bad)
        bad.unlink()


def test_mixed_units(tmp_path, capsys):
    lines = MOTICON.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[8] = lines[8].replace("left pressure 16[N/cm²]", "left pressure 16[kPa]")
    bad = tmp_path / "mixed.txt"
    bad.write_text("".join(lines), encoding="utf-8")
    assert "mixed pressure units" in _import_fails(capsys, tmp_path, bad)


def test_another_vendors_file_with_the_wrong_extension_is_read_by_its_content(tmp_path, capsys):
    renamed = tmp_path / "walkL.asf"  # a pedar export named like a Tekscan movie
    renamed.write_bytes((DATA / "pedar_excerpt.asc").read_bytes())
    out = tmp_path / "out.h5"
    main(["import", str(renamed), "-o", str(out)])
    assert "(from pedar)" in capsys.readouterr().out and out.exists()


def test_a_vendor_header_over_another_vendors_data_is_refused(tmp_path, capsys):
    head = (DATA / "fscan_excerptL.asf").read_text().split("ASCII_DATA @@")[0]
    bad = tmp_path / "mixedup.asf"
    bad.write_text(head + "ASCII_DATA @@\n\n" + (DATA / "stappone_excerpt.csv").read_text() + "@@\n")
    assert "Frame" in _import_fails(capsys, tmp_path, bad)


def test_single_foot_analyzes_as_one_foot(tmp_path, capsys):
    main(["analyze", str(DATA / "stappone_excerpt.csv")])
    out = capsys.readouterr().out
    assert "left" in out and "one foot only: symmetry is not available" in out


def test_an_export_without_walking(tmp_path, capsys):
    lines = MOTICON.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = "# Duration: 00:02.000\n"
    still = tmp_path / "standing.txt"
    still.write_text("".join(lines[:9] + lines[9:210]), encoding="utf-8")  # the first 2 s: standing
    msg = fails(capsys, "analyze", str(still))
    assert str(still) in msg and "no strides" in msg
