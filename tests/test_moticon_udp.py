"""Moticon OpenGo UDP live stream: datagrams made from the shared OpenGo export, replayed on
loopback by the virtual sender, recorded by `gaitpf record --moticon-udp`, analysed."""
from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from gaitpf.acquisition.moticon_udp import N_FIELDS, parse_datagram, parse_host_port
from gaitpf.cli.main import main
from gaitpf.errors import InputError
from gaitpf.io.hdf5 import read_hdf5
from gaitpf.io.vendor_moticon import read_moticon
from gaitpf.model import QUALITY_GAP_BEFORE, SIDES
from gaitpf.sim.moticon_sender import MoticonUdpSender, datagram_rows

#: excerpt of the shared OpenGo export moticon-opengo/230927_102114.txt (tests/data/vendor/README.md)
EXPORT = Path(__file__).parent / "data" / "vendor" / "moticon_normal_excerpt.txt"


@pytest.fixture(scope="module")
def export():
    return read_moticon(EXPORT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_datagram_parsing_and_listen_address():
    good = " ".join(["0.5"] + ["1"] * 50).encode()
    assert parse_datagram(good).shape == (N_FIELDS,)
    for bad in (b"", b"1 2 3", good + b" 4", good.replace(b"1", b"x", 1), good.replace(b"0.5", b"nan"),
                bytes(range(128, 200))):
        assert parse_datagram(bad) is None
    assert parse_host_port("9000") == ("127.0.0.1", 9000)
    assert parse_host_port("0.0.0.0:9000") == ("0.0.0.0", 9000)      # only when given explicitly
    for bad in ("host.example:9000", "127.0.0.1:0", "127.0.0.1:port"):
        with pytest.raises(InputError):
            parse_host_port(bad)


def test_rows_rebuild_the_stream_from_the_export(export):
    rows = datagram_rows(export)
    assert rows.shape[1] == N_FIELDS and np.all(np.diff(rows[:, 0]) > 0)
    # pressure 1..16 of the left foot sits after time, acc 3, gyro 3, COP 2 (N/cm²)
    assert rows[:, 9:25].max() > 5 and rows[:, 9:25].min() >= 0


def test_record_moticon_udp_counts_garbage_records_gaps_and_analyzes(tmp_path, capsys, export):
    port = _free_port()
    out = tmp_path / "moticon.h5"
    sender = MoticonUdpSender(export, port=port, garbage_every=53)
    start = threading.Timer(0.3, sender.start)
    pause = threading.Timer(6.3, lambda: sender.pause(1.0))   # the stream stops: watchdog + gap
    start.start()
    pause.start()
    try:
        main(["record", "--moticon-udp", f"127.0.0.1:{port}", "--duration", "8", "-o", str(out),
              "--subject", "M1", "--session", "1", "--quiet"])
    finally:
        sender.stop()
        pause.cancel()
    capsys.readouterr()
    rec = read_hdf5(out)
    for side in SIDES:
        foot = rec.feet[side]
        assert foot.n_sensors == 16 and foot.unit == "kPa" and foot.sampling_rate_hz == 100
        assert np.all(np.diff(foot.sample_counter) > 0)
        assert (foot.quality & QUALITY_GAP_BEFORE).any()                  # the pause and garbage-eaten frames
    with __import__("h5py").File(out, "r") as f:
        assert f["left"].attrs["n_lost_frames"] >= 80                      # 1 s pause at 100 Hz
        src = json.loads(f.attrs["source"])
        assert src["device_type"] == "moticon-udp" and src["listen"] == f"127.0.0.1:{port}"
        dev = f["left"]["device_time_s"][:]
        host = f["left"]["host_time_s"][:]
        assert np.all(np.diff(dev) > 0) and np.all(np.isfinite(host))      # both time bases kept
    summary = tmp_path / "s.json"
    main(["analyze", str(out), "--summary", str(summary)])
    capsys.readouterr()
    n = json.loads(summary.read_text())["n_strides"]
    assert n["left"] + n["right"] >= 2           # as many as the export itself gives over its 7 s


def test_no_stream_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["record", "--moticon-udp", f"127.0.0.1:{_free_port()}", "--scan-timeout", "0.5", "--duration", "1",
              "-o", str(tmp_path / "none.h5"), "--subject", "S", "--session", "1", "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no Moticon OpenGo datagram" in err
    assert not (tmp_path / "none.h5").exists()


def test_live_view_records_and_shows_the_moticon_stream(tmp_path, export):
    import os
    import subprocess
    import sys

    port = _free_port()
    out, shot, stats = tmp_path / "live.h5", tmp_path / "live.png", tmp_path / "stats.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyside6"}
    with MoticonUdpSender(export, port=port):
        r = subprocess.run([sys.executable, "-m", "gaitpf.cli.main", "live", "--moticon-udp", f"127.0.0.1:{port}",
                            "-o", str(out), "--subject", "M2", "--screenshot", str(shot), "--after", "3",
                            "--stats", str(stats)], capture_output=True, text=True, env=env, timeout=90)
    assert r.returncode == 0, r.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads(stats.read_text())
    assert s["frames"]["left"] > 100 and s["source_error"] is None
    assert read_hdf5(out).feet["left"].unit == "kPa"


async def test_a_restarted_stream_starts_a_new_segment_and_garbage_is_counted():
    from gaitpf.acquisition.moticon_udp import MoticonUdpSource
    from gaitpf.acquisition.source import FrameBlock

    port = _free_port()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(t: float) -> None:
        tx.sendto(" ".join([f"{t:.3f}"] + ["0"] * 8 + ["1.5"] * 16 + ["10"] + ["0"] * 8 + ["2.5"] * 16 + ["20"])
                  .encode(), ("127.0.0.1", port))

    threading.Timer(0.2, lambda: [send(5 + k / 100) for k in range(20)]).start()
    src = MoticonUdpSource("127.0.0.1", port, first_timeout_s=3, silence_timeout_s=0.3)
    async with src:
        assert src.sampling_rate_hz == 100
        blocks, events = [], []
        tx.sendto(b"garbage", ("127.0.0.1", port))
        for k in range(10):                      # OpenGo restarted: time from 0 again
            send(k / 100)
        async for item in src:
            (blocks if isinstance(item, FrameBlock) else events).append(item)
            if any(e.kind == "silent" for e in events):
                break
    tx.close()
    left = [b for b in blocks if b.side == "left"]
    counters = np.concatenate([b.sample_counter for b in left])
    # 20 + 10 frames, strictly increasing; the new segment starts after the old one (how far
    # after depends on the arrival time of the restart, which a loaded machine delays)
    assert len(counters) == 30 and np.all(np.diff(counters) > 0)
    assert counters[:20].tolist() == list(range(20)) and np.all(np.diff(counters[20:]) == 1)
    assert np.allclose(np.concatenate([b.values for b in left]), 15.0)   # 1.5 N/cm² = 15 kPa
    resets = [e for e in events if e.kind == "gap" and e.detail["kind"] == "device_reset"]
    assert {e.side for e in resets} == set(SIDES)
    assert src.status().bad_packets["left"] == 1
