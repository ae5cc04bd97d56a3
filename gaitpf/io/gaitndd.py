"""Importer for PhysioNet *Gait Dynamics in Neuro-Degenerative Disease* records (gaitndd).

A record ``NAME`` is three or four files side by side:

* ``NAME.hea`` – WFDB header: 2 signals, 300 Hz, 90000 samples;
* ``NAME.let`` / ``NAME.rit`` – left / right foot force-sensitive resistor, one signal per
  file, WFDB format 212 (two 12-bit two's-complement samples in three bytes);
* ``NAME.ts`` – optional reference stride table (read by :func:`read_gaitndd_reference`).

Units. The header's gain ("ADC units per mV") differs between records and has no physical
meaning (the FSR output is only roughly proportional to force), so the importer keeps the
raw ADC values and shifts them by +2048: ``values`` are **ADC counts above the bottom of
the 12-bit range** (0…4095), unit ``"au"``. Unloaded (swing) reads near 0–250, more load
reads higher. Compare shapes and timing across records, never levels.

Sensor layout. Each foot has one FSR signal whose position under the foot is not
documented, so ``layout`` is ``None``: centre-of-pressure and regional metrics are not
available for these records (a fake "midfoot" position would produce meaningless COP).

Reference: Hausdorff JM et al., Gait Dynamics in Neuro-Degenerative Disease Database
1.0.0, PhysioNet, doi:10.13026/C27G6C; J Appl Physiol 88:2045-2053 (2000).
"""
from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError
from ..model import FootSignals, Recording
from .provenance import content_sha256, pseudonym

__all__ = ["read_gaitndd", "read_gaitndd_reference", "REFERENCE_COLUMNS", "ADC_OFFSET"]

log = logging.getLogger(__name__)

#: Added to the raw 12-bit two's-complement values so that the bottom rail reads 0.
ADC_OFFSET = 2048

#: Column names of the 13-column ``.ts`` reference table (units in the names).
REFERENCE_COLUMNS: tuple[str, ...] = (
    "time_s",
    "left_stride_s",
    "right_stride_s",
    "left_swing_s",
    "right_swing_s",
    "left_swing_pct",
    "right_swing_pct",
    "left_stance_s",
    "right_stance_s",
    "left_stance_pct",
    "right_stance_pct",
    "double_support_s",
    "double_support_pct",
)

_SIDE_EXT = {"left": ".let", "right": ".rit"}
_KNOWN_EXT = {".hea", ".let", ".rit", ".ts"}


def _stem(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix.lower() in _KNOWN_EXT else p


def _check_files(stem: Path) -> dict[str, Path]:
    files = {"header": stem.with_suffix(".hea")}
    files.update({side: stem.with_suffix(ext) for side, ext in _SIDE_EXT.items()})
    if not files["header"].exists() and not any(files[s].exists() for s in _SIDE_EXT):
        raise InputError(f"{stem}: no gaitndd record here (expected {stem.name}.hea, .let and .rit)")
    missing = [p.name for p in files.values() if not p.exists()]
    if missing:
        raise FormatError(
            f"{stem}: gaitndd record is missing {', '.join(missing)}; "
            "put the .hea, .let and .rit files of the record in the same folder"
        )
    return files


def _parse_header(path: Path) -> tuple[int, float, int, list[list[str]]]:
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="ascii", errors="replace").splitlines()]
    except OSError as exc:
        raise InputError(f"{path}: cannot read header ({exc})") from exc
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    try:
        head = lines[0].split()
        n_sig, fs, n_samp = int(head[1]), float(head[2]), int(head[3])
        sig = [ln.split() for ln in lines[1 : 1 + n_sig]]
        if len(sig) != n_sig or any(len(s) < 2 for s in sig):
            raise ValueError("fewer signal lines than announced")
    except (IndexError, ValueError) as exc:
        raise FormatError(
            f"{path}: not a WFDB header with record line 'NAME NSIG FS NSAMP' and signal lines ({exc}); "
            "re-download the record from PhysioNet"
        ) from exc
    return n_sig, fs, n_samp, sig


