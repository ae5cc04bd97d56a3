"""A recording survives a killed recorder and a full disk; `gaitpf repair` restores the file."""
from __future__ import annotations

import errno
import json
import random
import resource
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from gaitpf.recording.recorder import Recorder
from gaitpf.recording.replay import SimulatedSource
from gaitpf.cli.main import main
from gaitpf.errors import OutputError
from gaitpf.io.hdf5 import file_info, read_hdf5
from gaitpf.model import SIDES
from gaitpf.sim.gait_model import GaitParams, GaitSimulator

FLUSH_S = 0.5
#: Scheduling slack on a loaded 2-core CI machine on top of the flush interval, s.
SLACK_S = 0.5

RECORDER = textwrap.dedent(
    """
    import asyncio, sys
    from gaitpf.recording.recorder import Recorder
    from gaitpf.recording.replay import SimulatedSource
    from gaitpf.sim.gait_model import GaitParams
    src = SimulatedSource(GaitParams(seed=5), speed=1.0, chunk_s=0.04, counter_log=sys.argv[2])
    asyncio.run(Recorder(src, sys.argv[1], subject_id="K1", session="1", flush_interval_s=float(sys.argv[3])).run())
    """
)


def _wait_for(predicate, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sigkill_loses_at_most_the_last_flush_interval_and_repair_restores_the_file(tmp_path, capsys):
    path, log = tmp_path / "killed.h5", tmp_path / "sent.log"
    proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(path), str(log), str(FLUSH_S)])
    try:
        _wait_for(lambda: log.exists() and log.stat().st_size > 0)
        time.sleep(random.Random(20240611).uniform(1.2, 2.6))   # "a random moment", reproducible
        t_kill = time.monotonic()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    # what the source had handed to the recorder, and when (monotonic clock shared by processes)
    sent = [line.split() for line in log.read_text().splitlines() if line.count(" ") == 2]
    with pytest.raises(OSError):           # left open by the killed writer: normal opens fail
        h5py.File(path, "r")
    info = file_info(path)
    assert info["opened_swmr"] is True and info["closed_cleanly"] is False
    rec = read_hdf5(path)
    expected = GaitSimulator(GaitParams(seed=5), None).render(0, 2000)
    for side in SIDES:
        foot = rec.feet[side]
        n = foot.n_samples
        durable_by = [int(c) for t, s, c in sent if s == side and float(t) <= t_kill - FLUSH_S - SLACK_S]
        must_have = max(durable_by) + 1 if durable_by else 0
        assert n >= must_have, f"{side}: {n} frames in the file, but {must_have} were sent before the last flush"
        handed = max(int(c) for t, s, c in sent if s == side) + 1
        assert n <= handed + 4, f"{side}: more frames in the file than the source produced"
        np.testing.assert_array_equal(foot.sample_counter, np.arange(n))
        np.testing.assert_array_equal(foot.values, expected[side][:n])

    assert main(["repair", str(path)]) is None
    out = capsys.readouterr().out
    assert "repaired; recovered left:" in out and "clock refitted (left, right)" in out
    with h5py.File(path, "r") as f:        # a normal file again
        assert int(f.attrs["repaired"]) == 1 and int(f.attrs["closed_cleanly"]) == 0
        assert f["left/values"].compression == "gzip"
    again = read_hdf5(path)
    for side in SIDES:
        np.testing.assert_array_equal(again.feet[side].values, rec.feet[side].values)
        np.testing.assert_array_equal(again.feet[side].sample_counter, rec.feet[side].sample_counter)
        # the killed recorder's real-time alignment is replaced by the whole-file clock fit
        # (a few ms at most here: both virtual insoles share the host's clock)
        assert np.all(np.diff(again.feet[side].time_s) > 0)
        assert np.abs(again.feet[side].time_s - rec.feet[side].time_s).max() < 0.05
    n = min(again.feet["left"].n_samples, again.feet["right"].n_samples)
    lr_ms = 1000 * np.abs(again.feet["left"].time_s[:n] - again.feet["right"].time_s[:n])
    assert lr_ms.max() < 2.0                                  # same counter, same instant on both feet
    main(["info", "--json", str(path)])
    info = json.loads(capsys.readouterr().out)
    assert info["closed_cleanly"] is False and info["opened_swmr"] is False
    assert info["feet"]["left"]["frames"] == rec.feet["left"].n_samples
    main(["repair", str(path)])
    assert "nothing to repair" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed.h5", "sent.log"]  # no temp file left


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_file_size_limit_hit_mid_recording_gives_a_clear_error_and_keeps_the_flushed_data(tmp_path):
    # a real failed write (EFBIG from RLIMIT_FSIZE stands in for ENOSPC), space check disabled
    path = tmp_path / "full.h5"
    proc = subprocess.run(
        [sys.executable, "-m", "gaitpf.cli.main", "record", "--simulate", "--speed", "10", "-o", str(path),
         "--subject", "S", "--session", "1", "--quiet", "--min-free-mb", "0", "--duration", "600"],
        capture_output=True, text=True, timeout=240, preexec_fn=_limit_file_size)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("gaitpf: error: ") and "file size limit was reached" in last and str(path) in last
    # The failed flush may have left the superblock pointing past the end of the file (HDF5
    # then refuses any open) or extended the datasets without their data (fill values).
    # `gaitpf repair` pads the file to its recorded size and keeps the valid prefix: the
    # frames flushed before the error.
    main(["repair", str(path)])
    repaired = read_hdf5(path)
    expected = {}
    for side in SIDES:
        after = repaired.feet[side]
        n = after.n_samples
        assert n > 500
        assert np.all(np.diff(after.sample_counter) > 0) and np.all(np.diff(after.time_s) > 0)
        expected[side] = after.sample_counter
    assert file_info(path)["closed_cleanly"] is False


