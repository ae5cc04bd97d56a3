"""The batch outputs as partitioned Parquet datasets, written by the workers themselves.

Layout of the output folder ``OUT/``::

    OUT/strides/part-0-schema.parquet        # no rows: the dataset's schema (written last, by the driver)
    OUT/strides/part-1-<hash>.parquet        # one partition per recording (written by its worker)
    OUT/symmetry/...  OUT/summary/...        # the same for the other two tables
    OUT/strides.parquet ...                  # consolidated copies (small archives only)

Each partition holds one recording's rows, led by the identity and provenance columns
(:data:`ID_COLUMNS`). Its name is the BLAKE2b-128 of the recording's relative path and
its cache key (input content, gaitpf version, parameters), so a partition is written
once, by whichever worker analyzed (or reused) the recording, and its bytes do not
depend on the executor, the worker or the order of the tasks. Files are written to a
hidden temporary name and renamed: a partition is complete or absent.

Recordings do not all have the same columns (calibrated insoles have forces in N,
others in arbitrary units; with a body mass, also in % body weight). Each task reports
the fingerprints (BLAKE2b of the serialized Arrow schema) of its recording's *natural*
partition schemas (those of its cache entry) and of the partitions on disk. The driver
reads one footer per *distinct* natural schema (a handful per archive, from the cache),
unifies them (``pyarrow.unify_schemas``, in the order of the recordings' paths) and
sends the few recordings whose partitions differ from the dataset schema back to the
workers (:func:`conform_partitions`: missing columns as nulls, types cast). Every
partition of a table then has the same schema, as Dask, which reads one file at a
time, needs; pandas, ``pyarrow.dataset`` and DuckDB read the folder directly too. The
driver also writes ``part-0-schema.parquet`` (no rows, the dataset schema: an archive
without any result still reads as an empty table) and deletes the partitions of
recordings no longer in the archive (removed, changed, failed, other parameters).
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from .. import __version__

__all__ = ["ID_COLUMNS", "DATASET_TABLES", "SCHEMA_FILE", "SORT_KEYS", "partition_name", "write_partitions",
           "partition_fingerprints", "partition_schema", "natural_fingerprints", "unify", "fingerprint",
           "conform_partitions", "finish_dataset", "consolidate"]

log = logging.getLogger(__name__)

#: Identity and provenance columns leading every output table.
ID_COLUMNS: tuple[str, ...] = ("path", "subject_id", "session", "trial", "gaitpf_version", "params_hash", "input_hash")
#: The partitioned tables (one folder each).
DATASET_TABLES: tuple[str, ...] = ("strides", "symmetry", "summary")
#: Row order of the consolidated tables.
SORT_KEYS: dict[str, list[str]] = {"strides": ["path", "side", "stride_no"], "symmetry": ["path", "metric"],
                                   "summary": ["path"]}
#: The zero-row file holding the dataset schema; sorts before every partition.
SCHEMA_FILE = "part-0-schema.parquet"
_PREFIX = "part-1-"
#: A temporary partition file older than this (s) belongs to no running batch.
STALE_TEMPORARY_S = 3600.0


def partition_name(rel_path: str, key: str) -> str:
    """File name of one recording's partition (the same in every table folder)."""
    digest = hashlib.blake2b(f"{rel_path}\0{key}".encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()
    return f"{_PREFIX}{digest}.parquet"


def _fingerprint(schema: Any) -> str:
    return hashlib.blake2b(schema.remove_metadata().serialize().to_pybytes(), digest_size=8).hexdigest()


def _file_metadata(p_json: str) -> dict[bytes, bytes]:
    return {b"gaitpf_version": __version__.encode(), b"gaitpf_params": p_json.encode()}


def _write_atomic(table: Any, dest: Path) -> None:
    import pyarrow.parquet as pq

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")  # hidden: no reader lists it
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_partitions(out_dir: str, name: str, ids: dict[str, str], tables: dict[str, Any],
                     p_json: str) -> dict[str, str]:
    """Write one recording's partitions (runs in the worker); return ``{table: schema fingerprint}``.

    Parameters
    ----------
    out_dir : str
        Batch output folder.
    name : str
        :func:`partition_name` of the recording.
    ids : dict
        Value of each of :data:`ID_COLUMNS` for this recording.
    tables : dict
        ``{table: pyarrow.Table}`` as stored in the result cache.
    p_json : str
        Canonical JSON of the analysis parameters (file metadata).

    Tables without rows get no partition (and no fingerprint). ``summary`` is written
    last, so its presence means the recording's partitions are complete.
    """
    import pyarrow as pa

    prints = {}
    for table_name in DATASET_TABLES:
        body = tables[table_name]
        if not body.num_rows:
            continue
        body = body.replace_schema_metadata(None)
        front = [pa.array([ids[c]] * body.num_rows, pa.string()) for c in ID_COLUMNS]
        table = pa.Table.from_arrays(front + body.columns, names=list(ID_COLUMNS) + body.column_names)
        table = table.replace_schema_metadata(_file_metadata(p_json)).combine_chunks()
        folder = Path(out_dir) / table_name
        folder.mkdir(exist_ok=True)
        _write_atomic(table, folder / name)
        prints[table_name] = _fingerprint(table.schema)  # == natural_fingerprints(tables)[table_name]
    return prints


def partition_fingerprints(out_dir: str, name: str) -> dict[str, str] | None:
    """Fingerprints of a recording's partitions on disk, or None when they are not all there."""
    import pyarrow.parquet as pq

    out = Path(out_dir)
    if not (out / "summary" / name).is_file():
        return None
    return {t: _fingerprint(pq.read_schema(out / t / name)) for t in DATASET_TABLES if (out / t / name).is_file()}


def partition_schema(body_schema: Any) -> Any:
    """Schema of a partition holding a table of ``body_schema`` (identity columns first)."""
    import pyarrow as pa

    ids = [pa.field(c, pa.string()) for c in ID_COLUMNS]
    return pa.schema(ids + list(body_schema.remove_metadata()))


def natural_fingerprints(tables: dict[str, Any]) -> dict[str, str]:
    """``{table: fingerprint}`` of the partitions :func:`write_partitions` writes for ``tables``.

    ``tables`` maps a table name to a ``pyarrow.Table`` or a ``pyarrow.Schema``; tables
    without rows are left out (a schema counts as having rows).
    """
    return {name: _fingerprint(partition_schema(getattr(t, "schema", t))) for name, t in tables.items()
            if getattr(t, "num_rows", 1)}


def unify(cache_dir: Path, firsts: dict[str, dict[str, tuple[str, str]]], p_json: str) -> dict[str, Any]:
    """The dataset schema of each table: union of the distinct partition schemas.

    Parameters
    ----------
    cache_dir : Path
        The result cache (each distinct schema is read from one entry's footer).
    firsts : dict
        ``{table: {fingerprint: (first rel_path having it, its cache key)}}``; the
        schemas are unified in the order of those paths (column order independent of
        the order the tasks finished in).

    Returns
    -------
    dict
        ``{table: pyarrow.Schema}`` (with the gaitpf file metadata).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    unified = {}
    for table_name in DATASET_TABLES:
        parts = [pa.schema([(c, pa.string()) for c in ID_COLUMNS])]
        for _, key in sorted(firsts.get(table_name, {}).values()):
            parts.append(partition_schema(pq.read_schema(cache_dir / key / f"{table_name}.parquet")))
        unified[table_name] = pa.unify_schemas(parts).with_metadata(_file_metadata(p_json))
    return unified


def fingerprint(schema: Any) -> str:
    """Fingerprint of a schema (metadata left out), as the tasks report them."""
    return _fingerprint(schema)


def conform_partitions(out_dir: str, name: str, targets: dict[str, Any]) -> None:
    """Rewrite a recording's partitions with the dataset schemas ``targets`` (runs in a worker).

    Columns the recording lacks become nulls, types are cast (null to double...), the
    column order is the dataset's: every partition of a table then has the same schema,
    which Dask (one file read at a time) needs. Same bytes whatever the partition held.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    for table_name, schema in targets.items():
        path = Path(out_dir) / table_name / name
        table = pq.read_table(path)
        n = table.num_rows
        cols = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type)
                for f in schema]
        _write_atomic(pa.Table.from_arrays(cols, schema=schema).combine_chunks(), path)


