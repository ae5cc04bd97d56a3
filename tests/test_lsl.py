"""Lab Streaming Layer in and out, on loopback (tests/data/lsl_api_loopback.cfg keeps liblsl's
discovery on this machine): a pylsl outlet recorded with `--lsl-in`, and `--lsl-out`
frames and gait-event markers read back with pylsl inlets."""
from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("LSLAPICFG", str(Path(__file__).parent / "data" / "lsl_api_loopback.cfg"))

import numpy as np  # noqa: E402
import pylsl  # noqa: E402  (the 'lsl' extra is part of the 'test' extra)
import pytest  # noqa: E402

from gaitpf.acquisition.lsl_in import channels_from_labels, parse_channel_ranges  # noqa: E402
from gaitpf.cli.main import main  # noqa: E402
from gaitpf.errors import InputError  # noqa: E402
from gaitpf.io.hdf5 import read_hdf5  # noqa: E402
from gaitpf.model import QUALITY_GAP_BEFORE, SIDES  # noqa: E402
from gaitpf.sim.gait_model import GaitParams, simulate_trial  # noqa: E402


def test_channel_selection_from_labels_or_ranges():
    feet = channels_from_labels(["time", "Left_1", "left 2", "RIGHT_1", "right2"])
    assert feet["left"].tolist() == [1, 2] and feet["right"].tolist() == [3, 4]
    assert channels_from_labels(["ch1", "ch2", "left_1"]) == {}
    r = parse_channel_ranges("left=0-7, right=8-15", 16)
    assert r["left"].tolist() == list(range(8)) and r["right"].tolist() == list(range(8, 16))
    for bad in ("left=0-7", "left=0-7,right=8-16", "left=7-0,right=8-9", "feet=0-1"):
        with pytest.raises(InputError):
            parse_channel_ranges(bad, 16)


class _Sender(threading.Thread):
    """A pylsl outlet streaming a simulated trial in real time (chunks of 5, sender time stamps)."""

    def __init__(self, name: str, labels: list[str], values: np.ndarray, *, unit: str = "N",
                 layout_id: str | None = "gaitpf-16", skip: slice | None = None) -> None:
        super().__init__(daemon=True)
        info = pylsl.StreamInfo(name, "Pressure", len(labels), 100.0, "float32", name)
        ch = info.desc().append_child("channels")
        for lab in labels:
            c = ch.append_child("channel")
            c.append_child_value("label", lab)
            c.append_child_value("unit", unit)
        if layout_id:
            info.desc().append_child_value("layout_id", layout_id)
        self.outlet = pylsl.StreamOutlet(info)
        self.values, self.skip = values, skip
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = pylsl.local_clock()
        for k in range(0, len(self.values), 5):
            if self.stop.is_set():
                return
            due = t0 + k / 100.0
            self.stop.wait(max(0.0, due - pylsl.local_clock()))
            idx = [i for i in range(k, min(k + 5, len(self.values)))
                   if self.skip is None or not (self.skip.start <= i < self.skip.stop)]
            for i in idx:
                self.outlet.push_sample(self.values[i], t0 + i / 100.0)


def test_record_lsl_in_with_labels_then_analyze(tmp_path, capsys):
    rec, _ = simulate_trial(GaitParams(seed=2, n_sensors=16), duration_s=30)
    values = np.hstack([rec.feet["left"].values, rec.feet["right"].values])[300:]
    name = f"insoles-{uuid.uuid4().hex[:8]}"
    sender = _Sender(name, [f"left_{i}" for i in range(1, 17)] + [f"right_{i}" for i in range(1, 17)], values,
                     skip=slice(250, 400))               # the sender stops for 1.5 s
    sender.start()
    out = tmp_path / "lsl.h5"
    try:
        main(["record", "--lsl-in", name, "--duration", "6", "-o", str(out), "--subject", "L1", "--session", "1",
              "--quiet", "--body-mass-kg", "70"])
    finally:
        sender.stop.set()
    capsys.readouterr()
    got = read_hdf5(out)
    for side in SIDES:
        foot = got.feet[side]
        assert foot.n_sensors == 16 and foot.unit == "N" and foot.layout.layout_id == "gaitpf-16"
        assert foot.sampling_rate_hz == 100 and np.all(np.diff(foot.sample_counter) > 0)
        gaps = np.flatnonzero(foot.quality & QUALITY_GAP_BEFORE)
        assert gaps.size == 1 and np.diff(foot.sample_counter)[gaps[0] - 1] == 151    # 150 frames not sent
        # LSL-aligned time advances with the frames (the sender's 10 ms steps)
        assert np.allclose(np.median(np.diff(foot.time_s)), 0.01, atol=1e-4)
    # the first frame received is some row of the sender; every later frame follows by its counter
    left = got.feet["left"]
    i0 = int(np.flatnonzero(np.all(np.abs(values[:, :16] - left.values[0]) < 1e-3, axis=1))[0])
    c = left.sample_counter - left.sample_counter[0]
    assert np.allclose(left.values, values[i0 + c, :16], atol=1e-3)
    assert np.allclose(got.feet["right"].values, values[i0 + c, 16:], atol=1e-3)
    summary = tmp_path / "s.json"
    main(["analyze", str(out), "--summary", str(summary)])
    capsys.readouterr()
    assert json.loads(summary.read_text())["n_strides"]["left"] >= 2


