"""Reading untrusted files: every failure becomes a one-line error, and no read waits forever.

Two guards, used by every reader entry point (:func:`gaitpf.io.read_recording`,
:func:`gaitpf.io.describe_file`, :func:`gaitpf.io.hdf5.open_hdf5`) and by the CLI:

* :func:`reading` — a context manager that turns whatever a file library raises on bad
  bytes (h5py ``OSError``/``KeyError``/``RuntimeError``, numpy ``ValueError``/``MemoryError``,
  importer ``UnicodeDecodeError``...) into :class:`~gaitpf.errors.DamagedFileError`
  naming the file. Errors gaitpf raises on purpose pass unchanged.
* :func:`run_isolated` — runs a function in a child process (``os.fork`` on POSIX, a
  spawned interpreter elsewhere) under a deadline. The HDF5 library can loop forever,
  or crash, on damaged metadata (measured by ``benchmarks/fuzz_readers.py``: on mutated
  crash-left SWMR files the open and the walk over the object tree hang). On expiry
  the child is killed (SIGKILL) and :class:`~gaitpf.errors.ReadTimeoutError` is raised;
  a child killed by a signal becomes :class:`~gaitpf.errors.ReaderCrashError`. The
  result (or the exception) comes back pickled through a pipe.

Deadlines (:func:`deadline_s`) grow with the file size: ``base + size / rate``; the
environment variable ``GAITPF_READ_TIMEOUT_S`` overrides the base (tests use short ones).
"""
from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import pickle
import select
import signal
import sys
import time
from typing import Any, Callable, Iterator

from ..errors import DamagedFileError, GaitpfError, ReaderCrashError, ReadTimeoutError

__all__ = ["display_path", "printable", "reading", "run_isolated", "die_with_parent", "deadline_s", "DEFAULT_BASE_S"]

log = logging.getLogger(__name__)

#: Seconds any guarded read may take on top of the size-dependent part.
DEFAULT_BASE_S = 20.0
#: Bytes per second assumed for the size-dependent part of a deadline (slow disk, gzip).
MIN_RATE_BYTES_S = 5e6


