"""A stopped host (SIGSTOP, suspend): frames buffered meanwhile arrive seconds late.

The lower-envelope fit must not be dragged by them, and the reported clock residual must
stay the link's jitter (milliseconds), not the length of the stall (issue 11: 7 s after a
SIGSTOP of the recorder).
"""
from __future__ import annotations

import numpy as np
import pytest

from gaitpf.acquisition.clock import LATE_MS, ClockMapper, fit_clock

RATE_HZ = 100.0


def link(*, rng, duration_s, stalls=(), drift_ppm=-30.0, ci_s=0.0075, frames_per_packet=2):
    """Packets of one insole; during each ``(start_s, length_s)`` stall the host reads nothing,
    then drains the buffered packets at 0.2 ms each. Returns (counter, n_frames, host_s, truth_s)."""
    c = np.arange(0, int(duration_s * RATE_HZ), frames_per_packet)
    dev_s = 1.0 / (RATE_HZ * (1 + drift_ppm * 1e-6))
    truth = 2.0 + c * dev_s                                          # sampling time of each first frame
    ready = truth + (frames_per_packet - 1) * dev_s + 0.0002         # the newest frame is sampled, packet leaves
    host = ready + rng.uniform(0, ci_s, c.size) + rng.exponential(0.0015, c.size)
    for start, length in stalls:
        inside = (ready >= 2.0 + start) & (ready < 2.0 + start + length)
        host[inside] = 2.0 + start + length + 0.0002 * np.arange(inside.sum())
    return c, np.full(c.size, frames_per_packet), np.maximum.accumulate(host), truth


def realtime(c, nf, h):
    """Feed 1-s batches to a ClockMapper as the BLE source does; map each batch on arrival."""
    m = ClockMapper(RATE_HZ)
    edges = np.searchsorted(h, np.arange(h[0], h[-1] + 1.0, 1.0))
    est = np.empty(c.size)
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            m.add(c[a:b], h[a:b], n_frames=nf[a:b])
            est[a:b] = m.map(c[a:b])
    return m, est


def test_one_late_bin_on_an_exact_line():
    c = np.arange(0, 6000, 2)                    # 60 s, one packet of 2 frames every 20 ms
    h = 5.0 + (c + 1) / RATE_HZ
    h[(c >= 3000) & (c < 3100)] += 5.0           # one second of packets 5 s late
    fit = fit_clock(c, h, RATE_HZ, n_frames=2)
    assert fit.residual_ms == pytest.approx(0.0, abs=1e-6) and fit.n_late_bins == 1
    np.testing.assert_allclose(fit.map(c), 5.0 + c / RATE_HZ, atol=1e-9)   # not dragged at all
    # every bin late (nothing on time to compare with): reported, not hidden
    assert fit_clock(c[:50], h[:50] + 1.0, RATE_HZ, n_frames=2).n_late_bins == 0   # a constant offset is not late
    assert LATE_MS == 250.0


@pytest.mark.parametrize("stall", [(40.0, 7.0), (100.0, 20.0), (8.0, 7.0)])
def test_a_multi_second_stall_neither_drags_the_fit_nor_inflates_the_residual(stall):
    start, length = stall
    calm = link(rng=np.random.default_rng(5), duration_s=160.0)
    stopped = link(rng=np.random.default_rng(5), duration_s=160.0, stalls=[stall])
    results = {}
    for name, (c, nf, h, truth) in (("calm", calm), ("stopped", stopped)):
        m, est = realtime(c, nf, h)
        off = fit_clock(c, h, RATE_HZ, n_frames=nf)
        results[name] = dict(rt=m.current, off=off, err_rt=np.abs(est - truth), err_off=np.abs(off.map(c) - truth))
    calm_r, stop_r = results["calm"], results["stopped"]
    lag = stopped[2] - stopped[3]
    assert lag.max() > length - 1.0                                # the stall really delayed packets by seconds
    for kind in ("rt", "off"):
        fit = stop_r[kind]
        # residual: the link's jitter (the calm run's, a few ms), not the stall (seconds)
        assert fit.residual_ms < max(3 * calm_r[kind].residual_ms, 15.0), (kind, fit.residual_ms)
        assert fit.drift_ppm == pytest.approx(calm_r[kind].drift_ppm, abs=3.0)
    assert results["stopped"]["off"].n_late_bins >= length - 1
    # mapped times stay within a few ms of the truth, as without the stall
    assert stop_r["err_off"].max() < 2e-3 and stop_r["err_rt"].max() < 5e-3
    assert stop_r["err_rt"][-1000:].max() < calm_r["err_rt"][-1000:].max() + 1e-3


def test_sigstopped_recorder_keeps_a_millisecond_clock_residual(tmp_path):
    """The real path: `gaitpf record --simulate` stopped (SIGSTOP) for 3 s, then continued."""
    import json
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "stopped.h5"
    proc = subprocess.Popen([sys.executable, "-m", "gaitpf", "record", "--simulate", "-o", str(out), "--subject",
                             "S", "--session", "1", "--duration", "10", "--quiet", "--flush-interval", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and out.stat().st_size > 30_000):   # recording for a while
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGSTOP)
        time.sleep(3.0)
        proc.send_signal(signal.SIGCONT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, stderr
    info = subprocess.run([sys.executable, "-m", "gaitpf", "info", "--json", str(out)], capture_output=True,
                          text=True, check=True)
    feet = json.loads(info.stdout)["feet"]
    for side in ("left", "right"):
        # before: 4-5 s after a 7-s stop (the stall reported as link jitter); the link's own is < 1 ms
        assert 0.0 <= feet[side]["clock_residual_ms"] < 30.0, (side, feet[side])
