"""Run the analysis over a whole archive: local process pool or a Dask cluster, resumably.

::

    report = run_batch("archive/", "out/", jobs=4)            # local processes
    report = run_batch("archive/", "out/", scheduler="tcp://10.0.0.5:8786")   # Dask

Every recording is one task, run by a worker (local process or Dask worker) that
does all the work for it: hash the input, reuse the cached result
(:mod:`gaitpf.batch.cache`) or read and analyze the recording (in bounded memory with
:mod:`gaitpf.batch.chunked` when it is a large HDF5 file), write the cache entry and
the recording's partitions of the output datasets (:mod:`gaitpf.batch.dataset`). The
driver (this module) only schedules the tasks and receives a small status record per
recording (ok / reused / failed with the reason, timings), so its own work per
recording is constant and small (see ``benchmarks/bench_batch.py``); an interrupted
batch loses at most the recordings in flight. After the last task the driver deletes
the partitions of recordings no longer in the archive, writes each dataset's schema
file and, for archives of at most ``consolidate_max`` recordings, the consolidated
tables ``strides.parquet``, ``symmetry.parquet`` and ``summary.parquet``. Partitions
and consolidated tables are the same bytes whichever executor ran the tasks, in
whatever order they finished.

A failing recording (unreadable, corrupt, no walking...) never stops the batch: the
task returns the reason, the failure is listed at the end and written to
``failures.parquet``/``failures.csv``. Failures are not cached; the next run retries them.

With ``scheduler``, ROOT and OUT must be at the same paths on every Dask worker
(shared file system: the workers write the results) and the workers need gaitpf
installed (``gaitpf[cluster]``); see ``docs/batch.md``.

This module drives the batch (:func:`run_batch`, :class:`BatchReport`). The tasks are in
:mod:`gaitpf.batch.task`, the output datasets in :mod:`gaitpf.batch.dataset`, the
executors and progress display in :mod:`gaitpf.batch.executors`; ``analyze_task`` and
``CHUNKED_THRESHOLD_BYTES`` are re-exported here.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..errors import InputError, OutputError
from .cache import ResultCache, params_json
from .cache import CACHE_DIRNAME
from .dataset import DATASET_TABLES, ID_COLUMNS, finish_dataset, fingerprint, unify
from .discover import RecordingRef, discover, input_files
from .executors import _Progress, open_executor, terminate_on_sigterm
from .task import CHUNKED_THRESHOLD_BYTES, analyze_task, conform_task, consolidate_task

__all__ = ["BatchReport", "run_batch", "analyze_task", "params_from_dict", "CHUNKED_THRESHOLD_BYTES", "ID_COLUMNS",
           "CONSOLIDATE_MAX"]

log = logging.getLogger(__name__)

#: Archives of at most this many analyzed recordings also get consolidated tables.
CONSOLIDATE_MAX = 2000


@dataclass
class BatchReport:
    """What :func:`run_batch` did (also written to ``OUT/batch_report.json``)."""

    out_dir: str
    n_total: int = 0
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    recording_hours: float = 0.0
    sensor_samples: int = 0
    executor: str = "local"
    outputs: list[str] = field(default_factory=list)
    worker_s: float = 0.0

    @property
    def n_computed(self) -> int:
        return len(self.computed)

    @property
    def n_reused(self) -> int:
        return len(self.reused)

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    @property
    def exit_code(self) -> int:
        """0 when every recording was analyzed, 1 when some failed."""
        return 1 if self.failures else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": self.out_dir, "n_total": self.n_total, "n_computed": self.n_computed,
            "n_reused": self.n_reused, "n_failed": self.n_failed, "computed": self.computed,
            "reused": self.reused, "failures": self.failures, "elapsed_s": self.elapsed_s,
            "recording_hours": self.recording_hours, "sensor_samples": self.sensor_samples,
            "executor": self.executor, "outputs": self.outputs, "worker_s": self.worker_s,
            "gaitpf_version": __version__,
        }


def params_from_dict(d: dict[str, Any] | None) -> Any:
    """``AnalysisParams`` from ``{"preprocess": {...}, "events": {...}, "strides": {...}}``."""
    from ..analysis import AnalysisParams
    from ..analysis.events import EventParams
    from ..analysis.preprocess import PreprocessParams
    from ..analysis.strides import StrideParams

    d = dict(d or {})
    stages = {"preprocess": PreprocessParams, "events": EventParams, "strides": StrideParams}
    unknown = sorted(set(d) - set(stages))
    if unknown:
        raise InputError(f"unknown analysis parameter group(s) {unknown}; use {sorted(stages)}")
    try:
        return AnalysisParams(**{k: cls(**d.get(k, {})) for k, cls in stages.items()})
    except TypeError as exc:
        raise InputError(f"invalid analysis parameters: {exc}") from exc


def _schedule_order(refs: list[RecordingRef]) -> list[RecordingRef]:
    """Largest first: the long recordings do not end up alone at the tail."""
    sizes = {r.rel_path: sum(p.stat().st_size for p in input_files(r) if p.exists()) for r in refs}
    return sorted(refs, key=lambda r: (-sizes[r.rel_path], r.rel_path))


def _write_outputs(out: Path, report: BatchReport, consolidated: list[str], csv: bool) -> list[str]:
    """Remove stale consolidated tables; write the failures table. Returns the output names."""
    from ..io.atomic import atomic_path

    written = [f"{name}/" for name in DATASET_TABLES]
    for name in DATASET_TABLES:
        files = [out / f"{name}.parquet", out / f"{name}.csv"]
        keep = [f for f, wanted in zip(files, (name in consolidated, name in consolidated and csv)) if wanted]
        for f in files:
            if f not in keep:  # a consolidated copy of an earlier run would now be stale
                f.unlink(missing_ok=True)
        written += [f.name for f in keep]
    failures = pd.DataFrame(report.failures, columns=["path", "error", "reason"])
    with atomic_path(out / "failures.parquet") as tmp:
        failures.to_parquet(tmp, index=False)
    with atomic_path(out / "failures.csv") as tmp:
        failures.to_csv(tmp, index=False)
    return written + ["failures.parquet", "failures.csv"]


def _fail(report: BatchReport, res: dict[str, Any]) -> None:
    report.failures.append({"path": res["rel_path"], "error": res["error"], "reason": res["reason"]})
    log.info("%s: failed: %s", res["rel_path"], res["reason"])


def run_batch(
    root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    params: Any = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    csv: bool = False,
    quiet: bool = True,
    force: bool = False,
    chunked_threshold_bytes: int = CHUNKED_THRESHOLD_BYTES,
    consolidate_max: int = CONSOLIDATE_MAX,
) -> BatchReport:
    """Analyze every recording under ``root`` and write the tidy outputs to ``out_dir``.

    Parameters
    ----------
    root : path-like
        Archive folder (searched recursively, see :func:`gaitpf.batch.discover.discover`).
    out_dir : path-like
        Output folder (created): the partitioned datasets ``strides/``, ``summary/``
        and ``symmetry/`` (:mod:`gaitpf.batch.dataset`; each reads as one table with
        ``pandas.read_parquet(OUT / "strides")``), their consolidated copies
        ``strides.parquet``... (small archives), ``failures.parquet``/``.csv``,
        ``batch_report.json`` and the result cache ``.cache/``.
    params : AnalysisParams, optional
    jobs : int, optional
        Local worker processes (default: all cores). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:8786``).
    csv : bool
        Also write ``strides.csv``, ``summary.csv`` and ``symmetry.csv`` (with the
        consolidated tables).
    quiet : bool
        No progress bar.
    force : bool
        Recompute every recording, ignoring cached results.
    chunked_threshold_bytes : int
        HDF5 recordings whose values exceed this (as float64) are analyzed in chunks.
    consolidate_max : int
        Write the consolidated tables when at most this many recordings were analyzed
        or reused (0: never). Consolidating reads every partition back in the driver.

    Returns
    -------
    BatchReport
        ``exit_code`` is 1 when some recording failed.
    """
    from ..analysis import AnalysisParams

    start = time.perf_counter()
    params = params or AnalysisParams()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder ({exc.strerror})") from exc
    ResultCache(out)  # creates .cache/, removes what a run killed long ago left half-written
    refs = discover(root, exclude=[out])
    order = _schedule_order(refs)
    report = BatchReport(out_dir=str(out), n_total=len(refs), executor=f"dask:{scheduler}" if scheduler else "local")
    task_kw = {"params": params, "out_dir": str(out), "force": force,
               "chunked_threshold_bytes": chunked_threshold_bytes}
    p_json = params_json(params)
    # per recording, constant work: {rel_path: (partition, {table: fingerprint on disk})}
    done: dict[str, tuple[str, dict[str, str]]] = {}
    # {table: {natural schema fingerprint: (first rel_path having it, its cache key)}}: a few entries
    firsts: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in DATASET_TABLES}
    executor: Any = None
    progress: _Progress | None = None
    with terminate_on_sigterm():  # SIGTERM unwinds like Ctrl-C: the pool workers are killed, not orphaned
        try:
            executor = open_executor(scheduler, jobs or os.cpu_count() or 1, len(order))
            if executor.parallel:
                task_kw["n_threads"] = 1  # a process per core already
            stream = executor.map(analyze_task, order, [r.rel_path for r in order], **task_kw)
            progress = _Progress(len(refs), quiet)
            for res in stream:  # status records only: the workers wrote the results
                rel = res["rel_path"]
                report.worker_s += res.get("task_s", 0.0)
                hours = 0.0
                if res["status"] == "failed":
                    _fail(report, res)
                else:
                    (report.computed if res["status"] == "ok" else report.reused).append(rel)
                    done[rel] = (res["part"], res["actual"])
                    for name, fp in res["schemas"].items():
                        seen = firsts[name].get(fp)
                        if seen is None or rel < seen[0]:
                            firsts[name][fp] = (rel, res["key"])
                    hours = res["duration_s"] / 3600.0
                    report.recording_hours += hours
                    report.sensor_samples += res["sensor_samples"]
                progress.advance(report.n_computed + report.n_reused + report.n_failed, report.n_failed, hours)
            progress.close()
            progress = None
            # one footer per distinct schema, then the few partitions that differ go back to the workers
            unified = unify(out / CACHE_DIRNAME, firsts, p_json)
            target = {name: fingerprint(schema) for name, schema in unified.items()}
            redo = [(rel, part, {t: unified[t] for t, fp in actual.items() if fp != target[t]})
                    for rel, (part, actual) in sorted(done.items())]
            redo = [item for item in redo if item[2]]
            for res in executor.map(conform_task, redo, [r[0] for r in redo], out_dir=str(out)):
                report.worker_s += res.get("task_s", 0.0)
                if res["status"] == "failed":
                    _fail(report, res)
                    del done[res["rel_path"]]
                    for lst in (report.computed, report.reused):
                        if res["rel_path"] in lst:
                            lst.remove(res["rel_path"])
            finish_dataset(out, {part for part, _ in done.values()}, unified)
            consolidated = []
            if len(done) <= consolidate_max:  # small archive: single-file tables too, written by workers
                items = [(name, unified[name]) for name in DATASET_TABLES]
                for res in executor.map(consolidate_task, items, list(DATASET_TABLES), out_dir=str(out), csv=csv):
                    if res["status"] == "failed":
                        raise OutputError(res["reason"])
                    consolidated.append(res["rel_path"])
        finally:
            if progress is not None:
                progress.close()
            if executor is not None:
                executor.close()
    report.failures.sort(key=lambda f: f["path"])
    report.computed.sort()
    report.reused.sort()
    report.outputs = _write_outputs(out, report, consolidated, csv)
    report.elapsed_s = time.perf_counter() - start
    from ..io.atomic import atomic_path

    with atomic_path(out / "batch_report.json") as tmp:
        Path(tmp).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return report
