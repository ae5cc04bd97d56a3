"""Trial-check screen, right after stop: strides vs the minimum, losses and gaps, a verdict.

Shows :func:`gaitpf.studio.trialcheck.check_trial` (rules in that module) and asks what to
do: *Keep* (the trial counts for the session), *Discard* (moved to ``.discarded/``, never
deleted), *Redo* (discard and start the next trial at once), or *Finish the visit* (keep
and show the progress). The choice is logged in the session's ``trials.json``.
"""
from __future__ import annotations

from typing import Any

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from ..model import SIDES
from .trialcheck import TrialCheck

__all__ = ["CheckView"]

_VERDICT = {"good": ("#2e7d32", "GOOD: usable for the statistics"),
            "check": ("#e65100", "CHECK: usable, but look at the reasons"),
            "unusable": ("#c62828", "NOT USABLE for the statistics: redo")}


class CheckView(QtWidgets.QWidget):
    """Emits ``decided(str)``: ``"keep"``, ``"discard"``, ``"redo"`` or ``"finish"``."""

    decided = QtCore.Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.check: TrialCheck | None = None
        outer = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel("no trial recorded yet")
        self.title.setStyleSheet("QLabel { font-size: 18px; font-weight: bold; }")
        outer.addWidget(self.title)
        self.verdict = QtWidgets.QLabel("")
        self.verdict.setStyleSheet("QLabel { font-size: 22px; font-weight: bold; padding: 10px; }")
        outer.addWidget(self.verdict)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "left", "right"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMaximumHeight(210)
        outer.addWidget(self.table)
        self.reasons = QtWidgets.QLabel("")
        self.reasons.setWordWrap(True)
        self.reasons.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.reasons.setStyleSheet("QLabel { font-size: 14px; }")
        outer.addWidget(self.reasons)
        bar = QtWidgets.QHBoxLayout()
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        for key, text, sc in (("keep", "Keep (K)", "K"), ("discard", "Discard (D)", "D"),
                              ("redo", "Discard and redo (Y)", "Y"), ("finish", "Keep and finish the visit (F)", "F")):
            b = QtWidgets.QPushButton(text)
            b.setStyleSheet("QPushButton { font-size: 15px; padding: 6px 14px; }")
            b.clicked.connect(lambda _=False, k=key: self._decide(k))
            bar.addWidget(b)
            self.buttons[key] = b
            s = QtGui.QShortcut(QtGui.QKeySequence(sc), self)
            s.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            s.activated.connect(lambda k=key: self._decide(k))
        bar.addStretch(1)
        outer.addLayout(bar)
        outer.addStretch(1)
        self._enable(False)

    def keyPressEvent(self, ev: Any) -> None:  # noqa: N802 - Qt API
        """K / D / Y / F also when the window is not the active one (the shortcuts need it to be)."""
        what = {QtCore.Qt.Key.Key_K: "keep", QtCore.Qt.Key.Key_D: "discard", QtCore.Qt.Key.Key_Y: "redo",
                QtCore.Qt.Key.Key_F: "finish"}.get(ev.key())
        if what is not None and not ev.modifiers():
            self._decide(what)
            ev.accept()
            return
        super().keyPressEvent(ev)

    def _enable(self, on: bool) -> None:
        for b in self.buttons.values():
            b.setEnabled(on)

    def show_check(self, chk: TrialCheck, *, trial: str) -> None:
        self.check = chk
        self.title.setText(f"Trial {trial}: {chk.path}")
        color, text = _VERDICT[chk.verdict]
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"QLabel {{ font-size: 22px; font-weight: bold; padding: 10px; color: white; "
                                   f"background: {color}; border-radius: 4px; }}")
        rows = [("steady strides (minimum for a stable estimate: "
                 f"{chk.min_cycles} cycles)", {s: str(chk.n_steady.get(s, 0)) for s in SIDES}),
                ("frames recorded", {s: str(chk.frames.get(s, "–")) for s in SIDES}),
                ("lost frames", {s: str(chk.lost_frames.get(s, "–")) for s in SIDES}),
                ("gaps (link lost)", {s: f"{chk.gaps.get(s, 0)} ({chk.gap_s.get(s, 0.0):.1f} s)" for s in SIDES})]
        self.table.setRowCount(len(rows) + 1)
        for i, (label, vals) in enumerate(rows):
            self.table.setItem(i, 0, QtWidgets.QTableWidgetItem(label))
            for j, s in enumerate(SIDES, start=1):
                item = QtWidgets.QTableWidgetItem(vals[s])
                bad = (i == 0 and chk.n_steady.get(s, 0) < chk.min_cycles) or (i == 3 and chk.gaps.get(s, 0) > 0)
                if bad:
                    item.setForeground(QtGui.QColor("#c62828"))
                self.table.setItem(i, j, item)
        n = len(rows)
        self.table.setItem(n, 0, QtWidgets.QTableWidgetItem("gait cycles (L+R pairs) / duration"))
        self.table.setItem(n, 1, QtWidgets.QTableWidgetItem(f"{chk.n_cycles} cycles"))
        self.table.setItem(n, 2, QtWidgets.QTableWidgetItem(f"{chk.duration_s:.1f} s"))
        self.table.resizeColumnsToContents()
        self.reasons.setText("<br>".join(f"• {r}" for r in chk.reasons) or "no problem found")
        self._enable(True)

    def _decide(self, what: str) -> None:
        if self.check is None or not self.buttons[what].isEnabled():
            return
        self._enable(False)
        self.decided.emit(what)
