"""Acquisition from pressure insoles (sources layer).

* :mod:`gaitpf.acquisition.protocol` — the insole's BLE wire protocol ("gaitpf insole
  protocol 1.0", see ``firmware_notes/protocol.md``): UUIDs, advertising data, the identity
  and control characteristics (implemented in ``protocol_messages``, re-exported), and a
  vectorized decoder of data notifications.
* :mod:`gaitpf.acquisition.sequencing` — per-foot loss accounting from sample counters
  (duplicates, late packets, gaps, counter wrap and device resets).
* :mod:`gaitpf.acquisition.clock` — maps each device's sample counter to the common host
  time base (drift and offset from the lower envelope of receive latencies).
* :mod:`gaitpf.acquisition.source` — the source protocol shared by BLE, virtual and replay
  sources.
* Other device families, one module each (virtual twin under :mod:`gaitpf.sim`):
  :mod:`~gaitpf.acquisition.orphe` (ORPHE INSOLE over BLE; wire format in
  :mod:`~gaitpf.acquisition.orphe_protocol`), :mod:`~gaitpf.acquisition.moticon_udp`
  (Moticon OpenGo UDP live stream), :mod:`~gaitpf.acquisition.lsl_in` (Lab Streaming Layer
  inlet; pylsl from the ``lsl`` extra). :mod:`gaitpf.recording.source_factory` builds the
  one a command asks for.

This package imports only numpy (plus bleak in the BLE client modules, pylsl in ``lsl_in``),
:mod:`gaitpf.model` / :mod:`gaitpf.errors` and :mod:`gaitpf.layouts`.
"""
