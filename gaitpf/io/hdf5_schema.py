"""Names, types and small helpers of the gaitpf HDF5 schema, version 1.

The full description for people is ``docs/hdf5_schema.md``; this module is the one
place the code takes the names from.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = [
    "SCHEMA_VERSION",
    "SUPPORTED_VERSIONS",
    "LIBVER",
    "ROOT_ATTRS",
    "FOOT_DATASETS",
    "FOOT_COUNTER_ATTRS",
    "ANNOTATION_DATASETS",
    "UNITS",
    "str_dtype",
    "chunk_rows",
    "to_json",
    "from_json",
]

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)

#: HDF5 file-format bounds: 1.10 objects are the oldest that allow SWMR; capping at
#: 1.14 keeps files readable by HDF5 1.10+ tools (h5dump, MATLAB, R).
LIBVER = ("v110", "v114")

#: Required root attributes and their meaning (see docs/hdf5_schema.md).
ROOT_ATTRS: tuple[str, ...] = (
    "schema_version",
    "gaitpf_version",
    "created_utc",
    "subject_id",
    "session",
    "trial",
    "body_mass_kg",
    "source",
    "metadata",
    "closed_cleanly",
)

#: Per-foot datasets: name -> (numpy dtype, second dimension is the sensor count?).
FOOT_DATASETS: dict[str, tuple[str, bool]] = {
    "values": ("float32", True),
    "sample_counter": ("int64", False),
    "device_time_s": ("float64", False),
    "host_time_s": ("float64", False),
    "time_s": ("float64", False),
    "quality": ("uint8", False),
}

#: Per-foot attributes a recorder updates while recording, pre-created with these
#: "unknown" values before SWMR starts (a SWMR writer must not add new attributes).
FOOT_COUNTER_ATTRS: dict[str, Any] = {
    "n_lost_frames": np.int64(0),
    "clock_offset_s": np.float64(np.nan),
    "clock_drift_ppm": np.float64(np.nan),
    "clock_residual_ms": np.float64(np.nan),
}

#: Annotation column datasets -> dtype ("str" = variable-length UTF-8).
ANNOTATION_DATASETS: dict[str, str] = {
    "onset_s": "float64",
    "duration_s": "float64",
    "kind": "str",
    "side": "str",
    "description": "str",
}

UNITS: tuple[str, ...] = ("N", "kPa", "au")


def str_dtype() -> Any:
    """Variable-length UTF-8 string dtype for h5py."""
    import h5py

    return h5py.string_dtype(encoding="utf-8")


def chunk_rows(n_sensors: int) -> int:
    """Rows per chunk so that one chunk of ``values`` stays ≤ 256 KiB (and ≤ 1024 rows)."""
    return int(max(16, min(1024, (256 * 1024) // (4 * max(1, n_sensors)))))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def to_json(obj: Any) -> str:
    """Serialise a dict for a JSON attribute (numpy scalars/arrays allowed)."""
    return json.dumps(obj if obj is not None else {}, default=_json_default, sort_keys=True, ensure_ascii=False)


def from_json(text: Any, *, what: str) -> dict[str, Any]:
    """Parse a JSON attribute; ``what`` names it in the error."""
    from ..errors import SchemaError

    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        value = json.loads(str(text)) if text not in (None, "") else {}
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{what} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise SchemaError(f"{what} must be a JSON object, found {type(value).__name__}")
    return value
