"""Studio recording through the BLE path (virtual insoles): a link drop, a nearly full disk.

One studio window with the virtual-insole harness (4x real time) records: a trial in
which the left insole walks out of range for a moment (the gap is shown live and in the
check, the trial is flagged), a trial stopped because the disk is nearly full (the free
space check is monkeypatched: the file is closed cleanly with what was written, the error
is shown, the check flags it), auto-stop after N strides, marks, and the decisions.
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import h5py
import pytest

from gaitpf.sim.gait_model import GaitParams


@pytest.fixture
def studio(qtbot, tmp_path):
    from gaitpf.studio.app import StudioWindow
    from gaitpf.studio.devices import DeviceService

    service = DeviceService(simulate=True, gait=GaitParams(seed=3, n_sensors=16), speed=4.0).start()
    win = StudioWindow(tmp_path, service)
    qtbot.addWidget(win)
    win.show()
    win.store.create_patient("PF050", affected_side="left", body_mass_kg=70)
    win.start_visit("PF050")
    win.visit.pain.setText("5")
    assert win.visit.save()
    assert win.current_tab() == "devices"                 # nothing assigned yet: devices first, scan started
    qtbot.waitUntil(lambda: not win.devices.scanning and len(win.devices.adverts) >= 2, timeout=15000)
    for side in ("left", "right"):
        win.devices.select_address(service.default_addresses()[side])
        assert win.devices.assign_selected(side)
    assert win.current_tab() == "record"
    yield win
    win.close()


def _record_until_strides(qtbot, win, n=2):
    assert win.record.start()
    qtbot.waitUntil(lambda: win.record.trial.buffer is not None and
                    min(win.record.trial.buffer.snapshot(last_s=0.01).metrics["n_strides"].values()) >= n,
                    timeout=20000)


def test_link_drop_disk_full_auto_stop_and_decisions(qtbot, studio, monkeypatch):
    win = studio
    svc = win.service
    # 1) a link drops mid-trial: shown live (banner, gaps), the trial is flagged
    _record_until_strides(qtbot, win)
    qtbot.waitUntil(lambda: "left</b>: link <b style='color:#2e7d32'>streaming" in win.devices.link.text(), timeout=5000)
    svc.submit(svc.harness.drop_link("left", for_s=1.0)).result(5)
    qtbot.waitUntil(lambda: "LINK LOST" in win.record.live.banner.text(), timeout=10000)
    qtbot.waitUntil(lambda: "left</b>: link <b style='color:#c62828'>" in win.devices.link.text(), timeout=5000)
    qtbot.waitUntil(lambda: win.record.live.last_snapshot.sides["left"].gaps >= 1, timeout=20000)
    assert "gaps 1" in win.record.live.status_label.text()
    win.record.mark()
    win.record.stop()
    qtbot.waitUntil(lambda: win.current_tab() == "check", timeout=20000)
    chk = win.last_check
    assert chk.gaps["left"] >= 1 and chk.verdict in ("check", "unusable")
    assert any("left: link lost" in r for r in chk.reasons) and "link lost" in win.check.reasons.text()
    log = json.loads((win.root / "PF050" / "S1" / "trials.json").read_text())
    assert len(log["T1"]["marks"]) == 1 and log["T1"]["check"]["gaps"]["left"] >= 1
    from gaitpf.io import read_recording
    ann = read_recording(win.root / "PF050" / "S1" / "T1.h5").annotations
    marker = ann[ann["kind"] == "marker"]                 # the mark is in the file too, at its data time
    assert list(marker["description"]) == ["mark 1"]
    assert marker["onset_s"].iloc[0] == pytest.approx(log["T1"]["marks"][0]["time_s"], abs=0.5)
    win.check.buttons["discard"].click()
    assert (win.root / "PF050" / "S1" / ".discarded" / "T1.h5").exists()
    assert json.loads((win.root / "PF050" / "S1" / "trials.json").read_text())["T1"]["decision"] == "discard"

    # 2) auto-stop after N strides, named T2, metadata of the visit in the file
    win.record.auto_stop.setValue(4)
    assert win.current_tab() == "record" and win.record.start()
    qtbot.waitUntil(lambda: win.current_tab() == "check", timeout=30000)
    t2 = win.last_trial
    assert t2.trial == "T2" and t2.stop_reason == "4 strides" and t2.error is None
    with h5py.File(t2.path, "r") as f:
        assert json.loads(f.attrs["metadata"])["pain_vas"] == 5.0 and bool(f.attrs["closed_cleanly"])
    win.check.buttons["keep"].click()
    win.record.auto_stop.setValue(0)

    # 3) the disk is nearly full: the recorder stops cleanly, the window says so, the check flags it
    import gaitpf.recording.recorder_writer as rw

    calls = {"n": 0}

    def low_space(path):
        calls["n"] += 1
        return 10 * 2**30 if calls["n"] < 8 else 2**20   # fine for a few flushes, then 1 MiB left

    monkeypatch.setattr(rw, "headroom_bytes", low_space)
    assert win.record.start()
    qtbot.waitUntil(lambda: win.current_tab() == "check", timeout=30000)
    t3 = win.last_trial
    assert t3.trial == "T3" and t3.state == "failed" and "disk is nearly full" in t3.error
    assert "disk is nearly full" in win.record.error.text()
    assert win.last_check.verdict in ("check", "unusable")
    assert any("recording stopped early" in r for r in win.last_check.reasons)
    with h5py.File(t3.path, "r") as f:                    # what was written is a normal, closed file
        assert bool(f.attrs["closed_cleanly"]) and f["left"]["time_s"].shape[0] > 0
