"""Visit form: date, session number, treatment, pain (VAS 0–10), shoe/condition, notes.

A new visit is pre-filled: today's date, the next session number, and the treatment,
affected side and condition of the patient's previous visit (a returning patient only
needs the pain score). *Save* validates every field with
:func:`gaitpf.sessions.metadata.validate_metadata` (one red line naming the field and the
accepted range otherwise) and stores it as the session metadata
(:meth:`gaitpf.studio.patients.PatientStore.save_visit`).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from pyqtgraph.Qt import QtCore, QtWidgets

from ..errors import GaitpfError
from .patients import PatientStore

__all__ = ["VisitForm"]


class VisitForm(QtWidgets.QWidget):
    """Emits ``saved(dict)`` with the validated metadata."""

    saved = QtCore.Signal(dict)

    def __init__(self, store: PatientStore, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        self.subject_id: str | None = None
        self.session: str | None = None
        outer = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel("")
        self.title.setStyleSheet("QLabel { font-size: 18px; font-weight: bold; }")
        outer.addWidget(self.title)
        form = QtWidgets.QFormLayout()
        outer.addLayout(form)
        self.date = QtWidgets.QLineEdit()
        self.date.setPlaceholderText("YYYY-MM-DD")
        form.addRow("date", self.date)
        self.session_no = QtWidgets.QLineEdit()
        form.addRow("session number (1 = baseline)", self.session_no)
        self.treatment = QtWidgets.QLineEdit()
        self.treatment.setPlaceholderText("e.g. insoles + stretching")
        form.addRow("treatment", self.treatment)
        self.side = QtWidgets.QComboBox()
        self.side.addItems(["left", "right", "none"])
        form.addRow("affected side", self.side)
        self.pain = QtWidgets.QLineEdit()
        self.pain.setPlaceholderText("0 = no pain … 10 = worst imaginable")
        form.addRow("pain (VAS 0–10)", self.pain)
        self.condition = QtWidgets.QLineEdit()
        self.condition.setPlaceholderText("e.g. own shoes, 10 m walkway")
        form.addRow("shoe / condition", self.condition)
        self.notes = QtWidgets.QPlainTextEdit()
        self.notes.setPlaceholderText("free notes (no names or other identifying data)")
        self.notes.setMaximumHeight(90)
        form.addRow("notes", self.notes)
        self.error = QtWidgets.QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("QLabel { color: #c62828; font-weight: bold; }")
        outer.addWidget(self.error)
        self.save_button = QtWidgets.QPushButton("Save visit and go to recording")
        self.save_button.clicked.connect(self.save)
        outer.addWidget(self.save_button)
        outer.addStretch(1)

    def start_visit(self, subject_id: str, *, affected_side: str | None = None) -> None:
        """Pre-fill the form for the next visit of ``subject_id``."""
        self.subject_id = subject_id
        self.session, no = self.store.next_session(subject_id)
        prev = self.store.last_visit(subject_id)
        self.title.setText(f"Visit {self.session} of patient {subject_id}")
        self.date.setText(_dt.date.today().isoformat())
        self.session_no.setText(str(no))
        self.treatment.setText(str(prev.get("treatment", "")))
        side = prev.get("affected_side") or affected_side or "left"
        self.side.setCurrentText(side)
        self.pain.clear()
        self.condition.setText(str(prev.get("condition", "")))
        self.notes.clear()
        self.error.setText("")

    def values(self) -> dict[str, Any]:
        return {"date": self.date.text().strip(), "session_no": self.session_no.text().strip(),
                "treatment": self.treatment.text().strip(), "affected_side": self.side.currentText(),
                "pain_vas": self.pain.text().strip().replace(",", "."), "condition": self.condition.text().strip(),
                "notes": self.notes.toPlainText().strip()}

    def save(self) -> bool:
        """Validate and store; emits ``saved`` (False and a red line naming the field if invalid)."""
        if self.subject_id is None or self.session is None:
            self.error.setText("choose a patient first")
            return False
        vals = self.values()
        if not vals["pain_vas"]:
            self.error.setText("pain score is required: 0 (no pain) to 10 (worst imaginable)")
            return False
        try:
            meta = self.store.save_visit(self.subject_id, self.session, vals)
        except GaitpfError as exc:
            self.error.setText(str(exc))
            return False
        self.error.setText("")
        self.saved.emit(meta)
        return True
