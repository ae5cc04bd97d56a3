"""Live sources at their nominal rates: frames lost, receive-to-disk latency, CPU share.

For each source the recorder runs for ``--seconds`` real seconds (flush every 0.25 s, as
``gaitpf live``) against its virtual twin in the same process:

* ``orphe-100`` / ``orphe-200`` — two virtual ORPHE INSOLEs (mode 4 / mode 3) on the fake
  BlueZ, through unmodified bleak;
* ``moticon-udp`` — the OpenGo export replayed as UDP datagrams on loopback (100 Hz);
* ``lsl-in`` — a pylsl outlet (100 Hz, 2×16 channels, chunks of 5) on loopback;
* ``lsl-out`` — virtual gaitpf insoles recorded with ``--lsl-out`` publishing (frames
  and markers), to see what publishing costs.

Prints per source: frames recorded per foot, frames lost (sequencer), receive→durable
latency p50/p99 (host receive time of the notification/datagram/chunk → the flush that made
the frame durable), and the CPU share of the process (CPU time / wall time, one core = 100 %;
it includes the virtual device, the fake BlueZ or the sender thread running in-process).

    .venv/bin/python benchmarks/bench_live_sources.py [--seconds 10] [--only orphe-100,lsl-in]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from gaitpf.model import SIDES
from gaitpf.recording.recorder import Recorder

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "tests" / "data" / "vendor" / "moticon_normal_excerpt.txt"
os.environ.setdefault("LSLAPICFG", str(ROOT / "tests" / "data" / "lsl_api_loopback.cfg"))


async def _record(source, seconds: float, path: Path) -> tuple[object, float, float]:
    rec = Recorder(source, path, subject_id="B", session="1", flush_interval_s=0.25, duration_s=seconds,
                   track_latency=True, min_free_bytes=0)
    c0, w0 = time.process_time(), time.monotonic()
    res = await rec.run()
    return res, time.process_time() - c0, time.monotonic() - w0


async def case_orphe(rate_hz: int, seconds: float, path: Path):
    from gaitpf.acquisition.orphe import OrpheSource
    from gaitpf.sim.gait_model import GaitParams
    from gaitpf.sim.harness import VirtualInsoleHarness

    async with VirtualInsoleHarness(GaitParams(seed=1), device_type="orphe") as h:
        src = OrpheSource([h.left_address, h.right_address], mode=3 if rate_hz == 200 else 4)
        return await _record(src, seconds, path)


async def case_moticon(seconds: float, path: Path):
    import socket

    from gaitpf.acquisition.moticon_udp import MoticonUdpSource
    from gaitpf.io.vendor_moticon import moticon_layout, read_moticon
    from gaitpf.sim.moticon_sender import MoticonUdpSender

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = MoticonUdpSender(read_moticon(EXPORT), port=port)
    with sender:
        out = await _record(MoticonUdpSource("127.0.0.1", port, layout=moticon_layout(None)), seconds, path)
    # frames the export itself lacks (rows where one insole did not deliver) are never sent
    t = np.array([a for a, _ in sender.send_log])
    c = np.round((t - t[0]) * 100).astype(int)
    print(f"  (moticon-udp: the replayed export itself skips {int(c[-1] + 1 - c.size)} frames in "
          f"{c.size} sent; lost beyond those = transport loss)")
    return out


async def case_lsl_in(seconds: float, path: Path):
    import pylsl

    from gaitpf.acquisition.lsl_in import LslInletSource

    name = f"bench-{os.getpid()}"
    info = pylsl.StreamInfo(name, "Pressure", 32, 100.0, "float32", name)
    ch = info.desc().append_child("channels")
    for s in SIDES:
        for i in range(16):
            ch.append_child("channel").append_child_value("label", f"{s}_{i + 1}")
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def send() -> None:
        t0, k = pylsl.local_clock(), 0
        rng = np.random.default_rng(0)
        while not stop.is_set():
            stop.wait(max(0.0, t0 + (k + 5) / 100.0 - pylsl.local_clock()))
            for i in range(k, k + 5):
                outlet.push_sample(rng.random(32).astype(np.float32), t0 + i / 100.0)
            k += 5

    th = threading.Thread(target=send, daemon=True)
    th.start()
    try:
        return await _record(LslInletSource(name), seconds, path)
    finally:
        stop.set()
        th.join(2)


async def case_lsl_out(seconds: float, path: Path):
    from gaitpf.acquisition.ble import BleInsoleSource
    from gaitpf.live.lsl_out import LslPublisher
    from gaitpf.sim.gait_model import GaitParams
    from gaitpf.sim.harness import VirtualInsoleHarness

    async with VirtualInsoleHarness(GaitParams(seed=1)) as h:
        src = LslPublisher(BleInsoleSource(h.left_address, h.right_address), name_prefix=f"gaitpf-bench-{os.getpid()}")
        return await _record(src, seconds, path)


CASES = {
    "orphe-100": lambda s, p: case_orphe(100, s, p),
    "orphe-200": lambda s, p: case_orphe(200, s, p),
    "moticon-udp": case_moticon,
    "lsl-in": case_lsl_in,
    "lsl-out": case_lsl_out,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--only", default=",".join(CASES))
    args = ap.parse_args()
    print(f"{'source':12s} {'frames L/R':>13s} {'lost L/R':>9s} {'lat p50 ms':>10s} {'lat p99 ms':>10s} "
          f"{'CPU %':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            res, cpu_s, wall_s = asyncio.run(CASES[name](args.seconds, Path(tmp) / f"{name}.h5"))
            lat = np.asarray(res.latency_s if res.latency_s is not None else [np.nan]) * 1000
            print(f"{name:12s} {res.frames['left']:>6d}/{res.frames['right']:<6d} "
                  f"{res.lost_frames['left']:>4d}/{res.lost_frames['right']:<4d} "
                  f"{np.nanpercentile(lat, 50):>10.1f} {np.nanpercentile(lat, 99):>10.1f} "
                  f"{100 * cpu_s / wall_s:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
