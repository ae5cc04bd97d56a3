"""``gaitpf live`` end to end: replay, attach to a growing file, bad input (headless)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from gaitpf.cli.main import main
from gaitpf.io import write_recording
from gaitpf.model import Recording
from gaitpf.sim.gait_model import GaitParams, WalkingBouts, simulate_trial

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyside6"}


def gaitpf(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gaitpf.cli.main", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


@pytest.fixture(scope="module")
def trial(tmp_path_factory) -> Recording:
    params = GaitParams(seed=5, step_time_asymmetry_pct=6.0, affected_side="right",
                        walking_bouts=WalkingBouts(standing_start_s=0.5, standing_end_s=0.5, pause_s=1.0))
    rec, _ = simulate_trial(params, duration_s=30.0)
    return rec


def test_replay_screenshot_and_stats(tmp_path, trial):
    src = tmp_path / "trial.h5"
    write_recording(src, trial)
    shot, stats = tmp_path / "out.png", tmp_path / "s.json"
    r = gaitpf("live", "--replay", str(src), "--speed", "10", "--screenshot", str(shot), "--after", "2",
               "--stats", str(stats))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert is_png(shot)
    s = json.loads(stats.read_text())
    assert s["frames"]["left"] > 500 and s["frames"]["right"] > 500   # ~2 s × 10 × 100 Hz
    assert s["frames_drawn"] > 0 and s["fps_drawn"] > 0
    assert s["latency_ms"]["p50"] is not None and s["latency_ms"]["p99"] >= s["latency_ms"]["p50"]
    assert sum(s["n_strides"].values()) > 5
    assert s["source_error"] is None


def test_attach_follows_a_recorder_then_reports_when_it_stops(tmp_path):
    out = tmp_path / "growing.h5"
    rec = subprocess.Popen([sys.executable, "-m", "gaitpf.cli.main", "record", "--simulate", "-o", str(out),
                            "--subject", "S1", "--session", "1", "--quiet", "--flush-interval", "0.2"],
                           env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stats = tmp_path / "a.json"
        r = gaitpf("live", "--attach", str(out), "--screenshot", str(tmp_path / "a.png"), "--after", "2.5",
                   "--stats", str(stats))
        assert r.returncode == 0, r.stderr
        s = json.loads(stats.read_text())
        assert s["frames"]["left"] > 100 and s["frames"]["right"] > 100
        assert is_png(tmp_path / "a.png")
        # the recorder dies without closing the file: the viewer says so (window + stderr), exit 2
        rec.send_signal(signal.SIGKILL)
        rec.wait(10)
        stats2 = tmp_path / "b.json"
        r = gaitpf("live", "--attach", str(out), "--stall-timeout", "1", "--screenshot", str(tmp_path / "b.png"),
                   "--after", "2.5", "--stats", str(stats2))
        assert r.returncode == 2
        assert "recorder stopped writing" in r.stderr and "Traceback" not in r.stderr
        s2 = json.loads(stats2.read_text())
        assert any("stopped writing" in m["text"] and m["level"] == "error" for m in s2["messages"])
        assert is_png(tmp_path / "b.png")
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait(10)


def test_not_a_gaitpf_recording_is_one_line_exit_2(tmp_path, capsys):
    text = tmp_path / "notes.h5"
    text.write_text("hello\n")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    for path, words in ((text, "not an HDF5 file"), (foreign, "not a gaitpf recording")):
        with pytest.raises(SystemExit) as exc:
            main(["live", "--replay", str(path), "--screenshot", str(tmp_path / "x.png")])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("gaitpf: error:") and words in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(SystemExit) as exc:
        main(["live", "--replay", str(text), "--attach", str(text)])
    assert exc.value.code == 2 and "exactly one source" in capsys.readouterr().err


def test_one_foot_recording_is_shown_with_a_warning(tmp_path, trial):
    one = Recording(feet={"left": trial.feet["left"]}, subject_id="sim", body_mass_kg=70.0)
    src = tmp_path / "left_only.h5"
    write_recording(src, one)
    stats = tmp_path / "s.json"
    r = gaitpf("live", "--replay", str(src), "--speed", "10", "--screenshot", str(tmp_path / "o.png"),
               "--after", "1", "--stats", str(stats))
    assert r.returncode == 0, r.stderr
    assert "one foot only" in r.stderr and "Traceback" not in r.stderr
    s = json.loads(stats.read_text())
    assert list(s["frames"]) == ["left"] and s["frames"]["left"] > 100
    assert is_png(tmp_path / "o.png")
