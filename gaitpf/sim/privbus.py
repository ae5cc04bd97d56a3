"""A private ``dbus-daemon`` that plays the D-Bus *system* bus (no root, no radio).

bleak's BlueZ backend talks to ``org.bluez`` on the system bus, whose address it takes
from ``DBUS_SYSTEM_BUS_ADDRESS``. Starting our own daemon (bus type ``system``) and pointing
that variable at it lets unmodified bleak talk to :mod:`gaitpf.sim.fake_bluez` instead of
bluetoothd. The daemon is started with a parent-death signal, so it never outlives the
process that started it, even when that process is SIGKILLed.

Its socket and configuration live in ``$TMPDIR/gaitpf_bus_<pid>_<random>``, removed on a
normal stop. A SIGKILLed owner cannot remove it, so every start first removes the bus
folders (of this user) whose owner process ``<pid>`` no longer exists (:func:`sweep_stale`).
A folder whose pid was reused by another process stays until that process ends too.

Usage::

    with PrivateSystemBus() as bus:       # sets os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
        ...                               # bus.address, bus.pid
"""
from __future__ import annotations

import atexit
import ctypes
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import weakref

from ..errors import AcquisitionError

__all__ = ["PrivateSystemBus", "private_system_bus", "sweep_stale", "BUS_ENV", "DIR_PREFIX"]

log = logging.getLogger(__name__)

#: The environment variable bleak/dbus-fast read to find the system bus.
BUS_ENV = "DBUS_SYSTEM_BUS_ADDRESS"

_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <keep_umask/>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">33554432</limit>
</busconfig>
"""

_live: "weakref.WeakSet[PrivateSystemBus]" = weakref.WeakSet()

#: Prefix of the per-bus temporary folder, followed by the owner's pid and ``_``.
DIR_PREFIX = "gaitpf_bus_"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def sweep_stale(tmp_dir: str | None = None) -> list[str]:
    """Remove bus folders left by SIGKILLed owners; return the removed paths.

    A folder ``gaitpf_bus_<pid>_*`` in ``tmp_dir`` (default: :func:`tempfile.gettempdir`)
    is removed when it belongs to this user and no process ``<pid>`` exists (its daemon
    died with its owner: parent-death signal). Folders of live processes, of other users
    and names without a pid are left alone.
    """
    base = tmp_dir or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    uid = os.getuid()
    for entry in entries:
        if not entry.name.startswith(DIR_PREFIX):
            continue
        pid_text = entry.name[len(DIR_PREFIX):].split("_", 1)[0]
        if not pid_text.isdigit():
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not entry.is_dir(follow_symlinks=False) or st.st_uid != uid or _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.exists(entry.path):
            removed.append(entry.path)
            log.debug("removed the stale private bus folder %s (owner %s is gone)", entry.path, pid_text)
    return removed


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the child when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


class PrivateSystemBus:
    """Start/stop a private system-type ``dbus-daemon``.

    Parameters
    ----------
    set_env : bool
        Point ``DBUS_SYSTEM_BUS_ADDRESS`` at the new bus while it runs (restored on stop).
    start_timeout_s : float
        How long to wait for the daemon to print its address.
    """

    def __init__(self, *, set_env: bool = True, start_timeout_s: float = 5.0) -> None:
        self.set_env = set_env
        self.start_timeout_s = start_timeout_s
        self.address: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None
        self._old_env: str | None = None
        self._env_set = False

    @property
    def pid(self) -> int | None:
        """Process id of the running ``dbus-daemon`` (None when stopped)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        """Start the daemon and return its address (``unix:path=...``)."""
        if self._proc is not None:
            raise AcquisitionError("private D-Bus already started; stop it before starting again")
        exe = shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
        if not os.path.exists(exe):
            raise AcquisitionError(
                "dbus-daemon not found: install the 'dbus' package (apt-get install dbus) to run "
                "virtual insoles"
            )
        sweep_stale()
        self._tmp = tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}_")
        sock = os.path.join(self._tmp, "system_bus_socket")
        conf = os.path.join(self._tmp, "bus.conf")
        with open(conf, "w", encoding="utf-8") as fh:
            fh.write(_CONF.format(sock=sock))
        self._proc = subprocess.Popen(
            [exe, f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        _live.add(self)
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], self.start_timeout_s)
        line = self._proc.stdout.readline().decode().strip() if ready else ""
        if not line:
            err = b""
            self._kill()
            if self._proc is not None and self._proc.stderr is not None:
                err = self._proc.stderr.read() or b""
            self._cleanup_files()
            self._proc = None
            raise AcquisitionError(
                f"private dbus-daemon ({exe}) did not start within {self.start_timeout_s} s: "
                f"{err.decode(errors='replace').strip() or 'no output'}"
            )
        self.address = line
        if self.set_env:
            self._old_env = os.environ.get(BUS_ENV)
            os.environ[BUS_ENV] = line
            self._env_set = True
        log.debug("private system bus %s (pid %d)", line, self._proc.pid)
        return line

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(3.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3.0)

    def _cleanup_files(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def kill_daemon(self) -> None:
        """SIGKILL the daemon (fault injection: the whole bus dies). ``stop()`` still cleans up."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(3.0)

    def stop(self) -> None:
        """Stop the daemon, restore the environment, remove the socket directory (idempotent)."""
        try:
            self._kill()
        finally:
            if self._proc is not None:
                for stream in (self._proc.stdout, self._proc.stderr):
                    if stream is not None:
                        stream.close()
            self._proc = None
            self._cleanup_files()
            if self._env_set:
                if os.environ.get(BUS_ENV) == self.address:
                    if self._old_env is None:
                        os.environ.pop(BUS_ENV, None)
                    else:
                        os.environ[BUS_ENV] = self._old_env
                self._env_set = False
            _live.discard(self)

    def __enter__(self) -> "PrivateSystemBus":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:  # last resort; normal code calls stop()
        try:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
        except Exception:
            pass


def private_system_bus(*, set_env: bool = True) -> PrivateSystemBus:
    """Return a :class:`PrivateSystemBus` to use as a context manager."""
    return PrivateSystemBus(set_env=set_env)


@atexit.register
def _stop_all() -> None:
    for bus in list(_live):
        try:
            bus.stop()
        except Exception:
            pass

