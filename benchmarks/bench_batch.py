"""Benchmark of `gaitpf batch` and of the bounded-memory chunked analysis.

Prints:

* throughput on N generated recordings (default 100 × 120 s, 2 × 16 sensors @ 100 Hz):
  recording-hours per second and sensor-samples per second, with ``--jobs 1`` and ``--jobs 2``;
* parallel efficiency ``T(jobs=1) / (2 · T(jobs=2))`` (goal ≥ 0.8 on 2 cores);
* ratio of the batch time (``--jobs 1``) to the time of just reading every file (goal ≤ 1.5);
* peak memory (RSS, measured with psutil in a subprocess, plus the kernel's ru_maxrss) of
  the chunked analysis of a 10-hour 2 × 16 @ 100 Hz and a 1-hour 2 × 1000-sensel @ 100 Hz
  recording (goal ≤ 500 MB), and of the whole-file analysis for comparison (optional).

Usage::

    python benchmarks/bench_batch.py [--n 100] [--duration 120] [--dir DIR] [--skip-memory]
        [--memory-hours 10] [--sensel-hours 1]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from gaitpf.batch.chunked import analyze_hdf5_chunked
t = time.perf_counter()
res, info = analyze_hdf5_chunked(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "strides": len(res.strides), **info}))
"""

GEN = r"""
import sys
from gaitpf.cli.cmd_simulate import write_simulation
from gaitpf.sim.gait_model import GaitParams, WalkingBouts
dur = float(sys.argv[2])
bouts = WalkingBouts(bout_s=min(600.0, dur / 4), n_bouts=max(2, int(dur // 600)))
write_simulation(sys.argv[1], GaitParams(n_sensors=int(sys.argv[3]), seed=7, walking_bouts=bouts), duration_s=dur)
"""


def _peak_rss_mb(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd``; return (psutil-polled peak RSS MB, ru_maxrss MB of the child, stdout)."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"child failed: {err[-2000:]}")
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 2**20, max(maxrss, before) / 1024.0, out


def _generate(path: Path, duration_s: float, n_sensors: int) -> float:
    t = time.perf_counter()
    if not path.exists():
        subprocess.run([sys.executable, "-c", GEN, str(path), str(duration_s), str(n_sensors)], check=True)
    return time.perf_counter() - t


def bench_batch(work: Path, n: int, duration_s: float) -> dict:
    from gaitpf.batch import run_batch
    from gaitpf.cli.cmd_simulate import write_simulation
    from gaitpf.io import read_recording
    from gaitpf.sim.gait_model import GaitParams

    root = work / "archive"
    t = time.perf_counter()
    for i in range(n):
        p = root / "recordings" / f"S{i // 4:03d}" / f"{i % 4 + 1}" / "walk.h5"
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            write_simulation(p, GaitParams(seed=i, cadence_spm=95 + i % 30), duration_s=duration_s)
    print(f"generated {n} recordings of {duration_s:g} s in {time.perf_counter() - t:.1f} s")
    files = sorted(root.rglob("*.h5"))
    t = time.perf_counter()
    for f in files:
        read_recording(f)
    t_read = time.perf_counter() - t
    res = {"n": n, "read_s": t_read}
    for jobs in (1, 2):
        out = work / f"out{jobs}"
        t = time.perf_counter()
        rep = run_batch(root, out, jobs=jobs, force=True, quiet=True)
        res[f"jobs{jobs}_s"] = time.perf_counter() - t
        res["hours"], res["sensor_samples"] = rep.recording_hours, rep.sensor_samples
        assert rep.n_failed == 0 and rep.n_computed == n
    t = time.perf_counter()
    rep = run_batch(root, work / "out2", jobs=2, quiet=True)
    res["rerun_cached_s"] = time.perf_counter() - t
    assert rep.n_reused == n
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (kept; default: a temporary one)")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-hours", type=float, default=10.0, help="duration of the 2 x 16 recording, h")
    ap.add_argument("--sensel-hours", type=float, default=1.0, help="duration of the 2 x 1000 recording, h")
    args = ap.parse_args()
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="gaitpf-bench-")
        work = Path(tmp.name)
    else:
        work = args.dir
        work.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}, work folder: {work}")
    if not args.skip_batch:
        r = bench_batch(work, args.n, args.duration)
        for jobs in (1, 2):
            s = r[f"jobs{jobs}_s"]
            print(f"batch --jobs {jobs}: {s:.2f} s for {r['n']} recordings = {r['hours'] / s:.3f} recording-h/s, "
                  f"{r['sensor_samples'] / s / 1e6:.2f} M sensor-samples/s, {r['n'] / s:.1f} recordings/s")
        eff = r["jobs1_s"] / (2 * r["jobs2_s"])
        ratio = r["jobs1_s"] / r["read_s"]
        print(f"parallel efficiency jobs 2 vs 1: {eff:.2f} (goal >= 0.80)")
        print(f"just reading every file: {r['read_s']:.2f} s; batch/read ratio (jobs 1): {ratio:.2f} (goal <= 1.5)")
        print(f"re-run with everything cached: {r['rerun_cached_s']:.2f} s")
    if not args.skip_memory:
        for hours, sensors in ((args.memory_hours, 16), (args.sensel_hours, 1000)):
            path = work / f"long_{hours:g}h_{sensors}.h5"
            gen = _generate(path, hours * 3600.0, sensors)
            peak, maxrss, out = _peak_rss_mb([sys.executable, "-c", CHILD, str(path)])
            info = json.loads(out)
            print(f"chunked analysis {hours:g} h 2 x {sensors} @ 100 Hz ({path.stat().st_size / 2**20:.0f} MB file, "
                  f"generated in {gen:.0f} s): {info['seconds']:.1f} s, {info['strides']} strides, "
                  f"peak RSS {peak:.0f} MB (psutil) / {maxrss:.0f} MB (ru_maxrss) (goal <= 500 MB)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