def finish_dataset(out_dir: Path, keep: set[str], unified: dict[str, Any]) -> None:
    """Driver, after the last task: delete stale partitions, write each folder's schema file.

    ``keep``: partition names of this run's recordings (analyzed or reused).
    """
    now = time.time()
    for table_name in DATASET_TABLES:
        folder = out_dir / table_name
        folder.mkdir(exist_ok=True)
        with os.scandir(folder) as it:
            for entry in it:
                n = entry.name
                stale = n.startswith(_PREFIX) and n not in keep
                stale |= n.startswith(f".{_PREFIX}") and now - entry.stat().st_mtime > STALE_TEMPORARY_S
                if stale:
                    os.unlink(entry.path)
        _write_atomic(unified[table_name].empty_table(), folder / SCHEMA_FILE)


def consolidate(out_dir: Path, table_name: str, schema: Any) -> Any:
    """One ``pyarrow.Table`` of a table's partitions, sorted by :data:`SORT_KEYS`."""
    import pyarrow.dataset as ds

    table = ds.dataset(out_dir / table_name, format="parquet", schema=schema).to_table()
    keys = [(k, "ascending") for k in SORT_KEYS[table_name] if k in table.column_names]
    return table.sort_by(keys).replace_schema_metadata(schema.metadata)
