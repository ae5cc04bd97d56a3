"""Record screen: start / stop / mark (buttons and keys R, S, M), the live view inside.

Trials are named automatically (``T1``, ``T2``… under ``ROOT/<subject>/<session>/``,
:meth:`PatientStore.next_trial`). *Start* creates a :class:`TrialRecording` in the
acquisition thread; once the insoles are connected the live view
(:class:`gaitpf.live.window.LiveWindow`, the one of ``gaitpf live``) is embedded here and
draws the trial's :class:`~gaitpf.live.buffer.LiveBuffer`. The optional auto-stop ends the
trial once both feet have N strides. When the recording has stopped (or failed: a write
error, the disk nearly full) ``trial_finished(TrialRecording)`` is emitted.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from ..errors import GaitpfError
from .recording import TrialRecording

__all__ = ["RecordView"]

log = logging.getLogger(__name__)


class RecordView(QtWidgets.QWidget):
    """``make_trial()`` returns a ready (not started) :class:`TrialRecording` or raises GaitpfError."""

    trial_finished = QtCore.Signal(object)

    def __init__(self, make_trial: Callable[[int | None], TrialRecording], parent: Any = None) -> None:
        super().__init__(parent)
        self.make_trial = make_trial
        self.trial: TrialRecording | None = None
        self.live: Any = None
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        self.start_button = QtWidgets.QPushButton("● Start (R)")
        self.start_button.setStyleSheet("QPushButton { font-size: 15px; font-weight: bold; color: #c62828; "
                                        "padding: 6px 14px; }")
        self.start_button.clicked.connect(self.start)
        bar.addWidget(self.start_button)
        self.stop_button = QtWidgets.QPushButton("■ Stop (S)")
        self.stop_button.setStyleSheet("QPushButton { font-size: 15px; font-weight: bold; padding: 6px 14px; }")
        self.stop_button.clicked.connect(self.stop)
        bar.addWidget(self.stop_button)
        self.mark_button = QtWidgets.QPushButton("⚑ Mark (M)")
        self.mark_button.setStyleSheet("QPushButton { font-size: 15px; padding: 6px 14px; }")
        self.mark_button.clicked.connect(self.mark)
        bar.addWidget(self.mark_button)
        bar.addSpacing(20)
        bar.addWidget(QtWidgets.QLabel("auto-stop after"))
        self.auto_stop = QtWidgets.QSpinBox()
        self.auto_stop.setRange(0, 500)
        self.auto_stop.setSpecialValueText("off")
        self.auto_stop.setSuffix(" strides")
        self.auto_stop.setToolTip("stop once both feet have this many strides (0 = off)")
        bar.addWidget(self.auto_stop)
        bar.addStretch(1)
        self.state = QtWidgets.QLabel("")
        self.state.setStyleSheet("QLabel { font-size: 14px; }")
        bar.addWidget(self.state)
        outer.addLayout(bar)
        self.error = QtWidgets.QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("QLabel { color: #c62828; font-weight: bold; }")
        outer.addWidget(self.error)
        self.area = QtWidgets.QStackedWidget()
        self.placeholder = QtWidgets.QLabel("")
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("QLabel { font-size: 18px; color: #666; }")
        self.area.addWidget(self.placeholder)
        outer.addWidget(self.area, 1)
        for key, slot in (("R", self.start), ("S", self.stop), ("M", self.mark)):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._poll)
        self.set_idle("")

    def keyPressEvent(self, ev: Any) -> None:  # noqa: N802 - Qt API
        """R / S / M also when the window is not the active one (the shortcuts need it to be)."""
        action = {QtCore.Qt.Key.Key_R: self.start, QtCore.Qt.Key.Key_S: self.stop,
                  QtCore.Qt.Key.Key_M: self.mark}.get(ev.key())
        if action is not None and not ev.modifiers():
            action()
            ev.accept()
            return
        super().keyPressEvent(ev)

    @property
    def recording(self) -> bool:
        return self.trial is not None and not self.trial.finished

    def set_idle(self, next_label: str) -> None:
        self.placeholder.setText(next_label or "choose a patient and a visit first")
        self._buttons()

    def _buttons(self) -> None:
        rec = self.recording
        self.start_button.setEnabled(not rec)
        self.stop_button.setEnabled(rec)
        self.mark_button.setEnabled(rec)
        self.auto_stop.setEnabled(not rec)

    # -- control ----------------------------------------------------------------------------
    def start(self) -> bool:
        if self.recording:
            return False
        self.error.setText("")
        try:
            trial = self.make_trial(self.auto_stop.value() or None)
            trial.start()
        except GaitpfError as exc:
            self.error.setText(str(exc))
            return False
        self.trial = trial
        self.state.setText(f"connecting to the insoles… ({trial.trial} → {trial.path})")
        self._drop_live()
        self.placeholder.setText("connecting to the insoles…")
        self.timer.start(100)
        self._buttons()
        return True

    def stop(self) -> None:
        if self.recording:
            self.trial.stop("stopped by the user")
            self.state.setText("stopping… (closing the file)")

    def mark(self) -> None:
        if self.recording:
            m = self.trial.mark()
            if m is not None:
                self.state.setText(f"mark {len(self.trial.marks)} at {m['time_s']:.1f} s")

    # -- polling ----------------------------------------------------------------------------
    def _drop_live(self) -> None:
        if self.live is not None:
            self.live.timer.stop()
            self.area.removeWidget(self.live)
            self.live.deleteLater()
            self.live = None

    def _poll(self) -> None:
        t = self.trial
        if t is None:
            return
        if self.live is None and t.buffer is not None:
            from ..live.window import LiveWindow

            self.live = LiveWindow(t.buffer, title=f"{t.subject_id} {t.session} {t.trial}", refresh_ms=30)
            self.live.setWindowFlags(QtCore.Qt.WindowType.Widget)
            self.area.addWidget(self.live)
            self.area.setCurrentWidget(self.live)
        if t.state == "recording" and t.started_monotonic is not None:
            import time

            e = time.monotonic() - t.started_monotonic
            st = t.status()
            frames = sum(st.frames.values()) if st is not None else 0
            self.state.setText(f"● recording {t.trial}: {int(e // 60):02d}:{int(e % 60):02d}, {frames} frames"
                               + (f", auto-stop at {t.auto_stop_strides} strides" if t.auto_stop_strides else ""))
        if t.finished:
            self.timer.stop()
            if self.live is not None:
                self.live.refresh()
            if t.error:
                self.error.setText(t.error)
                self.state.setText(f"{t.trial} stopped on an error")
            else:
                self.state.setText(f"{t.trial} recorded ({t.stop_reason})")
            self._buttons()
            self.trial_finished.emit(t)
