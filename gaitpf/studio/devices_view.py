"""Devices screen: scan, assign left and right, the remembered allow-list, battery and link.

The scan runs in the acquisition thread (:meth:`DeviceService.scan`); the table shows
every insole advertising the gaitpf service with its advertised side, serial, battery
(from the advertisement, %) and signal strength (RSSI, dBm). *Use as left/right* assigns
the selected insole (refused with a red line when it advertises the other side, is
already on the other foot, or was not in the scan) and allow-lists it; the assignment is
remembered for the next visits (``ROOT/.gaitpf-devices.json``). While recording, the link
state and battery of each foot come from the recorder (see the record screen's status).
"""
from __future__ import annotations

import concurrent.futures
from typing import Any

from pyqtgraph.Qt import QtCore, QtWidgets

from ..errors import GaitpfError
from ..model import SIDES
from .devices import DeviceConfig, DeviceService

__all__ = ["DevicesView"]

_COLUMNS = ("address", "advertised side", "serial", "battery (%)", "RSSI (dBm)", "allow-listed", "worn on")


class DevicesView(QtWidgets.QWidget):
    """Emits ``changed()`` when the assignment changes."""

    changed = QtCore.Signal()

    def __init__(self, config: DeviceConfig, service: DeviceService, parent: Any = None) -> None:
        super().__init__(parent)
        self.config, self.service = config, service
        self.adverts: list[Any] = []
        self._scan: concurrent.futures.Future | None = None
        outer = QtWidgets.QVBoxLayout(self)
        bar = QtWidgets.QHBoxLayout()
        self.scan_button = QtWidgets.QPushButton("Scan for insoles")
        self.scan_button.clicked.connect(self.start_scan)
        bar.addWidget(self.scan_button)
        self.left_button = QtWidgets.QPushButton("Use selected as LEFT")
        self.left_button.clicked.connect(lambda: self.assign_selected("left"))
        bar.addWidget(self.left_button)
        self.right_button = QtWidgets.QPushButton("Use selected as RIGHT")
        self.right_button.clicked.connect(lambda: self.assign_selected("right"))
        bar.addWidget(self.right_button)
        self.forget_button = QtWidgets.QPushButton("Forget selected")
        self.forget_button.clicked.connect(self.forget_selected)
        bar.addWidget(self.forget_button)
        bar.addStretch(1)
        outer.addLayout(bar)
        self.state = QtWidgets.QLabel("")
        outer.addWidget(self.state)
        self.table = QtWidgets.QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(_COLUMNS))
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        outer.addWidget(self.table, 1)
        self.assigned = QtWidgets.QLabel("")
        self.assigned.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.assigned.setStyleSheet("QLabel { font-size: 14px; padding: 6px; }")
        outer.addWidget(self.assigned)
        self.link = QtWidgets.QLabel("link: not recording")
        self.link.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.link.setStyleSheet("QLabel { font-size: 14px; padding: 6px; }")
        outer.addWidget(self.link)
        self.error = QtWidgets.QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("QLabel { color: #c62828; font-weight: bold; }")
        outer.addWidget(self.error)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._poll)
        self._render()

    # -- scan -------------------------------------------------------------------------------
    def start_scan(self, timeout_s: float = 2.0) -> None:
        if self._scan is not None and not self._scan.done():
            return
        self.error.setText("")
        self.state.setText(f"scanning for {timeout_s:g} s…")
        self.scan_button.setEnabled(False)
        self._scan = self.service.scan(timeout_s)
        self.timer.start(100)

    @property
    def scanning(self) -> bool:
        return self._scan is not None and not self._scan.done()

    def _poll(self) -> None:
        if self._scan is None or not self._scan.done():
            return
        self.timer.stop()
        self.scan_button.setEnabled(True)
        try:
            self.adverts = list(self._scan.result())
            self.state.setText(f"{len(self.adverts)} insole(s) found")
        except GaitpfError as exc:
            self.error.setText(str(exc))
            self.state.setText("scan failed")
        self._render()

    def _render(self) -> None:
        self.table.setRowCount(len(self.adverts))
        worn = {a: s for s, a in self.config.assigned.items() if a}
        for i, a in enumerate(self.adverts):
            vals = (a.address, a.side or "?", a.serial or "?", "–" if a.battery_pct is None else str(a.battery_pct),
                    "–" if a.rssi is None else str(a.rssi), "yes" if a.address.upper() in self.config.allow else "no",
                    worn.get(a.address.upper(), ""))
            for j, v in enumerate(vals):
                self.table.setItem(i, j, QtWidgets.QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        parts = []
        for s in SIDES:
            a = self.config.assigned.get(s)
            col = "#2e7d32" if a else "#c62828"
            parts.append(f"<b>{s}</b>: <span style='color:{col}'>{a or 'not assigned'}</span>")
        allow = ", ".join(sorted(self.config.allow)) or "empty"
        self.assigned.setText(" &nbsp; ".join(parts) + f"<br><span style='color:#666'>allow-list: {allow}</span>")

    def show_link(self, status: Any) -> None:
        """Link state and battery of each foot from the recorder's status (None: not recording)."""
        if status is None:
            self.link.setText("link: not recording")
            return
        parts = []
        for s in SIDES:
            state = status.link.get(s, "?")
            bat = status.battery_pct.get(s)
            col = "#2e7d32" if state in ("connected", "streaming") else "#c62828"
            parts.append(f"<b>{s}</b>: link <b style='color:{col}'>{state}</b>, battery "
                         f"{'–' if bat is None else f'{bat:.0f} %'}, lost {status.lost_frames.get(s, 0)} frames, "
                         f"gaps {status.gaps.get(s, 0)}")
        self.link.setText("while recording — " + " &nbsp; ".join(parts))

    # -- assignment ---------------------------------------------------------------------------
    def select_address(self, address: str) -> bool:
        for i, a in enumerate(self.adverts):
            if a.address.upper() == address.upper():
                self.table.selectRow(i)
                return True
        return False

    def _selected(self) -> Any:
        row = self.table.currentRow()
        if not self.table.selectedItems() or not 0 <= row < len(self.adverts):
            self.error.setText("select an insole in the list first (scan if the list is empty)")
            return None
        return self.adverts[row]

    def assign_selected(self, side: str) -> bool:
        self.error.setText("")
        adv = self._selected()
        if adv is None:
            return False
        try:
            self.config.assign(side, adv.address, self.adverts)
        except GaitpfError as exc:
            self.error.setText(str(exc))
            return False
        self._render()
        self.changed.emit()
        return True

    def forget_selected(self) -> None:
        adv = self._selected()
        if adv is not None:
            self.config.forget(adv.address)
            self._render()
            self.changed.emit()
