"""Lay out a new gaitpf HDF5 file (schema v1) before anything is appended to it.

:class:`~gaitpf.io.hdf5_writer.RecordingWriter` needs the whole tree of the file — root
attributes, one group per foot with its (empty, extendable) datasets, pre-created
counter attributes and sensor layout, the annotation columns and, for simulated data,
the ground-truth events — to exist *before* HDF5 single-writer/multiple-reader mode is
switched on, since a SWMR writer must not create new objects. This module holds what
decides that tree: :class:`FootSpec` (the fixed shape of a foot), :func:`check_feet`
(validation of the specs and text attributes) and :func:`create_layout` (the h5py calls).
The names and dtypes come from :mod:`gaitpf.io.hdf5_schema`; the tree is described for
people in ``docs/hdf5_schema.md``.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import SignalError
from ..model import SIDES, SensorLayout
from .hdf5_schema import (
    ANNOTATION_DATASETS,
    FOOT_COUNTER_ATTRS,
    FOOT_DATASETS,
    SCHEMA_VERSION,
    UNITS,
    chunk_rows,
    str_dtype,
    to_json,
)

__all__ = ["FootSpec", "check_feet", "create_layout", "private_source", "private_device", "PATH_KEYS"]


@dataclass(frozen=True)
class FootSpec:
    """What a foot's datasets look like, fixed when the file is created.

    Parameters
    ----------
    n_sensors : int
        Columns of ``values``.
    unit : {"N", "kPa", "au"}
    sampling_rate_hz : float
        Nominal sampling rate.
    layout : SensorLayout, optional
    device : dict
        Device information (model, address, firmware...), stored as JSON.
    """

    n_sensors: int
    unit: str
    sampling_rate_hz: float
    layout: SensorLayout | None = None
    device: Mapping[str, Any] = field(default_factory=dict)


#: Keys of ``source`` and foot ``device`` dictionaries that name files; never stored.
PATH_KEYS = frozenset({"path", "paths", "name", "file", "files", "filename", "original_file", "replayed_from"})


def private_source(source: Mapping[str, Any] | None) -> dict[str, Any]:
    """Provenance without paths or file names (clinics name folders and files after patients).

    Drops every key of :data:`PATH_KEYS` (the in-memory ``source["path"]`` of an imported
    recording names the input file; a file is identified by ``source["sha256"]`` instead,
    see :mod:`gaitpf.io.provenance`).
    """
    return {k: v for k, v in dict(source or {}).items() if k not in PATH_KEYS}


def private_device(device: Mapping[str, Any] | None) -> dict[str, Any]:
    """A foot's device information without the file-naming keys of :data:`PATH_KEYS` except
    ``name`` (a BLE device's advertised name is not a file name)."""
    return {k: v for k, v in dict(device or {}).items() if k == "name" or k not in PATH_KEYS}


def check_feet(path: str, feet: Mapping[str, FootSpec], *, subject_id: str, session: str, trial: str) -> None:
    """Refuse foot specs and text attributes a schema v1 file cannot hold.

    Parameters
    ----------
    path : str
        File the specs are for (named in the messages).
    feet : dict {"left": FootSpec, "right": FootSpec}
        One or both feet.
    subject_id, session, trial : str
        Root text attributes (checked for NUL characters).

    Raises
    ------
    SignalError
        No foot, an unknown side or unit, a non-positive sensor count or sampling rate,
        a layout whose sensor count differs from the spec, left and right sampling rates
        that differ, or a NUL character in a text attribute.
    """
    if not feet:
        raise SignalError(f"{path}: a recording needs at least one foot")
    rates = set()
    for side, spec in feet.items():
        if side not in SIDES:
            raise SignalError(f"{path}: foot key must be 'left' or 'right', got {side!r}")
        if spec.unit not in UNITS:
            raise SignalError(f"{path}: {side} unit {spec.unit!r} is not one of {UNITS}")
        if not (spec.n_sensors >= 1 and np.isfinite(spec.sampling_rate_hz) and spec.sampling_rate_hz > 0):
            raise SignalError(f"{path}: {side} foot needs n_sensors ≥ 1 and sampling_rate_hz > 0")
        if spec.layout is not None and spec.layout.n_sensors != spec.n_sensors:
            raise SignalError(
                f"{path}: {side} layout {spec.layout.layout_id!r} has {spec.layout.n_sensors} sensors, "
                f"spec says {spec.n_sensors}"
            )
        rates.add(float(spec.sampling_rate_hz))
    if len(rates) > 1:
        raise SignalError(f"{path}: left and right sampling rates differ {sorted(rates)} Hz")
    for what, text in (("subject_id", subject_id), ("session", session), ("trial", trial)):
        if "\x00" in str(text):
            raise SignalError(f"{path}: {what} {text!r} contains a NUL character, which HDF5 cannot store")


def create_layout(
    f: Any,
    path: str,
    feet: Mapping[str, FootSpec],
    *,
    subject_id: str,
    session: str,
    trial: str,
    body_mass_kg: float | None,
    metadata: Mapping[str, Any] | None,
    source: Mapping[str, Any] | None,
    created_utc: str | None,
    truth: Mapping[str, pd.DataFrame] | None,
    compression: str | None,
) -> None:
    """Create every group, dataset and attribute of a schema v1 file in the open ``f``.

    Foot datasets are created empty and extendable (chunked by :func:`chunk_rows`);
    ``closed_cleanly`` starts at 0 and the per-foot counters at their "unknown" values
    (:data:`FOOT_COUNTER_ATTRS`). Ground truth, if any, is written whole.

    Parameters
    ----------
    f : h5py.File
        Freshly created file, opened for writing and not yet in SWMR mode.
    path : str
        Its path (named in the messages).
    feet : dict {"left": FootSpec, "right": FootSpec}
        Already checked with :func:`check_feet`.
    subject_id, session, trial, body_mass_kg, metadata, source, created_utc, truth, compression
        As for :class:`~gaitpf.io.hdf5_writer.RecordingWriter`.

    Raises
    ------
    SignalError
        A ``truth`` key is not ``"left"`` or ``"right"``.
    """
    a = f.attrs
    a["schema_version"] = np.int64(SCHEMA_VERSION)
    a["gaitpf_version"] = __version__
    a["created_utc"] = created_utc or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    a["subject_id"] = str(subject_id)
    a["session"] = str(session)
    a["trial"] = str(trial)
    a["body_mass_kg"] = np.float64(np.nan if body_mass_kg is None else body_mass_kg)
    a["source"] = to_json(private_source(source))
    a["metadata"] = to_json(dict(metadata or {}))
    a["closed_cleanly"] = np.int8(0)
    sdt = str_dtype()
    for side in SIDES:
        if side not in feet:
            continue
        spec = feet[side]
        g = f.create_group(side)
        rows = chunk_rows(spec.n_sensors)
        for name, (dtype, per_sensor) in FOOT_DATASETS.items():
            shape, maxshape, chunks = (0,), (None,), (rows,)
            kw: dict[str, Any] = {}
            if per_sensor:
                shape, maxshape, chunks = (0, spec.n_sensors), (None, spec.n_sensors), (rows, spec.n_sensors)
                if compression:
                    kw = {"compression": compression, "compression_opts": 1, "shuffle": True}
            g.create_dataset(name, shape=shape, maxshape=maxshape, chunks=chunks, dtype=dtype, **kw)
        g.attrs["sampling_rate_hz"] = np.float64(spec.sampling_rate_hz)
        g.attrs["unit"] = spec.unit
        g.attrs["device"] = to_json(private_device(spec.device))
        for key, value in FOOT_COUNTER_ATTRS.items():
            g.attrs[key] = value
        if spec.layout is not None:
            lay = spec.layout
            lg = g.create_group("layout")
            lg.attrs["layout_id"] = lay.layout_id
            lg.create_dataset("x_mm", data=np.asarray(lay.x_mm, dtype="float64"))
            lg.create_dataset("y_mm", data=np.asarray(lay.y_mm, dtype="float64"))
            for name in ("region", "ml_zone", "names"):
                lg.create_dataset(name, data=list(getattr(lay, name)), dtype=sdt)
            if lay.area_mm2 is not None:
                lg.create_dataset("area_mm2", data=np.asarray(lay.area_mm2, dtype="float64"))
    ann = f.create_group("annotations")
    for name, dtype in ANNOTATION_DATASETS.items():
        ann.create_dataset(
            name, shape=(0,), maxshape=(None,), chunks=(256,), dtype=sdt if dtype == "str" else dtype
        )
    if truth:
        tg = f.create_group("truth")
        for side, table in truth.items():
            if side not in SIDES:
                raise SignalError(f"{path}: truth key must be 'left' or 'right', got {side!r}")
            sg = tg.create_group(side)
            for col in ("ic_idx", "to_idx"):
                sg.create_dataset(col, data=np.asarray(table[col], dtype="int64"))
