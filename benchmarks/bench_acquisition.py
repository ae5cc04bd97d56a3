"""Acquisition figures: BLE path + recorder, with the virtual insoles in a separate process.

The virtual insole harness (private D-Bus daemon, fake BlueZ, two virtual insoles) runs in a
child process, so this process — bleak client, decoder, sequencer, clock alignment, recorder,
HDF5 writer thread — is measured alone. Prints:

1. CPU share of the recording process at 2 insoles x 16 sensors x 100 Hz (goal <= 5 % of one
   core), and what the harness process costs besides;
2. notification-to-disk latency p50/p99: host receive time of each frame -> end of the flush
   that made it durable (goal p99 <= 600 ms with the 0.5 s flush);
3. the highest rate sustained with zero loss, stepping the insoles' rate up (goal >= 2 x 1000
   frames/s of 16 sensors).

    .venv/bin/python benchmarks/bench_acquisition.py [--seconds 20] [--step-seconds 6]
        [--rates 100,250,500,1000,1500,2000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil

from gaitpf.acquisition.ble import BleInsoleSource
from gaitpf.recording.recorder import Recorder
from gaitpf.sim.privbus import BUS_ENV

HARNESS = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from gaitpf.sim.gait_model import GaitParams
    from gaitpf.sim.privbus import BUS_ENV
    from gaitpf.sim.harness import VirtualInsoleHarness

    async def main():
        async with VirtualInsoleHarness(GaitParams(seed=1), rate_hz=100, seed=1) as h:
            print(json.dumps({"bus": os.environ[BUS_ENV], "left": h.left_address, "right": h.right_address}),
                  flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)   # until stdin closes

    asyncio.run(main())
    """
)


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _tree_cpu_s(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


async def record(addr: dict, path: Path, *, rate_hz: int, seconds: float, harness: psutil.Process,
                 track_latency: bool = False) -> dict:
    """Record ``seconds`` at ``rate_hz``; CPU and counters over the steady part (after 1 s)."""
    src = BleInsoleSource(addr["left"], addr["right"], rate_hz=rate_hz)
    rec = Recorder(src, path, subject_id="bench", session="1", duration_s=seconds, track_latency=track_latency)
    task = asyncio.create_task(rec.run())
    while sum(rec.status().frames.values()) == 0:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)
    w0, c0, h0, f0 = time.monotonic(), _cpu_s(), _tree_cpu_s(harness), dict(rec.status().frames)
    await asyncio.sleep(max(seconds - 3.0, 1.0))
    w1, c1, h1, f1 = time.monotonic(), _cpu_s(), _tree_cpu_s(harness), dict(rec.status().frames)
    res = await task
    st = src.status()
    wall = w1 - w0
    lat = res.latency_s
    if lat is not None:
        lat = lat[len(lat) // 10:]   # skip the start (connection, first flushes)
    return {
        "rate_hz": rate_hz, "wall_s": wall,
        "cpu_share": (c1 - c0) / wall, "harness_cpu_share": (h1 - h0) / wall,
        "frames_per_s": sum(f1[s] - f0[s] for s in f1) / wall,
        "frames": res.frames, "lost": sum(res.lost_frames.values()) + sum(res.dropped_frames.values()),
        "bad_packets": sum(st.bad_packets.values()),
        "lat_p50_ms": float(np.percentile(lat, 50) * 1e3) if lat is not None and len(lat) else None,
        "lat_p99_ms": float(np.percentile(lat, 99) * 1e3) if lat is not None and len(lat) else None,
        "lat_max_ms": float(lat.max() * 1e3) if lat is not None and len(lat) else None,
    }


async def amain(args: argparse.Namespace) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HARNESS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        addr = json.loads(proc.stdout.readline())
        os.environ[BUS_ENV] = addr["bus"]
        harness = psutil.Process(proc.pid)
        with tempfile.TemporaryDirectory() as tmp:
            r = await record(addr, Path(tmp) / "base.h5", rate_hz=100, seconds=args.seconds, harness=harness,
                             track_latency=True)
            print(f"2 insoles x 16 sensors x 100 Hz, {r['wall_s']:.1f} s steady, {r['frames_per_s']:.0f} frames/s, "
                  f"lost {r['lost']}")
            print(f"  recorder process CPU: {100 * r['cpu_share']:.2f} % of one core "
                  f"(goal <= 5 %: ratio {r['cpu_share'] / 0.05:.2f})")
            print(f"  virtual insoles + dbus-daemon (separate process, not counted): "
                  f"{100 * r['harness_cpu_share']:.2f} % of one core")
            print(f"  notification-to-disk latency: p50 {r['lat_p50_ms']:.0f} ms, p99 {r['lat_p99_ms']:.0f} ms, "
                  f"max {r['lat_max_ms']:.0f} ms (goal p99 <= 600 ms: ratio {r['lat_p99_ms'] / 600:.2f})")
            print("  rate step-up (zero loss = no lost, duplicate or bad frame):")
            print(f"  {'rate_hz':>8} {'frames/s':>9} {'lost':>5} {'bad':>4} {'cpu %':>6} {'harness cpu %':>13}")
            best = 0
            for k, rate in enumerate(args.rates):
                r = await record(addr, Path(tmp) / f"rate{k}.h5", rate_hz=rate, seconds=args.step_seconds,
                                 harness=harness)
                ok = r["lost"] == 0 and r["bad_packets"] == 0 and r["frames_per_s"] > 0.95 * 2 * rate
                print(f"  {rate:>8} {r['frames_per_s']:>9.0f} {r['lost']:>5} {r['bad_packets']:>4} "
                      f"{100 * r['cpu_share']:>6.1f} {100 * r['harness_cpu_share']:>13.1f}"
                      + ("" if ok else "   <- loss or falling behind"), flush=True)
                if ok:
                    best = rate
                else:
                    break
            print(f"highest rate with zero loss: 2 x {best} frames/s of 16 sensors "
                  f"(goal >= 2 x 1000: ratio {best / 1000:.2f})")
    finally:
        proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the 100 Hz run, s")
    ap.add_argument("--step-seconds", type=float, default=6.0, help="length of each rate step, s")
    ap.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                    default=[100, 250, 500, 1000, 1500, 2000], help="rates to step through, Hz per insole")
    asyncio.run(amain(ap.parse_args()))


if __name__ == "__main__":
    main()
