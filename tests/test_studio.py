"""``gaitpf studio`` (headless, pytest-qt offscreen): patients, visit form, devices, trial naming.

The recording paths (virtual insoles through the BLE path, link drop, disk nearly full)
are in ``test_studio_recording.py``; the autopilot visits (offscreen and under Xvfb with
the real xcb plugin) in ``test_cli_studio.py``.
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from types import SimpleNamespace

import pytest

from gaitpf.errors import InputError
from gaitpf.sessions.metadata import read_file_metadata
from gaitpf.studio.devices import DeviceAssignmentError, DeviceConfig
from gaitpf.studio.patients import PatientStore, id_warnings

from session_fixtures import write_trial


@pytest.mark.parametrize("sid, words", [("PF001", []), ("S-17.b", []), ("JaneDoe", ["name"]),
                                        ("doe_j", ["name"]), ("PF19800312", ["date"]), ("K-12.03.1971", ["date"]),
                                        ("PF-120-2024", []), ("P20991231", [])])
def test_id_warnings_name_and_date_of_birth(sid, words):
    found = id_warnings(sid)
    assert len(found) == len(words)
    for w, text in zip(words, found):
        assert w in text


def test_new_patient_form_validates_and_warns(qtbot, tmp_path):
    from gaitpf.studio.patients_view import PatientsView

    store = PatientStore(tmp_path)
    view = PatientsView(store)
    qtbot.addWidget(view)
    view.new_id.setText("JaneDoe")
    assert "may be a name" in view.id_warning.text()
    view.new_id.setText("Jane Doe")
    assert not view.create_patient() and "not a pseudonymous code" in view.error.text()
    view.new_id.setText("PF007")
    assert view.id_warning.text() == ""
    for mass, msg in (("heavy", "not a number"), ("400", "outside")):
        view.new_mass.setText(mass)
        assert not view.create_patient() and msg in view.error.text()
    view.new_mass.setText("72,5")
    view.new_side.setCurrentText("right")
    with qtbot.waitSignal(view.visit_requested) as sig:
        assert view.create_patient()
    assert sig.args == ["PF007"]
    assert json.loads((tmp_path / "PF007" / "patient.json").read_text()) == {"affected_side": "right",
                                                                           "body_mass_kg": 72.5}
    assert [p.subject_id for p in store.patients()] == ["PF007"]
    view.new_id.setText("pf007")                          # ids differing in case only are the same patient
    assert not view.create_patient() and "exists already" in view.error.text()
    write_trial(tmp_path, "PF010", "S1", "T1", asym=5.0, seed=1, duration_s=14.0, metadata={"affected_side": "left"})
    view.refresh()
    assert [p.subject_id for p in view.rows] == ["PF007", "PF010"]   # catalog subjects and new patients
    view.search.setText("010")
    assert [p.subject_id for p in view.rows] == ["PF010"] and view.rows[0].sessions == ["S1"]


def test_visit_form_validation_and_metadata(qtbot, tmp_path):
    from gaitpf.studio.visit_form import VisitForm

    store = PatientStore(tmp_path)
    store.create_patient("PF020", affected_side="left")
    form = VisitForm(store)
    qtbot.addWidget(form)
    assert not form.save() and "choose a patient" in form.error.text()
    form.start_visit("PF020", affected_side="left")
    assert form.session == "S1" and form.session_no.text() == "1" and len(form.date.text()) == 10
    assert not form.save() and "pain score is required" in form.error.text()
    for field, value, msg in (("pain", "11", "0–10"), ("pain", "a lot", "not a number"),
                              ("date", "2024-13-40", "YYYY-MM-DD"), ("session_no", "-1", "≥ 0")):
        form.start_visit("PF020")
        form.pain.setText("4")
        getattr(form, field).setText(value)
        assert not form.save(), (field, value)
        assert msg in form.error.text()
    form.start_visit("PF020")
    form.pain.setText("4,5")
    form.treatment.setText("insoles")
    form.condition.setText("own shoes")
    with qtbot.waitSignal(form.saved) as sig:
        assert form.save()
    assert sig.args[0]["pain_vas"] == 4.5 and sig.args[0]["session_no"] == 1
    assert json.loads((tmp_path / "PF020" / "S1" / "visit.json").read_text())["treatment"] == "insoles"
    # a trial recorded before the form was saved gets the metadata (session set)
    path = write_trial(tmp_path, "PF020", "S1", "T1", asym=0.0, seed=2, duration_s=14.0)
    form.pain.setText("3")
    assert form.save()
    assert read_file_metadata(path)["pain_vas"] == 3.0 and read_file_metadata(path)["condition"] == "own shoes"
    # the next visit is pre-filled from this one: only the pain score is left to type
    form.start_visit("PF020")
    assert (form.session, form.session_no.text(), form.treatment.text(), form.condition.text(),
            form.pain.text()) == ("S2", "2", "insoles", "own shoes", "")


def _adv(address, side):
    return SimpleNamespace(address=address, side=side, serial="0001", rssi=-60, battery_pct=80, name="gaitpf")


def test_device_assignment_errors_and_remembered_allow_list(qtbot, tmp_path):
    from gaitpf.studio.devices_view import DevicesView

    ads = [_adv("AA:00:00:00:00:01", "left"), _adv("AA:00:00:00:00:02", "right"), _adv("AA:00:00:00:00:03", None)]
    cfg = DeviceConfig(tmp_path)
    with pytest.raises(DeviceAssignmentError, match="assign the left and right insole"):
        cfg.ready()
    with pytest.raises(DeviceAssignmentError, match="is a right insole"):
        cfg.assign("left", "aa:00:00:00:00:02", ads)
    with pytest.raises(DeviceAssignmentError, match="not found in the last scan"):
        cfg.assign("left", "BB:00:00:00:00:09", ads)
    with pytest.raises(DeviceAssignmentError, match="left or right"):
        cfg.assign("middle", "AA:00:00:00:00:01", ads)
    cfg.assign("left", "AA:00:00:00:00:03", ads)          # no advertised side: any foot
    with pytest.raises(DeviceAssignmentError, match="already assigned to the left foot"):
        cfg.assign("right", "AA:00:00:00:00:03", ads)
    assert isinstance(DeviceAssignmentError("x"), InputError)
    view = DevicesView(cfg, service=None)
    qtbot.addWidget(view)
    view.adverts = ads
    view._render()
    assert not view.assign_selected("right") and "select an insole" in view.error.text()
    view.select_address("AA:00:00:00:00:01")
    assert not view.assign_selected("right") and "is a left insole" in view.error.text()
    assert view.assign_selected("left")
    view.select_address("AA:00:00:00:00:02")
    with qtbot.waitSignal(view.changed):
        assert view.assign_selected("right")
    assert view.error.text() == "" and "AA:00:00:00:00:02" in view.assigned.text()
    again = DeviceConfig(tmp_path)                        # remembered for the next visit
    assert again.ready() == ("AA:00:00:00:00:01", "AA:00:00:00:00:02")
    assert again.allow == {"AA:00:00:00:00:01", "AA:00:00:00:00:02", "AA:00:00:00:00:03"}
    again.forget("AA:00:00:00:00:02")
    with pytest.raises(DeviceAssignmentError, match="assign the right insole"):
        DeviceConfig(tmp_path).ready()


def test_trials_are_named_automatically_and_discarded_ones_kept(tmp_path):
    store = PatientStore(tmp_path)
    assert store.next_trial("PF030", "S1", create=False)[0] == "T1" and not (tmp_path / "PF030").exists()
    name, path = store.next_trial("PF030", "S1")
    assert (name, path) == ("T1", tmp_path / "PF030" / "S1" / "T1.h5")
    write_trial(tmp_path, "PF030", "S1", "T1", asym=0.0, seed=3, duration_s=14.0)
    write_trial(tmp_path, "PF030", "S1", "T2", asym=0.0, seed=4, duration_s=14.0)
    moved = store.discard_trial(tmp_path / "PF030" / "S1" / "T2.h5")
    assert moved.exists() and moved.parent.name == ".discarded"
    assert store.next_trial("PF030", "S1")[0] == "T3"     # a discarded name is never reused
    assert [p.name for p in store.trial_files("PF030", "S1")] == ["T1.h5"]
    assert store.patient("PF030").n_trials == 1           # the catalog does not see discarded trials
    assert store.next_session("PF030") == ("S2", 2)
    assert store.body_mass_kg("PF030") == 70.0            # from the recordings (the virtual subject)
    store.create_patient("PF031", affected_side="none", body_mass_kg=64)
    assert store.body_mass_kg("PF031") == 64.0


def test_cli_without_a_display_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    from gaitpf.cli.main import main

    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["studio", "--root", str(tmp_path)])
    assert exc.value.code == 2 and "no display" in capsys.readouterr().err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    with pytest.raises(SystemExit) as exc:
        main(["studio", "--root", str(tmp_path), "--screenshots", str(tmp_path / "s")])
    assert exc.value.code == 2 and "only apply with --autopilot" in capsys.readouterr().err
