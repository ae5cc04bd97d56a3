"""What a SIGKILLed run leaves behind is cleaned by the next run; ``--allow SERIAL`` works.

Real processes are killed: ``gaitpf simulate`` while it writes its atomic temporary, and
``gaitpf record --simulate`` while it records (its private D-Bus folder stays behind).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaitpf.cli.main import main
from gaitpf.io.atomic import atomic_path, sweep_stale_temporaries
from gaitpf.io.hdf5 import file_info
from gaitpf.sim.privbus import DIR_PREFIX, PrivateSystemBus, sweep_stale
from gaitpf.sim.virtual_insole import DEFAULT_SERIALS

GAITPF = [sys.executable, "-m", "gaitpf"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _env(tmp_dir: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp_dir)}


def _kill_when(proc: subprocess.Popen, ready, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            assert proc.poll() is None, f"{what}: the process ended early: {proc.communicate()}"
            assert time.monotonic() < deadline, f"{what}: not reached within {timeout_s} s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_atomic_write_removes_temporaries_of_dead_writers_only(tmp_path):
    dest = tmp_path / "out.h5"
    stale = tmp_path / f".out.h5.{_dead_pid()}-abc123.h5.tmp"
    live = tmp_path / f".out.h5.{os.getpid()}-def456.h5.tmp"       # a writer that is still running
    other = tmp_path / f".other.h5.{_dead_pid()}-0.h5.tmp"          # another destination's
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    with atomic_path(dest) as tmp:
        assert tmp.name.startswith(f".out.h5.{os.getpid()}-") and tmp.name.endswith(".h5.tmp")
        tmp.write_bytes(b"done")
    assert dest.read_bytes() == b"done"
    assert not stale.exists() and live.exists() and other.exists()
    assert sweep_stale_temporaries(tmp_path / "other.h5") == [other]


def test_sigkilled_simulate_leaves_a_temporary_the_next_write_removes(tmp_path):
    out = tmp_path / "long.h5"
    proc = subprocess.Popen(GAITPF + ["simulate", "-o", str(out), "--duration", "36000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    _kill_when(proc, lambda: any(tmp_path.glob(".long.h5.*.tmp")), "the atomic temporary")
    left = list(tmp_path.glob(".long.h5.*.tmp"))
    assert len(left) == 1 and left[0].name.startswith(f".long.h5.{proc.pid}-") and not out.exists()
    main(["simulate", "-o", str(out), "--duration", "20"])
    assert out.is_file() and list(tmp_path.glob(".long.h5.*")) == []


@pytest.fixture
def short_tmp():
    """A private TMPDIR with a short path (a unix socket path must fit in 108 bytes)."""
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="gpf", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_sigkilled_recorder_leaves_a_bus_folder_the_next_run_removes(tmp_path, short_tmp):
    tmp_dir = short_tmp
    out = tmp_path / "killed.h5"

    def recording() -> bool:
        return out.exists() and out.stat().st_size > 20_000

    proc = subprocess.Popen(GAITPF + ["record", "--simulate", "-o", str(out), "--subject", "S", "--session", "1",
                                      "--quiet", "--flush-interval", "0.1"],
                            env=_env(tmp_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _kill_when(proc, recording, "recording")
    stale = list(tmp_dir.glob(f"{DIR_PREFIX}*"))
    assert [p.name.startswith(f"{DIR_PREFIX}{proc.pid}_") for p in stale] == [True]
    # a folder of a live process and one without a pid are never touched
    keep = [tmp_dir / f"{DIR_PREFIX}{os.getpid()}_live", tmp_dir / f"{DIR_PREFIX}oldstyle"]
    for p in keep:
        p.mkdir()
    again = tmp_path / "again.h5"
    done = subprocess.run(GAITPF + ["record", "--simulate", "-o", str(again), "--subject", "S", "--session", "1",
                                    "--quiet", "--duration", "2", "--speed", "4"],
                          env=_env(tmp_dir), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(tmp_dir.iterdir()) == sorted(keep)          # the stale one went, its own was removed on exit
    assert file_info(again)["closed_cleanly"] is True


def test_sweep_stale_unit(tmp_path):
    dead = tmp_path / f"{DIR_PREFIX}{_dead_pid()}_x"
    (dead / "sub").mkdir(parents=True)
    (dead / "bus.conf").write_text("x")
    not_a_dir = tmp_path / f"{DIR_PREFIX}{_dead_pid()}_file"
    not_a_dir.write_text("x")
    assert sweep_stale(str(tmp_path)) == [str(dead)]
    assert not dead.exists() and not_a_dir.exists()
    with PrivateSystemBus(set_env=False) as bus:       # its own folder carries its pid
        assert Path(bus._tmp).name.startswith(f"{DIR_PREFIX}{os.getpid()}_")


# ---------------------------------------------------------------- --allow SERIAL (issue 11)
def test_allow_by_serial_records(tmp_path, capsys):
    out = tmp_path / "serial.h5"
    main(["record", "--simulate", "--duration", "2", "--speed", "4", "-o", str(out), "--subject", "S",
          "--session", "1", "--quiet", "--allow", DEFAULT_SERIALS["left"], "--allow", DEFAULT_SERIALS["right"]])
    assert capsys.readouterr().out.startswith("recorded ")
    assert file_info(out)["closed_cleanly"] is True


def test_allow_only_one_serial_refuses_the_other_insole(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["record", "--simulate", "--duration", "2", "-o", str(tmp_path / "x.h5"), "--subject", "S",
              "--session", "1", "--quiet", "--allow", DEFAULT_SERIALS["left"].lower()])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("gaitpf: error: ") and err.count("\n") == 1
    assert f"serial {DEFAULT_SERIALS['right']}) is not allow-listed" in err
