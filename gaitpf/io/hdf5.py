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

from ..errors import GaitpfError, InputError, SchemaError, SignalError
from ..model import FootSignals, Recording, SensorLayout, empty_annotations
from .hdf5_frames import foot_span_s
from .hdf5_schema import ANNOTATION_DATASETS, FOOT_DATASETS, from_json
from .guard import deadline_s, display_path, reading, run_isolated
from .hdf5_validate import inspect_hdf5
from .hdf5_writer import FootSpec, RecordingWriter, write_hdf5

__all__ = [
    "read_hdf5", "file_info", "is_hdf5", "open_hdf5", "probe_hdf5", "RecordingWriter", "FootSpec", "write_hdf5",
    # building blocks for readers that stream a file in chunks (gaitpf.batch.chunked)
    "as_str", "check_time", "read_layout",
]

log = logging.getLogger(__name__)

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


#: Most probe results kept (keyed by file identity, size and modification time).
_PLAN_CACHE_SIZE = 64
_plans: dict[tuple[Any, ...], tuple[str, Any]] = {}


def is_hdf5(path: str | os.PathLike[str]) -> bool:
    """True if the file starts with the HDF5 signature (at offset 0)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == HDF5_MAGIC
    except OSError:
        return False


def as_str(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def probe_hdf5(path: str | os.PathLike[str], *, swmr: bool = False, timeout_s: float | None = None) -> dict[str, Any]:
    """Check a gaitpf HDF5 file against the schema in a child process under a deadline; return its plan.

    The HDF5 library can hang or crash on damaged metadata; the whole metadata walk of
    :func:`gaitpf.io.hdf5_validate.inspect_hdf5` therefore runs in a child process
    (:func:`gaitpf.io.guard.run_isolated`) that is killed when ``timeout_s`` (default
    :func:`gaitpf.io.guard.deadline_s`) runs out. The plan of an unchanged file (same
    inode, size and modification time) is reused within the process.

    Raises
    ------
    InputError, FormatError, SchemaError
        The file is missing, not HDF5, or breaks the schema (named in the message).
    ReadTimeoutError, ReaderCrashError
        HDF5 stalled or crashed on the file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{display_path(p)}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{display_path(p)}: is a directory, expected a recording file")
    st = p.stat()
    key = (os.path.realpath(p), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, swmr)
    found = _plans.get(key)
    if found is None:
        try:
            found = ("ok", run_isolated(inspect_hdf5, p, swmr, path=p, what="checking",
                                        timeout_s=timeout_s or deadline_s(p, rate_bytes_s=50e6)))
        except GaitpfError as exc:  # remembered too: a stalling file costs its deadline once
            found = ("err", exc)
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.pop(next(iter(_plans)))
        _plans[key] = found
    if found[0] == "err":
        raise found[1]
    return found[1]


@contextlib.contextmanager
def open_hdf5(path: str | os.PathLike[str], *, swmr: bool = False) -> Iterator[tuple[Any, bool]]:
    """Open a gaitpf HDF5 file read-only after :func:`probe_hdf5`; yield ``(h5py.File, opened_in_swmr_mode)``.

    A file left open by a killed (or still running) SWMR writer cannot be opened
    normally; then the file is opened in SWMR read-only mode instead, which shows
    everything flushed so far. Library errors inside the block become
    :class:`~gaitpf.errors.DamagedFileError` naming the file.

    Raises
    ------
    InputError
        The file does not exist or cannot be read.
    FormatError
        It is not an HDF5 file, HDF5 cannot open it, or it breaks the schema.
    """
    import h5py

    p = Path(path)
    plan = probe_hdf5(p, swmr=swmr)
    with reading(p):
        used_swmr = bool(plan["swmr"])
        f = h5py.File(p, "r", swmr=used_swmr)
        if used_swmr and not swmr:
            log.warning("%s: not closed cleanly (still recording or the recorder was killed); "
                        "opened read-only in SWMR mode; `gaitpf repair` makes it a normal file", display_path(p))
        try:
            yield f, used_swmr
        finally:
            f.close()


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


def _read_annotations(f: Any, n: int) -> pd.DataFrame:
    """The first ``n`` annotation rows (the schema was checked by :func:`probe_hdf5`)."""
    if n == 0:
        return empty_annotations()
    g = f["annotations"]
    cols: dict[str, Any] = {}
    for name, dtype in ANNOTATION_DATASETS.items():
        raw = g[name][:n]
        if dtype == "str":
            cols[name] = pd.Series([as_str(v) for v in raw], dtype="object")
        else:
            cols[name] = pd.Series(np.asarray(raw, dtype=dtype))
    return pd.DataFrame(cols)


def _read_truth(f: Any, sides: list[str]) -> dict[str, pd.DataFrame] | None:
    if "truth" not in f:
        return None
    return {side: pd.DataFrame({name: np.asarray(f["truth"][side][name][()], "int64")
                                for name in ("ic_idx", "to_idx")}) for side in sides}


