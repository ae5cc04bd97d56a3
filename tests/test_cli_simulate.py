"""`gaitpf simulate` end to end: real CLI → HDF5 file → read back → analysis recovers the truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis import analyze
from gaitpf.cli.main import main
from gaitpf.io import read_recording
from gaitpf.sim.gait_model import GaitParams, expected_metrics, simulate_trial


def _match(detected: pd.DataFrame, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """IC and TO errors (samples) of each detected stance against the nearest true IC."""
    true_ic = truth["ic_idx"].to_numpy()
    ic = detected["ic_idx"].to_numpy()
    j = np.clip(np.searchsorted(true_ic, ic), 1, len(true_ic) - 1)
    j = np.where(np.abs(true_ic[j - 1] - ic) <= np.abs(true_ic[j] - ic), j - 1, j)
    return ic - true_ic[j], detected["to_idx"].to_numpy() - truth["to_idx"].to_numpy()[j]


@pytest.fixture(scope="module")
def antalgic_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "antalgic.h5"
    main(["simulate", "-o", str(path), "--duration", "240", "--asymmetry", "10", "--load-asymmetry", "10",
          "--affected-side", "left", "--heel-offload", "40", "--seed", "5", "--subject", "p07", "--session", "3"])
    return path


def test_cli_writes_the_same_recording_as_the_model(antalgic_file, capsys):
    rec = read_recording(antalgic_file)
    params = GaitParams(step_time_asymmetry_pct=10, load_asymmetry_pct=10, affected_side="left",
                        heel_offload_pct=40, seed=5)
    ref, truth = simulate_trial(params, duration_s=240)
    assert rec.subject_id == "p07" and rec.session == "3" and rec.body_mass_kg == 70.0
    assert rec.source["importer"] == "simulate"
    assert rec.source["params"]["step_time_asymmetry_pct"] == 10.0
    assert rec.source["params"]["affected_side"] == "left"
    for side in ("left", "right"):
        assert np.array_equal(rec.feet[side].values, ref.feet[side].values)
        assert rec.feet[side].layout.layout_id == "gaitpf-16"
        assert rec.feet[side].unit == "N" and rec.sampling_rate_hz == 100.0
        pd.testing.assert_frame_equal(rec.truth[side].reset_index(drop=True)[["ic_idx", "to_idx"]], truth[side])
    assert list(rec.annotations["kind"]) == ["standing"] * 3


def test_cli_prints_one_summary_line(tmp_path, capsys):
    out = tmp_path / "one.h5"
    main(["simulate", "-o", str(out), "--duration", "30", "--sensors", "8", "--rate-hz", "200"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    rec = read_recording(out)
    n_left, n_right = len(rec.truth["left"]), len(rec.truth["right"])
    assert f"{n_left} left / {n_right} right strides" in lines[0] and "simulated 30 s" in lines[0]
    assert rec.feet["left"].values.shape == (6000, 8) and rec.sampling_rate_hz == 200.0


def test_analysis_recovers_true_events_and_asymmetry(antalgic_file):
    rec = read_recording(antalgic_file)
    result = analyze(rec)
    steady = result.strides[result.strides["steady"]]
    for side in ("left", "right"):
        rows = steady[steady["side"] == side]
        assert len(rows) >= 80
        d_ic, d_to = _match(rows, rec.truth[side])
        within = (np.abs(d_ic) <= 2) & (np.abs(d_to) <= 2)
        assert within.mean() >= 0.98
    want = expected_metrics(GaitParams(step_time_asymmetry_pct=10, affected_side="left"))["stance_time_si_pct"]
    si = result.summary["stance_time_s"]["si_pct"]  # (right − left) / mean, %: left (affected) shorter
    assert want == pytest.approx(10.0)
    assert si == pytest.approx(want, abs=1.5)
    assert result.summary["cadence_spm"] == pytest.approx(108.0, rel=0.03)
    heel = steady.groupby("side")["heel_load_pct"].median()
    assert heel["left"] < 0.75 * heel["right"]  # 40 % heel offload on the affected side


def test_symmetric_subject_has_near_zero_asymmetry(tmp_path):
    out = tmp_path / "sym.h5"
    main(["simulate", "-o", str(out), "--duration", "120", "--cadence-spm", "96", "--seed", "2"])
    result = analyze(read_recording(out))
    assert abs(result.summary["stance_time_s"]["si_pct"]) < 2.0
    assert result.summary["cadence_spm"] == pytest.approx(96.0, rel=0.03)


def test_thousand_sensel_file(tmp_path):
    out = tmp_path / "grid.h5"
    main(["simulate", "-o", str(out), "--duration", "16", "--sensors", "1000"])
    rec = read_recording(out)
    assert rec.feet["right"].values.shape == (1600, 1000)
    assert rec.feet["right"].layout.layout_id == "grid-1000"


def test_cli_error_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "bad.h5"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "-o", str(out), "--duration", "60", "--asymmetry", "10"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gaitpf: error:") and "affected_side" in err[0]
    assert not out.exists()
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "-o", str(out), "--duration", "5"])
    assert exc.value.code == 2 and "too short" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
