"""The studio's main window: one tab per step of a visit, and the application wiring.

Patients → Visit → Devices → Record → Trial check → Progress. Each step moves on by
itself (a saved visit goes to Record, or to Devices when no insole is assigned; a stopped
trial goes to its check; *finish* goes to Progress), so a returning patient's trial takes
five clicks: the patient, *New visit*, *Save visit* (after typing the pain score),
*Start*, *Stop*.

Threads: Qt owns the main thread; acquisition and the recorder run in the
:class:`~gaitpf.studio.devices.DeviceService` thread, progress and report in a worker.
Closing the window stops a running recording cleanly (the file is closed) before the
virtual insoles and the acquisition loop stop.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pyqtgraph.Qt import QtCore, QtWidgets

from ..errors import GaitpfError, InputError
from .check_view import CheckView
from .devices import DeviceConfig, DeviceService
from .devices_view import DevicesView
from .patients import PatientStore
from .patients_view import PatientsView
from .progress_view import ProgressView
from .record_view import RecordView
from .recording import TrialRecording
from .trialcheck import check_trial
from .visit_form import VisitForm

__all__ = ["StudioWindow", "TABS"]

log = logging.getLogger(__name__)

TABS = ("patients", "visit", "devices", "record", "check", "progress")
_TAB_TITLES = ("1 Patients", "2 Visit", "3 Devices", "4 Record", "5 Trial check", "6 Progress")


class StudioWindow(QtWidgets.QMainWindow):
    """The clinician's workstation (see the module docstring).

    Parameters
    ----------
    root : Path
        Recordings root.
    service : DeviceService
        Started acquisition thread (virtual insoles with ``--simulate``).
    progress_params : BootstrapParams, optional
    min_free_bytes : int, optional
        Disk reserve given to the recorder.
    """

    def __init__(self, root: Path, service: DeviceService, *, progress_params: Any = None,
                 min_free_bytes: int | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.store = PatientStore(self.root)
        self.config = DeviceConfig(self.root)
        self.service = service
        self.min_free_bytes = min_free_bytes
        self.subject_id: str | None = None
        self.visit_meta: dict[str, Any] | None = None
        self.last_trial: TrialRecording | None = None
        self.last_check: Any = None
        self.setWindowTitle(f"gaitpf studio — {self.root}" + (" (virtual insoles)" if service.simulate else ""))
        self.resize(1280, 860)
        central = QtWidgets.QWidget()
        self.setCentralWidget(central)
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 6)
        self.header = QtWidgets.QLabel("")
        self.header.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.header.setStyleSheet("QLabel { font-size: 14px; padding: 6px; background: #e8eef6; border-radius: 4px; }")
        outer.addWidget(self.header)
        self.tabs = QtWidgets.QTabWidget()
        outer.addWidget(self.tabs, 1)
        self.patients = PatientsView(self.store)
        self.visit = VisitForm(self.store)
        self.devices = DevicesView(self.config, service)
        self.record = RecordView(self._make_trial)
        self.check = CheckView()
        self.progress = ProgressView(self.root, params=progress_params)
        for w, title in zip((self.patients, self.visit, self.devices, self.record, self.check, self.progress),
                            _TAB_TITLES):
            self.tabs.addTab(w, title)
        self.patients.visit_requested.connect(self.start_visit)
        self.visit.saved.connect(self._visit_saved)
        self.devices.changed.connect(self._devices_changed)
        self.record.trial_finished.connect(self._trial_finished)
        self.check.decided.connect(self._decided)
        self.link_timer = QtCore.QTimer(self)
        self.link_timer.timeout.connect(self._show_link)
        self.link_timer.start(500)
        self.unclean: list[Path] = []
        self._repair_connected = False
        self._offer_repair()
        self._update_header()
        self._gate()

    # -- navigation ------------------------------------------------------------------------
    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    def current_tab(self) -> str:
        return TABS[self.tabs.currentIndex()]

    def _gate(self) -> None:
        has_patient = self.subject_id is not None
        for name, on in (("visit", has_patient), ("record", self.visit_meta is not None),
                         ("check", self.last_check is not None), ("progress", has_patient)):
            self.tabs.setTabEnabled(TABS.index(name), on)

    def _update_header(self) -> None:
        parts = [f"<b>patient</b> {self.subject_id or '–'}"]
        if self.visit_meta is not None:
            m = self.visit_meta
            parts.append(f"<b>visit</b> {self.visit.session} (session {m.get('session_no')}, {m.get('date')}, "
                         f"pain {m.get('pain_vas', '–')}/10)")
        dev = " ".join(f"{s[0].upper()} {'✓' if a else '✗'}" for s, a in self.config.assigned.items())
        parts.append(f"<b>insoles</b> {dev}")
        parts.append(f"<b>recordings</b> {self.root}")
        self.header.setText(" &nbsp;│&nbsp; ".join(parts))

    def _show_link(self) -> None:
        t = self.record.trial
        self.devices.show_link(t.status() if t is not None and not t.finished else None)

    def _offer_repair(self) -> None:
        """Files left open by a killed recorder: say so (``gaitpf repair`` makes them normal files)."""
        try:
            bad = self.store.unclean_files()
        except GaitpfError:
            return
        self.unclean = bad
        if bad:
            self.patients.error.setText(
                f"{len(bad)} recording(s) were not closed cleanly (a crash?): the data up to the last flush is "
                f"there; repair makes them normal files ({', '.join(str(p) for p in bad[:3])}"
                + (" …)" if len(bad) > 3 else ")"))
            self.patients.repair_button.setText(f"Repair {len(bad)} recording(s)")
            self.patients.repair_button.setVisible(True)
            if not self._repair_connected:
                self.patients.repair_button.clicked.connect(self.repair_unclean)
                self._repair_connected = True

    def repair_unclean(self) -> list[Any]:
        """Repair the files left open by a killed recorder (:func:`gaitpf.recording.repair.repair`)."""
        from ..recording.repair import repair

        reports, errors = [], []
        for p in self.unclean:
            try:
                reports.append(repair(p))
            except GaitpfError as exc:
                errors.append(str(exc))
        self.patients.repair_button.setVisible(False)
        self.patients.error.setText("; ".join(errors) if errors else "")
        self._offer_repair()
        self.patients.refresh()
        return reports

    # -- steps -------------------------------------------------------------------------------
    def start_visit(self, subject_id: str) -> None:
        if self.record.recording:
            return
        pat = next((p for p in self.store.patients() if p.subject_id == subject_id), None)
        self.subject_id = subject_id
        self.visit_meta = None
        self.last_check = None
        self.visit.start_visit(subject_id, affected_side=pat.affected_side if pat else None)
        self.record.set_idle("")
        self._update_header()
        self._gate()
        self.show_tab("visit")

    def _visit_saved(self, meta: dict) -> None:
        self.visit_meta = dict(meta)
        self._update_header()
        self._gate()
        self._set_next_trial_label()
        try:
            self.config.ready()
        except InputError:
            self.show_tab("devices")
            if not self.devices.adverts:
                self.devices.start_scan()
            return
        self.show_tab("record")

    def _devices_changed(self) -> None:
        self._update_header()
        if self.visit_meta is not None and self.current_tab() == "devices":
            try:
                self.config.ready()
            except InputError:
                return
            self.show_tab("record")

    def _set_next_trial_label(self) -> None:
        if self.subject_id and self.visit.session:
            d = self.store.session_dir(self.subject_id, self.visit.session)
            self.record.set_idle(f"next trial: {self._next_trial_name()} → {d}/  — press Start or R")

    def _next_trial_name(self) -> str:
        return self.store.next_trial(self.subject_id, self.visit.session, create=False)[0]

    def _make_trial(self, auto_stop: int | None) -> TrialRecording:
        if self.subject_id is None or self.visit_meta is None:
            raise InputError("choose a patient and save the visit form first")
        left, right = self.config.ready()
        trial, path = self.store.next_trial(self.subject_id, self.visit.session)
        return TrialRecording(self.service, path, left=left, right=right, subject_id=self.subject_id,
                              session=self.visit.session, trial=trial, metadata=self.visit_meta,
                              body_mass_kg=self.store.body_mass_kg(self.subject_id), allow=self.config.allow,
                              auto_stop_strides=auto_stop, min_free_bytes=self.min_free_bytes)

    def _trial_finished(self, t: TrialRecording) -> None:
        self.last_trial = t
        if not t.path.exists():
            self.record.error.setText(f"{t.error or 'no file was written'}; nothing to check")
            return
        chk = check_trial(t.path, stop_error=t.error)
        self.last_check = chk
        self.store.log_trial(t.subject_id, t.session, t.trial, {
            "check": chk.as_dict(), "stop_reason": t.stop_reason, "marks": t.marks, "error": t.error})
        self.check.show_check(chk, trial=t.trial)
        self._gate()
        self.show_tab("check")

    def _decided(self, what: str) -> None:
        t = self.last_trial
        if t is None:
            return
        if what in ("discard", "redo"):
            self.store.discard_trial(t.path)
        self.store.log_trial(t.subject_id, t.session, t.trial, {"decision": "discard" if what == "redo" else what})
        self._set_next_trial_label()
        if what == "finish":
            self.show_tab("progress")
            self.progress.load(t.subject_id)
        else:
            self.show_tab("record")
            if what == "redo":
                self.record.start()

    # -- closing -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop a running recording (file closed cleanly), then stop acquisition."""
        if self.record.trial is not None and not self.record.trial.finished:
            self.record.trial.stop("studio closed")
            self.record.trial.wait(30.0)
        self.service.stop()

    def closeEvent(self, ev: Any) -> None:  # noqa: N802 - Qt API
        self.record.timer.stop()
        self.link_timer.stop()
        self.shutdown()
        super().closeEvent(ev)


def make_app() -> Any:
    os.environ.setdefault("QT_API", "pyside6")
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, background="w", foreground="k", imageAxisOrder="row-major")
    return pg.mkQApp("gaitpf studio")
