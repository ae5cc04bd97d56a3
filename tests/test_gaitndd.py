"""gaitndd importer on vendored PhysioNet records, and its errors on broken copies."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from gaitpf.errors import FormatError, InputError
from gaitpf.io.gaitndd import ADC_OFFSET, REFERENCE_COLUMNS, read_gaitndd, read_gaitndd_reference

DATA = Path(__file__).parent / "data" / "gaitndd"


def _unpack_212(path: Path, n: int) -> np.ndarray:
    """Independent decoder of a one-signal WFDB format-212 file (reference for the test)."""
    b = np.frombuffer(path.read_bytes(), np.uint8).astype(np.int32).reshape(-1, 3)
    s0 = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    s1 = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    s = np.column_stack([s0, s1]).ravel()[:n]
    return np.where(s >= 2048, s - 4096, s)


@pytest.mark.parametrize("suffix", [".hea", ".let", ".rit", ""])
def test_reads_record_from_any_of_its_paths(suffix):
    rec = read_gaitndd(DATA / f"control1{suffix}")
    digest = hashlib.sha256(b"".join((DATA / f"control1{e}").read_bytes() for e in (".hea", ".let", ".rit")))
    assert rec.subject_id == "anon-" + digest.hexdigest()[:8]  # a pseudonym, never the record name
    assert rec.source["importer"] == "gaitndd" and rec.source["sha256"] == digest.hexdigest()
    assert all("control1" not in str(f.device) for f in rec.feet.values())
    assert rec.sampling_rate_hz == 300.0
    assert rec.sides == ("left", "right")
    for side, ext in (("left", ".let"), ("right", ".rit")):
        foot = rec.feet[side]
        assert foot.values.shape == (90000, 1) and foot.unit == "au" and foot.layout is None
        expected = _unpack_212(DATA / f"control1{ext}", 90000) + ADC_OFFSET
        np.testing.assert_array_equal(foot.values[:, 0], expected)
        assert 0 <= foot.values.min() and foot.values.max() <= 4095


def test_header_initial_values_match_first_samples():
    rec = read_gaitndd(DATA / "park10.hea")
    # park10.hea initial values (column 6) are the first raw samples
    init = [int(line.split()[5]) for line in (DATA / "park10.hea").read_text().splitlines()[1:3]]
    assert [rec.feet["left"].values[0, 0] - ADC_OFFSET, rec.feet["right"].values[0, 0] - ADC_OFFSET] == init


def test_reference_table_columns_and_first_row():
    ref = read_gaitndd_reference(DATA / "control1.ts")
    assert list(ref.columns) == list(REFERENCE_COLUMNS)
    assert len(ref) == 259
    first = ref.iloc[0]
    assert first["time_s"] == pytest.approx(21.93)
    assert first["left_stride_s"] == pytest.approx(first["left_swing_s"] + first["left_stance_s"], abs=2e-4)
    # the .ts of a record is also found from its header path
    assert len(read_gaitndd_reference(DATA / "control1.hea")) == 259


def _copy(tmp_path: Path, name: str = "control1") -> Path:
    for ext in (".hea", ".let", ".rit", ".ts"):
        shutil.copy(DATA / f"{name}{ext}", tmp_path / f"{name}{ext}")
    return tmp_path / name


def test_truncated_signal_file_is_a_format_error_naming_the_file(tmp_path):
    stem = _copy(tmp_path)
    data = (tmp_path / "control1.rit").read_bytes()
    (tmp_path / "control1.rit").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"control1\.rit.*truncated.*re-download"):
        read_gaitndd(stem.with_suffix(".hea"))


def test_missing_companion_file_is_a_format_error(tmp_path):
    stem = _copy(tmp_path)
    (tmp_path / "control1.let").unlink()
    with pytest.raises(FormatError, match=r"missing control1\.let"):
        read_gaitndd(stem.with_suffix(".rit"))


def test_malformed_header_and_missing_record(tmp_path):
    stem = _copy(tmp_path)
    stem.with_suffix(".hea").write_text("control1\r\n")
    with pytest.raises(FormatError, match="WFDB header"):
        read_gaitndd(stem)
    with pytest.raises(InputError, match="no gaitndd record"):
        read_gaitndd(tmp_path / "nothing")


def test_bad_reference_tables(tmp_path):
    bad = tmp_path / "x.ts"
    bad.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(FormatError, match="13 columns"):
        read_gaitndd_reference(bad)
    with pytest.raises(InputError):
        read_gaitndd_reference(tmp_path / "absent.ts")
