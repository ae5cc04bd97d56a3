"""Batch re-analysis of recording archives: parallel, resumable, in bounded memory.

::

    from gaitpf.batch import run_batch
    report = run_batch("archive/", "out/", jobs=4)     # or scheduler="tcp://host:8786"
    report.exit_code                                   # 1 when some recording failed

Modules: :mod:`~gaitpf.batch.discover` (find recordings), :mod:`~gaitpf.batch.cache`
(content-hash result cache), :mod:`~gaitpf.batch.runner` (the batch driver),
:mod:`~gaitpf.batch.task` (one recording, run by a worker that writes its results),
:mod:`~gaitpf.batch.dataset` (the partitioned Parquet outputs),
:mod:`~gaitpf.batch.executors` (process pool / Dask),
:mod:`~gaitpf.batch.chunked` (long HDF5 recordings in bounded memory, identical results).
"""
from __future__ import annotations

from .discover import RecordingRef, discover
from .runner import BatchReport, run_batch

__all__ = ["run_batch", "BatchReport", "discover", "RecordingRef"]