def test_lsl_stream_without_feet_is_one_line_exit_2(tmp_path, capsys):
    name = f"nofeet-{uuid.uuid4().hex[:8]}"
    sender = _Sender(name, ["ch1", "ch2", "ch3"], np.zeros((500, 3), np.float32), layout_id=None)
    sender.start()
    try:
        with pytest.raises(SystemExit) as exc:
            main(["record", "--lsl-in", name, "--scan-timeout", "3", "--duration", "1",
                  "-o", str(tmp_path / "x.h5"), "--subject", "S", "--session", "1", "--quiet"])
    finally:
        sender.stop.set()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no channels labelled left" in err and "--lsl-channels" in err
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("argv", [["--lsl-in", "whatever"], ["--simulate", "--lsl-out"]])
def test_missing_pylsl_names_the_extra(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.setitem(sys.modules, "pylsl", None)
    flag = argv[0] if argv[0].startswith("--lsl") else argv[-1]
    with pytest.raises(SystemExit) as exc:
        main(["record", *argv, "--duration", "1", "-o", str(tmp_path / "x.h5"),
              "--subject", "S", "--session", "1", "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'gaitpf[lsl]'" in err and flag in err
    assert not (tmp_path / "x.h5").exists()


def test_record_simulate_lsl_out_publishes_frames_and_gait_events(tmp_path, capsys):
    got: dict = {"frames": [], "stamps": [], "markers": [], "marker_stamps": [], "labels": []}
    stop = threading.Event()

    def listen() -> None:
        frames = pylsl.resolve_bypred("starts-with(name,'gaitpf') and type='Pressure'", 1, 20)
        markers = pylsl.resolve_bypred("starts-with(name,'gaitpf') and type='Markers'", 1, 20)
        fi, mi = pylsl.StreamInlet(frames[0]), pylsl.StreamInlet(markers[0])
        ch = fi.info().desc().child("channels").child("channel")
        while not ch.empty():
            got["labels"].append(ch.child_value("label"))
            ch = ch.next_sibling()
        while not stop.is_set():
            d, ts = fi.pull_chunk(timeout=0.05)
            got["frames"] += d
            got["stamps"] += ts
            m, mts = mi.pull_chunk(timeout=0.0)
            got["markers"] += [x[0] for x in m]
            got["marker_stamps"] += list(mts)

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    out = tmp_path / "pub.h5"
    try:
        main(["record", "--simulate", "--speed", "4", "--duration", "16", "--sensors", "8", "--lsl-out",
              "-o", str(out), "--subject", "P", "--session", "1", "--quiet"])
        time.sleep(0.3)
    finally:
        stop.set()
        th.join(5)
    capsys.readouterr()
    assert got["labels"] == [f"left_{i}" for i in range(1, 9)] + [f"right_{i}" for i in range(1, 9)]
    frames = np.asarray(got["frames"])
    assert frames.shape[1] == 16 and len(frames) > 500
    assert np.all(np.diff(got["stamps"]) > 0)
    both = np.isfinite(frames).all(axis=1)
    assert both.mean() > 0.95                                  # left and right paired into one sample
    for label in ("left IC", "left TO", "right IC", "right TO"):
        assert got["markers"].count(label) >= 2, got["markers"]
    # each marker is stamped at its event: IC where that foot's load rises, TO where it ends
    stamps = np.asarray(got["stamps"])
    checked = 0
    for label, t in zip(got["markers"], got["marker_stamps"]):
        if not stamps[0] + 0.1 < t < stamps[-1] - 0.1:     # the inlet may have joined after an early event
            continue
        checked += 1
        side, kind = label.split()
        cols = slice(0, 8) if side == "left" else slice(8, 16)
        load = np.nansum(frames[:, cols], axis=1)
        k = int(np.argmin(np.abs(stamps - t)))
        assert abs(stamps[k] - t) < 0.02                       # on the frames' own time stamps
        before, after = load[max(k - 5, 0): k].mean(), load[k + 1: k + 6].mean()
        assert (after > before) if kind == "IC" else (after < before), (label, before, after)
    assert checked >= 6
    assert json.loads(__import__("h5py").File(out, "r").attrs["source"])["lsl_out"]["frames"].startswith("gaitpf")


def test_no_such_lsl_stream_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["record", "--lsl-in", f"absent-{uuid.uuid4().hex[:8]}", "--scan-timeout", "0.5", "--duration", "1",
              "-o", str(tmp_path / "x.h5"), "--subject", "S", "--session", "1", "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no LSL stream named" in err
    assert not (tmp_path / "x.h5").exists()
