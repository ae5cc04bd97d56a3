"""Typed reads of HDF5 attributes for the schema check (:mod:`gaitpf.io.hdf5_validate`).

An attribute's declared size is checked before its value is read (a damaged header can
declare millions of elements); then text must be ``str`` or UTF-8 ``bytes`` and numbers
real numeric scalars. Every refusal is a :class:`~gaitpf.errors.SchemaError` naming the
file, the object and the attribute.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SchemaError
from .guard import display_path as _show
from .hdf5_schema import from_json

__all__ = ["MAX_ATTR_ELEMENTS", "MAX_TEXT", "attr_raw", "attr_text", "attr_number", "attr_json", "short"]

#: Attributes declaring more elements than this are refused without reading them.
MAX_ATTR_ELEMENTS = 1 << 20
#: Longest text attribute accepted, characters.
MAX_TEXT = 1 << 20


def attr_raw(obj: Any, name: str, where: str, p: Path, *, required: bool = True) -> Any:
    """Read attribute ``name`` after checking its declared size; ``None`` if absent and optional."""
    if name not in obj.attrs:
        if required:
            raise SchemaError(f"{_show(p)}: required attribute {name!r} of {where} is missing")
        return None
    aid = obj.attrs.get_id(name)
    shape = aid.shape
    if shape is None:
        raise SchemaError(f"{_show(p)}: attribute {name!r} of {where} is empty (null dataspace)")
    if math.prod(shape) > MAX_ATTR_ELEMENTS:
        raise SchemaError(f"{_show(p)}: attribute {name!r} of {where} declares {math.prod(shape)} elements")
    return obj.attrs[name]


def _scalar(value: Any) -> Any:
    arr = np.asarray(value)
    if arr.size != 1:
        return None
    return arr.reshape(()).item() if arr.dtype.kind != "O" else arr.reshape(())[()]


def attr_text(obj: Any, name: str, where: str, p: Path, *, required: bool = True, default: str = "") -> str:
    """A text attribute as ``str`` (``bytes`` must be UTF-8); anything else is a :class:`SchemaError`."""
    value = attr_raw(obj, name, where, p, required=required)
    if value is None:
        return default
    v = _scalar(value) if not isinstance(value, (str, bytes)) else value
    if isinstance(v, bytes):
        try:
            v = v.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaError(f"{_show(p)}: attribute {name!r} of {where} is not UTF-8 text") from exc
    if not isinstance(v, str):
        raise SchemaError(f"{_show(p)}: attribute {name!r} of {where} must be text, found "
                          f"{type(v).__name__} {short(value)}")
    if len(v) > MAX_TEXT:
        raise SchemaError(f"{_show(p)}: attribute {name!r} of {where} is {len(v)} characters long")
    return v


def attr_number(obj: Any, name: str, where: str, p: Path, *, required: bool = True,
                default: float = float("nan")) -> float:
    """A numeric scalar attribute as ``float`` (text, arrays and booleans are refused)."""
    value = attr_raw(obj, name, where, p, required=required)
    if value is None:
        return default
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.size != 1:
        raise SchemaError(f"{_show(p)}: attribute {name!r} of {where} must be a number, found "
                          f"{short(value)} ({arr.dtype}, shape {arr.shape})")
    return float(arr.reshape(()).item())


def short(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def attr_json(obj: Any, name: str, where: str, p: Path, *, required: bool = True) -> dict[str, Any]:
    text = attr_text(obj, name, where, p, required=required, default="{}")
    label = f"root attribute {name!r}" if where == "/" else f"{where} attribute {name!r}"
    return from_json(text, what=f"{_show(p)}: {label}")
