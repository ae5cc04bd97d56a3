"""Record one trial from a chosen source until its duration, Ctrl-C or SIGTERM.

:func:`run_record` is the library side of ``gaitpf record`` (and of the demo's BLE path):
it opens the source (real or virtual gaitpf insoles, or another family through
:func:`gaitpf.recording.source_factory.open_source`), runs a
:class:`gaitpf.recording.recorder.Recorder` on it, and turns SIGINT/SIGTERM into a clean
stop (the file is closed, never half-written). Before the recorder exists a signal
cancels the run and surfaces as ``KeyboardInterrupt``.
"""
from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Any, Callable

__all__ = ["run_record"]


async def _drops_when_streaming(recorder: Any, harness: Any, drops: list[tuple[str, float, float]]) -> None:
    """Test hook: drop links ``(side, after_s, for_s)`` counted from the first frame received."""
    while sum(recorder.status().frames.values()) == 0:
        await asyncio.sleep(0.02)
    t0 = time.monotonic()
    for side, after_s, for_s in sorted(drops, key=lambda d: d[1]):
        await asyncio.sleep(max(0.0, t0 + after_s - time.monotonic()))
        await harness.drop_link(side, for_s=for_s)


async def run_record(*, left: str | None, right: str | None, output: Path, subject_id: str, session: str,
                     trial: str, duration_s: float | None, allow: tuple[str, ...], rate_hz: int | None,
                     body_mass_kg: float | None, flush_interval_s: float, simulate: bool, speed: float,
                     gait: Any = None, seed: int = 0, sim_drops: list[tuple[str, float, float]] | None = None,
                     status: Callable[[Any], None] | None = None, scan_timeout_s: float = 10.0,
                     min_free_bytes: int | None = None, overwrite: bool = False, source_choice: Any = None,
                     wrap_source: Callable[[Any, float | None], tuple[Any, dict[str, Any]]] | None = None) -> Any:
    """Record (real or virtual insoles) to ``output``; returns the :class:`RecordingResult`.

    ``output`` must not hold anything unless ``overwrite`` (checked before any insole is
    touched, and again under the recording lock); a file another process is recording to
    (or repairing) is refused either way. ``source_choice``
    (:class:`gaitpf.recording.source_factory.SourceChoice`) selects another device family or
    stream; ``wrap_source(source, body_mass_kg) -> (source, info)`` wraps the source (the CLI's
    ``--lsl-out`` publisher; its info is stored as ``source_info["lsl_out"]``).
    """
    from ..acquisition.ble import BleInsoleSource
    from .recorder import Recorder, check_writable

    check_writable(output, overwrite=overwrite)           # before any insole is touched
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"recorder": None, "stop": False}
    main_task = asyncio.current_task()

    def on_signal() -> None:
        if state["recorder"] is not None:
            state["recorder"].request_stop("interrupted")
        elif main_task is not None:
            state["stop"] = True
            main_task.cancel()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        async with contextlib.AsyncExitStack() as stack:
            harness = None
            info: dict[str, Any] = {"mode": "simulate" if simulate else "ble"}
            if source_choice is not None and source_choice.kind != "gaitpf":
                from .source_factory import open_source

                source, info, harness = await open_source(
                    stack, source_choice, left=left, right=right, allow=allow, rate_hz=rate_hz, simulate=simulate,
                    speed=speed, gait=gait, seed=seed, scan_timeout_s=scan_timeout_s)
            elif simulate:
                from ..sim.harness import VirtualInsoleHarness

                harness = await stack.enter_async_context(
                    VirtualInsoleHarness(gait, rate_hz=float(rate_hz or gait.sampling_rate_hz), seed=seed,
                                         speed=speed))
                left = left or harness.left_address
                right = right or harness.right_address
                info["simulate"] = {"speed": speed, "seed": seed, "gait": gait.as_dict()}
            if source_choice is None or source_choice.kind == "gaitpf":
                assert left is not None and right is not None
                allow_list = set(allow) if allow else {left, right}
                source = BleInsoleSource(left, right, allow=allow_list, rate_hz=rate_hz, time_scale=speed,
                                         scan_timeout_s=scan_timeout_s)
                info["addresses"] = {"left": left.upper(), "right": right.upper()}
            if wrap_source is not None:
                source, info["lsl_out"] = wrap_source(source, body_mass_kg)
            recorder = Recorder(source, output, subject_id=subject_id, session=session, trial=trial,
                                flush_interval_s=flush_interval_s,
                                duration_s=None if duration_s is None else duration_s / speed,
                                status_callback=status, body_mass_kg=body_mass_kg, source_info=info,
                                overwrite=overwrite,
                                **({} if min_free_bytes is None else {"min_free_bytes": min_free_bytes}))
            state["recorder"] = recorder
            extra = []
            if harness is not None and sim_drops:
                extra.append(asyncio.create_task(_drops_when_streaming(recorder, harness, sim_drops)))
            try:
                return await recorder.run()
            finally:
                for t in extra:
                    t.cancel()
                await asyncio.gather(*extra, return_exceptions=True)
    except asyncio.CancelledError:
        if state["stop"]:
            raise KeyboardInterrupt from None
        raise
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
