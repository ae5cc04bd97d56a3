"""Check a gaitpf HDF5 file against schema v1 before any sample is read.

:func:`inspect_hdf5` opens the file (falling back to SWMR read-only for a file a
recorder left open), walks every object the schema names and checks, reading only
metadata:

* object kinds (a group where a group is expected), shapes (``values`` 2-D with ≥ 1
  column, the others 1-D, layout columns one per sensor) and dtype kinds (floats,
  integers, strings) of every dataset;
* attribute types *before* their values are used: text attributes are strings (``str``
  or UTF-8 ``bytes``), numbers are real numeric scalars, ``closed_cleanly`` is 0/1,
  ``source``/``metadata``/``device`` are JSON objects, ``sampling_rate_hz`` is positive
  and finite, ``unit`` is one of the schema's units; an attribute declaring more
  than :data:`MAX_ATTR_ELEMENTS` elements is refused unread;
* declared sizes the file can hold: a chunked dataset's extent must be covered by the
  chunks it actually has (the whole chunk index is walked, which is also where HDF5
  stalls on damaged files), a contiguous one by its allocated storage, inside the file;
  external and virtual storage is refused. 10⁹ declared rows in a 1 MB file are thus
  an error, not a ``MemoryError``;
* equal lengths of a foot's datasets and of the annotation columns (a file not closed
  cleanly may differ: the common length is used).

It returns a small plain "plan" (``dict``) that :func:`gaitpf.io.hdf5.read_hdf5` and
:func:`~gaitpf.io.hdf5.file_info` follow. It is meant to run in a child process under a
deadline (:func:`gaitpf.io.guard.run_isolated`): the whole HDF5 metadata walk happens
there. Per-sample rules (finite, non-decreasing ``time_s``) are checked by the reader
when it reads the samples.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError, SchemaError
from .hdf5_attrs import MAX_ATTR_ELEMENTS, attr_json, attr_number, attr_raw, attr_text, short
from .hdf5_schema import (
    ANNOTATION_DATASETS,
    FOOT_COUNTER_ATTRS,
    FOOT_DATASETS,
    ROOT_ATTRS,
    SCHEMA_VERSION,
    SUPPORTED_VERSIONS,
    UNITS,
)

__all__ = ["inspect_hdf5", "check_version", "h5_open", "MAX_ATTR_ELEMENTS", "MAX_SENSORS", "HDF5_MAGIC"]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: Parts of HDF5's error when a writer holds the file open (or was killed without closing it).
_OPEN_FOR_WRITE = ("already open for write", "consistency flags", "unable to lock file")
#: Most sensors per insole a file may declare.
MAX_SENSORS = 4096

_TEXT_ROOT = ("gaitpf_version", "created_utc", "subject_id", "session", "trial")


def h5_open(p: Path, swmr: bool) -> tuple[Any, bool]:
    """Open ``p`` read-only; a file held open by a (live or killed) SWMR writer is opened in SWMR mode.

    Returns ``(h5py.File, opened_in_swmr_mode)``.
    """
    import h5py

    if not p.exists():
        raise InputError(f"{_show(p)}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{_show(p)}: is a directory, expected a recording file")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise InputError(f"{_show(p)}: cannot be read ({exc.strerror})") from exc
    if magic != HDF5_MAGIC:
        raise FormatError(f"{_show(p)}: not an HDF5 file (no HDF5 signature); expected a gaitpf .h5 recording")
    try:
        return h5py.File(p, "r", swmr=swmr), swmr
    except OSError as exc:
        # Only a file held open by a (live or killed) SWMR writer gets the SWMR retry: on a
        # truncated or damaged file HDF5's SWMR open keeps retrying metadata reads.
        if swmr or not any(m in str(exc) for m in _OPEN_FOR_WRITE):
            raise FormatError(f"{_show(p)}: HDF5 cannot open the file ({_first_line(exc)}); it may be truncated "
                              "or damaged") from exc
        try:
            return h5py.File(p, "r", swmr=True), True
        except OSError as exc2:
            raise FormatError(
                f"{_show(p)}: HDF5 cannot open the file ({_first_line(exc)}; SWMR read also failed: "
                f"{_first_line(exc2)}); it may be truncated or damaged"
            ) from exc2


def _show(p: Path) -> str:
    from .guard import display_path

    return display_path(p)


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


# ----------------------------------------------------------------------------- datasets
def _dataset(g: Any, name: str, where: str, p: Path, kinds: str, ndim: int) -> Any:
    import h5py

    if name not in g:
        raise SchemaError(f"{_show(p)}: required dataset {where}/{name} is missing")
    ds = g.get(name, getlink=False)
    if not isinstance(ds, h5py.Dataset):
        raise SchemaError(f"{_show(p)}: {where}/{name} must be a dataset, found {type(ds).__name__}")
    if ds.shape is None or len(ds.shape) != ndim:
        raise SchemaError(f"{_show(p)}: {where}/{name} must be {ndim}-D, found shape {ds.shape}")
    kind = "s" if h5py.check_string_dtype(ds.dtype) is not None else ds.dtype.kind
    if kind not in kinds:
        want = {"f": "floating-point", "i": "integer", "u": "integer", "s": "text", "b": "boolean"}
        raise SchemaError(f"{_show(p)}: {where}/{name} has dtype {ds.dtype}; expected "
                          f"{' or '.join(sorted({want[k] for k in kinds}))}")
    return ds


def _check_storage(ds: Any, where: str, p: Path, file_size: int, clean: bool) -> None:
    """Refuse a declared extent the file's storage cannot hold (and walk the chunk index)."""
    from h5py import h5d

    shape = ds.shape
    n_elem = math.prod(shape)
    dcpl = ds.id.get_create_plist()
    if dcpl.get_external_count() > 0:
        raise SchemaError(f"{_show(p)}: {where} stores its data in external files, which gaitpf does not read")
    layout = dcpl.get_layout()
    if layout == h5d.VIRTUAL:
        raise SchemaError(f"{_show(p)}: {where} is a virtual dataset, which gaitpf does not read")
    if n_elem == 0:
        return
    itemsize = ds.id.get_type().get_size()
    if layout == h5d.CHUNKED:
        chunks = ds.chunks
        grid = [math.ceil(s / c) for s, c in zip(shape, chunks)]
        need = math.prod(grid)
        spans: list[tuple[int, int]] = []

        def visit(info: Any) -> None:
            spans.append((info.byte_offset, info.size))

        ds.id.chunk_iter(visit)
        have = len(spans)
        slack = 0 if clean else math.prod(grid[1:])  # the last row of chunks may be lost in a crash
        if have < need - slack:
            raise SchemaError(
                f"{_show(p)}: {where} declares shape {shape} ({n_elem * itemsize / 1e6:.3g} MB) but the file holds "
                f"only {have} of its {need} chunks; the file is damaged"
            )
        for offset, size in spans:
            if offset is None or offset + size > file_size:
                raise SchemaError(f"{_show(p)}: {where} has a chunk outside the file; the file is truncated or "
                                  "damaged")
    elif layout == h5d.CONTIGUOUS:
        storage = ds.id.get_storage_size()
        offset = ds.id.get_offset()
        if storage < n_elem * itemsize or offset is None or offset + storage > file_size:
            raise SchemaError(
                f"{_show(p)}: {where} declares shape {shape} ({n_elem * itemsize / 1e6:.3g} MB) but the file holds "
                f"{storage} bytes of it; the file is truncated or damaged"
            )


