"""``gaitpf studio``: the clinician's workstation, one window for a whole visit.

Pure-Python parts (no Qt): :mod:`.patients` (patients and visits under the recordings root),
:mod:`.devices` (allow-list, left/right assignment, the acquisition thread),
:mod:`.recording` (one trial recorded by the :class:`~gaitpf.recording.recorder.Recorder`
with a tee to the live buffer), :mod:`.trialcheck` (is the trial good enough?).
Qt parts (imported only by ``gaitpf studio``): :mod:`.app` (main window),
:mod:`.patients_view`, :mod:`.visit_form`, :mod:`.devices_view`, :mod:`.record_view`,
:mod:`.check_view`, :mod:`.progress_view` and :mod:`.autopilot`.

A GUI crash never loses a recording: acquisition and the recorder run in their own thread
(their own asyncio loop) and the recorder's writer thread flushes the SWMR file at least
every 0.25 s whatever the window does; a file left open by a killed process is made a
normal file again by ``gaitpf repair`` (the studio offers it at start).
"""
