"""The recorder: sources → writer thread → growing SWMR HDF5 file, identical frames, gaps, status."""
from __future__ import annotations

import asyncio
import json
import math
import sys
import textwrap

import h5py
import numpy as np
import pytest

from gaitpf.recording.recorder import Recorder, RecorderStatus
from gaitpf.recording.replay import ReplaySource, SimulatedSource
from gaitpf.acquisition.source import FrameBlock, LinkEvent, SourceStatus
from gaitpf.errors import OutputError
from gaitpf.io.hdf5 import file_info, read_hdf5
from gaitpf.model import QUALITY_GAP_BEFORE, SIDES
from gaitpf.sim.gait_model import GaitParams, GaitSimulator, WalkingBouts

FS = 100.0
PARAMS = GaitParams(seed=3, walking_bouts=WalkingBouts(standing_start_s=1.0, standing_end_s=1.0, pause_s=1.0))


class ListSource:
    """A source that yields a fixed list of items (hand-made blocks and link events)."""

    sampling_rate_hz = FS
    unit = "N"

    def __init__(self, items, n_sensors=2):
        self.items = items
        self.n_sensors = n_sensors
        self._status = SourceStatus()
        self.t0_monotonic = None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    def foot_specs(self):
        return {s: {"n_sensors": self.n_sensors, "unit": "N", "sampling_rate_hz": FS, "layout": None,
                    "device": {"model": "list"}} for s in SIDES}

    def status(self):
        return self._status

    def __aiter__(self):
        return self._gen()

    async def _gen(self):
        for item in self.items:
            await asyncio.sleep(0)
            yield item


def block(side, counters, value=1.0, quality=None):
    c = np.asarray(counters, dtype=np.int64)
    m = len(c)
    return FrameBlock(side=side, values=np.column_stack([c * value, -c * value]).astype(np.float32),
                      sample_counter=c, device_time_s=c / FS, host_time_s=c / FS + 0.02, time_s=c / FS,
                      quality=np.zeros(m, np.uint8) if quality is None else np.asarray(quality, np.uint8),
                      battery_pct=55.0)


async def test_duplicates_dropped_gaps_marked_and_annotated(tmp_path):
    out = tmp_path / "hand.h5"
    items = [
        block("left", range(0, 10)),
        block("right", range(0, 10)),
        block("left", range(8, 15)),          # 8, 9 are duplicates
        LinkEvent("left", "disconnected", 0.15, {"reason": "test"}),
        block("left", range(20, 25)),         # 15..19 lost: a gap of 5 frames
        block("right", [10, 11, 13]),         # 12 lost inside a block
    ]
    statuses = []
    rec = Recorder(ListSource(items), out, subject_id="S01", session="2", trial="a",
                   status_callback=statuses.append)
    res = await rec.run()
    assert res.frames == {"left": 20, "right": 13}
    assert res.dropped_frames == {"left": 2, "right": 0}
    assert res.lost_frames == {"left": 5, "right": 1}
    assert res.gaps == {"left": 1, "right": 1}
    assert res.stop_reason == "source-ended"

    r = read_hdf5(out)
    left, right = r.feet["left"], r.feet["right"]
    np.testing.assert_array_equal(left.sample_counter, np.r_[0:15, 20:25])
    np.testing.assert_array_equal(left.values[:, 0], np.r_[0:15, 20:25].astype(np.float32))
    np.testing.assert_array_equal(np.flatnonzero(left.quality & QUALITY_GAP_BEFORE), [15])
    np.testing.assert_array_equal(right.sample_counter, np.r_[0:12, 13])
    np.testing.assert_array_equal(np.flatnonzero(right.quality & QUALITY_GAP_BEFORE), [12])
    ann = r.annotations
    gaps = ann[ann["kind"] == "gap"].set_index("side")
    # left: last frame before the gap at 0.14 s -> gap starts 0.15 s, first frame after at 0.20 s
    assert gaps.loc["left", "onset_s"] == pytest.approx(0.15)
    assert gaps.loc["left", "duration_s"] == pytest.approx(0.05)
    assert gaps.loc["right", "onset_s"] == pytest.approx(0.12)
    assert gaps.loc["right", "duration_s"] == pytest.approx(0.01)
    link = ann[ann["kind"] == "link"]
    assert list(link["side"]) == ["left"] and link["description"].iloc[0].startswith("disconnected")
    assert r.subject_id == "S01" and r.session == "2" and r.trial == "a"

    info = file_info(out)
    assert info["closed_cleanly"] is True
    assert info["feet"]["left"]["n_lost_frames"] == 5 and info["feet"]["right"]["n_lost_frames"] == 1
    with h5py.File(out, "r") as f:
        np.testing.assert_allclose(f["left/host_time_s"][:3], np.r_[0:3] / FS + 0.02)
    assert statuses and statuses[-1].battery_pct["left"] == 55.0
    assert "lost 5" in statuses[-1].line()


