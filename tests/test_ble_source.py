"""BleInsoleSource end to end: unmodified bleak → fake BlueZ → two virtual insoles."""
from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest

from gaitpf.acquisition.ble import BleInsoleSource, scan_insoles
from gaitpf.acquisition.source import FrameBlock, FrameSource, LinkEvent
from gaitpf.cli.main import main
from gaitpf.errors import DeviceError
from gaitpf.model import QUALITY_GAP_BEFORE
from gaitpf.sim.gait_model import GaitParams
from gaitpf.sim.harness import VirtualInsoleHarness
from gaitpf.sim.virtual_insole import NEWTON_PER_COUNT

GAIT = GaitParams(seed=3, n_sensors=16)


async def collect(src, seconds, actions=()):
    """Iterate ``src`` for ``seconds``; run each (t_s, coroutine function) once its time has come."""
    blocks = {"left": [], "right": []}
    events = []
    pending = sorted(actions, key=lambda a: a[0])
    t0 = time.monotonic()
    async for item in src:
        if isinstance(item, FrameBlock):
            blocks[item.side].append(item)
        else:
            assert isinstance(item, LinkEvent)
            events.append(item)
        while pending and time.monotonic() - t0 >= pending[0][0]:
            await pending.pop(0)[1]()
        if time.monotonic() - t0 >= seconds:
            break
    return blocks, events


def cat(blocks, name):
    return np.concatenate([getattr(b, name) for b in blocks])


def check_gaps_account_for_every_jump(counters, gap_events):
    """Counters strictly increase; every jump is exactly one reported gap, nothing else is."""
    assert np.all(np.diff(counters) >= 1), "duplicated or reordered frames"
    jumps = np.flatnonzero(np.diff(counters) > 1)
    expected = [(int(counters[j] + 1), int(counters[j + 1] - counters[j] - 1)) for j in jumps]
    reported = [(e.detail["first_missing_counter"], e.detail["n_frames"]) for e in gap_events]
    assert reported == expected
    for e in gap_events:
        assert e.detail["end_s"] > e.detail["start_s"]


async def test_two_insoles_every_frame_arrives_with_true_values():
    async with VirtualInsoleHarness(gait=GAIT, rate_hz=100, seed=1) as h:
        src = BleInsoleSource(left=h.left_address, right=h.right_address)
        assert isinstance(src, FrameSource)
        async with src:
            assert src.sampling_rate_hz == 100.0 and src.unit == "N"
            specs = src.foot_specs()
            assert specs["left"]["layout"].layout_id == "gaitpf-16"
            assert specs["right"]["device"]["serial"] == h.serials["right"]
            blocks, events = await collect(src, 2.5)
        assert all(ln == "closed" for ln in src.status().link.values())
        for side in ("left", "right"):
            ins = h.insoles[side]
            c = cat(blocks[side], "sample_counter")
            assert c.size >= 200
            assert np.array_equal(c, np.arange(c[0], c[0] + c.size))        # contiguous, in order
            assert not np.any(cat(blocks[side], "quality") & QUALITY_GAP_BEFORE)
            # the values are the virtual gait's force at each frame's sampling instant
            world_s = c / ins.true_rate_hz - ins.boot_offset_s
            idx = np.round(world_s * 100).astype(int)
            truth = ins.sim.render(int(idx[0]), int(idx[-1]) + 1)[side][idx - idx[0]]
            np.testing.assert_allclose(cat(blocks[side], "values"), truth, atol=NEWTON_PER_COUNT)
            t = cat(blocks[side], "time_s")
            assert np.all(np.diff(t) > 0)
            assert np.all(np.diff(cat(blocks[side], "host_time_s")) >= 0)
            np.testing.assert_allclose(cat(blocks[side], "device_time_s"), c / 100.0)
            st = src.status()
            # status counts frames as they are decoded and queued; the consumer stopped
            # iterating at 2.5 s, so a packet or two may have been queued after its last item
            assert c.size <= st.frames[side] <= c.size + 25
            assert st.lost_frames[side] == 0 and st.bad_packets[side] == 0
            assert st.battery_pct[side] == pytest.approx(ins.battery_start_pct, abs=1.5)
        assert [e for e in events if e.kind != "connected"] == []


