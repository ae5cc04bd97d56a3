"""End to end: ``gaitpf analyze`` on real files through the real CLI, and its output contract."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from gaitpf.cli.main import main

DATA = Path(__file__).parent / "data"
GAITNDD = DATA / "gaitndd" / "control1.hea"
GAITPDB = DATA / "gaitpdb" / "GaCo01_01.txt"

CONTRACT_COLUMNS = ["side", "ic_s", "to_s", "next_ic_s", "stride_time_s", "stance_time_s",
                    "swing_time_s", "steady"]


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize("source", [GAITNDD, GAITPDB], ids=["gaitndd", "gaitpdb"])
def test_analyze_writes_the_contracted_strides_and_summary(tmp_path, source, capsys):
    strides_csv, summary_json = tmp_path / "s.csv", tmp_path / "s.json"
    assert run(["analyze", str(source), "--strides", str(strides_csv), "--summary", str(summary_json)]) == 0
    table = pd.read_csv(strides_csv)
    assert list(table.columns[: 2]) == ["side", "stride_no"]
    assert set(CONTRACT_COLUMNS) <= set(table.columns)
    assert set(table["side"]) == {"left", "right"}
    assert table["steady"].dtype == bool and table["steady"].sum() > 20
    # stance is ic→to and swing is to→next_ic, in seconds from the start of the recording
    full = table.dropna(subset=["next_ic_s"])
    assert (full["to_s"] > full["ic_s"]).all() and (full["next_ic_s"] > full["to_s"]).all()
    assert full["stance_time_s"].sub(full["to_s"] - full["ic_s"]).abs().max() < 1e-6
    assert full["swing_time_s"].sub(full["next_ic_s"] - full["to_s"]).abs().max() < 1e-6
    assert full["stride_time_s"].sub(full["stance_time_s"] + full["swing_time_s"]).abs().max() < 1e-6

    summary = json.loads(summary_json.read_text())
    assert summary["n_strides"] == {s: int((table["side"] == s).sum()) for s in ("left", "right")}
    steady = table[table["steady"]]
    for metric in ("stride_time_s", "stance_time_s", "swing_time_s"):
        entry = summary[metric]
        left = steady.loc[steady["side"] == "left", metric].mean()
        right = steady.loc[steady["side"] == "right", metric].mean()
        assert entry["left_mean"] == pytest.approx(left, rel=1e-6)
        assert entry["right_mean"] == pytest.approx(right, rel=1e-6)
        assert entry["si_pct"] == pytest.approx(100 * (right - left) / (0.5 * (right + left)), abs=1e-6)
        assert entry["ga_pct"] == pytest.approx(100 * abs(math.log(right / left)), abs=1e-6)
        assert entry["sa_pct"] is not None and abs(entry["sa_pct"]) < 100
    assert 0 <= summary["pci_pct"] < 100
    assert "->" in capsys.readouterr().out


def test_analyze_prints_a_readable_table_without_output_files(capsys):
    assert run(["analyze", str(GAITNDD)]) == 0
    out = capsys.readouterr().out
    for word in ("stride_time_s", "stance_time_s", "swing_time_s", "SI %", "steady", "cadence"):
        assert word in out


def test_analyze_after_import_gives_the_same_strides(tmp_path):
    h5 = tmp_path / "c1.h5"
    assert run(["import", str(GAITNDD), "-o", str(h5), "--subject", "C01", "--session", "2"]) == 0
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run(["analyze", str(GAITNDD), "--strides", str(a)]) == 0
    assert run(["analyze", str(h5), "--strides", str(b)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))


def _garbage(p: Path) -> Path:
    (p / "x.bin").write_bytes(b"\x00garbage" * 10)
    return p / "x.bin"


def _flat_csv(p: Path) -> Path:
    rows = "".join(f"{i / 100:.2f},5,5\n" for i in range(3000))
    (p / "flat.csv").write_text("# sampling_rate_hz: 100\ntime_s,left_s1,right_s1\n" + rows)
    return p / "flat.csv"


@pytest.mark.parametrize(
    "make, needle",
    [(lambda p: p / "missing.h5", "missing.h5"), (_garbage, "x.bin"), (_flat_csv, "flat.csv")],
    ids=["missing", "unknown-format", "no-walking"],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, make, needle):
    src = make(tmp_path)
    out_csv, out_json = tmp_path / "out.csv", tmp_path / "out.json"
    assert run(["analyze", str(src), "--strides", str(out_csv), "--summary", str(out_json)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gaitpf: error:") and needle in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert not out_csv.exists() and not out_json.exists()
    assert not any(p.name.startswith(("out.csv", "out.json", ".out")) for p in tmp_path.iterdir())
