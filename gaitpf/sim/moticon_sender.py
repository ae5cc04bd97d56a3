"""Virtual Moticon OpenGo live stream: replay an OpenGo export as UDP datagrams.

The twin of :mod:`gaitpf.acquisition.moticon_udp`. :class:`MoticonUdpSender` takes an OpenGo
export as read by :func:`gaitpf.io.vendor_moticon.read_moticon` (the caller reads it: the io
layer sits above the simulators), rebuilds each frame as the
51-number datagram OpenGo streams (time; per foot acceleration 3, angular rate 3, COP 2,
pressure 16 in N/cm², total force), and sends them over UDP from a background thread, paced
by the export's own times (``speed`` × real time), looping with the time continuing when
``loop`` is set. Frames where one insole did not deliver are skipped (the stream carries both
feet). Fault injection: :meth:`pause` (the stream stops for a while: the watchdog's gap),
``garbage_every`` (every n-th datagram is replaced by a malformed one), ``drop_every`` (every
n-th frame is not sent: lost frames).
"""
from __future__ import annotations

import socket
import threading
import time
import numpy as np

from ..model import SIDES, Recording

__all__ = ["MoticonUdpSender", "datagram_rows"]

_AUX = ("accel_x_g", "accel_y_g", "accel_z_g", "gyro_x_dps", "gyro_y_dps", "gyro_z_dps",
        "vendor_cop_x_norm", "vendor_cop_y_norm")


def datagram_rows(rec: Recording) -> np.ndarray:
    """An OpenGo export's frames (a :class:`Recording` in kPa with the importer's ``aux``) as
    (n, 51) stream rows (time first), both feet present."""
    feet = [rec.feet[s] for s in SIDES]
    t = np.intersect1d(np.round(feet[0].time_s, 6), np.round(feet[1].time_s, 6))
    cols = [t[:, None]]
    for f in feet:
        k = np.searchsorted(np.round(f.time_s, 6), t)
        aux = [np.nan_to_num(f.aux.get(name, np.zeros(f.n_samples))[k]) for name in _AUX]
        force = f.aux.get("vendor_total_force_n")
        cols += [np.column_stack(aux), f.values[k] / 10.0,                       # kPa -> N/cm²
                 (np.zeros(t.size) if force is None else force[k])[:, None]]
    return np.hstack(cols)


class MoticonUdpSender:
    """Send an OpenGo export as a live UDP stream from a thread (``with sender:`` or start/stop)."""

    def __init__(self, export: Recording, host: str = "127.0.0.1", port: int = 8888, *, speed: float = 1.0,
                 loop: bool = True, garbage_every: int = 0, drop_every: int = 0) -> None:
        self.rows = datagram_rows(export)
        self.addr = (host, int(port))
        self.speed, self.loop = float(speed), loop
        self.garbage_every, self.drop_every = int(garbage_every), int(drop_every)
        self.sent = self.garbage_sent = self.dropped = 0
        self.send_log: list[tuple[float, float]] = []     # (stream time, monotonic send time)
        self._stop = threading.Event()
        self._pause_until = 0.0
        self._thread: threading.Thread | None = None

    def pause(self, for_s: float) -> None:
        """Send nothing for ``for_s`` real seconds (the frames of that time are never sent)."""
        self._pause_until = time.monotonic() + for_s

    def start(self) -> "MoticonUdpSender":
        self._thread = threading.Thread(target=self._run, name="gaitpf-moticon-sender", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "MoticonUdpSender":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        rows = self.rows
        period = float(np.median(np.diff(rows[:, 0])))
        span = float(rows[-1, 0] - rows[0, 0]) + period
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0, lap, i, n = time.monotonic(), 0, 0, 0
        try:
            while not self._stop.is_set():
                if i == len(rows):
                    if not self.loop:
                        return
                    i, lap = 0, lap + 1
                row = rows[i].copy()
                row[0] += lap * span
                due = t0 + (row[0] - rows[0, 0]) / self.speed
                wait = due - time.monotonic()
                if wait > 0:
                    self._stop.wait(wait)
                i, n = i + 1, n + 1
                if time.monotonic() < self._pause_until or (self.drop_every and n % self.drop_every == 0):
                    self.dropped += 1
                    continue
                if self.garbage_every and n % self.garbage_every == 0:
                    sock.sendto(b"1.0 2.0 nan" if n % 2 else bytes(range(200, 240)), self.addr)
                    self.garbage_sent += 1
                    continue
                sock.sendto((f"{row[0]:.4f} " + " ".join(f"{v:.6g}" for v in row[1:])).encode("ascii"), self.addr)
                self.send_log.append((float(row[0]), time.monotonic()))
                self.sent += 1
        finally:
            sock.close()
