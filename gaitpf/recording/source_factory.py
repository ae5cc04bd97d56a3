"""Build the live source a command asked for (``gaitpf record`` / ``gaitpf live``).

One place turns the source options (``--device-type``, ``--moticon-udp``, ``--lsl-in``,
``--simulate``) into a :class:`~gaitpf.acquisition.source.FrameSource`, so every command
records every device family the same way:

=====================  ===========================================  =============================
choice                 source                                       virtual twin (``--simulate``)
=====================  ===========================================  =============================
``gaitpf`` (default)   :class:`~gaitpf.acquisition.ble.BleInsoleSource`  :mod:`gaitpf.sim.virtual_insole`
``orphe``              :class:`~gaitpf.acquisition.orphe.OrpheSource`  :mod:`gaitpf.sim.virtual_orphe`
``--moticon-udp``      :class:`~gaitpf.acquisition.moticon_udp.MoticonUdpSource`  :mod:`gaitpf.sim.moticon_sender`
``--lsl-in``           :class:`~gaitpf.acquisition.lsl_in.LslInletSource`  any pylsl outlet
=====================  ===========================================  =============================

:meth:`SourceChoice.check` refuses impossible combinations with one line before anything
is opened. It lives in the recording layer because it joins the source layers (acquisition,
sim, and the io layer's OpenGo sensor layout) for the recorder.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

__all__ = ["DEVICE_TYPES", "SourceChoice", "open_source"]

#: BLE device families (``--device-type``)
DEVICE_TYPES = ("gaitpf", "orphe")


@dataclass(frozen=True)
class SourceChoice:
    """What to record from (see the module docstring)."""

    device_type: str = "gaitpf"
    moticon_udp: str | None = None
    lsl_in: str | None = None
    lsl_channels: str | None = None

    @property
    def kind(self) -> str:
        if self.moticon_udp:
            return "moticon-udp"
        if self.lsl_in:
            return "lsl"
        return self.device_type

    @property
    def needs_addresses(self) -> bool:
        """Whether --left/--right (BLE addresses) are needed without --simulate."""
        return self.kind in DEVICE_TYPES

    def check(self, *, simulate: bool, left: str | None, right: str | None) -> None:
        """One-line InputError for an impossible combination."""
        if self.device_type not in DEVICE_TYPES:
            raise InputError(f"unknown device type {self.device_type!r}; use one of {', '.join(DEVICE_TYPES)}")
        picked = [n for n, on in (("--moticon-udp", bool(self.moticon_udp)), ("--lsl-in", bool(self.lsl_in)),
                                  ("--device-type orphe", self.device_type != "gaitpf")) if on]
        if len(picked) > 1:
            raise InputError(f"choose one source: {' or '.join(picked)}")
        if self.kind in ("moticon-udp", "lsl") and (simulate or left or right):
            raise InputError(f"{picked[0]} records a network stream: --simulate, --left and --right do not apply")
        if self.lsl_channels and not self.lsl_in:
            raise InputError("--lsl-channels only applies with --lsl-in")
        if self.kind == "moticon-udp":
            from ..acquisition.moticon_udp import parse_host_port

            parse_host_port(self.moticon_udp)


async def open_source(stack: contextlib.AsyncExitStack, choice: SourceChoice, *, left: str | None,
                      right: str | None, allow: tuple[str, ...] = (), rate_hz: int | None = None,
                      simulate: bool = False, speed: float = 1.0, gait: Any = None, seed: int = 0,
                      scan_timeout_s: float = 10.0) -> tuple[Any, dict[str, Any], Any]:
    """Start the virtual twin if simulating and build the source (not yet entered).

    Returns ``(source, source_info, harness_or_None)``; the harness lives on ``stack``.
    """
    info: dict[str, Any] = {"mode": "simulate" if simulate else choice.kind, "device_type": choice.kind}
    harness = None
    if choice.kind == "moticon-udp":
        from ..acquisition.moticon_udp import MoticonUdpSource, parse_host_port

        from ..io.vendor_moticon import moticon_layout

        host, port = parse_host_port(choice.moticon_udp)
        info["listen"] = f"{host}:{port}"
        return (MoticonUdpSource(host, port, rate_hz=rate_hz, first_timeout_s=scan_timeout_s, layout=moticon_layout(None)),
                info, None)
    if choice.kind == "lsl":
        from ..acquisition.lsl_in import LslInletSource

        info["lsl_stream"] = choice.lsl_in
        return LslInletSource(choice.lsl_in, channels=choice.lsl_channels, timeout_s=scan_timeout_s), info, None
    if simulate:
        from ..sim.harness import VirtualInsoleHarness

        kw = {} if choice.kind == "gaitpf" else {"device_type": choice.kind}
        harness = await stack.enter_async_context(
            VirtualInsoleHarness(gait, rate_hz=float(rate_hz or gait.sampling_rate_hz), seed=seed, speed=speed, **kw))
        left, right = left or harness.left_address, right or harness.right_address
        info["simulate"] = {"speed": speed, "seed": seed, "gait": gait.as_dict()}
    if left is None or right is None:
        raise InputError("give both --left and --right insole addresses (see `gaitpf scan`), or --simulate")
    info["addresses"] = {"left": left.upper(), "right": right.upper()}
    if choice.kind == "orphe":
        from ..acquisition.orphe import OrpheSource

        if rate_hz not in (None, 100, 200):
            raise InputError(f"ORPHE INSOLEs stream at 100 Hz (mode 4) or 200 Hz (mode 3), not --rate {rate_hz}")
        source = OrpheSource([left, right], expect_sides={left: "left", right: "right"},
                             mode=3 if rate_hz == 200 else 4, scan_timeout_s=scan_timeout_s, time_scale=speed)
        return source, info, harness
    from ..acquisition.ble import BleInsoleSource

    allow_list = set(allow) if allow else {left, right}
    source = BleInsoleSource(left, right, allow=allow_list, rate_hz=rate_hz, time_scale=speed,
                             scan_timeout_s=scan_timeout_s)
    return source, info, harness