async def test_disk_nearly_full_stops_cleanly_before_a_write_fails(tmp_path, monkeypatch):
    from gaitpf.recording import recorder_writer

    left = iter([400e6, 200e6, 100e6] + [1e6] * 1000)
    monkeypatch.setattr(recorder_writer, "headroom_bytes", lambda path: int(next(left)))
    path = tmp_path / "nearly.h5"
    rec = Recorder(SimulatedSource(GaitParams(seed=2), speed=20.0), path, subject_id="S", session="1",
                   flush_interval_s=0.1, min_free_bytes=16 * 2**20)
    with pytest.raises(OutputError, match="disk is nearly full .* closed cleanly") as err:
        await rec.run()
    assert str(path) in str(err.value)
    info = file_info(path)
    assert info["closed_cleanly"] is True and info["opened_swmr"] is False
    assert info["feet"]["left"]["frames"] > 0
    assert rec.status().n_flushes == 4     # three checks passed, the fourth wrote what was pending


async def test_injected_enospc_stops_acquisition_and_keeps_flushed_data(tmp_path, monkeypatch):
    from gaitpf.io import hdf5_writer

    real_append = hdf5_writer.RecordingWriter.append
    calls = {"n": 0}

    def failing_append(self, side, values, **kw):
        calls["n"] += 1
        if calls["n"] > 6:
            raise OutputError(f"{self.path}: writing {side} frames failed") from OSError(
                errno.ENOSPC, "No space left on device")
        return real_append(self, side, values, **kw)

    monkeypatch.setattr(hdf5_writer.RecordingWriter, "append", failing_append)
    path = tmp_path / "enospc.h5"
    src = SimulatedSource(GaitParams(seed=1), speed=10.0, chunk_s=0.05)
    t0 = time.monotonic()
    with pytest.raises(OutputError, match="disk is full") as err:
        await Recorder(src, path, subject_id="S", session="1", flush_interval_s=0.1).run()
    assert str(path) in str(err.value) and "remains readable" in str(err.value)
    assert src.status().frames["left"] < 100 * 10 * (time.monotonic() - t0) + 100  # acquisition stopped
    r = read_hdf5(path)
    n = r.feet["left"].n_samples
    assert n > 0
    np.testing.assert_array_equal(r.feet["left"].sample_counter, np.arange(n))


def test_unwritable_path_is_a_one_line_cli_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")                    # missing folders are created; under a file they cannot be
    for target, why in ((blocker / "no" / "x.h5", "cannot create the folder"), (tmp_path, "is a directory"),
                        ("/proc/gaitpf-test.h5", "cannot record here")):
        with pytest.raises(SystemExit) as exc:
            main(["record", "--simulate", "-o", str(target), "--subject", "S", "--session", "1"])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("gaitpf: error: ") and err.count("\n") == 1 and why in err, err
