"""`gaitpf batch --scheduler`: a real Dask distributed cluster (processes on loopback)
gives byte-identical tables to the local process pool."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from gaitpf.batch import run_batch
from gaitpf.cli.cmd_simulate import write_simulation
from gaitpf.cli.main import main
from gaitpf.sim.gait_model import GaitParams

DATA = Path(__file__).parent / "data"


def test_dask_local_cluster_matches_local_pool(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    root = tmp_path / "archive"
    for i in range(4):
        p = root / "recordings" / f"S{i}" / "1" / "walk.h5"
        p.parent.mkdir(parents=True)
        write_simulation(p, GaitParams(seed=100 + i, n_sensors=8 if i % 2 else 16), duration_s=60.0)
    (root / "imports").mkdir()
    for suffix in (".hea", ".let", ".rit"):
        shutil.copy(DATA / "gaitndd" / f"control1{suffix}", root / "imports")
    (root / "imports" / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)

    local = run_batch(root, tmp_path / "local", jobs=2)
    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        with pytest.raises(SystemExit) as exc:
            main(["batch", str(root), "-o", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address,
                  "--quiet"])
        assert exc.value.code == 1  # broken.h5
        again = run_batch(root, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert local.n_computed == 5 and again.n_reused == 5 and again.n_computed == 0
    assert again.executor.startswith("dask:tcp://127.0.0.1")
    for name in ("strides", "summary", "symmetry", "failures"):
        a = pd.read_parquet(tmp_path / "local" / f"{name}.parquet")
        b = pd.read_parquet(tmp_path / "dask" / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert (tmp_path / "local" / f"{name}.parquet").read_bytes() == (tmp_path / "dask" / f"{name}.parquet").read_bytes()
    assert list(pd.read_parquet(tmp_path / "dask" / "failures.parquet")["path"]) == ["imports/broken.h5"]
