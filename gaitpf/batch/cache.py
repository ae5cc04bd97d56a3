"""Resumable, incremental results: one cache entry per (input content, gaitpf version, parameters).

A result is reused when three things are unchanged:

* the **content hash** of the input: BLAKE2b (128-bit digest) over the bytes of every
  file of the recording, streamed in 1 MiB blocks (a gaitndd record hashes its
  ``.hea``, ``.let`` and ``.rit`` files, each prefixed by its suffix);
* the **gaitpf version** (``gaitpf.__version__``), which changes whenever the analysis does;
* the **parameters hash**: BLAKE2b of the canonical JSON of ``AnalysisParams.as_dict()``
  (sorted keys).

The cache key is the BLAKE2b of the three. Each entry is a folder ``OUT/.cache/<key>/``
holding ``strides.parquet``, ``symmetry.parquet``, ``summary.parquet`` and ``meta.json``;
it is written (by the worker that analyzed the recording, :func:`write_entry`) to a
temporary folder first and renamed into place, so an entry is either complete or absent
(a batch killed mid-way leaves no half entry). Renaming or moving a recording inside
the archive keeps its entry (the key does not depend on the path).
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import OutputError

__all__ = [
    "CACHE_DIRNAME",
    "TABLES",
    "hash_files",
    "params_json",
    "params_hash",
    "cache_key",
    "flatten_summary",
    "ResultCache",
    "write_entry",
    "to_arrow",
    "arrow_to_pandas",
]

log = logging.getLogger(__name__)

CACHE_DIRNAME = ".cache"
#: A half-written entry folder older than this (s) belongs to no running batch: deleted.
STALE_TEMPORARY_S = 3600.0
#: Tables of one cached result.
TABLES: tuple[str, ...] = ("strides", "symmetry", "summary")
_BLOCK = 1 << 20


def hash_files(paths: Iterable[str | os.PathLike[str]]) -> str:
    """BLAKE2b-128 hex digest over the bytes of ``paths`` (in the given order).

    Each file contributes its suffix and its length before its bytes, so that moving
    bytes between the files of one record changes the hash.
    """
    h = hashlib.blake2b(digest_size=16)
    for p in paths:
        p = Path(p)
        h.update(p.suffix.lower().encode() + b"\0" + str(p.stat().st_size).encode() + b"\0")
        with open(p, "rb") as fh:
            while block := fh.read(_BLOCK):
                h.update(block)
    return h.hexdigest()


def params_json(params: Any) -> str:
    """Canonical JSON of analysis parameters (an ``AnalysisParams`` or a plain dict)."""
    d = params.as_dict() if hasattr(params, "as_dict") else dict(params)
    return json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)


def params_hash(params: Any) -> str:
    """BLAKE2b-64 hex digest of :func:`params_json`."""
    return hashlib.blake2b(params_json(params).encode(), digest_size=8).hexdigest()


def cache_key(input_hash: str, version: str, p_hash: str) -> str:
    """The entry name for one (input, gaitpf version, parameters) triple."""
    return hashlib.blake2b(f"{input_hash}|{version}|{p_hash}".encode(), digest_size=16).hexdigest()


def _scalar(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return "; ".join(str(v) for v in x)
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def flatten_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """One flat row from an analysis summary dict: the batch ``summary`` table's row.

    The column names are :func:`gaitpf.analysis.summary_row`'s (``n_strides_left``,
    ``stride_time_s_si_pct``, ``pci_pct``; no repeated parts such as ``pci_pci_pct``);
    non-finite numbers become missing values; the per-metric ``metrics`` block is left
    out (it is the symmetry table) and ``params`` becomes ``params_json``.
    """
    from ..analysis.tables import summary_row

    row = {k: _scalar(v) for k, v in summary_row(summary).items()}
    if "params" in summary:
        row["params_json"] = params_json(summary["params"])
    return row


def to_arrow(df: pd.DataFrame) -> Any:
    """``pyarrow.Table`` of ``df`` as ``df.to_parquet(index=False)`` stores it (pandas metadata kept)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    if df.attrs:  # as pandas' own parquet writer does
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"PANDAS_ATTRS": json.dumps(df.attrs).encode()})
    return table


def arrow_to_pandas(table: Any) -> pd.DataFrame:
    """DataFrame of a ``pyarrow.Table`` exactly as :func:`pandas.read_parquet` builds it."""
    try:
        from pandas.io._util import arrow_table_to_pandas
    except ImportError:  # another pandas layout: go through an in-memory parquet file
        import io

        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(table, buf)
        buf.seek(0)
        return pd.read_parquet(buf)
    return arrow_table_to_pandas(table)


def write_entry(root: str | os.PathLike[str], key: str, tables: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Write one entry of the cache folder ``root`` atomically (temporary folder, then rename).

    Runs in the batch workers: each writes the entries of the recordings it analyzed.
    ``tables`` maps each of :data:`TABLES` to a DataFrame or to its :func:`to_arrow`
    conversion.

    Returns
    -------
    dict
        ``{table: pyarrow.Table}``: the tables exactly as written (and as
        :meth:`ResultCache.load_arrow` would read them back).
    """
    import pyarrow.parquet as pq

    root = Path(root)
    dest = root / key
    arrow = {name: to_arrow(tables[name]) if isinstance(tables[name], pd.DataFrame) else tables[name]
             for name in TABLES}
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        try:
            for name in TABLES:
                pq.write_table(arrow[name], tmp / f"{name}.parquet")
            (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True, default=str))
            if dest.exists():  # a concurrent run finished the same entry first
                shutil.rmtree(dest, ignore_errors=True)
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise OutputError(f"{dest}: cannot write the cached result ({exc.strerror or exc})") from exc
    return arrow


class ResultCache:
    """The per-recording result store in ``OUT/.cache/``.

    Parameters
    ----------
    out_dir : path-like
        Batch output folder; the cache lives in its ``.cache`` sub-folder.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.root = Path(out_dir) / CACHE_DIRNAME
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.root}: cannot create the result cache ({exc.strerror})") from exc
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Delete entry folders a killed run left half-written (``.KEY.*``, untouched for an hour).

        Younger ones may belong to a run still writing into the same folder: they stay
        (they are never read either way).
        """
        now = time.time()
        for p in self.root.glob(".*"):
            try:
                if p.is_dir() and now - p.stat().st_mtime > STALE_TEMPORARY_S:
                    shutil.rmtree(p, ignore_errors=True)
                    log.info("removed %s, left half-written by an interrupted run", p)
            except OSError:  # vanished meanwhile (the other run finished it)
                continue

    def keys(self) -> set[str]:
        """Keys of the complete entries."""
        return {p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")}

    def path(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        return (self.root / key / "meta.json").is_file()

    def save(self, key: str, tables: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
        """Write one entry atomically (:func:`write_entry`); return its Arrow tables."""
        return write_entry(self.root, key, tables, meta)

    def load(self, key: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
        """Read one entry: ``({table: DataFrame}, meta)``."""
        d = self.root / key
        meta = json.loads((d / "meta.json").read_text())
        return {name: pd.read_parquet(d / f"{name}.parquet") for name in TABLES}, meta

    def load_arrow(self, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read one entry without pandas: ``({table: pyarrow.Table}, meta)``."""
        import pyarrow.parquet as pq

        d = self.root / key
        meta = json.loads((d / "meta.json").read_text())
        return {name: pq.read_table(d / f"{name}.parquet") for name in TABLES}, meta

    def remove(self, key: str) -> None:
        shutil.rmtree(self.root / key, ignore_errors=True)
