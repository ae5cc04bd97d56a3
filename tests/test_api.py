"""The researcher's Python API: printable objects, indexed tables with ids and units, and the
session functions (subjects/progress/compare/cohort) returning DataFrames with nothing left out silently."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gaitpf
from gaitpf.cli.main import main
from gaitpf.sim.gait_model import GaitParams, simulate_trial

from session_fixtures import build_subject, meta, write_trial


@pytest.fixture(scope="module")
def result():
    rec, _ = simulate_trial(GaitParams(seed=3), duration_s=40.0)
    rec = rec.replace(subject_id="PF09", session="2", trial="3")
    return rec, gaitpf.analyze(rec)


def test_objects_print_as_one_line_summaries(result):
    rec, res = result
    text = repr(rec)
    assert text == str(rec) and "\n" not in text and len(text) < 200
    assert text.startswith("Recording(subject=PF09, session=2, trial=3, 2 feet × 16 sensors @ 100 Hz, 40.0 s")
    assert repr(rec.feet["left"]).startswith("FootSignals(left, 16 sensors @ 100 Hz, 40.0 s, N")
    line = repr(res)
    assert "\n" not in line and line.startswith("AnalysisResult(subject=PF09, session=2, trial=3")
    n = res.summary["n_steady_strides"]["left"]
    assert f"left {n}/{res.summary['n_strides']['left']}" in line


def test_tables_are_indexed_typed_and_carry_ids_rate_and_units(result):
    rec, res = result
    sym = res.symmetry
    assert list(sym.index) == list(sym["metric"])
    assert sym.loc["stance_time_s", "left_n"] == res.summary["n_steady_strides"]["left"]
    assert sym["left_n"].dtype == np.int64
    row = res.summary["metrics"]["stance_time_s"]
    assert type(row["left_n"]) is int and type(row["right_n"]) is int
    for table in (res.strides, sym):
        assert table.attrs["subject_id"] == "PF09" and table.attrs["session"] == "2" and table.attrs["trial"] == "3"
        assert table.attrs["sampling_rate_hz"] == 100.0
    units = res.strides.attrs["units"]
    assert units["stance_time_s"] == "s" and units["ic_idx"] == "sample index" and units["impulse_n_s"] == "N·s"
    assert units["peak_force_1_pct_bw"] == "% body weight" and units["cadence_spm"] == "steps/min"


def test_summary_row_names_do_not_repeat(result):
    _, res = result
    row = res.summary_row()
    assert len(row) == 1
    cols = set(row.columns)
    assert {"pci_pct", "trend_symmetry", "trend_symmetry_aligned", "pci_phi_abs_deg", "n_strides_left",
            "stance_time_s_si_pct", "subject_id"} <= cols
    assert not [c for c in cols if "pci_pci" in c or "trend_symmetry_trend_symmetry" in c]
    assert row.loc[0, "pci_pct"] == pytest.approx(res.summary["pci"]["pci_pct"])
    assert row["n_strides_left"].dtype == np.int64


def test_analysis_pipeline_module_and_public_names():
    import gaitpf.analysis
    import gaitpf.analysis.pipeline

    assert gaitpf.analyze is gaitpf.analysis.analyze is gaitpf.analysis.pipeline.analyze
    assert {"subjects", "progress", "compare", "cohort"} <= set(dir(gaitpf))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    build_subject(root, "PF10", asyms=(10.0, 5.0), seed=1)
    build_subject(root, "PF11", asyms=(10.0, 9.0), seed=2, treatment="stretching")
    # stored ids disagree with the folders: warned about, the stored ids win
    write_trial(root, "PF11", "S3", "T1", asym=8.0, seed=5, metadata=meta(3, treatment="stretching"))
    moved = root / "PF11" / "S3" / "T1.h5"
    (root / "PF10" / "S9").mkdir()
    moved.rename(root / "PF10" / "S9" / "T1.h5")
    (root / "PF10" / "notes.txt").write_text("walked in own shoes\n")
    (root / "PF10" / "patient.json").write_text("{}")           # gaitpf's own notes: not a recording
    (root / "PF10" / "S1" / "broken.h5").write_bytes(b"not hdf5")
    return root


def test_subjects_lists_sessions_unreadable_files_and_folder_mismatches(study):
    table = gaitpf.subjects(study)
    assert list(table.index) == ["PF10", "PF11"]
    assert table.loc["PF11", "sessions"] == "S1, S2, S3" and table.loc["PF11", "n_sessions"] == 3
    assert table["n_recordings"].dtype == np.int64
    assert [s for s in table.attrs["left_out"] if s.startswith("PF10/S1/broken.h5: unreadable")]
    (w,) = table.attrs["warnings"]
    assert w.startswith("PF10/S9/T1.h5: the file stores subject 'PF11' (folder 'PF10') and session 'S3'")


def test_progress_and_compare_return_tables_with_ids(study):
    prog = gaitpf.progress("PF10", root=study, n_boot=300)
    assert isinstance(prog, pd.DataFrame) and set(prog["subject_id"]) == {"PF10"}
    assert list(prog.columns[:3]) == ["subject_id", "label", "session"]
    assert prog.attrs["subject_id"] == "PF10" and prog.attrs["baseline"] == "S1"
    assert any("broken.h5" in x for x in prog.attrs["left_out"])
    assert any(x.startswith("PF10/notes.txt: not a gaitpf .h5 recording") for x in prog.attrs["left_out"])
    moved = gaitpf.progress("PF11", root=study, n_boot=300)
    assert set(moved["session"]) == {"S1", "S2", "S3"}          # the stored ids, not the folder
    assert any(w.startswith("PF10/S9/T1.h5: the file stores subject 'PF11'") for w in moved.attrs["warnings"])
    files = sorted((study / "PF11").rglob("*.h5"))
    cmp = gaitpf.compare(files, n_boot=300)
    assert set(cmp["session"]) == {"S1", "S2"} and cmp.attrs["headline"]


def test_cohort_lists_every_file_it_does_not_analyze_and_has_numeric_columns(study, tmp_path, capsys):
    table = gaitpf.cohort(study, n_boot=300)
    a = table.attrs
    assert a["n_recordings"] == 5 and a["n_files"] == 7   # 5 readable, broken.h5, notes.txt
    assert a["n_subjects"] == 2
    text = " | ".join(a["left_out"])
    assert "PF10/notes.txt: not a gaitpf .h5 recording" in text and "gaitpf import" in text
    assert "broken.h5: unreadable" in text and "patient.json" not in text
    assert a["warnings"] and "PF10/S9/T1.h5" in a["warnings"][0]
    for col in ("walking_speed_m_s", "pain_vas", "value", "mdc95", "days_since_baseline"):
        assert table[col].dtype == np.float64, col
    assert str(table["n_steady_left"].dtype) == "Int64"
    in_units = table[table["statistic"].isin(["left_mean", "right_mean", "lr_difference", "change_rel_pct"])]
    assert in_units["mdc95"].isna().all()
    asym = table[(table["statistic"] == "asymmetry") & (table["metric"] == "stance_time_s")]
    assert asym["mdc95"].notna().all() and set(asym["value_unit"]) == {"% (index points)"}
    assert set(table.loc[table["statistic"] == "left_mean", "value_unit"].dropna()) >= {"s"}
    main(["cohort", str(study), "-o", str(tmp_path / "c.csv"), "--n-boot", "300", "--plot", "none"])
    out, err = capsys.readouterr()
    assert "7 file(s) under" in out and "5 recording(s) analyzed, 2 file(s) left out" in out
    assert "left out: PF10/notes.txt" in err and "warning: PF10/S9/T1.h5" in err


def test_subjects_and_sessions_commands_list_what_they_leave_out(study, capsys):
    main(["sessions", "PF10", "--root", str(study), "--n-boot", "300"])
    assert "left out: PF10/notes.txt: not a gaitpf .h5 recording" in capsys.readouterr().err
    main(["subjects", str(study)])
    out, err = capsys.readouterr()
    assert "2 subject(s)" in out and "PF11" in out and "S1, S2, S3" in out
    assert "warning: PF10/S9/T1.h5" in err and "left out: PF10/S1/broken.h5" in err


def test_one_csv_rule_for_the_rate_and_analyze_params(tmp_path, capsys):
    from gaitpf.errors import FormatError, InputError
    from gaitpf.io.csvfmt import write_csv_recording

    rec, _ = simulate_trial(GaitParams(seed=4), duration_s=30.0)
    with_rate = tmp_path / "walk.csv"
    write_csv_recording(with_rate, rec)
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(l for l in with_rate.read_text().splitlines(True) if "sampling_rate_hz" not in l))
    with pytest.raises(FormatError, match=r"no sampling rate: pass --rate-hz HZ .*suggests 100 Hz"):
        gaitpf.read_recording(bare)
    assert gaitpf.read_recording(bare, sampling_rate_hz=100.0).sampling_rate_hz == 100.0
    with pytest.raises(FormatError, match="the header says 100 Hz but --rate-hz 50 was given"):
        gaitpf.read_recording(with_rate, sampling_rate_hz=50.0)
    h5 = tmp_path / "walk.h5"
    main(["import", str(bare), "-o", str(h5), "--rate-hz", "100"])
    with pytest.raises(InputError, match="--rate-hz is only for CSV files"):
        gaitpf.read_recording(h5, sampling_rate_hz=100.0)
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(bare)])
    assert exc.value.code == 2 and "--rate-hz" in capsys.readouterr().err
    params = tmp_path / "params.json"
    params.write_text('{"strides": {"max_stride_s": 1.0}}')     # every stride is longer: none steady
    main(["analyze", str(bare), "--rate-hz", "100", "--params", str(params), "--summary", str(tmp_path / "s.json")])
    import json

    s = json.loads((tmp_path / "s.json").read_text())
    assert s["params"]["strides"]["max_stride_s"] == 1.0
    default = gaitpf.analyze(gaitpf.read_recording(h5)).summary
    assert sum(s["n_steady_strides"].values()) < sum(default["n_steady_strides"].values())
    params.write_text('{"stride": {}}')
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(h5), "--params", str(params)])
    assert exc.value.code == 2 and "params.json: unknown analysis parameter group" in capsys.readouterr().err


def test_researcher_walkthrough_example_runs_to_a_figure(tmp_path, capsys):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "docs" / "examples" / "researcher_walkthrough.py"
    png = runpy.run_path(str(script))["main"](["-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert png == tmp_path / "walkthrough.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000
    assert "2 feet × 1 sensor @ 300 Hz, 300.0 s" in out and "AnalysisResult(" in out
    assert "stance_time_s" in out and "C01" in out


def test_long_commands_show_a_transient_spinner_on_terminals_only():
    import io

    from rich.console import Console

    from gaitpf.cli.feedback import working

    buf = io.StringIO()
    with working("cohort of ROOT", console=Console(file=buf, force_terminal=True)) as step:
        step("bootstrapping")
    assert "cohort of ROOT" in buf.getvalue()
    quiet = io.StringIO()
    with working("cohort of ROOT", console=Console(file=quiet, force_terminal=False)) as step:
        step("bootstrapping")
    assert quiet.getvalue() == ""
