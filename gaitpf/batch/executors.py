"""Where the batch tasks run: a local process pool or a Dask cluster, and the progress bar.

:func:`_local` and :func:`_dask` take the recordings and the
:func:`~gaitpf.batch.task.analyze_task` arguments, and yield the task results in
completion order; a worker that dies (killed, out of memory, Dask worker lost) yields
a ``"failed"`` result for its recording instead of stopping the batch. The pools pass
``n_threads=1`` to the task (they already run one analysis per core); a one-job run
leaves the choice to :func:`~gaitpf.analysis.analyze`. :class:`_Progress`
is the stderr progress display of :func:`gaitpf.batch.runner.run_batch`.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..errors import InputError
from ..io.guard import die_with_parent
from .discover import RecordingRef
from .task import analyze_task

if TYPE_CHECKING:
    from .runner import BatchReport


def _worker_init(parent_pid: int) -> None:
    """Pool worker start-up: die with the batch driver (SIGKILL when it dies, Linux ``prctl``)."""
    die_with_parent(parent_pid)


def _local(refs: list[RecordingRef], args: tuple, jobs: int) -> Iterable[dict[str, Any]]:
    """Start the pool and submit everything now (before any progress thread exists: fork safety).

    Workers never outlive the driver: each gets SIGKILL when the driver dies (even by
    SIGKILL), and an interrupted driver (SIGINT, SIGTERM: see :func:`terminate_on_sigterm`)
    kills them before it exits instead of waiting for their tasks.
    """
    if jobs <= 1 or len(refs) <= 1:
        return (analyze_task(ref, *args) for ref in refs)
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(refs)), mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(),))
    stream = _PoolStream(pool)
    try:
        stream.futures = {pool.submit(analyze_task, ref, *args, n_threads=1): ref for ref in refs}  # a process per core
    except BaseException:
        stream.close()
        raise
    return stream


class _PoolStream:
    """Results of a local pool in completion order; :meth:`close` before the end kills the workers.

    (A class, not a generator: ``close()`` must stop the pool even when iteration never started.)
    """

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool, self.futures, self.finished = pool, {}, False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for fut in as_completed(self.futures):
            try:
                yield fut.result()
            except Exception as exc:  # the worker process died (killed, out of memory)
                yield {"status": "failed", "rel_path": self.futures[fut].rel_path,
                       "reason": f"worker process died: {type(exc).__name__}: {exc}",
                       "error": type(exc).__name__}
        self.finished = True
        self.pool.shutdown(wait=True)

    def close(self) -> None:
        """Stop now: interrupted, or the consumer failed (no-op after a complete iteration)."""
        if not self.finished:
            self.finished = True
            _kill_workers(self.pool)
            self.pool.shutdown(wait=False, cancel_futures=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.kill()
        except (OSError, ValueError, AttributeError):  # already gone
            pass


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` (main thread only), so cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _dask(refs: list[RecordingRef], args: tuple, address: str) -> Iterator[dict[str, Any]]:
    from .._optional import require

    distributed = require("dask.distributed", "cluster", feature="gaitpf batch --scheduler")
    Client, dask_as_completed = distributed.Client, distributed.as_completed
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot connect to the Dask scheduler at {address!r} ({exc}); is it running?") from exc
    try:
        futures = {client.submit(analyze_task, ref, *args, n_threads=1, pure=False): ref for ref in refs}
        for fut in dask_as_completed(list(futures)):
            try:
                yield fut.result()
            except Exception as exc:  # worker lost, task killed
                yield {"status": "failed", "rel_path": futures[fut].rel_path,
                       "reason": f"Dask task failed: {type(exc).__name__}: {exc}", "error": type(exc).__name__}
    finally:
        client.close()


class _Progress:
    """Counts, throughput and ETA on stderr (rich); silent with ``quiet``."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.quiet, self.total, self.start = quiet, total, time.perf_counter()
        self.hours = 0.0
        if quiet:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[failed]}"),
            console=Console(stderr=True), transient=False,
        )
        self.task = self.bar.add_task("batch", total=total, rate="", failed="")
        self.bar.start()

    def advance(self, report: BatchReport, hours: float) -> None:
        self.hours += hours
        if self.quiet:
            return
        dt = max(time.perf_counter() - self.start, 1e-9)
        done = report.n_computed + report.n_reused + report.n_failed
        self.bar.update(self.task, completed=done, rate=f"{done / dt:.1f} rec/s, {self.hours / dt:.2f} rec-h/s",
                        failed=f"{report.n_failed} failed" if report.n_failed else "")

    def close(self) -> None:
        if not self.quiet:
            self.bar.stop()