# ----------------------------------------------------------------------------- the walk
def check_version(f: Any, p: Path) -> int:
    """The file's schema version, after checking it is supported and the root attributes exist."""
    from .. import __version__

    if "schema_version" not in f.attrs:
        raise SchemaError(
            f"{_show(p)}: no 'schema_version' attribute, so this is not a gaitpf recording; this gaitpf "
            f"({__version__}) reads schema version {SCHEMA_VERSION}. Convert the original data with "
            "`gaitpf import`."
        )
    raw = attr_raw(f, "schema_version", "/", p)
    arr = np.asarray(raw)
    version = int(arr.reshape(()).item()) if arr.dtype.kind in "iu" and arr.size == 1 else None
    if version not in SUPPORTED_VERSIONS:
        hint = (
            "upgrade gaitpf to read it" if isinstance(version, int) and version > SCHEMA_VERSION
            else "re-import the original data with `gaitpf import`"
        )
        found = version if version is not None else short(raw)
        raise SchemaError(
            f"{_show(p)}: schema_version {found} found, but gaitpf {__version__} reads schema version(s) "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))}; {hint}"
        )
    for name in ROOT_ATTRS:
        if name not in f.attrs:
            raise SchemaError(f"{_show(p)}: required root attribute {name!r} is missing (schema v{version})")
    return version