async def test_simulated_source_to_file_identical_to_model_frames(tmp_path):
    out = tmp_path / "sim.h5"
    drop = [("left", 333, 12), ("right", 700, 1)]
    src = SimulatedSource(PARAMS, duration_s=12.0, speed=math.inf, chunk_s=0.07, drop=drop)
    res = await Recorder(src, out, subject_id="S", session="1", flush_interval_s=0.05).run()
    expected = GaitSimulator(PARAMS, 12.0).render(0, 1200)
    r = read_hdf5(out)
    for side, (_, a, n) in zip(SIDES, drop):
        keep = np.ones(1200, bool)
        keep[a:a + n] = False
        foot = r.feet[side]
        np.testing.assert_array_equal(foot.values, expected[side][keep])
        np.testing.assert_array_equal(foot.sample_counter, np.flatnonzero(keep))
        np.testing.assert_allclose(foot.time_s, np.flatnonzero(keep) / FS)
        np.testing.assert_array_equal(np.flatnonzero(foot.quality & QUALITY_GAP_BEFORE), [a])
        assert res.lost_frames[side] == n and res.frames[side] == 1200 - n
    assert len(r.annotations[r.annotations["kind"] == "gap"]) == 2
    assert r.feet["left"].layout.layout_id == "gaitpf-16"

    # replaying the file and recording the replay reproduces it frame for frame
    out2 = tmp_path / "replayed.h5"
    res2 = await Recorder(ReplaySource(out, speed=math.inf, block_s=0.13), out2, subject_id="S",
                          session="1").run()
    r2 = read_hdf5(out2)
    for side in SIDES:
        a, b = r.feet[side], r2.feet[side]
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.sample_counter, b.sample_counter)
        np.testing.assert_array_equal(a.quality, b.quality)
        np.testing.assert_array_equal(a.time_s, b.time_s)
    assert res2.lost_frames == res.lost_frames
    np.testing.assert_allclose(r2.annotations[["onset_s", "duration_s"]].to_numpy(),
                               r.annotations[["onset_s", "duration_s"]].to_numpy())


async def test_replay_yields_every_frame_in_time_order(tmp_path):
    from gaitpf.errors import InputError
    from gaitpf.io.hdf5 import write_hdf5
    from gaitpf.model import FootSignals, Recording

    n = 95
    feet = {s: FootSignals(side=s, values=np.arange(n * 2, dtype=np.float32).reshape(n, 2) + k,
                           unit="N", sampling_rate_hz=FS, sample_counter=np.arange(n) + 7 * k,
                           time_s=np.arange(n) / FS + 0.003 * k)
            for k, s in enumerate(SIDES)}
    path = tmp_path / "small.h5"
    write_hdf5(path, Recording(feet=feet))
    items = []
    async with ReplaySource(path, speed=40.0, block_s=0.1) as src:
        assert src.foot_specs()["right"]["n_sensors"] == 2
        async for item in src:
            items.append(item)
    assert [(b.side, b.n_frames) for b in items[:2]] == [("left", 10), ("right", 10)]
    starts = [b.time_s[0] for b in items]
    assert all(b >= a - 0.1 for a, b in zip(starts, starts[1:]))
    for k, side in enumerate(SIDES):
        blocks = [b for b in items if b.side == side]
        np.testing.assert_array_equal(np.concatenate([b.sample_counter for b in blocks]), np.arange(n) + 7 * k)
        np.testing.assert_array_equal(np.concatenate([b.values for b in blocks]), feet[side].values)
        # no host time in the file: the aligned time stands in for it
        np.testing.assert_allclose(np.concatenate([b.host_time_s for b in blocks]), feet[side].time_s)
    with pytest.raises(InputError, match="speed"):
        ReplaySource(path, speed=0)


