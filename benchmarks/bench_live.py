"""Benchmark of the live view: frames drawn per second, CPU share, notification-to-screen latency.

Scenarios (headless, ``QT_QPA_PLATFORM=offscreen``; the real window, buffer and detector):

1. 2 × 16 sensors at 100 Hz, one frame per foot every 10 ms (goal ≥ 30 FPS, ≤ 50 % of one core);
2. 2 × 1000 sensels at 100 Hz (goal ≥ 20 FPS);
3. record and show in one process: virtual insoles through the BLE client and the recorder
   (``gaitpf live --simulate``), notification-to-screen latency p99 (goal ≤ 100 ms).

Usage: ``python benchmarks/bench_live.py [--seconds 10]``. Prints one line per scenario.
CPU share is the process CPU time (all threads: feeder, detector, recorder, Qt) over wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import numpy as np

from gaitpf.live.buffer import LiveBuffer
from gaitpf.live.sources import Feeder
from gaitpf.sim.gait_model import GaitParams, GaitSimulator


class SyntheticFeeder(Feeder):
    """Push the virtual gait frame by frame at real time (one 'notification' per frame and foot)."""

    def __init__(self, n_sensors: int, rate_hz: float = 100.0) -> None:
        params = GaitParams(n_sensors=n_sensors, seed=1)
        self.sim = GaitSimulator(params, None)
        buf = LiveBuffer(sampling_rate_hz=rate_hz, n_sensors={"left": n_sensors, "right": n_sensors}, unit="N",
                         layouts=dict(self.sim.layouts), body_mass_kg=params.body_mass_kg)
        super().__init__(buf, "bench-feeder")
        self.rate_hz = rate_hz
        self.ready.set()

    def run(self) -> None:
        t0 = time.monotonic()
        k = 0
        block = 100
        cache = self.sim.render(0, block)
        while not self._stop_flag.is_set():
            if k % block == 0:
                cache = self.sim.render(k, k + block)
            j = k % block
            for side in ("left", "right"):
                self.buffer.push(side, cache[side][j:j + 1], time_s=np.array([k / self.rate_hz]),
                                 sample_counter=np.array([k]), battery_pct=80.0)
            k += 1
            delay = t0 + k / self.rate_hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.finished.set()


def _run(feeder, seconds: float, title: str) -> dict:
    from gaitpf.live.app import run_live

    with tempfile.TemporaryDirectory() as d:
        stats = Path(d) / "s.json"
        run_live(feeder, title=title, screenshot=Path(d) / "s.png", after_s=seconds, stats_path=stats)
        return json.loads(stats.read_text())


def _line(name: str, s: dict, goal: str) -> str:
    lat = s["latency_ms"]
    return (f"{name:<34} {s['fps_drawn']:6.1f} FPS  CPU {s['cpu_pct_of_one_core']:5.1f}% of one core  "
            f"latency p50 {lat['p50'] or float('nan'):6.1f} ms  p99 {lat['p99'] or float('nan'):6.1f} ms   ({goal})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="run time of each scenario, s")
    args = ap.parse_args()
    print(f"gaitpf live benchmark: {args.seconds:g} s per scenario, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    s16 = _run(SyntheticFeeder(16), args.seconds, "bench 2x16")
    print(_line("2 x 16 sensors @ 100 Hz", s16, "goal >= 30 FPS, <= 50 % CPU"))
    s1000 = _run(SyntheticFeeder(1000), args.seconds, "bench 2x1000")
    print(_line("2 x 1000 sensels @ 100 Hz", s1000, "goal >= 20 FPS"))

    from gaitpf.live.sources import open_record

    with tempfile.TemporaryDirectory() as d:
        feeder = open_record(output=Path(d) / "rec.h5", left=None, right=None, simulate=True, subject_id="bench",
                             session="1", gait=GaitParams(seed=1), body_mass_kg=70.0)
        srec = _run(feeder, args.seconds, "bench record")
    print(_line("record + show (virtual BLE, 2 x 16)", srec, "goal latency p99 <= 100 ms"))


if __name__ == "__main__":
    main()
