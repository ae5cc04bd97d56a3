"""Batch outputs as partitioned Parquet datasets written by the workers: the same bytes
whichever executor (local pool, one process, a real Dask cluster of processes on
loopback) and whatever the task order; one table for pandas, pyarrow, Dask and DuckDB;
stale partitions removed; an interrupted Dask batch leaves nothing queued."""
from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gaitpf.batch import run_batch
from gaitpf.batch import runner as batch_runner
from gaitpf.batch.dataset import DATASET_TABLES, ID_COLUMNS, SCHEMA_FILE, SORT_KEYS
from gaitpf.cli.cmd_simulate import write_simulation
from gaitpf.cli.main import main
from gaitpf.sim.gait_model import GaitParams

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parents[1]
N_GOOD = 5


@pytest.fixture(scope="module")
def cluster():
    """One small real Dask cluster (2 worker processes, loopback) for the whole module."""
    from dask.distributed import LocalCluster

    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sims with 8 and 16 sensors, a gaitndd record (forces in arbitrary units: other
    columns than the sims') and a broken file."""
    root = tmp_path_factory.mktemp("archive")
    for i in range(4):
        p = root / "recordings" / f"S{i}" / "1" / "walk.h5"
        p.parent.mkdir(parents=True)
        write_simulation(p, GaitParams(seed=100 + i, n_sensors=8 if i % 2 else 16), duration_s=40.0)
    (root / "imports").mkdir()
    for suffix in (".hea", ".let", ".rit"):
        shutil.copy(DATA / "gaitndd" / f"control1{suffix}", root / "imports")
    (root / "imports" / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    return root


def _files(out: Path) -> dict[str, bytes]:
    names = [f"{t}/{p.name}" for t in DATASET_TABLES for p in sorted((out / t).iterdir())]
    names += [f"{t}.parquet" for t in DATASET_TABLES] + ["failures.parquet"]
    return {n: (out / n).read_bytes() for n in names}


@pytest.fixture(scope="module")
def local_out(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local")
    report = run_batch(archive, out, jobs=2)
    assert report.n_computed == N_GOOD and [f["path"] for f in report.failures] == ["imports/broken.h5"]
    return out


def test_same_bytes_for_every_executor_and_order(archive: Path, local_out: Path, cluster, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _files(local_out)
    assert len([n for n in expected if n.startswith("strides/part-1-")]) == N_GOOD
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(archive), "-o", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address,
              "--quiet"])
    assert exc.value.code == 1  # broken.h5
    again = run_batch(archive, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert again.n_reused == N_GOOD and again.n_computed == 0
    assert again.executor.startswith("dask:tcp://127.0.0.1")
    from gaitpf.batch.executors import _DaskExecutor

    monkeypatch.setattr(_DaskExecutor, "chunk_size", lambda self, n: 4)  # several recordings per Dask task
    assert run_batch(archive, tmp_path / "dask4", scheduler=cluster.scheduler_address).n_computed == N_GOOD
    run_batch(archive, tmp_path / "one", jobs=1)
    monkeypatch.setattr(batch_runner, "_schedule_order", lambda refs: random.Random(3).sample(refs, len(refs)))
    run_batch(archive, tmp_path / "shuffled", jobs=1)
    for name in ("dask", "dask4", "one", "shuffled"):
        got = _files(tmp_path / name)
        assert sorted(got) == sorted(expected), name
        assert [n for n in expected if got[n] != expected[n]] == [], name


def test_partitions_read_as_one_table_everywhere(local_out: Path) -> None:
    import dask.dataframe as dd
    import duckdb
    import pyarrow.dataset as ds

    for table in DATASET_TABLES:
        folder = local_out / table
        schemas = {pq.read_schema(p).remove_metadata() for p in folder.glob("*.parquet")}
        assert len(schemas) == 1  # the recordings' differing columns were unified
        consolidated = pd.read_parquet(local_out / f"{table}.parquet")
        keys = SORT_KEYS[table]

        def same(df: pd.DataFrame) -> None:
            df = df.sort_values(keys).reset_index(drop=True)
            pd.testing.assert_frame_equal(df, consolidated, check_dtype=False, check_exact=True)

        same(pd.read_parquet(folder))
        same(ds.dataset(folder, format="parquet").to_table().to_pandas())
        same(dd.read_parquet(folder).compute())
        same(duckdb.sql(f"SELECT * FROM read_parquet('{folder}/*.parquet')").df())
        assert list(consolidated.columns[:7]) == list(ID_COLUMNS)
        assert consolidated[list(ID_COLUMNS)].notna().all().all()
    summary = pd.read_parquet(local_out / "summary")
    expected = ["imports/control1.hea"] + [f"recordings/S{i}/1/walk.h5" for i in range(4)]
    assert sorted(summary["path"]) == expected
    strides = pd.read_parquet(local_out / "strides")
    assert strides.loc[strides["path"] == "imports/control1.hea", "peak_force_1_n"].isna().all()
    assert strides.loc[strides["path"] != "imports/control1.hea", "peak_force_1_au"].isna().all()


def test_worker_sends_only_a_status_record(archive: Path, tmp_path: Path) -> None:
    from gaitpf.analysis import AnalysisParams
    from gaitpf.batch import discover
    from gaitpf.batch.task import analyze_task

    ref = next(r for r in discover(archive) if r.rel_path == "recordings/S0/1/walk.h5")
    (tmp_path / ".cache").mkdir()
    first = analyze_task(ref, AnalysisParams(), str(tmp_path))
    second = analyze_task(ref, AnalysisParams(), str(tmp_path))
    assert (first["status"], second["status"]) == ("ok", "reused")
    assert first["schemas"] == first["actual"] == second["schemas"] == second["actual"]
    for res in (first, second):
        assert len(pickle.dumps(res)) < 1500  # no tables travel back to the driver
    assert {p.name for p in (tmp_path / "strides").iterdir()} == {first["part"]}  # written by the worker


def test_stale_partitions_go_and_large_archives_skip_consolidation(archive: Path, local_out: Path,
                                                                   tmp_path: Path) -> None:
    root, out = tmp_path / "arch", tmp_path / "out"
    shutil.copytree(archive, root)
    shutil.copytree(local_out, out)
    shutil.rmtree(root / "recordings" / "S3")
    with pytest.raises(SystemExit) as exc:  # 4 results: no consolidated tables
        main(["batch", str(root), "-o", str(out), "--jobs", "1", "--quiet", "--consolidate-max", "3"])
    assert exc.value.code == 1  # broken.h5
    report = json.loads((out / "batch_report.json").read_text())
    assert report["n_reused"] == N_GOOD - 1 and report["n_computed"] == 0
    assert not any((out / f"{t}.parquet").exists() for t in DATASET_TABLES)
    summary = pd.read_parquet(out / "summary")
    assert "recordings/S3/1/walk.h5" not in set(summary["path"]) and len(summary) == N_GOOD - 1
    assert len(list((out / "strides").glob("part-1-*.parquet"))) == N_GOOD - 1
    assert (out / "strides" / SCHEMA_FILE).is_file()
    # the dataset of the smaller archive is what a fresh batch writes, byte for byte
    fresh = run_batch(root, tmp_path / "fresh", jobs=1, consolidate_max=3)
    assert fresh.n_computed == N_GOOD - 1
    for t in DATASET_TABLES:
        assert {p.name: p.read_bytes() for p in (out / t).iterdir()} == \
               {p.name: p.read_bytes() for p in (tmp_path / "fresh" / t).iterdir()}


def test_interrupted_dask_batch_leaves_nothing_queued(archive: Path, cluster, tmp_path: Path) -> None:
    from dask.distributed import Client

    root = tmp_path / "many"
    root.mkdir()
    for i in range(12):
        write_simulation(root / f"r{i:02d}.h5", GaitParams(seed=i, n_sensors=8), duration_s=60.0)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "gaitpf.cli.main", "batch", str(root), "-o", str(out),
                             "--scheduler", cluster.scheduler_address, "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 60
        while not list((out / "summary").glob("part-1-*")) and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0  # interrupted, not finished
    with Client(cluster.scheduler_address) as client:
        end = time.monotonic() + 20
        while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) and time.monotonic() < end:
            time.sleep(0.1)
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
        assert len(client.scheduler_info()["workers"]) == 2  # the cluster's workers carry on
    assert len(list((out / "summary").glob("part-1-*"))) < 12


def test_read_deadline_holds_on_a_dask_worker(cluster, tmp_path: Path) -> None:
    """The per-recording read deadline (a child process of the worker, killed on expiry)
    works inside a Dask worker as in a pool worker, and leaves no process behind."""
    from dask.distributed import Client

    from gaitpf.errors import ReadTimeoutError
    from gaitpf.io.guard import run_isolated

    p = str(tmp_path / "hangs.h5")
    with Client(cluster.scheduler_address) as client:
        start = time.monotonic()
        fut = client.submit(run_isolated, time.sleep, 3600, timeout_s=1.0, path=p, what="checking", pure=False)
        exc = fut.exception(timeout=60)
        assert isinstance(exc, ReadTimeoutError) and "hangs.h5: checking did not finish within 1 s" in str(exc)
        assert time.monotonic() - start < 30

        def children() -> int:
            import psutil

            return len(psutil.Process().children(recursive=True))

        assert set(client.run(children).values()) == {0}
