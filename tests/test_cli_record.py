"""`gaitpf record --simulate`: virtual insoles → fake BlueZ → bleak → recorder → file, end to end."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from gaitpf.cli.main import main
from gaitpf.io.hdf5 import file_info, read_hdf5
from gaitpf.model import QUALITY_GAP_BEFORE, SIDES


def test_record_simulate_then_info_and_analyze(tmp_path, capsys):
    out = tmp_path / "walk.h5"
    main(["record", "--simulate", "--duration", "20", "--speed", "5", "-o", str(out), "--subject", "P07",
          "--session", "3", "--trial", "b", "--seed", "4", "--quiet"])
    line = capsys.readouterr().out
    assert line.startswith("recorded ") and "(duration)" in line and str(out) in line

    main(["info", "--json", str(out)])
    info = json.loads(capsys.readouterr().out)
    assert info["closed_cleanly"] is True and info["opened_swmr"] is False
    assert (info["subject_id"], info["session"], info["trial"]) == ("P07", "3", "b")
    for side in SIDES:
        foot = info["feet"][side]
        assert foot["sensors"] == 16 and foot["unit"] == "N" and foot["layout_id"] == "gaitpf-16"
        assert 17.0 < foot["duration_s"] < 23.0              # 20 virtual seconds, minus connection time
        assert foot["n_lost_frames"] == 0 and foot["gaps"]["count"] == 0
        assert foot["clock_residual_ms"] is not None
    with h5py.File(out, "r") as f:
        # the clock fit of each foot was stored at the clean close
        assert all(np.isfinite(f[s].attrs["clock_drift_ppm"]) for s in SIDES)
        assert abs(f["left"].attrs["clock_drift_ppm"] - 35.0) < 200   # virtual crystal: +35 ppm
        src = json.loads(f.attrs["source"])
        assert src["mode"] == "simulate" and src["addresses"]["left"].startswith("C0:FF:EE")

    summary = tmp_path / "summary.json"
    main(["analyze", str(out), "--summary", str(summary)])
    capsys.readouterr()
    s = json.loads(summary.read_text())
    assert s["n_strides"]["left"] >= 5 and s["n_strides"]["right"] >= 5
    assert 95 < s["cadence_spm"] < 121                      # the virtual subject walks at 108 steps/min


def test_forced_disconnects_become_gaps_without_duplicates_or_reordering(tmp_path, capsys):
    out = tmp_path / "drops.h5"
    main(["record", "--simulate", "--duration", "8", "--speed", "2", "-o", str(out), "--subject", "S",
          "--session", "1", "--quiet", "--sim-drop", "left:0.8:0.6", "--sim-drop", "right:1.8:0.5"])
    capsys.readouterr()
    rec = read_hdf5(out)
    ann = rec.annotations
    for side in SIDES:
        foot = rec.feet[side]
        assert np.all(np.diff(foot.sample_counter) > 0)               # no duplicates, no reordering
        assert np.all(np.diff(foot.time_s) > 0)
        jumps = np.flatnonzero(np.diff(foot.sample_counter) > 1) + 1
        flagged = np.flatnonzero(foot.quality & QUALITY_GAP_BEFORE)
        assert len(jumps) >= 1 and set(jumps) <= set(flagged)
        gaps = ann[(ann["kind"] == "gap") & (ann["side"] == side)]
        assert len(gaps) == len(jumps)
        lost = int((np.diff(foot.sample_counter) - 1).sum())
        assert lost >= 0.5 * 100 * 2 * 0.5                             # ≥ half of the outage (at 2x speed)
        # each gap annotation spans the missing frames on the aligned time base
        for (_, g), j in zip(gaps.iterrows(), jumps):
            assert g["onset_s"] == pytest.approx(foot.time_s[j - 1] + 0.01, abs=0.02)
            assert g["onset_s"] + g["duration_s"] == pytest.approx(foot.time_s[j], abs=0.02)
        link = ann[(ann["kind"] == "link") & (ann["side"] == side)]["description"]
        assert any(d.startswith("disconnected") for d in link) and any(d.startswith("connected") for d in link)
    info = file_info(out)
    assert info["feet"]["left"]["n_lost_frames"] == int((np.diff(rec.feet["left"].sample_counter) - 1).sum())


def test_only_allow_listed_insoles_are_recorded(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["record", "--simulate", "--duration", "1", "-o", str(tmp_path / "x.h5"), "--subject", "S",
              "--session", "1", "--allow", "AA:BB:CC:DD:EE:FF", "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("gaitpf: error: ") and "not allow-listed" in err and err.count("\n") == 1
    assert not (tmp_path / "x.h5").exists()


def test_record_needs_addresses_without_simulate(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["record", "-o", str(tmp_path / "x.h5"), "--subject", "S", "--session", "1"])
    assert exc.value.code == 2
    assert "--left and --right" in capsys.readouterr().err


def test_sigterm_stops_recording_and_closes_the_file_cleanly(tmp_path):
    out = tmp_path / "term.h5"
    proc = subprocess.Popen([sys.executable, "-m", "gaitpf.cli.main", "record", "--simulate", "-o", str(out),
                             "--subject", "S", "--session", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        frames = 0
        while frames < 50:          # follow the growing file like a live viewer would
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
            if out.exists():
                try:
                    with h5py.File(out, "r", swmr=True) as f:
                        frames = f["left/values"].shape[0]
                except (OSError, KeyError):
                    frames = 0
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "(interrupted)" in stdout
    assert "recording " in stderr            # plain status lines when stderr is not a terminal
    info = file_info(out)
    assert info["closed_cleanly"] is True and info["feet"]["left"]["frames"] >= 50


def test_record_creates_the_output_folders(tmp_path):
    out = tmp_path / "recordings" / "PF01" / "S01" / "t1.h5"
    main(["record", "--simulate", "--duration", "3", "--speed", "4", "-o", str(out), "--subject", "PF01",
          "--session", "1", "--quiet"])
    assert out.is_file() and read_hdf5(out).feet["left"].n_samples > 0
