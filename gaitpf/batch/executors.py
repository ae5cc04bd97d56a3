"""Where the batch tasks run: a local process pool or a Dask cluster, and the progress bar.

:func:`open_executor` gives the batch's executor; its ``map`` runs a round of tasks
(the per-recording :func:`~gaitpf.batch.task.analyze_task`, then the few
:func:`~gaitpf.batch.task.conform_task`) and yields their small status records in
completion order; a worker that dies (killed, out of memory, Dask worker lost) yields
a ``"failed"`` record for its recording instead of stopping the batch. :class:`_Progress`
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
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator

from ..errors import InputError
from ..io.guard import die_with_parent


def _worker_init(parent_pid: int) -> None:
    """Pool worker start-up: die with the batch driver (SIGKILL when it dies, Linux ``prctl``)."""
    die_with_parent(parent_pid)


def open_executor(scheduler: str | None, jobs: int, n_tasks: int) -> Any:
    """The executor of a batch: in this process (one job), a local process pool, or Dask.

    Each has ``map(fn, items, labels, **kwargs)`` (an iterator over ``fn(item, **kwargs)``
    in completion order; a task whose worker died gives a ``"failed"`` record labelled
    ``labels[i]``), ``parallel`` (whether tasks run in other processes) and ``close()``
    (stop now: kills the pool workers, cancels the Dask tasks not yet done).
    """
    if scheduler:
        return _DaskExecutor(scheduler)
    if jobs <= 1 or n_tasks <= 1:
        return _InProcess()
    return _PoolExecutor(min(jobs, n_tasks))


def _died(label: str, what: str, exc: BaseException) -> dict[str, Any]:
    return {"status": "failed", "rel_path": label, "reason": f"{what}: {type(exc).__name__}: {exc}",
            "error": type(exc).__name__}


class _InProcess:
    parallel = False

    def map(self, fn: Callable[..., Any], items: list[Any], labels: list[str], **kwargs: Any) -> Iterator[Any]:
        return (fn(item, **kwargs) for item in items)

    def close(self) -> None:
        pass


class _PoolExecutor:
    """A local process pool; its workers never outlive the driver.

    Each worker gets SIGKILL when the driver dies (even by SIGKILL), and an interrupted
    driver (SIGINT, SIGTERM: see :func:`terminate_on_sigterm`) kills them before it exits
    instead of waiting for their tasks. With ``fork`` the pool starts all its workers at
    the first ``map`` (before any progress thread exists: fork safety).
    """

    parallel = True

    def __init__(self, jobs: int) -> None:
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                        initargs=(os.getpid(),))
        self.idle = True  # no round in progress

    def map(self, fn: Callable[..., Any], items: list[Any], labels: list[str], **kwargs: Any) -> Iterator[Any]:
        self.idle = False
        try:
            futures = {self.pool.submit(fn, item, **kwargs): label for item, label in zip(items, labels)}
        except BrokenExecutor:  # a worker died in an earlier round: finish the (short) round here
            self.idle = True
            return _InProcess().map(fn, items, labels, **kwargs)
        except BaseException:
            self.close()
            raise
        return self._results(futures)

    def _results(self, futures: dict[Any, str]) -> Iterator[Any]:
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # the worker process died (killed, out of memory)
                yield _died(futures[fut], "worker process died", exc)
        self.idle = True

    def close(self) -> None:
        """Shut down; interrupted (or the consumer failed) mid-round: kill the workers now."""
        if not self.idle:
            _kill_workers(self.pool)
            self.pool.shutdown(wait=False, cancel_futures=True)
        else:
            self.pool.shutdown(wait=True)


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


#: Most recordings in one Dask task (see :meth:`_DaskExecutor.chunk_size`).
DASK_CHUNK_MAX = 16


def _run_chunk(items: list[Any], fn: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """One Dask task: ``fn`` over a few items (each result a small status record)."""
    return [fn(item, **kwargs) for item in items]


class _DaskExecutor:
    """Tasks on a Dask cluster: each carries a path (the small ``RecordingRef``), not data.

    ``client.map`` submits a round in one message, a few recordings per task
    (:meth:`chunk_size`); the results (small status records) come back in batches
    (``as_completed(..., with_results=True)``), each future released once read.
    :meth:`close` cancels the tasks not yet done (an interrupted driver leaves nothing
    queued on the cluster; a task already running finishes its recordings).
    """

    parallel = True

    def __init__(self, address: str) -> None:
        from .._optional import require

        self.distributed = require("dask.distributed", "cluster", feature="gaitpf batch --scheduler")
        try:
            self.client = self.distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot connect to the Dask scheduler at {address!r} ({exc}); is it running?") from exc
        self.futures: list[Any] = []

    def map(self, fn: Callable[..., Any], items: list[Any], labels: list[str], **kwargs: Any) -> Iterator[Any]:
        size = self.chunk_size(len(items))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        self.futures = self.client.map(_run_chunk, chunks, fn=fn, pure=False, **kwargs) if chunks else []
        by_key = {f.key: labels[i * size:(i + 1) * size] for i, f in enumerate(self.futures)}
        return self._results(self.futures, by_key)

    def chunk_size(self, n_items: int) -> int:
        """Items per Dask task: about 4 tasks per worker thread, at most :data:`DASK_CHUNK_MAX` items.

        Each Dask task costs the driver's client ~2 ms of CPU (measured on 2 cores:
        ``benchmarks/bench_batch.py``); a few recordings per task divide that, while
        enough tasks remain for the scheduler to balance the load.
        """
        n_threads = max(1, sum(self.client.nthreads().values()))
        return max(1, min(DASK_CHUNK_MAX, n_items // (4 * n_threads)))

    def _results(self, futures: list[Any], by_key: dict[Any, list[str]]) -> Iterator[Any]:
        for fut, res in self.distributed.as_completed(futures, with_results=True, raise_errors=False):
            if isinstance(res, BaseException):  # worker lost, task killed: each of its items failed
                res = [_died(label, "Dask task failed", res) for label in by_key[fut.key]]
            fut.release()
            yield from res

    def close(self) -> None:
        try:
            pending = [f for f in self.futures if not f.done()]
            if pending:
                self.client.cancel(pending)
        finally:
            self.client.close()


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

    def advance(self, done: int, n_failed: int, hours: float) -> None:
        """``done`` recordings finished (``n_failed`` of them failed); one more of ``hours`` h."""
        self.hours += hours
        if self.quiet:
            return
        dt = max(time.perf_counter() - self.start, 1e-9)
        self.bar.update(self.task, completed=done, rate=f"{done / dt:.1f} rec/s, {self.hours / dt:.2f} rec-h/s",
                        failed=f"{n_failed} failed" if n_failed else "")

    def close(self) -> None:
        if not self.quiet:
            self.bar.stop()
