"""Seeded mutation fuzz of the file-reading commands (a few hundred damaged files).

Every mutated file goes through the CLI entry point (``gaitpf.cli.main.main``, in a
forked child per command so that a hang or crash is observed, not suffered): the outcome
must be success or one ``gaitpf: error:`` line with exit 2 — never an internal error,
never a hang past the per-file deadline, never a crash. The seeds include a crash-left
SWMR file (writer SIGKILLed), whose mutations are where HDF5 stalls. A few files also go
through a real ``gaitpf`` subprocess.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fuzz_fixtures import make_seeds, mutate, run_one
from gaitpf.batch.runner import run_batch

#: Guarded-read deadline inside the commands (s), and the per-file deadline of the test (s).
READ_TIMEOUT_S = "1.5"
FILE_DEADLINE_S = 45.0


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    import gaitpf.analysis  # noqa: F401 - imported once here, not in every forked child
    import gaitpf.cli.cmd_analyze  # noqa: F401
    import gaitpf.cli.cmd_info  # noqa: F401

    return make_seeds(tmp_path_factory.mktemp("seeds"))


def test_seeds_are_readable(seeds: list[Path]) -> None:
    assert [s.name for s in seeds][:3] == ["clean_gzip.h5", "clean_plain.h5", "swmr_killed.h5"]
    for s in seeds:
        assert run_one(["info", str(s)], FILE_DEADLINE_S)[0] == "ok"


def test_mutation_fuzz_never_internal_hang_or_crash(seeds: list[Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAITPF_READ_TIMEOUT_S", READ_TIMEOUT_S)
    rng = np.random.default_rng(20261204)
    swmr = seeds[2]
    outcomes: dict[str, int] = {}
    bad = []
    archive = tmp_path / "archive"
    archive.mkdir()
    for i in range(160):
        # half of the files are mutations of the crash-left SWMR file
        seed = swmr if i % 2 == 0 else seeds[int(rng.integers(0, len(seeds)))]
        target = tmp_path / f"m{i}{seed.suffix}"
        how = mutate(seed, target, rng)
        if i % 16 == 0:  # a few go into an archive for `gaitpf batch` below
            shutil.copy(target, archive / f"m{i}.h5")
        commands = ["info", "analyze"] if i % 6 == 0 else ["info"]
        if i % 20 == 2:
            commands.append("repair")  # last: it rewrites the file
        for cmd in commands:
            outcome, line = run_one([cmd, str(target)], FILE_DEADLINE_S)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome not in ("ok", "clean"):
                bad.append(f"{cmd} {target.name} [{seed.name} {how}]: {outcome} {line}")
            elif outcome == "clean":
                assert str(target) in line, line  # the one line names the file
        target.unlink()
    assert not bad, "\n".join(bad)
    assert outcomes.get("clean", 0) > 40 and outcomes.get("ok", 0) > 10, outcomes
    # batch marks each damaged file failed with its reason and goes on
    shutil.copy(seeds[0], archive / "good.h5")
    report = run_batch(archive, tmp_path / "out", jobs=2)
    assert "good.h5" in report.computed and report.n_computed + report.n_failed == report.n_total
    for f in report.failures:
        assert f["error"] in ("FormatError", "SchemaError", "DamagedFileError", "ReadTimeoutError",
                              "ReaderCrashError", "InputError", "SignalError", "NoWalkingError"), f


def test_damaged_swmr_files_through_the_installed_entry_point(seeds: list[Path], tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    env_py = [sys.executable, "-m", "gaitpf.cli.main"]
    for i in range(3):
        target = tmp_path / f"s{i}.h5"
        mutate(seeds[2], target, rng)
        proc = subprocess.run([*env_py, "info", str(target)], capture_output=True, text=True, timeout=120,
                              env={**__import__("os").environ, "GAITPF_READ_TIMEOUT_S": READ_TIMEOUT_S})
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 2:
            lines = proc.stderr.strip().splitlines()
            assert lines[-1].startswith(f"gaitpf: error: {target}: ") and "Traceback" not in proc.stderr
