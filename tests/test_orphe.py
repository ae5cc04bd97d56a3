"""ORPHE INSOLE: packet decoding from the documented layout, counter unwrap, and the whole
virtual path (fake BlueZ -> bleak -> OrpheSource -> recorder -> file -> analysis)."""
from __future__ import annotations

import json
import struct
import time

import numpy as np
import pytest

from gaitpf.acquisition import orphe_protocol as O
from gaitpf.acquisition.orphe import CounterUnwrap, OrpheSource
from gaitpf.acquisition.source import FrameBlock, LinkEvent
from gaitpf.cli.main import main
from gaitpf.io.hdf5 import read_hdf5
from gaitpf.model import QUALITY_GAP_BEFORE, QUALITY_SATURATED, SIDES
from gaitpf.sim.gait_model import GaitParams
from gaitpf.sim.harness import VirtualInsoleHarness
from gaitpf.sim.virtual_orphe import ORPHE_ADDRESSES


def _hand_packet_56(counter: int, hms_ms: tuple[int, int, int, int], samples: list[dict]) -> bytes:
    """A header-56 packet written straight from SENSOR_SPEC.md (sample k in slot 1 - k)."""
    buf = bytearray(104)
    h, m, s, ms = hms_ms
    struct.pack_into(">BHBBBH", buf, 0, 56, counter, h, m, s, ms)
    for k, smp in enumerate(samples):
        base = 32 * (1 - k)
        struct.pack_into(">4h3h3h6H", buf, 8 + base, *smp["quat"], *smp["gyro"], *smp["acc"], *smp["press"])
    return bytes(buf)


def test_decoder_reads_the_documented_layout_and_counts_bad_notifications():
    s0 = {"quat": (16384, 0, 0, 0), "gyro": (1, -2, 3), "acc": (0, 0, 2048), "press": (10, 20, 30, 40, 50, 65535)}
    s1 = {"quat": (0, 16384, 0, 0), "gyro": (-4, 5, -6), "acc": (7, 8, 9), "press": (11, 21, 31, 41, 51, 61)}
    pkt = _hand_packet_56(65535, (23, 59, 59, 999), [s0, s1])
    dec = O.decode_sensor_values([pkt, pkt[:103], pkt + b"\0", bytes([55]) + pkt[1:]], O.MODES[4])
    assert dec.n_packets == 1 and dec.rejected == {"bad_length": 2, "wrong_mode": 1}
    assert dec.raw_counter.tolist() == [65535] and dec.device_ms.tolist() == [O.DAY_MS - 1]
    assert dec.pressure[0].tolist() == [list(s0["press"]), list(s1["press"])]      # time order
    assert dec.gyro[0, 1].tolist() == [-4, 5, -6] and dec.acc[0, 0].tolist() == [0, 0, 2048]
    assert dec.quat[0, 1].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert O.saturation_quality(dec.pressure[0]).tolist() == [QUALITY_SATURATED, 0]
    # mode 3: 4 samples, no quaternion; encoder and decoder agree
    m3 = O.MODES[3]
    press = np.arange(24, dtype=np.uint16).reshape(4, 6) * 1000
    d3 = O.decode_sensor_values([O.encode_sensor_values(m3, 7, 1234, press)], m3)
    assert d3.quat is None and (d3.pressure[0] == press).all() and d3.raw_counter.tolist() == [7]


def test_device_information_gives_the_side_and_the_mode_write():
    info = O.decode_device_information(O.encode_device_information(side="right"))
    assert (info.side, info.surface, info.acc_range_g, info.gyro_range_dps) == ("right", "plantar", 16, 2000)
    assert O.decode_device_information(bytes([1, 2]) + bytes(18)).surface == "dorsal"
    assert O.mode_write(3) == b"\x0d\x03" and O.parse_mode_write(b"\x0d\x04") == 4
    with pytest.raises(ValueError):
        O.decode_device_information(b"\x00")
    lay = O.orphe_layout("left")
    assert lay.n_sensors == 6 and lay.region[-1] == "heel" and lay.region[0] == "toes"


def test_counter_unwrap_uses_the_device_clock_across_wraps_and_midnight():
    u = CounterUnwrap(20.0)
    ms = lambda k: (O.DAY_MS - 40 + 20 * k) % O.DAY_MS       # noqa: E731 - crosses midnight at k = 2
    raw = np.array([65534, 65535, 0, 1]), np.array([ms(0), ms(1), ms(2), ms(3)])
    assert u.process(*raw).tolist() == [65534, 65535, 65536, 65537]
    # 3 packets lost across nothing special, then an outage longer than one wrap (65536 + 10 packets)
    out = u.process(np.array([5, (5 + 65536 + 10) % 65536]), np.array([ms(7), ms(7 + 65536 + 10)]))
    assert out.tolist() == [65541, 65541 + 65536 + 10]
    # a resent old packet stays old (the sequencer drops it as a duplicate)
    assert u.process(np.array([(5 + 65536 + 9) % 65536]), np.array([ms(7 + 65536 + 9)])).tolist() == [65541 + 65535 + 10]