READER = textwrap.dedent(
    """
    import json, sys, time, h5py
    path, target = sys.argv[1], int(sys.argv[2])
    seen, deadline = [], time.monotonic() + 60
    f = h5py.File(path, "r", swmr=True)
    ds = f["left/sample_counter"]
    while time.monotonic() < deadline:
        ds.refresh()
        n = ds.shape[0]
        if not seen or n != seen[-1][0]:
            data = ds[:n]
            seen.append((n, bool((data == list(range(n))).all()) if n else True))
        if n >= target:
            break
        time.sleep(0.02)
    f.close()
    print(json.dumps(seen))
    """
)


async def test_concurrent_swmr_reader_in_another_process_sees_the_file_grow(tmp_path):
    out = tmp_path / "live.h5"
    src = SimulatedSource(PARAMS, duration_s=None, speed=4.0, chunk_s=0.05)
    rec = Recorder(src, out, subject_id="S", session="1", flush_interval_s=0.1, duration_s=60)
    task = asyncio.create_task(rec.run())
    while rec.status().written_frames["left"] == 0:
        assert not task.done(), task.exception() if task.done() else None
        await asyncio.sleep(0.05)
    target = rec.status().written_frames["left"] + 600
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", READER, str(out), str(target),
                                                stdout=asyncio.subprocess.PIPE)
    stdout, _ = await proc.communicate()
    rec.request_stop("test")
    res = await task
    seen = json.loads(stdout)
    lengths = [n for n, _ in seen]
    assert lengths[-1] >= target, seen
    assert len(lengths) >= 3 and lengths == sorted(lengths), seen  # grew in several steps
    assert all(ok for _, ok in seen)                                # always a consistent prefix
    assert res.stop_reason == "test"
    assert file_info(out)["closed_cleanly"] is True
    assert read_hdf5(out).feet["left"].n_samples == res.frames["left"] >= target


async def test_duration_limit_and_request_stop(tmp_path):
    res = await Recorder(SimulatedSource(PARAMS, speed=1.0), tmp_path / "d.h5", subject_id="S", session="1",
                         duration_s=0.6, status_interval_s=0.1).run()
    assert res.stop_reason == "duration"
    info = file_info(tmp_path / "d.h5")
    assert info["closed_cleanly"] is True and info["feet"]["left"]["frames"] == res.frames["left"] > 0

    rec = Recorder(SimulatedSource(PARAMS, speed=1.0), tmp_path / "s.h5", subject_id="S", session="1")
    task = asyncio.create_task(rec.run())
    await asyncio.sleep(0.5)
    rec.request_stop("interrupted")
    res = await task
    assert res.stop_reason == "interrupted"
    assert file_info(tmp_path / "s.h5")["closed_cleanly"] is True


async def test_unwritable_destination_fails_before_the_source_starts(tmp_path):
    entered = []

    class Spy(ListSource):
        async def __aenter__(self):
            entered.append(True)
            return self

    with pytest.raises(OutputError, match="does not exist"):
        await Recorder(Spy([]), tmp_path / "missing" / "x.h5", subject_id="S", session="1").run()
    with pytest.raises(OutputError, match="is a directory"):
        await Recorder(Spy([]), tmp_path, subject_id="S", session="1").run()
    assert entered == []


def test_status_line_names_every_counter():
    st = RecorderStatus(elapsed_s=12.34)
    st.frames.update(left=1200, right=1190)
    st.lost_frames.update(right=10)
    st.gaps.update(right=2)
    st.battery_pct.update(left=80.0)
    st.link.update(left="connected", right="reconnecting")
    line = st.line()
    assert "12.3 s" in line and "L: 1200 fr, lost 0, gaps 0, connected, bat 80%" in line
    assert "R: 1190 fr, lost 10, gaps 2, reconnecting" in line


