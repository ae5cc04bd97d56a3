"""Virtual insoles: a parametric gait model, fake BlueZ and virtual BLE insole devices.

:mod:`gaitpf.sim.gait_model` builds the gait events (initial contact / toe-off per foot)
and renders per-sensor plantar force from them (:mod:`gaitpf.sim.pressure`), with exact
ground truth, so recording, the live view, tests, benchmarks and the demo run without
hardware. Virtual twins of the other sources: :mod:`gaitpf.sim.virtual_orphe` (ORPHE
INSOLEs on the fake BlueZ) and :mod:`gaitpf.sim.moticon_sender` (an OpenGo export replayed
as the UDP live stream).
"""