def read_gaitndd(path: str | Path) -> Recording:
    """Read one gaitndd record.

    Parameters
    ----------
    path : str or Path
        The ``.hea``, ``.let``, ``.rit`` (or ``.ts``) file of the record, or its stem.

    Returns
    -------
    Recording
        Two feet, ``values`` shape (n, 1) in ``"au"`` (ADC counts above the bottom rail),
        300 Hz; ``subject_id`` = a pseudonym from the content hash (never the record name, see
        :mod:`gaitpf.io.provenance`); ``source`` = importer, content hash and (in memory only)
        the path.

    Raises
    ------
    InputError
        Nothing that looks like a gaitndd record at ``path``.
    FormatError
        A companion file is missing, the header is malformed, or a signal file holds fewer
        samples than the header says (truncated download).
    """
    with warnings.catch_warnings():  # wfdb's import trips pandas deprecation warnings
        warnings.simplefilter("ignore")
        import wfdb  # recording layer dependency, imported lazily

    stem = _stem(path)
    files = _check_files(stem)
    n_sig, fs, n_samp, sig = _parse_header(files["header"])
    by_file = {s[0]: s for s in sig}
    for side, ext in _SIDE_EXT.items():
        name = stem.name + ext
        spec = by_file.get(name)
        if spec is None:
            raise FormatError(f"{files['header']}: no signal line for {name}; is this a gaitndd header?")
        if spec[1].split("x")[0].split(":")[0] != "212":
            raise FormatError(f"{files['header']}: {name} has WFDB format {spec[1]}, gaitndd uses 212")
        expected = math.ceil(n_samp * 1.5)
        size = files[side].stat().st_size
        if size < expected:
            raise FormatError(
                f"{files[side]}: truncated ({size} bytes, the header announces {n_samp} samples = "
                f"{expected} bytes); re-download the record from PhysioNet"
            )
    try:
        rec = wfdb.rdrecord(str(stem), physical=False)
    except Exception as exc:  # wfdb raises assorted ValueError/IndexError on bad files
        raise FormatError(f"{stem}: wfdb could not read the record ({exc}); re-download it") from exc
    digital = np.asarray(rec.d_signal)
    if digital.shape[0] < n_samp:
        raise FormatError(
            f"{stem}: only {digital.shape[0]} of {n_samp} samples could be read; re-download the record"
        )
    names = [str(s).lower() for s in rec.sig_name]
    feet = {}
    for side, ext in _SIDE_EXT.items():
        col = [s[0] for s in sig].index(stem.name + ext)
        values = digital[:, col].astype(float) + ADC_OFFSET
        feet[side] = FootSignals(
            side=side,
            values=values[:, None],
            unit="au",
            sampling_rate_hz=float(rec.fs),
            layout=None,
            device={
                "importer": "gaitndd",
                "sensor": "force-sensitive resistor (whole foot)",
                "signal_name": names[col],
                "adc_offset": ADC_OFFSET,
                "adc_resolution_bits": 12,
            },
        )
    log.debug("read gaitndd record %s: %d samples at %g Hz", stem, n_samp, fs)
    digest = content_sha256(files["header"], files["left"], files["right"])
    return Recording(
        feet=feet,
        subject_id=pseudonym(digest),  # never the record (file) name: see gaitpf.io.provenance
        source={"importer": "gaitndd", "path": str(path), "sha256": digest, "sha256_of": "hea+let+rit"},
    )


def read_gaitndd_reference(ts_path: str | Path) -> pd.DataFrame:
    """Read the 13-column ``.ts`` reference stride table of a gaitndd record.

    Parameters
    ----------
    ts_path : str or Path
        The ``NAME.ts`` file (or any file/stem of the record).

    Returns
    -------
    DataFrame
        Columns :data:`REFERENCE_COLUMNS` (float64). ``time_s`` is the left initial
        contact that ends the row's left stride (same clock as the signals, t = 0 at the
        first sample); the left toe-off of that stride is
        ``time_s - left_stride_s + left_stance_s``.

    Raises
    ------
    InputError
        The file does not exist.
    FormatError
        The file does not hold 13 numeric columns.
    """
    p = Path(ts_path)
    if p.suffix.lower() != ".ts":
        p = _stem(p).with_suffix(".ts")
    if not p.exists():
        raise InputError(f"{p}: reference table not found (expected NAME.ts next to the record)")
    try:
        table = pd.read_csv(p, sep=r"\s+", header=None, engine="c", dtype=float)
    except (ValueError, pd.errors.ParserError) as exc:
        raise FormatError(f"{p}: not a whitespace-separated numeric table ({exc})") from exc
    if table.shape[1] != len(REFERENCE_COLUMNS):
        raise FormatError(
            f"{p}: expected {len(REFERENCE_COLUMNS)} columns, found {table.shape[1]}; is this a gaitndd .ts file?"
        )
    table.columns = list(REFERENCE_COLUMNS)
    return table
