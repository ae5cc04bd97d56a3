"""Batch discovery and `gaitpf info` recognise vendor exports by content."""
from __future__ import annotations

import shutil
from pathlib import Path

from gaitpf.batch.discover import discover
from gaitpf.cli.main import main

DATA = Path(__file__).parent / "data" / "vendor"


def test_discover_lists_vendor_exports_whatever_their_extension(tmp_path):
    shutil.copy(DATA / "moticon_live_excerpt.txt", tmp_path / "a.txt")
    shutil.copy(DATA / "pedar_excerpt.asc", tmp_path / "b.dat")
    shutil.copy(DATA / "fscan_excerptL.asf", tmp_path / "c_L.asf")
    shutil.copy(DATA / "xsensor_excerpt.csv", tmp_path / "d.csv")
    shutil.copy(DATA / "stappone_excerpt.csv", tmp_path / "e")
    (tmp_path / "notes.md").write_text("# not a recording\n")
    refs = discover(tmp_path)
    assert [(r.rel_path, r.fmt) for r in refs] == [
        ("a.txt", "moticon"), ("b.dat", "pedar"), ("c_L.asf", "tekscan"), ("d.csv", "xsensor"), ("e", "stappone"),
    ]


def test_info_describes_a_vendor_export(capsys):
    main(["info", str(DATA / "xsensor_excerpt.csv")])
    out = capsys.readouterr().out
    assert "xsensor" in out and "left" in out and "right" in out
