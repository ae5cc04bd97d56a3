"""Live view from the first strides: provisional events before one baseline window, a colour scale."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import numpy as np

from gaitpf.layouts import gaitpf16_layout
from gaitpf.live.buffer import LiveBuffer
from gaitpf.sim.gait_model import GaitParams, WalkingBouts, simulate_trial


def _push(buf, rec, t_end_s, start=0):
    fs = rec.sampling_rate_hz
    n = int(t_end_s * fs)
    for k in range(start, n, 10):
        for side in ("left", "right"):
            f = rec.feet[side]
            buf.push(side, f.values[k:k + 10], time_s=np.arange(k, min(k + 10, n)) / fs,
                     sample_counter=np.arange(k, min(k + 10, n)))
    return n


def test_events_are_shown_from_the_first_strides_then_confirmed_as_offline(qtbot):
    from gaitpf.live.window import LiveWindow

    rec, _ = simulate_trial(GaitParams(seed=4, n_sensors=16, walking_bouts=WalkingBouts(
        standing_start_s=0.5, standing_end_s=0.5, pause_s=1.0)), duration_s=16.0)
    lay = gaitpf16_layout()
    buf = LiveBuffer(sampling_rate_hz=100.0, n_sensors={"left": 16, "right": 16}, unit="N",
                     layouts={"left": lay, "right": lay}, body_mass_kg=70.0)
    n = _push(buf, rec, 4.0)                               # a 10 m walkway pass shows its steps at once
    snap = buf.snapshot(last_s=6.0)
    for side in ("left", "right"):
        assert len(snap.sides[side].provisional_ic_s) >= 2, side
        assert len(snap.sides[side].ic_s) == 0             # nothing confirmed before one baseline window
    early = snap.metrics["early"]                          # symmetry of the first strides, marked provisional
    assert min(early["n_strides"].values()) >= 1 and not snap.metrics["si_pct"]
    assert abs(early["si_pct"]["stance_time_s"]) < 20 and abs(early["si_pct"]["swing_time_s"]) < 30
    from gaitpf.live.panels import metrics_html

    assert "provisional: first" in metrics_html(snap)
    _push(buf, rec, 14.0, start=n)
    snap = buf.snapshot(last_s=6.0)
    assert all(len(buf.stances(s)) >= 5 for s in ("left", "right"))   # confirmed once 10 s are there
    win = LiveWindow(buf, refresh_ms=1000)
    qtbot.addWidget(win)
    win.refresh()
    assert win.color_bar.getAxis("left").labelText.startswith("sensor reading (N)")
    lo, hi = win.color_bar.levels()
    assert lo == 0.0 and 0.5 * win._level < hi <= win._level       # scale of the map colours, in N