def test_clean_stop_realigns_each_device_clock_offline(tmp_path):
    """Counters of a +50 ppm device received with BLE-like latency: the real-time time_s
    written during recording is replaced by the offline lower-envelope fit at close."""
    from gaitpf.recording.recorder_writer import realign_clocks
    from gaitpf.io.hdf5 import FootSpec, RecordingWriter, read_hdf5

    rng = np.random.default_rng(3)
    fs, n, per_packet = 100.0, 60_000, 4                       # 10 minutes, 4 frames a packet
    counter = np.arange(n, dtype=np.int64)
    true_s = counter / (fs * (1 + 50e-6)) + 2.0                # device fast by 50 ppm, started 2 s in
    packet_end = true_s[per_packet - 1::per_packet]            # a packet leaves after its last frame
    # connection-interval quantisation + exponential jitter; the constant latency floor (the same
    # for both insoles, so it cancels between left and right) is 0 here
    latency = 0.0075 * rng.integers(0, 4, packet_end.size) + rng.exponential(0.004, packet_end.size)
    host = np.repeat(packet_end + latency, per_packet)
    with RecordingWriter(tmp_path / "r.h5", subject_id="s", session="1", trial="1", swmr=True,
                         feet={"left": FootSpec(n_sensors=1, unit="N", sampling_rate_hz=fs)}) as w:
        crude = counter / fs                                   # what a naive mapping would store
        w.append("left", np.zeros((n, 1)), time_s=crude, sample_counter=counter, host_time_s=host)
        fits = realign_clocks(w)
    rec = read_hdf5(tmp_path / "r.h5")
    err_ms = 1000 * np.abs(rec.feet["left"].time_s - true_s)
    assert np.median(err_ms) < 1.0 and err_ms.max() < 4.0
    assert fits["left"]["clock_drift_ppm"] == pytest.approx(50.0, abs=5.0)
    assert 1000 * np.abs(crude - true_s).max() > 1000              # the realignment did the work


def test_repair_refits_the_clock_a_killed_recorder_never_refitted(tmp_path):
    """`repair` gives a crashed file the same whole-recording clock fit as a clean stop:
    time_s, the annotations on that foot and the clock attributes are rewritten."""
    from gaitpf.io.hdf5 import FootSpec, RecordingWriter, read_hdf5
    from gaitpf.recording.repair import repair

    rng = np.random.default_rng(4)
    fs, n = 100.0, 30_000
    counter = np.arange(n, dtype=np.int64)
    true_s = counter / (fs * (1 - 40e-6)) + 1.0                  # device slow by 40 ppm
    host = true_s + 0.0075 * rng.integers(0, 4, n) + rng.exponential(0.004, n)
    crude = counter / fs
    path = tmp_path / "crashed.h5"
    with RecordingWriter(path, subject_id="s", session="1", trial="1", swmr=False,
                         feet={"left": FootSpec(n_sensors=1, unit="N", sampling_rate_hz=fs)}) as w:
        w.append("left", np.zeros((n, 1)), time_s=crude, sample_counter=counter, host_time_s=host)
        w.add_annotation(crude[20_000], 0.5, "gap", "left", "link lost")
    report = repair(path, force=True)
    assert set(report.clock_refit) == {"left"} and "clock refitted (left)" in report.summary()
    rec = read_hdf5(path)
    err_ms = 1000 * np.abs(rec.feet["left"].time_s - true_s)
    assert np.median(err_ms) < 1.0 and err_ms.max() < 4.0
    assert 1000 * np.abs(crude - true_s).max() > 1000
    with h5py.File(path, "r") as f:
        assert float(f["left"].attrs["clock_drift_ppm"]) == pytest.approx(-40.0, abs=5.0)
    onset = float(rec.annotations["onset_s"].iloc[0])
    assert onset == pytest.approx(true_s[20_000], abs=0.004)     # the annotation moved with its foot
