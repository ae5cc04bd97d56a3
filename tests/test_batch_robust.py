"""Damaged files and odd names never break a batch or a subject's analyses, and a killed
batch leaves no worker processes behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from gaitpf.cli.main import main
from gaitpf.sim.gait_model import GaitParams
from gaitpf.cli.cmd_simulate import write_simulation
from session_fixtures import write_trial

REPO = Path(__file__).parents[1]


def _sim(path: Path, seed: int, duration_s: float = 20.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_simulation(path, GaitParams(seed=seed, n_sensors=8), duration_s=duration_s, subject_id=f"s{seed}",
                     session="1", trial="1")
    return path


def _name(folder: Path, raw: bytes) -> Path:
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + raw))


def test_batch_with_non_utf8_name_and_damaged_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    _sim(_name(root, b"walk\xff.h5"), 1)
    good = _sim(root / "ok.h5", 2)
    data = good.read_bytes()
    (root / "truncated.h5").write_bytes(data[: len(data) // 3])
    damaged = bytearray(data)
    damaged[200:1200] = bytes(1000)
    (root / "zeroed.h5").write_bytes(bytes(damaged))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as code:
        main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet"])
    assert code.value.code == 1
    err = capsys.readouterr().err
    assert "truncated.h5: " in err and "zeroed.h5: " in err and "internal error" not in err
    summary = pd.read_parquet(out / "summary.parquet")
    assert sorted(summary["path"]) == ["ok.h5", "walk\\xff.h5"]
    failures = pd.read_csv(out / "failures.csv")
    assert sorted(failures["path"]) == ["truncated.h5", "zeroed.h5"]
    assert all(r and "Error" not in r.split(":")[0] for r in failures["reason"])


def _wait_for_workers(proc: subprocess.Popen, n: int, timeout_s: float = 60.0) -> list[psutil.Process]:
    parent = psutil.Process(proc.pid)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and proc.poll() is None:
        kids = parent.children(recursive=True)
        if len(kids) >= n:
            return kids
        time.sleep(0.02)
    raise AssertionError(f"the batch never had {n} worker processes (exit {proc.poll()})")


@pytest.fixture(scope="module")
def slow_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("slow")
    for i in range(8):
        _sim(root / f"r{i}.h5", 10 + i, duration_s=60.0)
    return root


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_batch_leaves_no_workers(slow_archive: Path, tmp_path: Path, sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "gaitpf.cli.main", "batch", str(slow_archive), "-o",
                             str(tmp_path / "out"), "--jobs", "2", "--quiet", "--force"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        workers = _wait_for_workers(proc, 2)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"workers outlived the batch killed by {sig.name}: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_bad_file_under_the_root_is_left_out_with_its_reason(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "recordings"
    for k in (1, 2):
        write_trial(root, "PF001", f"S{k}", "T1", asym=8.0 / k, seed=k, duration_s=40.0, n_sensors=8,
                    metadata={"session_no": k})
        write_trial(root, "PF002", f"S{k}", "T1", asym=6.0 / k, seed=10 + k, duration_s=40.0, n_sensors=8,
                    metadata={"session_no": k})
    bad = root / "PF001" / "S2" / "T2.h5"
    data = (root / "PF001" / "S2" / "T1.h5").read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    (root / "PF002" / "S2" / "T1.h5").rename(_name(root / "PF002" / "S2", b"T\xff.h5"))
    (root / "stray.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))  # belongs to no subject
    main(["progress", "PF001", "--root", str(root), "--n-boot", "200"])
    out = capsys.readouterr().out
    assert "left out: session S2, trial T2.h5: unreadable: " in out and "T2.h5: " in out
    assert "session S2" in out.split("left out:")[0]  # S2 itself is still compared (its good trial)
    main(["sessions", "PF002", "--root", str(root), "--n-boot", "200", "--json"])
    js = capsys.readouterr().out
    assert '"session": "S2"' in js and "left out" not in js
    main(["cohort", str(root), "-o", str(tmp_path / "c.csv"), "--n-boot", "200", "--plot", "none"])
    err = capsys.readouterr().err
    assert "stray.h5: unreadable" in err and "PF001/S2/T2.h5: unreadable" in err
