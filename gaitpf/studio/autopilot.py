"""Autopilot: drive the real studio window through a whole visit (demos, docs, tests).

The script clicks and types into the real widgets (``QTest`` mouse and key events, so the
same slots run as for a person): a new patient (or the given returning one), the visit
form with a pain score, the devices (scan and assign, when not remembered yet), two trials
recorded from the insoles (virtual ones with ``--simulate``, through the BLE path), the
trial check of each, the progress screen and the report export. It saves a PNG of each
screen and counts the clicks and seconds from the start to the first recorded trial
(``stats``, for ``benchmarks/bench_studio.py``).

The steps are a generator driven by a ``QTimer``: a step yields a condition (a callable)
and the driver resumes it when the condition holds, or fails after ``step_timeout_s``.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from pyqtgraph.Qt import QtCore, QtTest

from ..errors import GaitpfError

__all__ = ["Autopilot"]

log = logging.getLogger(__name__)

Wait = Callable[[], bool]


class Autopilot(QtCore.QObject):
    """Run the visit on ``window``; :attr:`error` is None when it went through.

    Parameters
    ----------
    window : StudioWindow
    subject_id : str
        Patient id (created when it does not exist yet).
    screenshots : Path, optional
        Folder for one PNG per screen.
    trial_s : float
        Seconds of recording per trial (after the first strides appear).
    pain_vas : str
        Pain score typed into the visit form.
    """

    done = QtCore.Signal()

    def __init__(self, window: Any, *, subject_id: str, screenshots: Path | None = None, trial_s: float = 5.0,
                 pain_vas: str = "6", treatment: str = "insoles + calf stretching", n_trials: int = 2,
                 step_timeout_s: float = 90.0, t0_monotonic: float | None = None) -> None:
        super().__init__()
        self.w = window
        self.subject_id = subject_id
        self.screenshots = Path(screenshots) if screenshots is not None else None
        self.trial_s, self.pain_vas, self.treatment = float(trial_s), str(pain_vas), treatment
        self.n_trials = int(n_trials)
        self.step_timeout_s = step_timeout_s
        self.error: str | None = None
        self.shots: list[Path] = []
        self.clicks = 0
        self.keys = 0
        self.t0 = t0_monotonic if t0_monotonic is not None else time.monotonic()
        self.stats: dict[str, Any] = {}
        self._gen: Iterator[Any] | None = None
        self._waiting: Wait | None = None
        self._deadline = 0.0
        self._what = ""

    # -- driver ------------------------------------------------------------------------------
    def start(self) -> None:
        self._gen = self._script()
        QtCore.QTimer.singleShot(0, self._step)

    def _step(self) -> None:
        try:
            if self._waiting is not None:
                if not self._waiting():
                    if time.monotonic() > self._deadline:
                        raise GaitpfError(f"autopilot: timed out waiting for {self._what}")
                    QtCore.QTimer.singleShot(50, self._step)
                    return
                self._waiting = None
                self.stats.setdefault("timeline_s", []).append([self._what, round(time.monotonic() - self.t0, 2)])
            item = next(self._gen)
            what, cond = item if isinstance(item, tuple) else ("a condition", item)
            self._what, self._waiting = what, cond
            self._deadline = time.monotonic() + self.step_timeout_s
            QtCore.QTimer.singleShot(0, self._step)
        except StopIteration:
            self.done.emit()
        except Exception as exc:  # noqa: BLE001 - reported as the command's error
            self.error = str(exc) if isinstance(exc, GaitpfError) else f"autopilot: {type(exc).__name__}: {exc}"
            log.debug("autopilot failed", exc_info=True)
            self.done.emit()

    # -- actions -----------------------------------------------------------------------------
    def click(self, widget: Any, pos: QtCore.QPoint | None = None) -> None:
        if not widget.isEnabled():
            raise GaitpfError(f"autopilot: {widget.__class__.__name__} {getattr(widget, 'text', lambda: '')()!r} "
                              "is disabled")
        self.clicks += 1
        if pos is None:
            QtTest.QTest.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton)
        else:
            QtTest.QTest.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier,
                                    pos)

    def type(self, widget: Any, text: str) -> None:
        widget.setFocus()
        widget.clear()
        self.keys += len(text)
        QtTest.QTest.keyClicks(widget, text)

    def key(self, widget: Any, key: Any) -> None:
        widget.setFocus()
        self.keys += 1
        QtTest.QTest.keyClick(widget, key)

    def shot(self, name: str) -> None:
        if self.screenshots is None:
            return
        self.w.repaint()
        from pyqtgraph.Qt import QtWidgets

        QtWidgets.QApplication.processEvents()
        path = self.screenshots / f"{len(self.shots) + 1:02d}-{name}.png"
        if not self.w.grab().save(str(path), "PNG"):
            raise GaitpfError(f"{path}: could not save the screenshot (PNG)")
        self.shots.append(path)

    # -- the visit -----------------------------------------------------------------------------
    def _script(self) -> Iterator[Any]:
        w = self.w
        pv = w.patients
        yield "the patient list", lambda: w.isVisible()
        known = pv.select(self.subject_id)
        if known:
            rect = pv.row_rect(self.subject_id)
            self.click(pv.table.viewport(), rect.center())
            self.shot("patients")
            self.click(pv.visit_button)
        else:
            self.type(pv.new_id, "JaneDoe")
            pv.new_side.setCurrentText("left")
            self.type(pv.new_mass, "72")
            yield "the id warning", lambda: bool(pv.id_warning.text())
            self.shot("new-patient-warning")
            self.type(pv.new_id, self.subject_id)
            self.click(pv.create_button)
            if pv.error.text():
                raise GaitpfError(f"autopilot: new patient refused: {pv.error.text()}")
        yield "the visit form", lambda: w.current_tab() == "visit"
        vf = w.visit
        if not vf.treatment.text():
            self.type(vf.treatment, self.treatment)
        if not vf.condition.text():
            self.type(vf.condition, "own shoes, 10 m walkway")
        self.type(vf.pain, self.pain_vas)
        self.shot("visit")
        self.click(vf.save_button)
        if vf.error.text():
            raise GaitpfError(f"autopilot: visit form refused: {vf.error.text()}")
        yield "recording or devices", lambda: w.current_tab() in ("record", "devices")
        if w.current_tab() == "devices":
            dv = w.devices
            yield "the scan", lambda: not dv.scanning and len(dv.adverts) >= 2
            for side in ("left", "right"):
                adv = next((a for a in dv.adverts if a.side == side), None)
                if adv is None:
                    raise GaitpfError(f"autopilot: no {side} insole in the scan")
                dv.select_address(adv.address)
                row = dv.table.visualItemRect(dv.table.item(dv.table.currentRow(), 0))
                self.click(dv.table.viewport(), row.center())
                self.click(dv.left_button if side == "left" else dv.right_button)
                if dv.error.text():
                    raise GaitpfError(f"autopilot: assignment refused: {dv.error.text()}")
            yield "the record screen", lambda: w.current_tab() == "record"
            w.show_tab("devices")                # back for the screenshot only (not a click)
            self.shot("devices")
            w.show_tab("record")
        rv = w.record
        for k in range(self.n_trials):
            prev = rv.trial
            if k == 0:
                self.click(rv.start_button)
            else:
                self.key(rv, QtCore.Qt.Key.Key_R)      # the keyboard shortcut
            if rv.error.text():
                raise GaitpfError(f"autopilot: recording refused: {rv.error.text()}")
            if rv.trial is prev:
                raise GaitpfError(f"autopilot: trial {k + 1} did not start")
            yield "the recording", lambda: rv.trial.state != "connecting"
            if k == 0:
                self.stats["seconds_to_recording"] = time.monotonic() - self.t0
            yield "the first strides", lambda: (rv.trial is not None and rv.trial.buffer is not None and
                                                 min(rv.trial.buffer.snapshot(last_s=0.01).metrics
                                                     .get("n_strides", {"x": 0}).values()) >= 2) or rv.trial.finished
            t_end = time.monotonic() + self.trial_s
            yield "the trial length", lambda: time.monotonic() >= t_end or rv.trial.finished
            if k == 0:
                self.shot("record")
                if rv.live is not None:
                    live = rv.live.stats()
                    self.stats["live_view"] = {"fps_drawn": live["fps_drawn"], "latency_ms": live["latency_ms"],
                                               "elapsed_s": live["elapsed_s"], "redraw_errors": live["redraw_errors"]}
            if k == 0:
                self.click(rv.stop_button)
            else:
                self.key(rv, QtCore.Qt.Key.Key_S)
            yield "the trial check", lambda: w.current_tab() == "check"
            if k == 0:
                self.stats.update(clicks_to_first_trial=self.clicks, keys_to_first_trial=self.keys,
                                  seconds_to_first_trial=time.monotonic() - self.t0,
                                  first_trial_verdict=w.last_check.verdict)
                self.shot("trial-check")
            last = k == self.n_trials - 1
            self.click(w.check.buttons["finish" if last else "keep"])
        pg = w.progress
        yield "the progress", lambda: w.current_tab() == "progress" and not pg.busy and pg.progress is not None
        self.shot("progress")
        self.click(pg.export_button)
        yield "the report", lambda: not pg.busy and bool(pg.report_paths)
        self.stats.update(clicks_total=self.clicks, keys_total=self.keys, seconds_total=time.monotonic() - self.t0,
                          report=[str(p) for p in pg.report_paths], screenshots=[str(p) for p in self.shots])