def _foot(f: Any, side: str, p: Path, clean: bool, file_size: int) -> dict[str, Any]:
    import h5py

    g = f.get(side, getlink=False)
    if not isinstance(g, h5py.Group):
        raise SchemaError(f"{_show(p)}: /{side} must be a group, found {type(g).__name__}")
    where = f"/{side}"
    kinds = {"values": "fiu", "sample_counter": "iu", "device_time_s": "f", "host_time_s": "f",
             "time_s": "f", "quality": "iu"}
    ds = {}
    for name, (_dtype, per_sensor) in FOOT_DATASETS.items():
        ds[name] = _dataset(g, name, where, p, kinds[name], 2 if per_sensor else 1)
        _check_storage(ds[name], f"{where}/{name}", p, file_size, clean)
    n_sensors = int(ds["values"].shape[1])
    if not 1 <= n_sensors <= MAX_SENSORS:
        raise SchemaError(f"{_show(p)}: {where}/values has {n_sensors} sensor columns (1–{MAX_SENSORS} allowed)")
    lengths = {name: int(d.shape[0]) for name, d in ds.items()}
    n = min(lengths.values())
    if len(set(lengths.values())) > 1 and clean:
        raise SchemaError(f"{_show(p)}: {where} datasets have different lengths {lengths}; the file is inconsistent")
    fs = attr_number(g, "sampling_rate_hz", where, p)
    if not (math.isfinite(fs) and 0 < fs <= 1e6):
        raise SchemaError(f"{_show(p)}: attribute 'sampling_rate_hz' of {where} must be a positive finite rate in "
                          f"Hz, found {fs!r}")
    unit = attr_text(g, "unit", where, p)
    if unit not in UNITS:
        raise SchemaError(f"{_show(p)}: attribute 'unit' of {where} is {unit!r}; expected one of {', '.join(UNITS)}")
    attr_json(g, "device", where, p, required=False)
    counters = {k: attr_number(g, k, where, p, required=False, default=float(np.asarray(v)))
                for k, v in FOOT_COUNTER_ATTRS.items()}
    lost = counters["n_lost_frames"]
    if not (math.isfinite(lost) and lost >= 0):
        raise SchemaError(f"{_show(p)}: attribute 'n_lost_frames' of {where} must be a count ≥ 0, found {lost!r}")
    layout_id = None
    if "layout" in g:
        layout_id = _layout(g, side, p, n_sensors, clean, file_size)
    return {"n": n, "lengths": lengths, "n_sensors": n_sensors, "sampling_rate_hz": fs, "unit": unit,
            "layout_id": layout_id, "n_lost_frames": int(lost),
            "clock_residual_ms": counters["clock_residual_ms"]}


def _layout(g: Any, side: str, p: Path, n_sensors: int, clean: bool, file_size: int) -> str:
    import h5py

    lg = g.get("layout", getlink=False)
    where = f"/{side}/layout"
    if not isinstance(lg, h5py.Group):
        raise SchemaError(f"{_show(p)}: {where} must be a group, found {type(lg).__name__}")
    names = {"x_mm": "fiu", "y_mm": "fiu", "region": "s", "ml_zone": "s", "names": "s"}
    if "area_mm2" in lg:
        names["area_mm2"] = "fiu"
    for name, kinds in names.items():
        d = _dataset(lg, name, where, p, kinds, 1)
        _check_storage(d, f"{where}/{name}", p, file_size, True)
        if d.shape[0] != n_sensors:
            raise SchemaError(f"{_show(p)}: {where}/{name} has {d.shape[0]} entries but values has {n_sensors} "
                              "sensor columns")
    return attr_text(lg, "layout_id", where, p, required=False, default="custom")


