"""``gaitpf studio --autopilot``: a whole visit through the real window, offscreen and under Xvfb.

The first run (offscreen) creates a patient and records two trials from virtual insoles
through the BLE path, checks them, shows the progress and exports the report; the second
run comes back for a follow-up visit of the same patient under a real X server (Xvfb) with
Qt's xcb platform plugin, which needs the X11/xcb libraries of ``.ci/apt-packages.txt``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # this process's own window (pytest-qt)
os.environ.setdefault("QT_API", "pyside6")

import h5py
import pytest

ENV = {**os.environ, "QT_API": "pyside6"}
FAST = ["--simulate", "--speed", "8", "--trial-seconds", "2", "--n-boot", "200"]


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.fixture(scope="module")
def first_visit(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio") / "recordings"
    shots = root.parent / "shots"
    r = subprocess.run([sys.executable, "-m", "gaitpf.cli.main", "studio", "--root", str(root), *FAST, "--autopilot",
                        "--subject", "PF-T01", "--screenshots", str(shots), "--stats", str(root.parent / "s.json")],
                       capture_output=True, text=True, env={**ENV, "QT_QPA_PLATFORM": "offscreen"}, timeout=180)
    return root, shots, r


def test_autopilot_first_visit_offscreen(first_visit):
    root, shots, r = first_visit
    assert r.returncode == 0, r.stderr
    names = [p.name for p in sorted(shots.glob("*.png"))]
    assert names == ["01-new-patient-warning.png", "02-visit.png", "03-devices.png", "04-record.png", "05-trial-check.png",
                     "06-progress.png"]
    assert all(is_png(p) for p in shots.glob("*.png"))
    trials = sorted((root / "PF-T01" / "S1").glob("*.h5"))
    assert [p.name for p in trials] == ["T1.h5", "T2.h5"]
    for p in trials:
        with h5py.File(p, "r") as f:
            meta = json.loads(f.attrs["metadata"])
            assert (meta["pain_vas"], meta["session_no"], meta["affected_side"]) == (6.0, 1, "left")
            assert bool(f.attrs["closed_cleanly"]) and f.attrs["subject_id"] == "PF-T01"
            assert json.loads(f.attrs["source"])["mode"] == "simulate"       # virtual insoles, BLE path
    assert (root / "PF-T01-report.html").stat().st_size > 10_000
    assert (root / "PF-T01-report.pdf").read_bytes()[:4] == b"%PDF"
    stats = json.loads((root.parent / "s.json").read_text())
    assert stats["error"] is None and stats["first_trial_verdict"] in ("good", "check")
    log = json.loads((root / "PF-T01" / "S1" / "trials.json").read_text())
    assert log["T1"]["decision"] == "keep" and log["T2"]["decision"] == "finish"
    assert "2 clicks" not in r.stdout and "autopilot: visit of PF-T01 done" in r.stdout


def test_returning_patient_under_xvfb_with_the_xcb_plugin(first_visit, tmp_path):
    root0, _shots, r0 = first_visit
    assert r0.returncode == 0, r0.stderr
    root = tmp_path / "recordings"
    shutil.copytree(root0, root)
    xvfb = shutil.which("xvfb-run")
    assert xvfb, "xvfb-run is missing: run .ci/system-deps (Debian package xvfb)"
    env = {**ENV, "QT_QPA_PLATFORM": "xcb", "QT_DEBUG_PLUGINS": "0"}
    r = subprocess.run([xvfb, "-a", "-s", "-screen 0 1400x1000x24", sys.executable, "-m", "gaitpf.cli.main",
                        "studio", "--root", str(root), *FAST, "--autopilot", "--subject", "PF-T01", "--trials", "1",
                        "--stats", str(tmp_path / "s.json")], capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "could not load the Qt platform plugin" not in r.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["clicks_to_first_trial"] <= 5                           # the goal for a returning patient
    assert [p.name for p in (root / "PF-T01" / "S2").glob("*.h5")] == ["T1.h5"]
    with h5py.File(root / "PF-T01" / "S2" / "T1.h5", "r") as f:
        meta = json.loads(f.attrs["metadata"])
    assert meta["session_no"] == 2 and meta["treatment"] == "insoles + calf stretching"   # pre-filled


def test_a_killed_studio_keeps_the_recording_up_to_the_last_flush(qtbot, tmp_path):
    import signal
    import time

    from gaitpf.studio.app import StudioWindow
    from gaitpf.studio.devices import DeviceService

    root = tmp_path / "recordings"
    proc = subprocess.Popen([sys.executable, "-m", "gaitpf.cli.main", "studio", "--root", str(root), "--simulate",
                             "--speed", "4", "--autopilot", "--subject", "PF-K01", "--trial-seconds", "60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**ENV, "QT_QPA_PLATFORM": "offscreen"})
    path = root / "PF-K01" / "S1" / "T1.h5"
    frames = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and frames < 1000:
            time.sleep(0.3)
            try:
                with h5py.File(path, "r", swmr=True) as f:
                    frames = int(f["left"]["time_s"].shape[0])
            except (OSError, KeyError):
                continue
    finally:
        proc.send_signal(signal.SIGKILL)                 # the whole studio dies mid-trial
        proc.wait(10)
    assert frames >= 1000, proc.stderr.read().decode()[-2000:]
    win = StudioWindow(root, DeviceService())              # the next start says so and offers the repair
    qtbot.addWidget(win)
    assert win.unclean == [path] and "1 recording(s) were not closed cleanly" in win.patients.error.text()
    assert not win.patients.repair_button.isHidden()
    reports = win.repair_unclean()                        # a normal file again, marked as repaired
    assert reports[0].repaired and reports[0].frames["left"] >= frames
    assert win.unclean == [] and win.patients.repair_button.isHidden()
    with h5py.File(path, "r") as f:                       # (no SWMR needed to read it now)
        assert bool(f.attrs["repaired"]) and f["left"]["time_s"].shape[0] >= frames
