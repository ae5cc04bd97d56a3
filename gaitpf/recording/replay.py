"""Hardware-free frame sources: replay a finished recording, or stream the gait model.

* :class:`ReplaySource` plays a gaitpf HDF5 recording back as :class:`FrameBlock` objects
  at real time × ``speed`` (the live view's replay mode and the recorder's tests).
* :class:`SimulatedSource` streams :mod:`gaitpf.sim.gait_model` frames in-process, with
  no BLE at all. It exists only to test and benchmark the writer path; ``gaitpf record
  --simulate`` goes through the virtual insoles and the real BLE client instead.

Both follow :class:`gaitpf.acquisition.source.FrameSource`: ``async with src:`` then
``async for item in src``.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterable

import numpy as np

from ..errors import InputError
from ..model import SIDES
from ..acquisition.source import FrameBlock, LinkEvent, SourceStatus

__all__ = ["ReplaySource", "SimulatedSource"]

log = logging.getLogger(__name__)


def _check_speed(speed: float) -> float:
    speed = float(speed)
    if not speed > 0:
        raise InputError(f"replay speed must be > 0 (use inf for as fast as possible), got {speed!r}")
    return speed


async def _pace(t0: float, t_data_s: float, speed: float) -> None:
    """Sleep until ``t_data_s`` of data time has elapsed at ``speed`` × real time."""
    if math.isinf(speed):
        await asyncio.sleep(0)
        return
    delay = t0 + t_data_s / speed - time.monotonic()
    await asyncio.sleep(max(delay, 0.0))


class ReplaySource:
    """Replay a finished gaitpf HDF5 recording as frame blocks.

    Parameters
    ----------
    path : path-like
        A gaitpf HDF5 recording (a file left open by a killed recorder is read in SWMR
        mode).
    speed : float
        Playback speed: 1 = real time, 2 = twice as fast, ``math.inf`` = as fast as
        possible.
    block_s : float
        Data time per yielded block, s (one block per foot per step).

    Notes
    -----
    The frames carry the file's own ``sample_counter``, ``time_s``, ``device_time_s``,
    ``host_time_s`` and ``quality``, so recording a replay reproduces the file's frames.
    """

    def __init__(self, path: str | os.PathLike[str], speed: float = 1.0, *, block_s: float = 0.05) -> None:
        self.path = Path(path)
        self.speed = _check_speed(speed)
        if not block_s > 0:
            raise InputError(f"replay block_s must be > 0, got {block_s!r}")
        self.block_s = float(block_s)
        self.sampling_rate_hz = float("nan")
        self.unit = ""
        self._data: dict[str, dict[str, np.ndarray]] = {}
        self._rec: Any = None
        self._status = SourceStatus()
        self.t0_monotonic: float | None = None

    def _load(self) -> None:
        from ..io.hdf5 import open_hdf5, read_hdf5

        rec = read_hdf5(self.path)
        data: dict[str, dict[str, np.ndarray]] = {}
        with open_hdf5(self.path) as (f, _swmr):
            for side in rec.sides:
                foot = rec.feet[side]
                n = foot.n_samples
                g = f[side]
                d = {
                    "values": np.asarray(foot.values),
                    "sample_counter": np.asarray(foot.sample_counter, dtype=np.int64),
                    "time_s": foot.times_s(),
                    "quality": np.asarray(foot.quality, dtype=np.uint8),
                    "device_time_s": np.asarray(g["device_time_s"][:n], dtype=float),
                    "host_time_s": np.asarray(g["host_time_s"][:n], dtype=float),
                }
                d["device_time_s"] = np.where(np.isfinite(d["device_time_s"]), d["device_time_s"],
                                              d["sample_counter"] / foot.sampling_rate_hz)
                d["host_time_s"] = np.where(np.isfinite(d["host_time_s"]), d["host_time_s"], d["time_s"])
                data[side] = d
        self._rec, self._data = rec, data
        self.sampling_rate_hz = rec.sampling_rate_hz
        self.unit = next(iter(rec.feet.values())).unit

    async def __aenter__(self) -> "ReplaySource":
        await asyncio.to_thread(self._load)
        self.t0_monotonic = time.monotonic()
        for side in self._data:
            self._status.link[side] = "connected"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for side in self._data:
            self._status.link[side] = "disconnected"

    def foot_specs(self) -> dict[str, Any]:
        """Per side: n_sensors, unit, sampling_rate_hz, layout, device (from the file)."""
        if self._rec is None:
            raise InputError(f"{self.path}: enter the replay source (async with) before asking for foot specs")
        return {
            side: {"n_sensors": f.n_sensors, "unit": f.unit, "sampling_rate_hz": f.sampling_rate_hz,
                   "layout": f.layout, "device": {**f.device, "replayed_from": str(self.path)}}
            for side, f in self._rec.feet.items()
        }

    def status(self) -> SourceStatus:
        return self._status

    def __aiter__(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        if self._rec is None:
            raise InputError(f"{self.path}: enter the replay source (async with) before iterating")
        sides = [s for s in SIDES if s in self._data]
        starts = [self._data[s]["time_s"][0] for s in sides if len(self._data[s]["time_s"])]
        if not starts:
            return
        t_first = float(min(starts))
        t_last = float(max(self._data[s]["time_s"][-1] for s in sides if len(self._data[s]["time_s"])))
        pos = {s: 0 for s in sides}
        t0 = time.monotonic()
        k = 1
        while True:
            edge = t_first + k * self.block_s
            await _pace(t0, edge - t_first, self.speed)
            for side in sides:
                d = self._data[side]
                stop = int(np.searchsorted(d["time_s"], edge, side="left"))
                if edge > t_last:
                    stop = len(d["time_s"])
                lo = pos[side]
                if stop > lo:
                    sl = slice(lo, stop)
                    pos[side] = stop
                    self._status.frames[side] += stop - lo
                    yield FrameBlock(side=side, values=d["values"][sl], sample_counter=d["sample_counter"][sl],
                                     device_time_s=d["device_time_s"][sl], host_time_s=d["host_time_s"][sl],
                                     time_s=d["time_s"][sl], quality=d["quality"][sl])
            if edge > t_last:
                return
            k += 1


class SimulatedSource:
    """Stream the virtual gait model in-process, without BLE (writer tests and benchmarks).

    Parameters
    ----------
    params : GaitParams, optional
        Virtual subject and insoles (default: 16 sensors at 100 Hz).
    duration_s : float, optional
        Trial length (None = endless).
    speed : float
        1 = real time, ``math.inf`` = as fast as possible.
    chunk_s : float
        Data time per block (a BLE packet carries a few frames; default 0.05 s).
    drop : iterable of (side, first_idx, n_frames), optional
        Frames to withhold (simulated loss: the recorder must record gaps).
    counter_log : path-like, optional
        After each block, append ``"<monotonic_s> <side> <last_counter>"`` to this file and
        flush it — a record of what was *sent*, for crash tests.
    battery_pct : float
        Battery level reported with every block.
    """

    def __init__(self, params: Any = None, *, duration_s: float | None = None, speed: float = 1.0,
                 chunk_s: float = 0.05, drop: Iterable[tuple[str, int, int]] = (),
                 counter_log: str | os.PathLike[str] | None = None, battery_pct: float = 87.0) -> None:
        from ..sim.gait_model import GaitParams, GaitSimulator

        self.params = params if params is not None else GaitParams()
        self.duration_s = duration_s
        self.speed = _check_speed(speed)
        self._sim = GaitSimulator(self.params, duration_s)
        self.sampling_rate_hz = float(self.params.sampling_rate_hz)
        self.unit = "N"
        self.chunk_samples = max(1, int(round(chunk_s * self.sampling_rate_hz)))
        self._drop = [(s, int(a), int(n)) for s, a, n in drop]
        self.counter_log = Path(counter_log) if counter_log is not None else None
        self.battery_pct = battery_pct
        self._status = SourceStatus()
        self.t0_monotonic: float | None = None
        self._log_fh: Any = None

    async def __aenter__(self) -> "SimulatedSource":
        self.t0_monotonic = time.monotonic()
        if self.counter_log is not None:
            self._log_fh = open(self.counter_log, "a", buffering=1)
        for side in SIDES:
            self._status.link[side] = "connected"
            self._status.battery_pct[side] = self.battery_pct
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        for side in SIDES:
            self._status.link[side] = "disconnected"

    def foot_specs(self) -> dict[str, Any]:
        return {
            side: {"n_sensors": self.params.n_sensors, "unit": "N", "sampling_rate_hz": self.sampling_rate_hz,
                   "layout": self._sim.layouts[side], "device": self._sim.device(side)}
            for side in SIDES
        }

    def status(self) -> SourceStatus:
        return self._status

    def __aiter__(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        return self._iterate()

    def _keep(self, side: str, idx: np.ndarray) -> np.ndarray:
        keep = np.ones(len(idx), bool)
        for s, a, n in self._drop:
            if s == side:
                keep &= ~((idx >= a) & (idx < a + n))
        return keep

    async def _iterate(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        if self.t0_monotonic is None:
            raise InputError("enter the simulated source (async with) before iterating")
        fs = self.sampling_rate_hz
        t0 = self.t0_monotonic
        n_total = self._sim.n_samples
        start = 0
        while n_total is None or start < n_total:
            stop = start + self.chunk_samples if n_total is None else min(start + self.chunk_samples, n_total)
            values = self._sim.render(start, stop)  # cached per rendering block: cheap per chunk
            m = stop - start
            await _pace(t0, stop / fs, self.speed)
            host = time.monotonic() - t0
            idx = np.arange(start, stop, dtype=np.int64)
            times = idx / fs
            start = stop
            for side in SIDES:
                keep = self._keep(side, idx)
                if not keep.any():
                    continue
                n = int(keep.sum())
                self._status.frames[side] += n
                self._status.lost_frames[side] += m - n
                yield FrameBlock(side=side, values=values[side][keep], sample_counter=idx[keep],
                                 device_time_s=times[keep], host_time_s=np.full(n, host),
                                 time_s=times[keep], quality=np.zeros(n, np.uint8),
                                 battery_pct=self.battery_pct)
                if self._log_fh is not None:
                    self._log_fh.write(f"{time.monotonic():.6f} {side} {int(idx[keep][-1])}\n")
