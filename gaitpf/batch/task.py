"""The per-recording batch task: hash, reuse the cached result or analyze, never raise.

:func:`analyze_task` is what each worker (local process or Dask worker) runs for one
recording (:class:`~gaitpf.batch.discover.RecordingRef`): it hashes the input files,
reuses the result when it is already in the cache (:mod:`gaitpf.batch.cache`), else
reads and analyzes the recording (in bounded memory with :mod:`gaitpf.batch.chunked`
when it is an HDF5 file whose sensor values exceed :data:`CHUNKED_THRESHOLD_BYTES`)
and writes the cache entry itself; then it writes the recording's partitions of the
output datasets (:mod:`gaitpf.batch.dataset`). Only a small status record (a few
hundred bytes) goes back to the driver, so the driver's work per recording does not
grow with the size of the results. A failure of any kind is returned as
``status="failed"`` with the reason, never raised. The executors are in :mod:`gaitpf.batch.executors`, the batch
driver in :mod:`gaitpf.batch.runner`.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..errors import GaitpfError
from ..io.guard import printable
from .cache import (CACHE_DIRNAME, TABLES, cache_key, flatten_summary, hash_files, params_hash, params_json, to_arrow,
                    write_entry)
from .dataset import (ID_COLUMNS, conform_partitions, consolidate, natural_fingerprints, partition_fingerprints,
                      partition_name, write_partitions)
from .discover import RecordingRef, input_files

__all__ = ["analyze_task", "conform_task", "consolidate_task", "CHUNKED_THRESHOLD_BYTES"]

log = logging.getLogger(__name__)

#: HDF5 recordings whose sensor values take more than this in memory (float64) are
#: analyzed in chunks (:func:`gaitpf.batch.chunked.analyze_hdf5_chunked`).
CHUNKED_THRESHOLD_BYTES = 256 * 1024 * 1024


def _tables(result: Any) -> dict[str, Any]:
    row = flatten_summary(result.summary)
    for k in ("subject_id", "session", "trial", "gaitpf_version", "source"):  # path-dependent: see `path`
        row.pop(k, None)
    return {"strides": result.strides, "symmetry": result.symmetry, "summary": pd.DataFrame([row])}


def analyze_task(ref: RecordingRef, params: Any, out_dir: str, force: bool = False,
                 chunked_threshold_bytes: int = CHUNKED_THRESHOLD_BYTES,
                 n_threads: int | None = None) -> dict[str, Any]:
    """Analyze one recording and write its results (runs in a worker); never raises.

    The worker hashes the input, reuses the cache entry in ``OUT/.cache/`` when there
    is one (else analyzes the recording and writes the entry), and writes the
    recording's partitions of the output datasets (:mod:`gaitpf.batch.dataset`) unless
    they are already there. Only a small status record goes back to the driver.
    ``n_threads`` goes to :func:`gaitpf.analysis.analyze` (1 when the executor already
    runs one analysis per core).

    Returns
    -------
    dict
        ``status`` (``"ok"``: analyzed, ``"reused"``: from the cache, ``"failed"``),
        ``rel_path``, ``task_s`` (seconds in this task); unless failed: ``part`` (the
        partition file name), ``key`` (cache key), ``schemas`` (``{table: fingerprint}``
        of the recording's own partition schemas), ``actual`` (the same for the
        partitions on disk), ``duration_s``, ``sensor_samples``; failed: ``error``
        (exception class) and ``reason`` (one line).
    """
    start = time.perf_counter()
    try:
        p_json = params_json(params)
        p_hash = params_hash(params)
        input_hash = hash_files(input_files(ref))
        key = cache_key(input_hash, __version__, p_hash)
        cache_dir = os.path.join(out_dir, CACHE_DIRNAME)
        meta_path = os.path.join(cache_dir, key, "meta.json")
        status, tables = "reused", None
        if not force and os.path.isfile(meta_path):
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
        else:
            status = "ok"
            result, info = _analyze_ref(ref, params, chunked_threshold_bytes, n_threads)
            meta = {"rel_path": ref.rel_path, "format": ref.fmt, "input_hash": input_hash,
                    "gaitpf_version": __version__, "params_hash": p_hash,
                    "analysis_s": time.perf_counter() - start, **info}
            arrow = {name: to_arrow(df) for name, df in _tables(result).items()}
            meta["partition_schemas"] = natural_fingerprints(arrow)
            tables = write_entry(cache_dir, key, arrow, meta)
        part = partition_name(ref.rel_path, key)
        actual = None if tables is not None else partition_fingerprints(out_dir, part)
        if actual is None:  # new result, or partitions not (all) there
            if tables is None:
                tables, _ = _load_entry(cache_dir, key)
            ids = ref.layout_ids or (str(meta["subject_id"]), str(meta["session"]), str(meta["trial"]))
            values = (ref.rel_path, *ids, meta["gaitpf_version"], p_hash, input_hash)
            actual = write_partitions(out_dir, part, dict(zip(ID_COLUMNS, values)), tables, p_json)
            natural = actual
        else:  # partitions there, maybe conformed to an earlier dataset schema: the entry's own
            natural = meta.get("partition_schemas") or natural_fingerprints(_entry_schemas(cache_dir, key))
        return {"status": status, "rel_path": ref.rel_path, "part": part, "key": key, "schemas": natural,
                "actual": actual, "duration_s": float(meta.get("duration_s", 0.0)),
                "sensor_samples": int(meta.get("sensor_samples", 0)), "task_s": time.perf_counter() - start}
    except GaitpfError as exc:
        return {"status": "failed", "rel_path": ref.rel_path, "reason": printable(str(exc)),
                "error": type(exc).__name__, "task_s": time.perf_counter() - start}
    except Exception as exc:  # one bad file must never stop the batch
        log.debug("%s failed", ref.rel_path, exc_info=True)
        return {"status": "failed", "rel_path": ref.rel_path, "reason": printable(f"{type(exc).__name__}: {exc}"),
                "error": type(exc).__name__, "task_s": time.perf_counter() - start}


def conform_task(item: tuple[str, str, dict[str, Any]], out_dir: str) -> dict[str, Any]:
    """Rewrite one recording's partitions with the dataset schemas (runs in a worker); never raises.

    ``item`` is ``(rel_path, partition name, {table: pyarrow.Schema})``; see
    :func:`gaitpf.batch.dataset.conform_partitions`.
    """
    rel_path, part, targets = item
    start = time.perf_counter()
    try:
        conform_partitions(out_dir, part, targets)
    except Exception as exc:  # noqa: BLE001 -- reported, never raised
        return {"status": "failed", "rel_path": rel_path, "error": type(exc).__name__,
                "reason": printable(f"cannot rewrite its output partitions: {type(exc).__name__}: {exc}"),
                "task_s": time.perf_counter() - start}
    return {"status": "ok", "rel_path": rel_path, "task_s": time.perf_counter() - start}


def consolidate_task(item: tuple[str, Any], out_dir: str, csv: bool) -> dict[str, Any]:
    """Write the consolidated ``OUT/<table>.parquet`` (and ``.csv``) from its partitions (runs in a worker).

    ``item`` is ``(table name, dataset schema)``. Never raises: a failure comes back as
    ``status="failed"`` with the reason.
    """
    table_name, schema = item
    import pyarrow.parquet as pq

    from ..io.atomic import atomic_path

    start = time.perf_counter()
    out = Path(out_dir)
    try:
        table = consolidate(out, table_name, schema)
        with atomic_path(out / f"{table_name}.parquet") as tmp:
            pq.write_table(table, tmp)
        if csv:
            with atomic_path(out / f"{table_name}.csv") as tmp:
                table.to_pandas().to_csv(tmp, index=False)
    except Exception as exc:  # noqa: BLE001 -- reported, never raised
        return {"status": "failed", "rel_path": table_name, "error": type(exc).__name__,
                "reason": printable(f"cannot write {table_name}.parquet: {type(exc).__name__}: {exc}"),
                "task_s": time.perf_counter() - start}
    return {"status": "ok", "rel_path": table_name, "task_s": time.perf_counter() - start}


def _entry_schemas(cache_dir: str, key: str) -> dict[str, Any]:
    import pyarrow.parquet as pq

    d = os.path.join(cache_dir, key)
    out = {}
    for name in TABLES:
        pf = pq.ParquetFile(os.path.join(d, f"{name}.parquet"))
        if pf.metadata.num_rows:
            out[name] = pf.schema_arrow
    return out


def _load_entry(cache_dir: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import pyarrow.parquet as pq

    d = os.path.join(cache_dir, key)
    with open(os.path.join(d, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    return {name: pq.read_table(os.path.join(d, f"{name}.parquet")) for name in TABLES}, meta


def _analyze_ref(ref: RecordingRef, params: Any, threshold: int,
                 n_threads: int | None = None) -> tuple[Any, dict[str, Any]]:
    from ..analysis import analyze
    from ..io import detect_format, read_recording

    if detect_format(ref.path) == "hdf5":
        from .chunked import analyze_hdf5_chunked, hdf5_shape

        shape = hdf5_shape(ref.path)  # the schema check under a deadline; reused by the readers
        if sum(n * k for n, k in shape["feet"].values()) * 8 > threshold:
            result, info = analyze_hdf5_chunked(ref.path, params)
            return result, {**info, "chunked": True}
    rec = read_recording(ref.path)
    info = {
        "subject_id": rec.subject_id, "session": rec.session, "trial": rec.trial,
        "duration_s": float(rec.duration_s),
        "sensor_samples": int(sum(f.n_samples * f.n_sensors for f in rec.feet.values())),
        "chunked": False,
    }
    return analyze(rec, params, n_threads=n_threads), info
