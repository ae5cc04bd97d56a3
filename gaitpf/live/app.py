"""QApplication wiring of ``gaitpf live``: one feeder thread, one window, one Qt event loop.

Ownership: the Qt event loop runs in the main thread and owns every widget; the feeder
thread owns acquisition (its own asyncio loop for BLE/replay, or an h5py SWMR reader) and
only writes to the thread-safe :class:`~gaitpf.live.buffer.LiveBuffer`. The window pulls
from the buffer on a ``QTimer``.

``--screenshot OUT.png --after S`` saves the window after S seconds and quits;
``--stats OUT.json`` writes frames drawn per second, notification-to-screen latency
(p50/p99, ms), CPU share and the source's counters and messages.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["run_live", "exec_closing_on_signals"]

log = logging.getLogger(__name__)


def _echo_err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def exec_closing_on_signals(app: Any, on_signal: Any) -> None:
    """Run ``app.exec()`` with SIGINT/SIGTERM calling ``on_signal()`` (quit or close the
    window, so that everything shuts down in order); the previous handlers come back after."""
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, lambda *_: on_signal())
        except ValueError:  # not the main thread
            pass
    try:
        app.exec()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def run_live(feeder: Any, *, title: str, screenshot: Path | None = None, after_s: float = 5.0,
             stats_path: Path | None = None, ready_timeout_s: float = 60.0, refresh_ms: int = 30) -> int:
    """Show the live window for ``feeder`` until closed (or ``after_s`` with a screenshot).

    Returns
    -------
    int
        0, or 2 when the source failed (unusable input, recorder stopped writing, lost
        insoles) — the message was shown in the window and on stderr.
    """
    os.environ.setdefault("QT_API", "pyside6")
    import pyqtgraph as pg
    from pyqtgraph.Qt import QtCore

    from ..errors import AcquisitionError, OutputError
    from .window import LiveWindow

    app = pg.mkQApp("gaitpf live")
    t_wall0, t_cpu0 = time.monotonic(), time.process_time()
    feeder.start()
    if feeder.buffer is None or not feeder.ready.is_set():
        feeder.ready.wait(ready_timeout_s)
    if feeder.error is not None and (feeder.buffer is None or feeder.finished.is_set()):
        feeder.stop()
        raise AcquisitionError(feeder.error)
    if feeder.buffer is None:
        feeder.stop()
        raise AcquisitionError(f"the source did not start within {ready_timeout_s:g} s")

    win = LiveWindow(feeder.buffer, title=title, refresh_ms=refresh_ms)
    win.show()
    state: dict[str, Any] = {"shown": 0, "shot_error": None}

    def report_messages() -> None:
        msgs = feeder.buffer.messages()
        for level, text in msgs[state["shown"]:]:
            if level in ("error", "warning"):
                _echo_err(f"gaitpf live: {level}: {text}")
        state["shown"] = len(msgs)

    msg_timer = QtCore.QTimer()
    msg_timer.timeout.connect(report_messages)
    msg_timer.start(200)

    def save_and_quit() -> None:
        try:
            win.refresh()
            app.processEvents()
            from ..io.atomic import atomic_path

            assert screenshot is not None
            # encoded in memory, written by Python: Qt mangles file names that are not UTF-8
            data = QtCore.QByteArray()
            buf = QtCore.QBuffer(data)
            buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
            if not win.grab().save(buf, "PNG"):
                raise OutputError(f"{screenshot}: could not save the screenshot (PNG)")
            buf.close()
            with atomic_path(screenshot) as tmp:
                Path(tmp).write_bytes(bytes(data.data()))
        except Exception as exc:  # noqa: BLE001
            state["shot_error"] = exc
        app.quit()

    if screenshot is not None:
        QtCore.QTimer.singleShot(int(after_s * 1000), save_and_quit)

    try:
        exec_closing_on_signals(app, app.quit)
    finally:
        win.timer.stop()
        msg_timer.stop()
        stats = win.stats()
        feeder.stop()
        report_messages()
        wall = time.monotonic() - t_wall0
        stats["cpu_pct_of_one_core"] = 100.0 * (time.process_time() - t_cpu0) / max(wall, 1e-9)
        snap = win.last_snapshot or feeder.buffer.snapshot()
        stats["frames"] = {s: v.frames for s, v in snap.sides.items()}
        stats["lost_frames"] = {s: v.lost_frames for s, v in snap.sides.items()}
        stats["n_strides"] = dict(snap.metrics.get("n_strides", {}))
        stats["messages"] = [{"level": lvl, "text": t} for lvl, t in feeder.buffer.messages()]
        stats["source_error"] = feeder.error
        win.close()
    if feeder.summary:
        print(feeder.summary, flush=True)
    if stats_path is not None:
        from ..io.atomic import atomic_path

        with atomic_path(stats_path) as tmp:
            Path(str(tmp)).write_text(json.dumps(stats, indent=2))
    if state["shot_error"] is not None:
        exc = state["shot_error"]
        raise exc if isinstance(exc, OutputError) else OutputError(f"{screenshot}: {exc}")
    if screenshot is not None:
        print(f"screenshot -> {screenshot}", flush=True)
    return 2 if feeder.error is not None else 0
