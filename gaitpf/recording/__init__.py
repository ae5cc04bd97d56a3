"""The recording layer's live side: a frame source into a crash-safe SWMR HDF5 file.

* :mod:`.recorder` — :class:`~gaitpf.recording.recorder.Recorder`: consumes any
  :class:`~gaitpf.acquisition.source.FrameSource` and hands blocks to a writer thread.
* :mod:`.recorder_status` — the per-foot frame checks (duplicates dropped, gaps and link
  changes annotated) and the status/result records the recorder keeps.
* :mod:`.recorder_writer` — the writer thread (block appends, 0.5 s flush grid, disk-space
  guard) and the offline clock re-alignment at a clean stop.
* :mod:`.replay` — a finished file (or the gait model) played back as a frame source.
* :mod:`.repair` — turn a file left open by a killed recorder into a normal file (under
  the recording's lock, validated first, swapped in atomically); :mod:`.repair_source`
  reads the damaged file (fail-fast SWMR open, truncated files, leftovers of a killed repair).

One writer per recording: the recorder and repair hold the sidecar lock of
:mod:`gaitpf.io.filelock` while they write a file.

It sits above the sources (``gaitpf.acquisition``, ``gaitpf.sim``) and beside the file
formats (``gaitpf.io``); the analysis core never imports it.
"""
