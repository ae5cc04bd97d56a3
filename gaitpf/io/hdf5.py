"""Read gaitpf HDF5 recordings (schema v1) and describe them.

Writing lives in :mod:`gaitpf.io.hdf5_writer` (re-exported here): :class:`RecordingWriter`
for live, appendable, crash-safe recording and :func:`write_hdf5` for whole recordings.
The schema is documented in ``docs/hdf5_schema.md``.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import FormatError, InputError, SchemaError, SignalError
from ..model import SIDES, FootSignals, Recording, SensorLayout, empty_annotations
from .hdf5_schema import (
    ANNOTATION_DATASETS,
    FOOT_COUNTER_ATTRS,
    FOOT_DATASETS,
    ROOT_ATTRS,
    SCHEMA_VERSION,
    SUPPORTED_VERSIONS,
    from_json,
)
from .hdf5_frames import foot_span_s
from .hdf5_writer import FootSpec, RecordingWriter, write_hdf5

__all__ = [
    "read_hdf5", "file_info", "is_hdf5", "open_hdf5", "RecordingWriter", "FootSpec", "write_hdf5",
    # building blocks for readers that stream a file in chunks (gaitpf.batch.chunked)
    "as_str", "check_version", "closed_cleanly", "foot_length", "read_layout",
]

log = logging.getLogger(__name__)

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: Parts of HDF5's error when a writer holds the file open (or was killed without closing it).
_OPEN_FOR_WRITE = ("already open for write", "consistency flags", "unable to lock file")


def is_hdf5(path: str | os.PathLike[str]) -> bool:
    """True if the file starts with the HDF5 signature (at offset 0)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == HDF5_MAGIC
    except OSError:
        return False


def as_str(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@contextlib.contextmanager
def open_hdf5(path: str | os.PathLike[str], *, swmr: bool = False) -> Iterator[tuple[Any, bool]]:
    """Open a gaitpf HDF5 file read-only; yield ``(h5py.File, opened_in_swmr_mode)``.

    A file left open by a killed (or still running) SWMR writer cannot be opened
    normally; then the file is opened in SWMR read-only mode instead, which shows
    everything flushed so far.

    Raises
    ------
    InputError
        The file does not exist or cannot be read.
    FormatError
        It is not an HDF5 file, or HDF5 cannot open it either way.
    """
    import h5py

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a recording file")
    if not is_hdf5(p):
        raise FormatError(f"{p}: not an HDF5 file (no HDF5 signature); expected a gaitpf .h5 recording")
    used_swmr = swmr
    try:
        f = h5py.File(p, "r", swmr=swmr)
    except OSError as exc:
        # Only a file held open by a (live or killed) SWMR writer gets the SWMR retry: on a
        # truncated or damaged file HDF5's SWMR open keeps retrying metadata reads and hangs.
        if swmr or not any(m in str(exc) for m in _OPEN_FOR_WRITE):
            raise FormatError(f"{p}: HDF5 cannot open the file ({exc}); it may be truncated or damaged") from exc
        try:
            f = h5py.File(p, "r", swmr=True)
            used_swmr = True
            log.warning("%s: not closed cleanly (still recording or the recorder was killed); "
                        "opened read-only in SWMR mode; `gaitpf repair` makes it a normal file", p)
        except OSError as exc2:
            raise FormatError(
                f"{p}: HDF5 cannot open the file ({exc}; SWMR read also failed: {exc2}); it may be truncated "
                "or damaged"
            ) from exc2
    try:
        yield f, used_swmr
    finally:
        f.close()


def check_version(f: Any, p: Path) -> int:
    if "schema_version" not in f.attrs:
        raise SchemaError(
            f"{p}: no 'schema_version' attribute, so this is not a gaitpf recording; this gaitpf "
            f"({__version__}) reads schema version {SCHEMA_VERSION}. Convert the original data with "
            "`gaitpf import`."
        )
    raw = f.attrs["schema_version"]
    try:
        version = int(np.asarray(raw).item())
    except (TypeError, ValueError):
        version = None
    if version not in SUPPORTED_VERSIONS:
        hint = (
            "upgrade gaitpf to read it" if isinstance(version, int) and version > SCHEMA_VERSION
            else "re-import the original data with `gaitpf import`"
        )
        raise SchemaError(
            f"{p}: schema_version {version if version is not None else repr(raw)} found, but gaitpf {__version__} reads schema version(s) "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))}; {hint}"
        )
    for name in ROOT_ATTRS:
        if name not in f.attrs:
            raise SchemaError(f"{p}: required root attribute {name!r} is missing (schema v{version})")
    return version


def closed_cleanly(f: Any) -> bool:
    return bool(int(np.asarray(f.attrs["closed_cleanly"]).item()))