async def test_repeated_disconnects_of_one_and_both_insoles_are_reported_and_recovered():
    async with VirtualInsoleHarness(gait=GAIT, rate_hz=100, seed=2) as h:
        async def drop(*sides, for_s):
            for s in sides:
                await h.drop_link(s, for_s=for_s)

        actions = [(0.5, lambda: drop("left", for_s=0.6)),
                   (2.0, lambda: drop("left", "right", for_s=0.8)),
                   (3.6, lambda: drop("right", for_s=0.3)),
                   (4.4, lambda: drop("left", for_s=1.2))]
        async with BleInsoleSource(left=h.left_address, right=h.right_address) as src:
            blocks, events = await collect(src, 7.5, actions)
        drops = {"left": 3, "right": 2}
        for side in ("left", "right"):
            ev = [e for e in events if e.side == side]
            kinds = [e.kind for e in ev if e.kind in ("disconnected", "connected")]
            assert kinds == ["disconnected", "connected"] * drops[side]
            gaps = [e for e in ev if e.kind == "gap"]
            assert len(gaps) == drops[side]
            c = cat(blocks[side], "sample_counter")
            check_gaps_account_for_every_jump(c, gaps)
            q = cat(blocks[side], "quality")
            assert int(np.count_nonzero(q & QUALITY_GAP_BEFORE)) == drops[side]
            assert src.status().lost_frames[side] == sum(g.detail["n_frames"] for g in gaps)
            # the last outage ended well before the end: streaming again afterwards
            assert c[-1] - c[np.flatnonzero(np.diff(c) > 1)[-1] + 1] > 50
            # reconnected within 2 s after the insole was back in range
            connected_at = [e.host_time_s for e in ev if e.kind == "connected"]
            back_at = h.insoles[side].back_at - src.t0_monotonic
            assert 0 <= connected_at[-1] - back_at < 2.0


async def test_garbage_duplicates_and_loss_are_counted_and_recording_continues():
    kinds = ("random", "bad_crc", "truncated", "bad_version", "wrong_sensor_count")

    async with VirtualInsoleHarness(gait=GAIT, rate_hz=100, seed=4) as h:
        async def fuzz():
            for k in kinds:
                h.send_garbage("right", 4, k)
            h.resend_last("right", 3)
            h.resend_last("left", 2)

        async def lossy():
            h.set_loss("left", 0.3)
            await asyncio.sleep(1.0)
            h.set_loss("left", 0.0)

        async with BleInsoleSource(left=h.left_address, right=h.right_address) as src:
            blocks, events = await collect(src, 3.5, [(0.5, fuzz), (1.0, lossy)])
            st = src.status()
        assert st.bad_packets == {"left": 0, "right": 4 * len(kinds)}
        right = cat(blocks["right"], "sample_counter")
        assert np.array_equal(right, np.arange(right[0], right[0] + right.size))   # duplicates dropped
        assert right.size > 300                                                     # kept recording
        left = cat(blocks["left"], "sample_counter")
        gaps = [e for e in events if e.kind == "gap" and e.side == "left"]
        lost_packets = h.insoles["left"].periph.lost
        assert lost_packets > 3
        check_gaps_account_for_every_jump(left, gaps)
        assert st.lost_frames["left"] == lost_packets * h.insoles["left"].frames_per_packet
        assert not [e for e in events if e.kind in ("disconnected", "silent")]