def check_time(time_s: np.ndarray, side: str, p: Path | None) -> None:
    """``time_s`` must be finite and non-decreasing (:class:`SchemaError` naming ``p`` if given)."""
    where = f"{display_path(p)}: " if p is not None else ""
    bad = np.flatnonzero(~np.isfinite(time_s))
    if bad.size:
        raise SchemaError(f"{where}/{side}/time_s has non-finite values (first at sample {bad[0]})")
    back = np.flatnonzero(np.diff(time_s) < 0)
    if back.size:
        i = int(back[0])
        raise SchemaError(f"{where}/{side}/time_s goes back in time at sample {i + 1} "
                          f"({time_s[i]:.6g} s then {time_s[i + 1]:.6g} s); the time base is damaged")


def read_hdf5(path: str | os.PathLike[str], *, swmr: bool = False) -> Recording:
    """Read a gaitpf HDF5 recording (schema v1) into a :class:`~gaitpf.model.Recording`.

    The file is first checked against the schema in a child process under a deadline
    (:func:`probe_hdf5`); the samples are then read here, and ``time_s`` must be finite
    and non-decreasing.

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
    InputError, FormatError, SchemaError, DamagedFileError
        Missing file, not HDF5, not matching schema v1 (the message names the missing
        or inconsistent item), or bytes the HDF5 library cannot read (also when it
        stalls or crashes on them: :class:`~gaitpf.errors.ReadTimeoutError`,
        :class:`~gaitpf.errors.ReaderCrashError`).
    """
    p = Path(path)
    with open_hdf5(p, swmr=swmr) as (f, _used_swmr):
        plan = probe_hdf5(p, swmr=swmr)
        feet: dict[str, FootSignals] = {}
        for side, fp in plan["feet"].items():
            g = f[side]
            n = min([fp["n"], *(int(g[name].shape[0]) for name in FOOT_DATASETS)])  # a growing file only grows
            if len(set(fp["lengths"].values())) > 1:
                log.warning("%s: /%s datasets have different lengths %s after an unclean close; using the first %d",
                            display_path(p), side, fp["lengths"], n)
            values = np.asarray(g["values"][:n])
            time_s = np.asarray(g["time_s"][:n], dtype="float64")
            check_time(time_s, side, p)
            try:
                feet[side] = FootSignals(
                    side=side, values=values, unit=fp["unit"], sampling_rate_hz=fp["sampling_rate_hz"], time_s=time_s,
                    sample_counter=np.asarray(g["sample_counter"][:n], dtype="int64"),
                    quality=np.asarray(g["quality"][:n], dtype="uint8"),
                    layout=read_layout(g, side, p, values.shape[1]),
                    device=from_json(g.attrs.get("device", "{}"), what=f"{display_path(p)}: /{side} attribute 'device'"),
                    aux={k: np.asarray(g["aux"][k][:n], dtype="float64") for k in g["aux"]} if "aux" in g else {},
                )
            except SignalError as exc:
                raise SchemaError(f"{display_path(p)}: /{side}: {exc}") from exc
        root = plan["root"]
        try:
            return Recording(
                feet=feet, subject_id=root["subject_id"], session=root["session"], trial=root["trial"],
                body_mass_kg=root["body_mass_kg"], created_utc=root["created_utc"],
                source=dict(root["source"]) | {"path": display_path(p)},
                annotations=_read_annotations(f, plan["n_annotations"]), truth=_read_truth(f, plan["truth"]),
                metadata=dict(root["metadata"]),
            )
        except SignalError as exc:
            raise SchemaError(f"{display_path(p)}: {exc}") from exc


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

    Raises
    ------
    InputError, FormatError, SchemaError, DamagedFileError
        As :func:`read_hdf5`; also when the first ``time_s`` is later than the last.
    """
    p = Path(path)
    with open_hdf5(p) as (f, used_swmr):
        plan = probe_hdf5(p)
        ann = _read_annotations(f, plan["n_annotations"])
        feet: dict[str, Any] = {}
        for side, fp in plan["feet"].items():
            n, fs = fp["n"], fp["sampling_rate_hz"]
            duration, time_ok = foot_span_s(f[side], n, fs)
            feet[side] = {
                "frames": n,
                "sensors": fp["n_sensors"],
                "unit": fp["unit"],
                "layout_id": fp["layout_id"],
                "sampling_rate_hz": fs,
                "duration_s": round(duration, 6),
                "time_consistent": time_ok,
                "n_lost_frames": fp["n_lost_frames"],
                "gaps": _gaps(ann, side),
                "clock_residual_ms": fp["clock_residual_ms"] if np.isfinite(fp["clock_residual_ms"]) else None,
            }
        root = plan["root"]
        rates = sorted({v["sampling_rate_hz"] for v in feet.values()})
        return {
            "path": display_path(p),
            "format": "gaitpf-hdf5",
            "schema_version": plan["schema_version"],
            "subject_id": root["subject_id"],
            "session": root["session"],
            "trial": root["trial"],
            "body_mass_kg": root["body_mass_kg"],
            "created_utc": root["created_utc"],
            "closed_cleanly": plan["closed_cleanly"],
            "opened_swmr": used_swmr,
            "sampling_rate_hz": rates[0] if len(rates) == 1 else rates,
            "n_annotations": int(len(ann)),
            "feet": feet,
        }
