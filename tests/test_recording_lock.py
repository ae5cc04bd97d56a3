"""One writer per recording: a second recorder, or `gaitpf repair`, never touches a file being recorded."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import h5py
import pytest

from gaitpf.cli.main import main
from gaitpf.errors import OutputError
from gaitpf.io.filelock import RecordingLock, lock_holder, lock_path
from gaitpf.io.hdf5 import file_info
from gaitpf.recording.recorder import Recorder
from gaitpf.recording.replay import SimulatedSource
from gaitpf.sim.gait_model import GaitParams


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gaitpf.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _frames(path) -> int:
    try:
        with h5py.File(path, "r", swmr=True) as f:
            return int(f["left/values"].shape[0])
    except (OSError, KeyError):
        return 0


def test_second_recorder_and_repair_are_refused_while_recording_and_never_touch_the_file(tmp_path):
    out = tmp_path / "walk.h5"
    first = subprocess.Popen([sys.executable, "-m", "gaitpf.cli.main", "record", "--simulate", "-o", str(out),
                              "--subject", "FIRST", "--session", "1", "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)   # until stopped
    try:
        deadline = time.monotonic() + 120
        while _frames(out) < 100:                      # recording: frames reach the file
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert lock_holder(out) == f"gaitpf record pid {first.pid}"

        second = _cli("record", "--simulate", "-o", str(out), "--subject", "SECOND", "--session", "1",
                      "--duration", "2", "--quiet", "--overwrite")
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and second.stderr.startswith("gaitpf: error: "), second.stderr
        assert f"in use by gaitpf record pid {first.pid}" in second.stderr and str(out) in second.stderr

        rep = _cli("repair", str(out))
        assert rep.returncode == 2 and rep.stdout == ""
        assert rep.stderr.count("\n") == 1 and "in use by gaitpf record" in rep.stderr, rep.stderr
        assert first.poll() is None                    # the first recorder is still recording
        seen = _frames(out)
        time.sleep(0.5)
        first.send_signal(signal.SIGTERM)
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0 and "(interrupted)" in stdout, stderr
    info = file_info(out)                              # the first recording, whole and untouched
    assert info["subject_id"] == "FIRST" and info["closed_cleanly"] is True and info["opened_swmr"] is False
    assert info["feet"]["left"]["frames"] >= seen
    assert f"left {info['feet']['left']['frames']} frames" in stdout   # all it recorded is in the file
    with h5py.File(out, "r") as f:
        assert "repaired" not in f.attrs or int(f.attrs["repaired"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.h5"]     # no lock file, no temp file left

    # a finished recording is not replaced without --overwrite (and is not touched)
    before = _digest(out)
    again = _cli("record", "--simulate", "-o", str(out), "--subject", "SECOND", "--session", "1", "--duration", "1",
                 "--quiet")
    assert again.returncode == 2 and "already exists" in again.stderr and "--overwrite" in again.stderr
    assert again.stderr.count("\n") == 1 and _digest(out) == before


def test_the_lock_decides_when_two_recorders_pass_the_early_check_together(tmp_path):
    """Two recorders starting together both pass the early check; the lock decides (taken here by hand)."""
    import asyncio

    out = tmp_path / "race.h5"
    out.write_bytes(b"")              # an empty file (a fresh temporary one) is no recording: usable
    entered = []

    class Source(SimulatedSource):
        async def __aenter__(self):
            entered.append(True)
            return await super().__aenter__()

    with RecordingLock(out, what="gaitpf record"):
        rec = Recorder(Source(GaitParams(seed=1), speed=20.0), out, subject_id="S", session="1", duration_s=0.5)
        with pytest.raises(OutputError, match=r"in use by gaitpf record pid \d+"):
            asyncio.run(rec.run())
    assert not entered and out.stat().st_size == 0    # the source never started, the file was not touched
    assert not lock_path(out).exists()

    res = asyncio.run(Recorder(Source(GaitParams(seed=1), speed=20.0), out, subject_id="S", session="1",
                               duration_s=0.3, flush_interval_s=0.1).run())
    assert res.frames["left"] > 0 and file_info(out)["closed_cleanly"] is True
    with pytest.raises(OutputError, match="already exists"):
        asyncio.run(Recorder(Source(GaitParams(seed=1), speed=20.0), out, subject_id="T", session="1",
                             duration_s=0.3).run())
    res = asyncio.run(Recorder(Source(GaitParams(seed=2), speed=20.0), out, subject_id="T", session="1",
                               duration_s=0.3, flush_interval_s=0.1, overwrite=True).run())
    assert file_info(out)["subject_id"] == "T"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.h5"]


def test_lock_dies_with_its_process_and_a_stale_lock_file_is_reused(tmp_path):
    out = tmp_path / "k.h5"
    code = ("import os, sys; from gaitpf.io.filelock import RecordingLock; "
            "RecordingLock(sys.argv[1], what='gaitpf record').acquire(); print('held', flush=True); "
            "sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert lock_holder(out) == f"gaitpf record pid {proc.pid}"
        with pytest.raises(OutputError, match=f"in use by gaitpf record pid {proc.pid}"):
            RecordingLock(out, what="gaitpf repair").acquire()
        proc.kill()                                   # SIGKILL: no cleanup runs
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert lock_path(out).exists() and lock_holder(out) is None   # the file stays, the lock is gone
    with RecordingLock(out, what="gaitpf repair") as lock:
        assert lock.held and lock_holder(out) == f"gaitpf repair pid {os.getpid()}"
    assert not lock_path(out).exists()


def test_live_recording_refuses_an_existing_file(tmp_path, capsys):
    out = tmp_path / "old.h5"
    out.write_bytes(b"not empty")
    with pytest.raises(SystemExit) as exc:
        main(["live", "--simulate", "-o", str(out), "--duration", "1", "--screenshot", str(tmp_path / "s.png")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"not empty"


def test_session_set_is_refused_while_the_recording_is_locked(tmp_path, capsys):
    from gaitpf.io import write_recording
    from gaitpf.sim.gait_model import simulate_trial

    out = tmp_path / "S1" / "T1.h5"
    out.parent.mkdir()
    write_recording(out, simulate_trial(GaitParams(seed=3), duration_s=15.0)[0])
    before = _digest(out)
    code = ("import sys; from gaitpf.io.filelock import RecordingLock; "
            "RecordingLock(sys.argv[1], what='gaitpf record').acquire(); print('held', flush=True); "
            "sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit) as exc:
            main(["session", "set", str(out.parent), "--pain", "3"])
        assert exc.value.code == 2
        assert f"in use by gaitpf record pid {proc.pid}" in capsys.readouterr().err
        assert _digest(out) == before
    finally:
        proc.kill()
        proc.wait(30)
    assert main(["session", "set", str(out.parent), "--pain", "3"]) in (None, 0)
    assert _digest(out) != before and not lock_path(out).exists()
