"""Run the analysis over a whole archive: local process pool or a Dask cluster, resumably.

::

    report = run_batch("archive/", "out/", jobs=4)            # local processes
    report = run_batch("archive/", "out/", scheduler="tcp://10.0.0.5:8786")   # Dask

Every recording is one task: hash the input, return at once when its result is
already in the cache (:mod:`gaitpf.batch.cache`), else read and analyze it (in bounded
memory with :mod:`gaitpf.batch.chunked` when it is a large HDF5 file). The main process
writes each new result into the cache as soon as it arrives, so an interrupted batch
loses at most the recordings in flight. Once every task is done, the outputs are
assembled from the cache in sorted path order: the same bytes whichever executor ran
the tasks, in whatever order they finished.

A failing recording (unreadable, corrupt, no walking...) never stops the batch: the
task returns the reason, the failure is listed at the end and written to
``failures.parquet``/``failures.csv``. Failures are not cached; the next run retries them.

With ``scheduler``, ROOT must be readable at the same path on every Dask worker
(shared file system) and the workers need gaitpf installed (``gaitpf[cluster]``).

This module drives the batch (:func:`run_batch`, :class:`BatchReport`) and assembles
and writes the outputs. The per-recording task is :func:`gaitpf.batch.task.analyze_task`
and the executors and progress display are in :mod:`gaitpf.batch.executors`;
``analyze_task`` and ``CHUNKED_THRESHOLD_BYTES`` are re-exported here.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from .cache import CACHE_DIRNAME, ResultCache, arrow_to_pandas, params_hash, params_json
from .discover import RecordingRef, discover, input_files
from .executors import _dask, _local, _Progress, terminate_on_sigterm
from .task import CHUNKED_THRESHOLD_BYTES, analyze_task

__all__ = ["BatchReport", "run_batch", "analyze_task", "params_from_dict", "CHUNKED_THRESHOLD_BYTES", "ID_COLUMNS"]

log = logging.getLogger(__name__)

#: Identity and provenance columns leading every output table.
ID_COLUMNS: tuple[str, ...] = ("path", "subject_id", "session", "trial", "gaitpf_version", "params_hash", "input_hash")
_SORT = {"strides": ["path", "side", "stride_no"], "symmetry": ["path", "metric"], "summary": ["path"]}


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
            "executor": self.executor, "outputs": self.outputs, "gaitpf_version": __version__,
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


# --------------------------------------------------------------------------- assembly
def _assemble(cache: ResultCache, done: list[tuple[RecordingRef, dict[str, Any]]], p_hash: str) -> dict[str, pd.DataFrame]:
    """The output tables, from the cached results in sorted path order.

    Works on the Arrow tables as stored in the cache (those just written are kept in
    memory by the caller under ``res["arrow"]``, the others are read back), so the
    result is the same whichever executor ran the tasks: each table is converted to
    pandas once, not once per recording.
    """
    import pyarrow as pa

    parts: dict[str, list[Any]] = {name: [] for name in _SORT}
    for ref, res in sorted(done, key=lambda d: d[0].rel_path):
        if "arrow" in res:
            tables, meta = res["arrow"], res["meta"]
        else:
            tables, meta = cache.load_arrow(res["key"])
        ids = ref.layout_ids or (str(meta["subject_id"]), str(meta["session"]), str(meta["trial"]))
        lead = dict(zip(ID_COLUMNS, (ref.rel_path, *ids, meta["gaitpf_version"], p_hash, res["input_hash"])))
        for name, table in tables.items():
            if table.num_rows:
                parts[name].append((lead, table))
    out = {}
    for name, items in parts.items():
        table = _concat_with_ids(items, pa) if items else pd.DataFrame({c: pd.Series(dtype=object) for c in ID_COLUMNS})
        keys = [k for k in _SORT[name] if k in table]
        out[name] = table.sort_values(keys, kind="stable").reset_index(drop=True) if len(table) else table
    return out


def _concat_with_ids(items: list[tuple[dict[str, str], Any]], pa: Any) -> pd.DataFrame:
    """Stack per-recording Arrow tables, each led by its identity columns, into one DataFrame."""
    schemas = {t.schema.remove_metadata() for _, t in items}
    if len(schemas) == 1:  # the usual case: one Arrow concatenation, one conversion
        n = [t.num_rows for _, t in items]
        body_df = arrow_to_pandas(pa.concat_tables([t for _, t in items]))
        front = pd.DataFrame({k: np.repeat(np.array([lead[k] for lead, _ in items], dtype=object), n)
                              for k in ID_COLUMNS})
        return pd.concat([front, body_df], axis=1)
    frames = []  # columns or types differ between recordings: let pandas align them
    for lead, t in items:
        df = arrow_to_pandas(t)
        front = pd.DataFrame({k: [v] * len(df) for k, v in lead.items()}, index=df.index)
        frames.append(pd.concat([front, df], axis=1))
    return pd.concat(frames, ignore_index=True)


def _write(out_dir: Path, tables: dict[str, pd.DataFrame], csv: bool, p_json: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..io.atomic import atomic_path

    written = []
    for name, table in tables.items():
        dest = out_dir / f"{name}.parquet"
        at = pa.Table.from_pandas(table, preserve_index=False)
        at = at.replace_schema_metadata({**(at.schema.metadata or {}), b"gaitpf_version": __version__.encode(),
                                         b"gaitpf_params": p_json.encode()})
        with atomic_path(dest) as tmp:
            pq.write_table(at, tmp)
        written.append(dest.name)
        if csv or name == "failures":
            with atomic_path(out_dir / f"{name}.csv") as tmp:
                table.to_csv(tmp, index=False)
            written.append(f"{name}.csv")
    return written


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
) -> BatchReport:
    """Analyze every recording under ``root`` and write the tidy outputs to ``out_dir``.

    Parameters
    ----------
    root : path-like
        Archive folder (searched recursively, see :func:`gaitpf.batch.discover.discover`).
    out_dir : path-like
        Output folder (created): ``strides.parquet``, ``summary.parquet``,
        ``symmetry.parquet``, ``failures.parquet``/``.csv``, ``batch_report.json`` and
        the result cache ``.cache/``.
    params : AnalysisParams, optional
    jobs : int, optional
        Local worker processes (default: all cores). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:8786``).
    csv : bool
        Also write ``strides.csv``, ``summary.csv`` and ``symmetry.csv``.
    quiet : bool
        No progress bar.
    force : bool
        Recompute every recording, ignoring cached results.
    chunked_threshold_bytes : int
        HDF5 recordings whose values exceed this (as float64) are analyzed in chunks.

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
    cache = ResultCache(out)
    refs = discover(root, exclude=[out])
    p_hash = params_hash(params)
    # largest first: the long recordings do not end up alone at the tail
    order = sorted(refs, key=lambda r: (-sum(p.stat().st_size for p in input_files(r) if p.exists()), r.rel_path))
    report = BatchReport(out_dir=str(out), n_total=len(refs), executor=f"dask:{scheduler}" if scheduler else "local")
    args = (params, str(out / CACHE_DIRNAME), force, chunked_threshold_bytes)
    by_path = {r.rel_path: r for r in refs}
    done: list[tuple[RecordingRef, dict[str, Any]]] = []
    stream: Any = None
    progress: _Progress | None = None
    with terminate_on_sigterm():  # SIGTERM unwinds like Ctrl-C: the pool workers are killed, not orphaned
        try:
            stream = _dask(order, args, scheduler) if scheduler else _local(order, args, jobs or os.cpu_count() or 1)
            progress = _Progress(len(refs), quiet)
            for res in stream:
                ref = by_path[res["rel_path"]]
                meta = res.get("meta", {})
                hours = float(meta.get("duration_s", 0.0)) / 3600.0
                if res["status"] == "failed":
                    report.failures.append({"path": ref.rel_path, "error": res["error"], "reason": res["reason"]})
                    log.info("%s: failed: %s", ref.rel_path, res["reason"])
                else:
                    if res["status"] == "computed":
                        res["arrow"] = cache.save(res["key"], res.pop("tables"), res["meta"])
                        report.computed.append(ref.rel_path)
                    else:
                        report.reused.append(ref.rel_path)
                    done.append((ref, res))
                    report.recording_hours += hours
                    report.sensor_samples += int(meta.get("sensor_samples", 0))
                progress.advance(report, hours)
        finally:
            if progress is not None:
                progress.close()
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    tables = _assemble(cache, done, p_hash)
    report.failures.sort(key=lambda f: f["path"])
    report.computed.sort()
    report.reused.sort()
    tables["failures"] = pd.DataFrame(report.failures, columns=["path", "error", "reason"])
    report.outputs = _write(out, tables, csv, params_json(params))
    report.elapsed_s = time.perf_counter() - start
    from ..io.atomic import atomic_path

    with atomic_path(out / "batch_report.json") as tmp:
        Path(tmp).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return report