def foot_length(f: Any, side: str, p: Path, clean: bool) -> int:
    g = f[side]
    for name in FOOT_DATASETS:
        if name not in g:
            raise SchemaError(f"{p}: required dataset /{side}/{name} is missing")
    for name in ("sampling_rate_hz", "unit"):
        if name not in g.attrs:
            raise SchemaError(f"{p}: required attribute {name!r} of /{side} is missing")
    if g["values"].ndim != 2:
        raise SchemaError(f"{p}: /{side}/values must be 2-D (samples x sensors), found {g['values'].ndim}-D")
    lengths = {name: int(g[name].shape[0]) for name in FOOT_DATASETS}
    n = min(lengths.values())
    if len(set(lengths.values())) > 1:
        if clean:
            raise SchemaError(f"{p}: /{side} datasets have different lengths {lengths}; the file is inconsistent")
        log.warning("%s: /%s datasets have different lengths %s after an unclean close; using the first %d",
                    p, side, lengths, n)
    return n


def read_layout(g: Any, side: str, p: Path, n_sensors: int) -> SensorLayout | None:
    if "layout" not in g:
        return None
    lg = g["layout"]
    for name in ("x_mm", "y_mm", "region", "ml_zone", "names"):
        if name not in lg:
            raise SchemaError(f"{p}: required dataset /{side}/layout/{name} is missing")
    strs = {name: tuple(as_str(v) for v in lg[name][()]) for name in ("region", "ml_zone", "names")}
    try:
        layout = SensorLayout(
            x_mm=lg["x_mm"][()], y_mm=lg["y_mm"][()], layout_id=as_str(lg.attrs.get("layout_id", "custom")),
            area_mm2=lg["area_mm2"][()] if "area_mm2" in lg else None, **strs,
        )
    except SignalError as exc:
        raise SchemaError(f"{p}: /{side}/layout: {exc}") from exc
    if layout.n_sensors != n_sensors:
        raise SchemaError(f"{p}: /{side}/layout has {layout.n_sensors} sensors but values has {n_sensors} columns")
    return layout


def _read_annotations(f: Any, p: Path, clean: bool) -> pd.DataFrame:
    if "annotations" not in f:
        raise SchemaError(f"{p}: required group /annotations is missing")
    g = f["annotations"]
    for name in ANNOTATION_DATASETS:
        if name not in g:
            raise SchemaError(f"{p}: required dataset /annotations/{name} is missing")
    lengths = {name: int(g[name].shape[0]) for name in ANNOTATION_DATASETS}
    if len(set(lengths.values())) > 1 and clean:
        raise SchemaError(f"{p}: /annotations columns have different lengths {lengths}")
    n = min(lengths.values())
    if n == 0:
        return empty_annotations()
    cols: dict[str, Any] = {}
    for name, dtype in ANNOTATION_DATASETS.items():
        raw = g[name][:n]
        if dtype == "str":
            cols[name] = pd.Series([as_str(v) for v in raw], dtype="object")
        else:
            cols[name] = pd.Series(np.asarray(raw, dtype=dtype))
    return pd.DataFrame(cols)


def _read_truth(f: Any, p: Path) -> dict[str, pd.DataFrame] | None:
    if "truth" not in f:
        return None
    truth = {}
    for side in SIDES:
        if side in f["truth"]:
            g = f["truth"][side]
            for name in ("ic_idx", "to_idx"):
                if name not in g:
                    raise SchemaError(f"{p}: required dataset /truth/{side}/{name} is missing")
            truth[side] = pd.DataFrame(
                {"ic_idx": np.asarray(g["ic_idx"][()], "int64"), "to_idx": np.asarray(g["to_idx"][()], "int64")}
            )
    return truth


