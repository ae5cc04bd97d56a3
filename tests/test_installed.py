"""The installed product: build the sdist and the wheel, install the wheel into a fresh venv, use it.

``make test`` (hence ``.ci/run``) runs this, so what users get from ``pip install`` is tested,
not only the editable checkout. One module-scoped fixture builds with ``python -m build
--no-isolation`` (the wheel is built *from the sdist*, so an sdist missing a file fails here),
creates a venv in a temporary folder and installs the wheel non-editable with its core
dependencies from the package index (pip's cache makes reruns fast). Every command then runs
from a folder outside the checkout, with ``PYTHONPATH`` unset, through the venv's own
``gaitpf`` script and interpreter.

The package index must be reachable (or pip's cache must hold the dependencies): when pip
cannot install them the test fails with pip's message; it never skips.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import gaitpf

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NAME, VERSION = "gaitpf", gaitpf.__version__   # pyproject takes it from there (dynamic)


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
                    f"stderr:\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """sdist and wheel of this checkout (the wheel built from the unpacked sdist)."""
    import importlib.util

    if importlib.util.find_spec("build") is None:
        pytest.fail("python -m build is missing: install the test extra (pip install -e '.[test]'; make test does)")
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT], cwd=out)
    sdist = out / f"{NAME}-{VERSION}.tar.gz"
    wheel = out / f"{NAME}-{VERSION}-py3-none-any.whl"
    assert sdist.is_file() and wheel.is_file(), sorted(p.name for p in out.iterdir())
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> dict[str, object]:
    """A fresh venv with the wheel installed (not editable); ``env`` runs its commands only."""
    base = tmp_path_factory.mktemp("installed")
    env_dir = base / "venv"
    _run([sys.executable, "-m", "venv", env_dir], cwd=base)
    bin_dir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(env_dir)
    proc = _run([bin_dir / "python", "-m", "pip", "install", "--quiet", dist["wheel"]], cwd=base, env=env,
                check=False)
    if proc.returncode != 0:
        pytest.fail("installing the wheel into a fresh venv failed; the installed-product test needs the "
                    "package index (PyPI) or a pip cache holding gaitpf's dependencies. pip said:\n"
                    + proc.stderr[-3000:])
    work = base / "work"          # outside the checkout
    work.mkdir()
    return {"bin": bin_dir, "env": env, "work": work, "prefix": env_dir}


def _gaitpf(venv, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return _run([venv["bin"] / "gaitpf", *args], cwd=venv["work"], env=venv["env"], check=check, timeout=timeout)


# ---------------------------------------------------------------- what the archives carry
def test_wheel_carries_license_typing_marker_and_metadata(dist):
    with zipfile.ZipFile(dist["wheel"]) as z:
        names = set(z.namelist())
        info = f"{NAME}-{VERSION}.dist-info"
        meta = z.read(f"{info}/METADATA").decode()
        entry = z.read(f"{info}/entry_points.txt").decode()
        lic = z.read(f"{info}/licenses/LICENSE").decode()
    assert {"gaitpf/py.typed", "gaitpf/__main__.py", "gaitpf/cli/main.py"} <= names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    assert lic.startswith("MIT License")
    fields = [line.split(": ", 1) for line in meta.split("\n\n", 1)[0].splitlines() if ": " in line]
    keys = {k for k, _ in fields}
    got = dict(fields)
    assert got["Name"] == NAME and got["Version"] == VERSION and got["License-Expression"] == "MIT"
    assert got["Requires-Python"] == ">=3.11" and got["License-File"] == "LICENSE"
    assert {"Summary", "Keywords", "Classifier", "Author", "Description-Content-Type"} <= keys
    extras = {v for k, v in fields if k == "Provides-Extra"}
    assert {"live", "cluster", "report", "test"} <= extras
    assert "Typing :: Typed" in meta and "gaitpf = gaitpf.cli.main:main" in entry


def test_sdist_carries_what_its_tests_need(dist):
    with tarfile.open(dist["sdist"]) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    tests_here = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("*")
                  if p.is_file() and not any(part == "__pycache__" or part.startswith(".")
                                             for part in p.relative_to(ROOT).parts)}
    assert tests_here and tests_here <= names, sorted(tests_here - names)[:10]
    for needed in ("LICENSE", "README.md", "Makefile", "pyproject.toml", ".ci/run", ".ci/system-deps",
                   "tests/data/gaitndd/control1.hea", "docs/methods.md", "benchmarks/validate_physionet.py",
                   "gaitpf/py.typed", "firmware_notes/test_vectors.json"):
        assert needed in names, needed


# ---------------------------------------------------------------- the installed commands
def test_installed_from_the_wheel_not_the_checkout(venv):
    out = _run([venv["bin"] / "python", "-c", "import gaitpf, sys; print(gaitpf.__file__)"],
               cwd=venv["work"], env=venv["env"]).stdout.strip()
    assert Path(out).resolve().is_relative_to(Path(venv["prefix"]).resolve())
    assert not Path(out).resolve().is_relative_to(ROOT)


def test_help_of_the_console_script_and_python_m(venv):
    for cmd in ([venv["bin"] / "gaitpf", "--help"], [venv["bin"] / "python", "-m", "gaitpf", "--help"]):
        proc = _run(cmd, cwd=venv["work"], env=venv["env"])
        assert proc.stdout.startswith("Usage: gaitpf") and proc.stderr == ""
        for command in ("analyze", "import", "record", "demo", "report", "batch", "live"):
            assert f"  {command} " in proc.stdout, command
    assert _gaitpf(venv, "--version").stdout.strip() == f"gaitpf, version {VERSION}"


def test_demo_writes_where_asked(venv):
    out = venv["work"] / "somewhere" / "demo"
    proc = _gaitpf(venv, "demo", "--out", str(out), "--sessions", "3", "--trials", "1", "--duration-s", "40",
                   "--n-boot", "200", "--no-pdf")
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary and (out / "PF-DEMO_report.html").is_file()
    assert len(list((out / "PF-DEMO").rglob("*.h5"))) == 3
    assert "report:" in proc.stdout and not (venv["work"] / "recordings").exists()


def _shared_record() -> Path:
    shared = ROOT.parent / "shared" / "datasets" / "physionet-gaitndd" / "control1.hea"
    return shared if shared.is_file() else ROOT / "tests" / "data" / "gaitndd" / "control1.hea"


def test_analyze_a_physionet_record(venv):
    summary = venv["work"] / "control1.json"
    strides = venv["work"] / "control1_strides.csv"
    proc = _gaitpf(venv, "analyze", str(_shared_record()), "--summary", str(summary), "--strides", str(strides))
    s = json.loads(summary.read_text())
    assert s["n_strides"]["left"] >= 20 and s["n_strides"]["right"] >= 20
    assert 80 < s["cadence_spm"] < 140                     # a healthy adult walking
    assert strides.read_text().count("\n") > 40 and proc.returncode == 0


def test_record_simulate_then_info(venv):
    """The BLE path (bleak, dbus-fast, a private dbus-daemon) works from the installed wheel too."""
    out = venv["work"] / "sim.h5"
    proc = _gaitpf(venv, "record", "--simulate", "--duration", "6", "--speed", "3", "-o", str(out),
                   "--subject", "S01", "--session", "1", "--quiet", timeout=120)
    assert proc.stdout.startswith("recorded ") and out.is_file()
    info = json.loads(_gaitpf(venv, "info", "--json", str(out)).stdout)
    assert info["closed_cleanly"] is True and info["feet"]["left"]["frames"] > 200


def test_missing_extras_name_the_extra(venv):
    """The core install has neither the live nor the cluster extra: one line, exit 2."""
    rec = venv["work"] / "sim.h5"
    cases = ((["live", "--replay", str(rec)], "live"),
             (["batch", str(venv["work"]), "-o", str(venv["work"] / "batch_out"), "--scheduler",
               "tcp://127.0.0.1:9"], "cluster"))
    for args, extra in cases:
        proc = _gaitpf(venv, *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("gaitpf: error: ")
        assert f"pip install 'gaitpf[{extra}]'" in proc.stderr and "internal error" not in proc.stderr
    assert not (venv["work"] / "batch_out").exists()
