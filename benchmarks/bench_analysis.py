"""Speed of the analysis core relative to reading the data once.

Generates (once, cached) a 1-hour recording of 2 x 16 sensors at 100 Hz and one of
2 x 1000 sensels at 100 Hz with the virtual gait model, then prints the wall time of
``read_recording`` alone and of ``read_recording`` + ``analyze`` and their ratio.
Goal: ratio <= 2.0 (aim <= 1.2).

    .venv/bin/python benchmarks/bench_analysis.py [--duration-s 3600] [--cache DIR] [--repeats N]
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitpf.analysis import analyze
from gaitpf.io import read_recording
from gaitpf.io.hdf5_writer import FootSpec, RecordingWriter
from gaitpf.sim.gait_model import GaitParams, GaitSimulator, iter_frames

CASES = (("2x16", 16), ("2x1000", 1000))


def generate(path: Path, *, n_sensors: int, duration_s: float, seed: int = 7) -> None:
    """Write a virtual recording chunk by chunk (bounded memory)."""
    params = GaitParams(n_sensors=n_sensors, seed=seed)
    sim = GaitSimulator(params, duration_s)
    feet = {s: FootSpec(n_sensors=n_sensors, unit="N", sampling_rate_hz=sim.fs, layout=sim.layouts[s],
                        device=sim.device(s)) for s in ("left", "right")}
    tmp = path.with_suffix(".part")
    with RecordingWriter(tmp, subject_id="bench", session="1", trial="1", feet=feet,
                         body_mass_kg=params.body_mass_kg, swmr=False,
                         source={"importer": "simulate", "benchmark": True}) as w:
        for chunk in iter_frames(params, chunk_s=60.0, duration_s=duration_s):
            for side in ("left", "right"):
                w.append(side, chunk.values[side], time_s=chunk.time_s)
    os.replace(tmp, path)


def timed(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        out = None
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration-s", type=float, default=3600.0)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "gaitpf-bench")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--cases", default="2x16,2x1000")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    wanted = set(args.cases.split(","))

    print(f"{'case':8} {'samples':>9} {'file MB':>8} {'read s':>8} {'read+analyze s':>15} {'ratio':>6} "
          f"{'strides L/R':>12}")
    for name, n_sensors in CASES:
        if name not in wanted:
            continue
        path = args.cache / f"bench_{name}_{int(args.duration_s)}s.h5"
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, n_sensors=n_sensors, duration_s=args.duration_s)
            print(f"# generated {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t_read, rec = timed(lambda: read_recording(path), args.repeats)
        del rec
        t_all, res = timed(lambda: analyze(read_recording(path)), args.repeats)
        n = res.summary["n_strides"]
        samples = int(args.duration_s * 100)
        print(f"{name:8} {samples:9d} {path.stat().st_size / 1e6:8.1f} {t_read:8.2f} {t_all:15.2f} "
              f"{t_all / t_read:6.2f} {n['left']:>5}/{n['right']:<6}")
        del res
    print("goal: ratio (read+analyze)/read <= 2.0, aim <= 1.2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