async def test_killed_bluez_is_caught_by_the_silence_watchdog_and_recovered_after_restart():
    async with VirtualInsoleHarness(gait=GAIT, rate_hz=100, seed=5) as h:
        async def kill():
            h.kill_bluez()

        async def restart():
            await h.restart_bluez()

        async with BleInsoleSource(left=h.left_address, right=h.right_address,
                                   silence_timeout_s=0.5) as src:
            blocks, events = await collect(src, 5.0, [(0.8, kill), (2.0, restart)])
        for side in ("left", "right"):
            kinds = [e.kind for e in events if e.side == side and e.kind in ("silent", "disconnected", "connected")]
            assert kinds[:3] == ["silent", "disconnected", "connected"]
            silent = next(e for e in events if e.side == side and e.kind == "silent")
            assert silent.detail["silence_s"] >= 0.5
            disc = next(e for e in events if e.side == side and e.kind == "disconnected")
            assert disc.detail["reason"] == "silent"
            c = cat(blocks[side], "sample_counter")
            gaps = [e for e in events if e.side == side and e.kind == "gap"]
            check_gaps_account_for_every_jump(c, gaps)
            assert len(gaps) == 1 and c[-1] > gaps[0].detail["first_missing_counter"] + 50


async def test_not_allow_listed_or_wrong_side_insole_is_refused():
    async with VirtualInsoleHarness(gait=GAIT, rate_hz=100, seed=6) as h:
        stranger = h.add_insole("stranger", side="left", address="C0:FF:EE:00:00:09", serial="0000BEEF")
        allowed = {h.left_address, h.right_address}
        with pytest.raises(DeviceError, match="not allow-listed"):
            async with BleInsoleSource(left=stranger.address, right=h.right_address, allow=allowed):
                pass
        # allow-listed by address, but the identity says the other side
        with pytest.raises(DeviceError, match="says it is the right insole"):
            async with BleInsoleSource(left=h.right_address, right=h.left_address, scan_timeout_s=3):
                pass
        assert not any(ins.periph.connected for ins in h.insoles.values())
        # allow-listing by serial works
        async with BleInsoleSource(left=h.left_address, right=h.right_address,
                                   allow=set(h.serials.values()) | allowed) as src:
            assert src.identities()["left"].serial == h.serials["left"]
        found = await scan_insoles(0.5)
        assert {(a.address, a.side, a.serial) for a in found} == {
            (h.left_address, "left", h.serials["left"]), (h.right_address, "right", h.serials["right"]),
            (stranger.address, "left", "0000BEEF")}


def test_scan_command_simulated_json(capsys):
    main(["scan", "--simulate", "--timeout", "0.4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert [(a["side"], a["serial"]) for a in out] == [("left", "0000A001"), ("right", "0000A002")]
    assert all(-70 < a["rssi"] < -50 for a in out)


async def test_recorder_decodes_in_batches_on_its_flush_grid_and_records_every_frame(tmp_path):
    import h5py

    from gaitpf.recording.recorder import Recorder

    async with VirtualInsoleHarness(gait=GAIT, rate_hz=100, seed=4) as h:
        src = BleInsoleSource(left=h.left_address, right=h.right_address)
        rec = Recorder(src, tmp_path / "b.h5", subject_id="S", session="1", duration_s=2.0,
                       flush_interval_s=0.25)
        n_blocks = {"left": 0, "right": 0}
        on_block = rec._on_block

        def counting(blk):
            n_blocks[blk.side] += 1
            on_block(blk)

        rec._on_block = counting
        res = await rec.run()
    with h5py.File(tmp_path / "b.h5", "r") as f:
        for side in ("left", "right"):
            c = f[side]["sample_counter"][:]
            assert c.size >= 150
            assert np.array_equal(c, np.arange(c[0], c[0] + c.size))
            # every frame the source decoded is in the file, also those pending at the stop
            assert c.size == res.frames[side] == src.status().frames[side]
            # one batch per flush (plus the start), not one block per notification (~6 frames each)
            assert n_blocks[side] <= res.n_flushes + 2
            assert c.size / n_blocks[side] > 12
