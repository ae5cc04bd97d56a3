"""Benchmark of ``gaitpf studio``: clicks and seconds to a recorded trial, UI FPS while recording.

One scenario, the real window driven by the autopilot (``gaitpf studio --autopilot``) in a
fresh process, virtual insoles at real time (2 × 16 sensors at 100 Hz, through the BLE
client and the recorder):

1. a first visit creates the patient (and assigns the insoles: the clinic's allow-list is
   then remembered), with short trials;
2. a **returning patient** comes back: clicks and seconds from starting the app to the
   first trial recorded (trial check on screen), goal ≤ 5 clicks; seconds to the moment
   the recording started (insoles connected) are printed too, since the trial's own
   length is up to the clinician;
3. while that trial records (``--seconds`` of walking at real time), the live view's
   frames drawn per second (goal ≥ 30) and notification-to-screen latency.

Usage: ``python benchmarks/bench_studio.py [--seconds 15] [--xvfb]`` (``--xvfb``: under
Xvfb with the xcb platform plugin instead of offscreen). Prints one line per figure.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def studio(root: Path, *args: str, xvfb: bool, stats: Path) -> dict:
    env = {**os.environ, "QT_API": "pyside6", "QT_QPA_PLATFORM": "xcb" if xvfb else "offscreen"}
    cmd = [sys.executable, "-m", "gaitpf.cli.main", "studio", "--root", str(root), "--simulate", "--autopilot",
           "--n-boot", "500", "--stats", str(stats), *args]
    if xvfb:
        cmd = [shutil.which("xvfb-run") or "xvfb-run", "-a", "-s", "-screen 0 1400x1000x24", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode:
        raise SystemExit(f"studio failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return json.loads(stats.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=15.0, help="walking recorded in the measured trial, s")
    ap.add_argument("--xvfb", action="store_true", help="run under Xvfb with the xcb platform plugin")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "recordings"
        first = studio(root, "--speed", "8", "--trial-seconds", "2", "--subject", "PF-B01", xvfb=a.xvfb,
                       stats=Path(tmp) / "first.json")
        back = studio(root, "--trial-seconds", str(a.seconds), "--trials", "1", "--subject", "PF-B01",
                      xvfb=a.xvfb, stats=Path(tmp) / "back.json")
    live = back.get("live_view", {})
    lat = live.get("latency_ms", {})
    platform = "xcb (Xvfb)" if a.xvfb else "offscreen"
    print(f"platform: {platform}; first visit (new patient, insoles assigned): "
          f"{first['clicks_to_first_trial']} clicks to the first trial")
    print(f"returning patient: {back['clicks_to_first_trial']} clicks (goal <= 5) and {back['keys_to_first_trial']} "
          f"keystrokes to a recorded trial; recording after {back['seconds_to_recording']:.1f} s from app start, "
          f"trial recorded and checked after {back['seconds_to_first_trial']:.1f} s "
          f"(of which {a.seconds:g} s walking + the first strides)")
    print(f"live view while recording 2 x 16 sensors at 100 Hz (real time, {live.get('elapsed_s', 0):.1f} s): "
          f"{live.get('fps_drawn', 0):.1f} frames drawn/s (goal >= 30), latency p50 {lat.get('p50') or 0:.0f} ms, "
          f"p99 {lat.get('p99') or 0:.0f} ms, redraw errors {live.get('redraw_errors')}")


if __name__ == "__main__":
    main()
