"""Imported recordings carry no path, folder or file name of their input (issue 11, item 4).

A clinic stores ``/…/Jane Doe/JaneDoe.hea``; after ``gaitpf import`` the HDF5 file holds
neither string anywhere: not in any attribute of any object, not in any string dataset, and
not in the raw bytes of the file. The subject id is ``--subject``, a CSV's own subject id
line, or ``anon-`` + 8 hex digits of the content's SHA-256.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from gaitpf.cli.main import main
from gaitpf.io import read_recording

DATA = Path(__file__).parent / "data"
NAME = "JaneDoe"          # a file stem that is a patient's name
FOLDER = "Jane Doe"       # and the folder named after her


def _strings_in(path: Path) -> list[str]:
    """Every attribute value and string dataset element in the file, as text."""
    found: list[str] = []

    def text(v) -> str:
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        if isinstance(v, np.ndarray):
            return " ".join(text(x) for x in v.ravel().tolist())
        return str(v)

    def visit(name: str, obj) -> None:
        found.append(name)
        found.extend(f"{k}={text(v)}" for k, v in obj.attrs.items())
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in ("O", "S", "U"):
            found.append(text(obj[()]))

    with h5py.File(path, "r") as f:
        found.extend(f"{k}={text(v)}" for k, v in f.attrs.items())
        f.visititems(visit)
    return found


def assert_anonymous(h5: Path, source: Path) -> None:
    raw = h5.read_bytes()
    needles = {NAME, FOLDER, source.name, str(source.parent), source.stem}
    for needle in needles:
        assert needle.encode() not in raw, f"{needle!r} in the bytes of {h5}"
        assert not [s for s in _strings_in(h5) if needle in s], needle
    sha = read_recording(h5).source.get("sha256")
    assert sha is not None and len(sha) == 64   # provenance by content instead of name


def _clinic_gaitndd(tmp_path: Path) -> Path:
    folder = tmp_path / FOLDER
    folder.mkdir()
    header = (DATA / "gaitndd" / "control1.hea").read_text().replace("control1", NAME)
    (folder / f"{NAME}.hea").write_text(header)
    for ext in (".let", ".rit"):
        shutil.copy(DATA / "gaitndd" / f"control1{ext}", folder / f"{NAME}{ext}")
    return folder / f"{NAME}.hea"


@pytest.mark.parametrize("subject", [None, "P02"])
def test_gaitndd_import_keeps_no_name(tmp_path, capsys, subject):
    src = _clinic_gaitndd(tmp_path)
    out = tmp_path / "out.h5"
    main(["import", str(src), "-o", str(out)] + (["--subject", subject] if subject else []))
    capsys.readouterr()
    assert_anonymous(out, src)
    rec = read_recording(out)
    sha = hashlib.sha256(b"".join(src.with_suffix(e).read_bytes() for e in (".hea", ".let", ".rit"))).hexdigest()
    assert rec.subject_id == (subject or f"anon-{sha[:8]}") and rec.source["sha256"] == sha


def test_gaitpdb_import_keeps_no_name(tmp_path, capsys):
    folder = tmp_path / FOLDER
    folder.mkdir()
    # a PhysioNet-style name (its demographics row is still found) and a renamed copy
    shutil.copy(DATA / "gaitpdb" / "GaCo01_01.txt", folder / "GaCo01_01.txt")
    shutil.copy(DATA / "gaitpdb" / "demographics.txt", folder / "demographics.txt")
    shutil.copy(DATA / "gaitpdb" / "GaCo01_01.txt", folder / f"{NAME}.txt")
    for src in (folder / "GaCo01_01.txt", folder / f"{NAME}.txt"):
        out = tmp_path / f"{src.stem}.h5"
        main(["import", str(src), "-o", str(out)])
        capsys.readouterr()
        assert_anonymous(out, src)
        rec = read_recording(out)
        assert rec.subject_id.startswith("anon-") and "GaCo" not in rec.subject_id
    assert read_recording(tmp_path / "GaCo01_01.h5").body_mass_kg == 83.0


def test_csv_without_subject_id_gets_a_pseudonym_not_its_stem(tmp_path, capsys):
    folder = tmp_path / FOLDER
    folder.mkdir()
    src = folder / f"{NAME}.csv"
    rows = "\n".join(f"{i / 100:.2f},{(i % 50) * 10.0},{((i + 25) % 50) * 10.0}" for i in range(300))
    src.write_text("# sampling_rate_hz: 100\n# unit: N\ntime_s,left_a,right_a\n" + rows + "\n")
    out = tmp_path / "c.h5"
    main(["import", str(src), "-o", str(out)])
    line = capsys.readouterr().out
    assert_anonymous(out, src)
    rec = read_recording(out)
    assert rec.subject_id == "anon-" + hashlib.sha256(src.read_bytes()).hexdigest()[:8]
    assert f"subject {rec.subject_id}" in line
    # the same content always gets the same pseudonym; a CSV's own subject id wins
    assert read_recording(src).subject_id == rec.subject_id
    src.write_text(src.read_text().replace("# unit: N\n", "# unit: N\n# subject_id: P017\n"))
    assert read_recording(src).subject_id == "P017"


def test_hdf5_to_hdf5_import_drops_paths_and_old_file_names(tmp_path, capsys):
    """A recording written before this rule (source with ``original_file``) loses it on re-import."""
    src = _clinic_gaitndd(tmp_path)
    rec = read_recording(src)
    rec = rec.replace(source={**rec.source, "original_file": src.name, "name": src.name})
    first = tmp_path / FOLDER / f"{NAME}.h5"
    from gaitpf.io import write_recording

    write_recording(first, rec)
    out = tmp_path / "again.h5"
    main(["import", str(first), "-o", str(out), "--subject", "P02"])
    capsys.readouterr()
    assert_anonymous(out, src)
    assert_anonymous(first, src)