def _annotations(f: Any, p: Path, clean: bool, file_size: int) -> int:
    import h5py

    if "annotations" not in f:
        raise SchemaError(f"{_show(p)}: required group /annotations is missing")
    g = f.get("annotations", getlink=False)
    if not isinstance(g, h5py.Group):
        raise SchemaError(f"{_show(p)}: /annotations must be a group, found {type(g).__name__}")
    lengths = {}
    for name, dtype in ANNOTATION_DATASETS.items():
        d = _dataset(g, name, "/annotations", p, "s" if dtype == "str" else "fiu", 1)
        _check_storage(d, f"/annotations/{name}", p, file_size, clean)
        lengths[name] = int(d.shape[0])
    if len(set(lengths.values())) > 1 and clean:
        raise SchemaError(f"{_show(p)}: /annotations columns have different lengths {lengths}")
    return min(lengths.values())


def _truth(f: Any, p: Path, file_size: int) -> list[str]:
    import h5py

    tg = f.get("truth", getlink=False)
    if not isinstance(tg, h5py.Group):
        raise SchemaError(f"{_show(p)}: /truth must be a group, found {type(tg).__name__}")
    sides = []
    for side in ("left", "right"):
        if side not in tg:
            continue
        sg = tg.get(side, getlink=False)
        if not isinstance(sg, h5py.Group):
            raise SchemaError(f"{_show(p)}: /truth/{side} must be a group")
        lens = []
        for name in ("ic_idx", "to_idx"):
            d = _dataset(sg, name, f"/truth/{side}", p, "iu", 1)
            _check_storage(d, f"/truth/{side}/{name}", p, file_size, True)
            lens.append(d.shape[0])
        if lens[0] != lens[1]:
            raise SchemaError(f"{_show(p)}: /truth/{side} has {lens[0]} initial contacts but {lens[1]} toe-offs")
        sides.append(side)
    return sides


def inspect_hdf5(path: str | os.PathLike[str], swmr: bool = False) -> dict[str, Any]:
    """Open and check a gaitpf HDF5 file against schema v1 (metadata only); return its plan.

    Returns
    -------
    dict
        ``swmr`` (it had to be opened in SWMR mode), ``schema_version``, ``closed_cleanly``,
        ``root`` (text attributes, ``body_mass_kg``, parsed ``source`` and ``metadata``),
        ``feet`` (per side ``n`` — samples to read —, ``lengths``, ``n_sensors``,
        ``sampling_rate_hz``, ``unit``, ``layout_id``, ``n_lost_frames``,
        ``clock_residual_ms``), ``n_annotations`` and ``truth`` (sides with ground truth).

    Raises
    ------
    InputError, FormatError, SchemaError
        Missing file, not HDF5, or the first rule it breaks (named in the message).
    """
    from .guard import reading

    p = Path(path)
    with reading(p):
        f, used_swmr = h5_open(p, swmr)
        try:
            return _inspect(f, p, used_swmr)
        finally:
            f.close()


def _inspect(f: Any, p: Path, used_swmr: bool) -> dict[str, Any]:
    version = check_version(f, p)
    file_size = os.stat(p).st_size
    closed = attr_number(f, "closed_cleanly", "/", p)
    if closed not in (0.0, 1.0):
        raise SchemaError(f"{_show(p)}: root attribute 'closed_cleanly' must be 0 or 1, found {closed!r}")
    clean = closed == 1.0
    root: dict[str, Any] = {name: attr_text(f, name, "/", p) for name in _TEXT_ROOT}
    mass = attr_number(f, "body_mass_kg", "/", p)
    if math.isfinite(mass) and not 0 < mass < 1000:
        raise SchemaError(f"{_show(p)}: root attribute 'body_mass_kg' is {mass!r}; expected a mass in kg (or NaN)")
    root["body_mass_kg"] = mass if math.isfinite(mass) else None
    root["source"] = attr_json(f, "source", "/", p)
    root["metadata"] = attr_json(f, "metadata", "/", p)
    sides = [s for s in ("left", "right") if s in f]
    if not sides:
        raise SchemaError(f"{_show(p)}: neither /left nor /right exists; a recording needs at least one foot")
    feet = {side: _foot(f, side, p, clean, file_size) for side in sides}
    n_ann = _annotations(f, p, clean, file_size)
    truth = _truth(f, p, file_size) if "truth" in f else []
    return {"swmr": used_swmr, "schema_version": version, "closed_cleanly": clean, "root": root, "feet": feet,
            "n_annotations": n_ann, "truth": truth}
