"""Patients screen: the list from the catalog, search, and a new patient.

Double-click a patient (or select it and press *New visit*) to start a visit. A new
patient needs a pseudonymous id, the affected side and optionally the body mass (kg); the
id is checked as it is typed (:func:`gaitpf.studio.patients.id_warnings`: no digit → may
be a name, a plausible date → may be a date of birth) and refused by
:func:`gaitpf.sessions.metadata.check_subject_id` when it is not a code.
"""
from __future__ import annotations

import logging
from typing import Any

from pyqtgraph.Qt import QtCore, QtWidgets

from ..errors import GaitpfError
from .patients import MAX_BODY_MASS_KG, MIN_BODY_MASS_KG, PatientStore, id_warnings

__all__ = ["PatientsView"]

log = logging.getLogger(__name__)

_COLUMNS = ("patient id", "affected side", "sessions", "last visit", "trials")


class PatientsView(QtWidgets.QWidget):
    """List, search and create patients; emits ``visit_requested(subject_id)``."""

    visit_requested = QtCore.Signal(str)

    def __init__(self, store: PatientStore, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        outer = QtWidgets.QHBoxLayout(self)
        left = QtWidgets.QVBoxLayout()
        outer.addLayout(left, 3)
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("search patient id…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        left.addWidget(self.search)
        self.table = QtWidgets.QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(_COLUMNS))
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.cellDoubleClicked.connect(lambda row, _c: self._request(row))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        left.addWidget(self.table, 1)
        self.visit_button = QtWidgets.QPushButton("New visit for the selected patient")
        self.visit_button.setEnabled(False)
        self.visit_button.clicked.connect(lambda: self._request(self.table.currentRow()))
        left.addWidget(self.visit_button)

        box = QtWidgets.QGroupBox("New patient")
        form = QtWidgets.QFormLayout(box)
        self.new_id = QtWidgets.QLineEdit()
        self.new_id.setPlaceholderText("pseudonymous code, e.g. PF014")
        self.new_id.textChanged.connect(self._id_changed)
        form.addRow("patient id", self.new_id)
        self.new_side = QtWidgets.QComboBox()
        self.new_side.addItems(["left", "right", "none"])
        form.addRow("affected side", self.new_side)
        self.new_mass = QtWidgets.QLineEdit()
        self.new_mass.setPlaceholderText(f"optional, {MIN_BODY_MASS_KG:g}–{MAX_BODY_MASS_KG:g}")
        form.addRow("body mass (kg)", self.new_mass)
        self.id_warning = QtWidgets.QLabel("")
        self.id_warning.setWordWrap(True)
        self.id_warning.setStyleSheet("QLabel { color: #e65100; }")
        form.addRow(self.id_warning)
        self.create_button = QtWidgets.QPushButton("Create patient and start the first visit")
        self.create_button.clicked.connect(self.create_patient)
        form.addRow(self.create_button)
        self.error = QtWidgets.QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("QLabel { color: #c62828; font-weight: bold; }")
        form.addRow(self.error)
        self.repair_button = QtWidgets.QPushButton("")
        self.repair_button.setVisible(False)
        form.addRow(self.repair_button)
        hint = QtWidgets.QLabel("Only pseudonymous codes: keep names, dates of birth and other identifying "
                                "data out of ids and notes (the key to the codes stays outside gaitpf).")
        hint.setWordWrap(True)
        hint.setStyleSheet("QLabel { color: #666; }")
        form.addRow(hint)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(box)
        right.addStretch(1)
        outer.addLayout(right, 2)
        self.rows: list[Any] = []
        self.refresh()

    # -- list ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        try:
            self.rows = self.store.patients(self.search.text())
        except GaitpfError as exc:
            self.error.setText(str(exc))
            self.rows = []
        self.table.setRowCount(len(self.rows))
        for i, p in enumerate(self.rows):
            vals = (p.subject_id, p.affected_side or "–", ", ".join(p.sessions) or "–", p.last_date or "–",
                    str(p.n_trials))
            for j, v in enumerate(vals):
                self.table.setItem(i, j, QtWidgets.QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        self._selection_changed()

    def select(self, subject_id: str) -> bool:
        for i, p in enumerate(self.rows):
            if p.subject_id == subject_id:
                self.table.selectRow(i)
                return True
        return False

    def row_rect(self, subject_id: str) -> QtCore.QRect | None:
        """Where the patient's row is drawn (for the autopilot's clicks)."""
        for i, p in enumerate(self.rows):
            if p.subject_id == subject_id:
                return self.table.visualItemRect(self.table.item(i, 0))
        return None

    def _selection_changed(self) -> None:
        self.visit_button.setEnabled(0 <= self.table.currentRow() < len(self.rows)
                                     and bool(self.table.selectedItems()))

    def _request(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.visit_requested.emit(self.rows[row].subject_id)

    # -- new patient ------------------------------------------------------------------------
    def _id_changed(self, text: str) -> None:
        self.error.setText("")
        self.id_warning.setText("⚠ " + "; ".join(id_warnings(text.strip())) if text.strip() and
                                id_warnings(text.strip()) else "")

    def create_patient(self) -> bool:
        """Validate and create; on success emit ``visit_requested`` (False and a red line if not)."""
        self.error.setText("")
        mass_text = self.new_mass.text().strip().replace(",", ".")
        try:
            mass = None
            if mass_text:
                try:
                    mass = float(mass_text)
                except ValueError:
                    raise GaitpfError(f"body mass {mass_text!r} is not a number (kg)") from None
            p = self.store.create_patient(self.new_id.text(), affected_side=self.new_side.currentText(),
                                          body_mass_kg=mass)
        except GaitpfError as exc:
            self.error.setText(str(exc))
            return False
        self.new_id.clear()
        self.new_mass.clear()
        self.refresh()
        self.select(p.subject_id)
        self.visit_requested.emit(p.subject_id)
        return True