async def test_sides_come_from_the_mount_position_and_faults_are_counted():
    gait = GaitParams(seed=3)
    async with VirtualInsoleHarness(gait, device_type="orphe", speed=4) as h:
        assert ORPHE_ADDRESSES["right"] < ORPHE_ADDRESSES["left"]            # right is found/connected first
        with pytest.raises(Exception, match="says it is mounted right but was given as left"):
            async with OrpheSource([h.right_address, h.left_address], scan_timeout_s=3,
                                   expect_sides={h.right_address: "left"}):
                pass
        src = OrpheSource(sorted(h.addresses.values()), scan_timeout_s=3, time_scale=4)
        async with src:
            assert {s: sp["device"]["address"] for s, sp in src.foot_specs().items()} == {
                "left": h.left_address, "right": h.right_address}
            t0, last, events, faulted = time.monotonic(), {}, [], False
            async for item in src:
                if isinstance(item, FrameBlock):
                    assert item.values.shape[1] == 6
                    if item.side in last:
                        assert item.sample_counter[0] > last[item.side]
                    last[item.side] = int(item.sample_counter[-1])
                elif isinstance(item, LinkEvent):
                    events.append(item)
                if not faulted and time.monotonic() - t0 > 0.6:
                    faulted = True
                    h.send_garbage("left", 4, "truncated")
                    h.send_garbage("left", 3, "wrong_mode")
                    await h.drop_link("right", for_s=0.3)
                if any(e.kind == "connected" for e in events) and time.monotonic() - t0 > 2.0:
                    break
                assert time.monotonic() - t0 < 15
            st = src.status()
        assert st.bad_packets["left"] == 7 and st.lost_frames["left"] == 0
        kinds = [(e.side, e.kind) for e in events]
        assert ("right", "disconnected") in kinds and ("right", "connected") in kinds
        gap = [e for e in events if e.kind == "gap" and e.side == "right"]
        assert gap and gap[0].detail["n_frames"] > 0 and st.lost_frames["right"] == gap[0].detail["n_frames"]
        assert last["left"] > 65536 * 2      # the virtual counters wrapped (they start 3-5 s before)


def test_record_simulate_orphe_then_analyze(tmp_path, capsys):
    out = tmp_path / "orphe.h5"
    main(["record", "--simulate", "--device-type", "orphe", "--duration", "12", "--speed", "6", "-o", str(out),
          "--subject", "P1", "--session", "2", "--quiet"])
    assert "lost 0" in capsys.readouterr().out
    rec = read_hdf5(out)
    for side in SIDES:
        foot = rec.feet[side]
        assert foot.n_sensors == 6 and foot.unit == "au" and foot.layout.layout_id == "orphe-insole-6"
        assert foot.sampling_rate_hz == 100 and np.all(np.diff(foot.sample_counter) == 1)
        assert foot.device["model"] == "ORPHE INSOLE" and foot.device["mount_position"] == (side == "right")
    import h5py

    with h5py.File(out, "r") as f:     # the offline clock refit found each virtual crystal's error
        assert abs(f["left"].attrs["clock_drift_ppm"] - 35.0) < 200 and abs(f["right"].attrs["clock_drift_ppm"] + 20) < 200
    summary = tmp_path / "s.json"
    main(["analyze", str(out), "--summary", str(summary)])
    capsys.readouterr()
    s = json.loads(summary.read_text())
    assert s["n_strides"]["left"] >= 3 and s["n_strides"]["right"] >= 3
    assert 95 < s["cadence_spm"] < 121
    # left/right on one time base: the symmetric virtual subject's steps alternate evenly
    assert abs(s["metrics"]["step_time_s"]["si_pct"]) < 5


def test_scan_lists_virtual_orphe_insoles_and_bad_options_are_one_line(tmp_path, capsys):
    main(["scan", "--simulate", "--device-type", "orphe", "--timeout", "0.4", "--json"])
    found = json.loads(capsys.readouterr().out)
    assert [(a["side"], a["device_type"]) for a in found] == [("left", "orphe"), ("right", "orphe")]
    for argv in (["record", "--simulate", "--device-type", "nope"],
                 ["record", "--simulate", "--device-type", "orphe", "--rate", "150"],
                 ["record", "--simulate", "--moticon-udp", "127.0.0.1:9"]):
        with pytest.raises(SystemExit) as exc:
            main(argv + ["-o", str(tmp_path / "x.h5"), "--subject", "S", "--session", "1", "--quiet", "--duration", "1"])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("gaitpf: error:")
    assert not (tmp_path / "x.h5").exists()


def test_record_orphe_link_drop_is_a_gap_and_a_reconnect_in_the_file(tmp_path, capsys):
    out = tmp_path / "drop.h5"
    main(["record", "--simulate", "--device-type", "orphe", "--duration", "8", "--speed", "4", "-o", str(out),
          "--subject", "S", "--session", "1", "--quiet", "--sim-drop", "left:0.5:0.4"])
    capsys.readouterr()
    rec = read_hdf5(out)
    foot, ann = rec.feet["left"], rec.annotations
    # time never runs back; across the reconnect the realigned clock may repeat one instant
    # when the machine is loaded (the reader's rule is non-decreasing time)
    assert np.all(np.diff(foot.sample_counter) > 0) and np.all(np.diff(foot.time_s) >= 0)
    jumps = np.flatnonzero(np.diff(foot.sample_counter) > 1) + 1
    assert len(jumps) == 1 and foot.quality[jumps[0]] & QUALITY_GAP_BEFORE
    # the frames lost while away: about the outage (0.4 s at 4x = 1.6 virtual s at 100 Hz), 2 per packet
    lost = int(foot.sample_counter[jumps[0]] - foot.sample_counter[jumps[0] - 1] - 1)
    assert lost % 2 == 0 and 100 <= lost <= 1000
    link = ann[(ann["kind"] == "link") & (ann["side"] == "left")]["description"]
    assert any(d.startswith("disconnected") for d in link) and any(d.startswith("connected") for d in link)
    assert len(ann[(ann["kind"] == "gap") & (ann["side"] == "left")]) == 1
    assert np.all(np.diff(rec.feet["right"].sample_counter) == 1)
