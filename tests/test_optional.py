"""A missing optional extra is one line naming the extra to install, exit code 2."""
from __future__ import annotations

import sys

import pytest

from gaitpf._optional import EXTRAS, require
from gaitpf.cli.main import main
from gaitpf.errors import GaitpfError, MissingExtraError


def _hide(monkeypatch, *modules: str) -> None:
    """Make ``import MODULE`` fail as if it were not installed (None in sys.modules)."""
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in modules):
            monkeypatch.delitem(sys.modules, name)
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


def test_require_names_the_extra(monkeypatch):
    _hide(monkeypatch, "dask")
    with pytest.raises(MissingExtraError) as exc:
        require("dask.distributed", "cluster", feature="gaitpf batch --scheduler")
    msg = str(exc.value)
    assert isinstance(exc.value, GaitpfError) and "\n" not in msg
    assert "gaitpf batch --scheduler" in msg and "pip install 'gaitpf[cluster]'" in msg
    assert require("json", "cluster", feature="x").__name__ == "json"


def test_every_extra_module_is_declared_in_pyproject():
    import tomllib
    from pathlib import Path

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert set(EXTRAS) <= set(extras)


@pytest.mark.parametrize("hidden", ["PySide6", "pyqtgraph"])
def test_live_without_the_live_extra(monkeypatch, capsys, tmp_path, hidden):
    _hide(monkeypatch, hidden)
    out = tmp_path / "never.h5"
    with pytest.raises(SystemExit) as exc:
        main(["live", "--simulate", "-o", str(out), "--duration", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gaitpf: error: gaitpf live needs the 'live' extra")
    assert f"{hidden} is not installed" in err and "pip install 'gaitpf[live]'" in err
    assert "internal error" not in err and not out.exists()   # nothing started


def test_batch_scheduler_without_the_cluster_extra(monkeypatch, capsys, tmp_path):
    _hide(monkeypatch, "dask", "distributed")
    (tmp_path / "root").mkdir()
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(tmp_path / "root"), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'cluster' extra" in err and "pip install 'gaitpf[cluster]'" in err
    assert not (tmp_path / "out").exists()