def read_hdf5(path: str | os.PathLike[str], *, swmr: bool = False) -> Recording:
    """Read a gaitpf HDF5 recording (schema v1) into a :class:`~gaitpf.model.Recording`.

    Parameters
    ----------
    path : path-like
    swmr : bool
        Open in SWMR read-only mode (to read a file that is still being recorded).
        Without it, a file that cannot be opened normally (recorder killed) is still
        read in SWMR mode; ``recording.source["closed_cleanly"]`` is not added — use
        :func:`file_info` for that.

    Raises
    ------
    InputError, FormatError, SchemaError
        Missing file, not HDF5, or not matching schema v1 (the message names the
        missing or inconsistent item).
    """
    p = Path(path)
    with open_hdf5(p, swmr=swmr) as (f, _used_swmr):
        check_version(f, p)
        clean = closed_cleanly(f)
        sides = [s for s in SIDES if s in f]
        if not sides:
            raise SchemaError(f"{p}: neither /left nor /right exists; a recording needs at least one foot")
        feet: dict[str, FootSignals] = {}
        for side in sides:
            n = foot_length(f, side, p, clean)
            g = f[side]
            values = np.asarray(g["values"][:n])
            time_s = np.asarray(g["time_s"][:n], dtype="float64")
            bad = np.flatnonzero(~np.isfinite(time_s))
            if bad.size:
                raise SchemaError(f"{p}: /{side}/time_s has non-finite values (first at sample {bad[0]})")
            try:
                feet[side] = FootSignals(
                    side=side, values=values, unit=as_str(g.attrs["unit"]),
                    sampling_rate_hz=float(g.attrs["sampling_rate_hz"]), time_s=time_s,
                    sample_counter=np.asarray(g["sample_counter"][:n], dtype="int64"),
                    quality=np.asarray(g["quality"][:n], dtype="uint8"),
                    layout=read_layout(g, side, p, values.shape[1]),
                    device=from_json(g.attrs.get("device", "{}"), what=f"{p}: /{side} attribute 'device'"),
                    aux={k: np.asarray(g["aux"][k][:n], dtype="float64") for k in g["aux"]} if "aux" in g else {},
                )
            except SignalError as exc:
                raise SchemaError(f"{p}: /{side}: {exc}") from exc
        a = f.attrs
        mass = float(a["body_mass_kg"])
        try:
            return Recording(
                feet=feet, subject_id=as_str(a["subject_id"]), session=as_str(a["session"]), trial=as_str(a["trial"]),
                body_mass_kg=mass if np.isfinite(mass) else None, created_utc=as_str(a["created_utc"]),
                source=from_json(a["source"], what=f"{p}: root attribute 'source'") | {"path": str(p)},
                annotations=_read_annotations(f, p, clean), truth=_read_truth(f, p),
                metadata=from_json(a["metadata"], what=f"{p}: root attribute 'metadata'"),
            )
        except SignalError as exc:
            raise SchemaError(f"{p}: {exc}") from exc


def _gaps(ann: pd.DataFrame, side: str) -> dict[str, Any]:
    sel = ann[(ann["kind"] == "gap") & ann["side"].isin([side, "", "both"])] if len(ann) else ann
    return {"count": int(len(sel)), "total_s": float(sel["duration_s"].sum()) if len(sel) else 0.0}


def _none_if_nan(x: Any) -> Any:
    v = float(np.asarray(x).item())
    return None if not np.isfinite(v) else v


def file_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe a gaitpf HDF5 file without loading the samples (for ``gaitpf info``).

    Returns
    -------
    dict
        ``path``, ``format`` ("gaitpf-hdf5"), ``schema_version``, ``subject_id``,
        ``session``, ``trial``, ``body_mass_kg``, ``created_utc``, ``closed_cleanly``,
        ``opened_swmr`` (it had to be opened in SWMR read-only mode), ``sampling_rate_hz``,
        ``n_annotations`` and ``feet``: per side ``frames``, ``sensors``, ``unit``,
        ``layout_id``, ``sampling_rate_hz``, ``duration_s`` (last − first ``time_s`` + one
        sample period, over the real frames: never negative), ``time_consistent`` (False
        when rows after a failed write hold no frame; :mod:`gaitpf.io.hdf5_frames`),
        ``n_lost_frames``, ``gaps`` (``count``, ``total_s`` from
        annotations of kind "gap") and ``clock_residual_ms``.
    """
    p = Path(path)
    with open_hdf5(p) as (f, used_swmr):
        version = check_version(f, p)
        clean = closed_cleanly(f)
        ann = _read_annotations(f, p, clean)
        feet: dict[str, Any] = {}
        for side in SIDES:
            if side not in f:
                continue
            n = foot_length(f, side, p, clean)
            g = f[side]
            fs = float(g.attrs["sampling_rate_hz"])
            duration, time_ok = foot_span_s(g, n, fs)
            feet[side] = {
                "frames": n,
                "sensors": int(g["values"].shape[1]),
                "unit": as_str(g.attrs["unit"]),
                "layout_id": as_str(g["layout"].attrs.get("layout_id", "custom")) if "layout" in g else None,
                "sampling_rate_hz": fs,
                "duration_s": round(duration, 6),
                "time_consistent": time_ok,
                "n_lost_frames": int(g.attrs.get("n_lost_frames", FOOT_COUNTER_ATTRS["n_lost_frames"])),
                "gaps": _gaps(ann, side),
                "clock_residual_ms": _none_if_nan(g.attrs.get("clock_residual_ms", np.nan)),
            }
        mass = _none_if_nan(f.attrs["body_mass_kg"])
        rates = sorted({v["sampling_rate_hz"] for v in feet.values()})
        return {
            "path": str(p),
            "format": "gaitpf-hdf5",
            "schema_version": version,
            "subject_id": as_str(f.attrs["subject_id"]),
            "session": as_str(f.attrs["session"]),
            "trial": as_str(f.attrs["trial"]),
            "body_mass_kg": mass,
            "created_utc": as_str(f.attrs["created_utc"]),
            "closed_cleanly": clean,
            "opened_swmr": used_swmr,
            "sampling_rate_hz": rates[0] if len(rates) == 1 else rates,
            "n_annotations": int(len(ann)),
            "feet": feet,
        }
