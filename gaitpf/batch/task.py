"""The per-recording batch task: hash, reuse the cached result or analyze, never raise.

:func:`analyze_task` is what each worker (local process or Dask worker) runs for one
recording (:class:`~gaitpf.batch.discover.RecordingRef`): it hashes the input files,
returns at once when the result is already in the cache (:mod:`gaitpf.batch.cache`),
else reads and analyzes the recording (in bounded memory with
:mod:`gaitpf.batch.chunked` when it is an HDF5 file whose sensor values exceed
:data:`CHUNKED_THRESHOLD_BYTES`) and returns its tables as Arrow, ready for the main
process to write. A failure of any kind is returned as ``status="failed"`` with the
reason, never raised. The executors are in :mod:`gaitpf.batch.executors`, the batch
driver in :mod:`gaitpf.batch.runner`.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import pandas as pd

from .. import __version__
from ..errors import GaitpfError
from ..io.guard import printable
from .cache import cache_key, flatten_summary, hash_files, params_hash, to_arrow
from .discover import RecordingRef, input_files

__all__ = ["analyze_task", "CHUNKED_THRESHOLD_BYTES"]

log = logging.getLogger(__name__)

#: HDF5 recordings whose sensor values take more than this in memory (float64) are
#: analyzed in chunks (:func:`gaitpf.batch.chunked.analyze_hdf5_chunked`).
CHUNKED_THRESHOLD_BYTES = 256 * 1024 * 1024


def _tables(result: Any) -> dict[str, Any]:
    row = flatten_summary(result.summary)
    for k in ("subject_id", "session", "trial", "gaitpf_version", "source"):  # path-dependent: see `path`
        row.pop(k, None)
    # converted to Arrow here, in the worker, so the main process only writes them
    return {"strides": to_arrow(result.strides), "symmetry": to_arrow(result.symmetry),
            "summary": to_arrow(pd.DataFrame([row]))}


def analyze_task(ref: RecordingRef, params: Any, cache_dir: str, force: bool = False,
                 chunked_threshold_bytes: int = CHUNKED_THRESHOLD_BYTES,
                 n_threads: int | None = None) -> dict[str, Any]:
    """Analyze one recording (runs in a worker process); never raises.

    ``n_threads`` goes to :func:`gaitpf.analysis.analyze` (1 when the executor already
    runs one analysis per core).

    Returns
    -------
    dict
        ``status`` (``"cached"``, ``"computed"`` or ``"failed"``), ``rel_path``, and
        ``key``/``input_hash`` (cached, computed), ``tables`` (``pyarrow.Table`` per
        output table, as written to the cache)/``meta`` (computed) or
        ``reason`` (failed).
    """
    start = time.perf_counter()
    try:
        input_hash = hash_files(input_files(ref))
        key = cache_key(input_hash, __version__, params_hash(params))
        meta_path = os.path.join(cache_dir, key, "meta.json")
        if not force and os.path.isfile(meta_path):
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
            return {"status": "cached", "rel_path": ref.rel_path, "key": key, "input_hash": input_hash, "meta": meta}
        result, info = _analyze_ref(ref, params, chunked_threshold_bytes, n_threads)
        meta = {"rel_path": ref.rel_path, "format": ref.fmt, "input_hash": input_hash, "gaitpf_version": __version__,
                "params_hash": params_hash(params), "analysis_s": time.perf_counter() - start, **info}
        return {"status": "computed", "rel_path": ref.rel_path, "key": key, "input_hash": input_hash,
                "tables": _tables(result), "meta": meta}
    except GaitpfError as exc:
        return {"status": "failed", "rel_path": ref.rel_path, "reason": printable(str(exc)),
                "error": type(exc).__name__}
    except Exception as exc:  # one bad file must never stop the batch
        log.debug("%s failed", ref.rel_path, exc_info=True)
        return {"status": "failed", "rel_path": ref.rel_path, "reason": printable(f"{type(exc).__name__}: {exc}"),
                "error": type(exc).__name__}


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