def display_path(path: str | os.PathLike[str] | bytes) -> str:
    """The path as printable text: bytes that are not UTF-8 are shown as ``\\xff`` escapes.

    File names on Linux are bytes; Python keeps undecodable ones as lone surrogates,
    which cannot be written to UTF-8 outputs (terminal, JSON, Parquet, Qt). Use this for
    every path shown to a person or stored in a table; open files with the original.
    """
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """``text`` made writable as UTF-8: undecodable file-name bytes become ``\\xff`` escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _one_line(text: str, limit: int = 300) -> str:
    text = printable(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def reading(path: str | os.PathLike[str]) -> Iterator[None]:
    """Map any non-gaitpf exception raised inside the block to :class:`DamagedFileError`.

    ``MemoryError`` gets its own wording (a declared size the machine cannot hold).
    The original exception is chained (shown with ``gaitpf --debug``).
    """
    try:
        yield
    except GaitpfError:
        raise
    except MemoryError as exc:
        raise DamagedFileError(
            f"{display_path(path)}: the file declares more data than fits in memory; it is probably damaged"
        ) from exc
    except RecursionError as exc:
        raise DamagedFileError(f"{display_path(path)}: the file's structure is nested too deeply; "
                               "it is probably damaged") from exc
    except Exception as exc:  # noqa: BLE001 - the one place library errors on bad bytes are mapped
        log.debug("%s: reading failed", display_path(path), exc_info=True)
        raise DamagedFileError(
            f"{display_path(path)}: cannot be read ({type(exc).__name__}: {_one_line(exc)}); "
            "the file may be truncated or damaged"
        ) from exc


def deadline_s(path: str | os.PathLike[str] | None = None, *, base_s: float | None = None,
               rate_bytes_s: float = MIN_RATE_BYTES_S) -> float:
    """Seconds a guarded read of ``path`` may take: ``base + size / rate``.

    ``base`` is ``GAITPF_READ_TIMEOUT_S`` if set, else ``base_s``, else :data:`DEFAULT_BASE_S`.
    """
    env = os.environ.get("GAITPF_READ_TIMEOUT_S")
    base = DEFAULT_BASE_S if base_s is None else float(base_s)
    if env:
        try:
            base = float(env)
        except ValueError:
            log.warning("GAITPF_READ_TIMEOUT_S=%r is not a number; using %g s", env, base)
    size = 0
    if path is not None:
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
    return base + size / rate_bytes_s


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make the calling process receive SIGKILL when its parent dies (Linux ``prctl``).

    Elsewhere, or if ``prctl`` is unavailable, nothing is set. If the parent
    (``parent_pid``) is already gone, the process exits at once.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc/prctl
            pass
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)


#: In a :func:`run_isolated` child: the pid of the process that started it (else None).
_ISOLATED_PARENT_PID: int | None = None


def isolated_parent_pid() -> int | None:
    """The pid of the process waiting for this one, when running inside :func:`run_isolated`."""
    return _ISOLATED_PARENT_PID


def _child_main(w: int, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
    """Run ``fn`` and write ``("ok", result)`` or ``("err", exception)`` pickled to fd ``w``."""
    global _ISOLATED_PARENT_PID
    _ISOLATED_PARENT_PID = os.getppid()
    try:
        res: tuple[str, Any] = ("ok", fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - shipped to the parent, which decides
        res = ("err", exc)
    try:
        data = pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - unpicklable result or exception
        inner = res[1]
        data = pickle.dumps(("err", DamagedFileError(f"{type(inner).__name__}: {_one_line(inner)}"
                                                    if res[0] == "err" else f"unpicklable result ({exc})")))
    view = memoryview(data)
    while view:
        n = os.write(w, view)
        view = view[n:]
    os.close(w)


def _fork_child(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any], quiet: bool) -> tuple[int, int]:
    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        code = 0
        try:
            os.close(r)
            die_with_parent(parent)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if quiet:
                logging.disable(logging.CRITICAL)  # the parent logs what matters, once
            faulthandler.disable()  # a crash here is reported by the parent, in one line
            _child_main(w, fn, args, kwargs)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _spawn_entry(conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
    logging.disable(logging.CRITICAL)
    fd = conn.fileno()
    _child_main(os.dup(fd), fn, args, kwargs)
    conn.close()


def run_isolated(fn: Callable[..., Any], *args: Any, timeout_s: float, path: str | os.PathLike[str],
                 what: str = "reading", quiet: bool = True, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` in a child process under a deadline; return its result.

    Parameters
    ----------
    fn : callable
        Module-level function (picklable where fork is not available); its result and
        exceptions must be picklable.
    timeout_s : float
        Wall-clock deadline, s.
    path : path-like
        The file being read (named in the errors).
    what : str
        What the child does, for the messages ("reading", "repairing").
    quiet : bool
        Silence logging in the child (its findings come back as the result or error).

    Raises
    ------
    ReadTimeoutError
        The child did not finish in ``timeout_s`` (it is killed).
    ReaderCrashError
        The child died from a signal (segmentation fault...).
    Exception
        Whatever ``fn`` raised in the child, re-raised here.
    """
    shown = display_path(path)
    proc = None
    if hasattr(os, "fork"):
        pid, r = _fork_child(fn, args, kwargs, quiet)
    else:  # pragma: no cover - Windows/macOS spawn path
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        r_conn, w_conn = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_spawn_entry, args=(w_conn, fn, args, kwargs), daemon=True)
        proc.start()
        w_conn.close()
        pid, r = proc.pid, os.dup(r_conn.fileno())
        r_conn.close()
    chunks: list[bytes] = []
    end = time.monotonic() + timeout_s
    done = False
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([r], [], [], left)
            if not ready:
                continue
            block = os.read(r, 1 << 20)
            if not block:
                done = True
                break
            chunks.append(block)
    finally:
        os.close(r)
        if not done:
            _kill(pid, proc)
    if not done:
        raise ReadTimeoutError(
            f"{shown}: {what} did not finish within {timeout_s:.0f} s (the HDF5 library stalls on this file); "
            "the file is probably damaged"
        )
    status = _reap(pid, proc)
    if not chunks:
        sig = -status if status < 0 else None
        name = signal.Signals(sig).name if sig else f"exit status {status}"
        raise ReaderCrashError(f"{shown}: the process {what} the file crashed ({name}); the file is probably damaged")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "err":
        raise value
    return value


def _kill(pid: int, proc: Any) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid, proc)


def _reap(pid: int, proc: Any) -> int:
    """Wait for the child; return its exit code, or minus the signal that killed it."""
    if proc is not None:  # pragma: no cover - spawn path
        proc.join()
        return int(proc.exitcode or 0)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return 0
        except InterruptedError:  # pragma: no cover
            continue
        if os.WIFSIGNALED(status):
            return -os.WTERMSIG(status)
        return os.WEXITSTATUS(status)

