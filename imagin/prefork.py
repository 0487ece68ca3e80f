"""``imagin serve --processes N``: one listening socket, N server processes sharing it.

Python runs one thread at a time per process, so a single waitress process uses one
core however many threads it has; more threads only add context switches. The
supervisor binds the socket once, then forks N children that each run a server on
it (the kernel hands every new connection to one of them). It forks again for a
child that dies, and on SIGTERM or SIGINT stops them all and waits for them.

The supervisor itself starts no thread and opens no database connection before
forking: a child inherits only the socket and the application object, and
disposes of the database pool it was copied with (``imagin.db.after_fork``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

# How long the children get to finish their requests after SIGTERM, before SIGKILL.
STOP_TIMEOUT = 25.0
# A child that dies younger than this is restarted after a growing delay, so a
# process that cannot start (database down, say) does not fork in a loop.
YOUNG = 2.0
MAX_DELAY = 30.0
_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
_PR_SET_PDEATHSIG = 1


def default_processes() -> int:
    """One process per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The listening socket all children share (bound once, before any fork)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


@dataclass
class Supervisor:
    """Forks ``processes`` children running ``serve(slot)`` and keeps them running."""

    processes: int
    serve: Callable[[int], None]
    log: Callable[[str], None] = print
    children: dict[int, int] = field(default_factory=dict)  # pid -> slot
    _born: dict[int, float] = field(default_factory=dict)  # slot -> monotonic time
    _delay: dict[int, float] = field(default_factory=dict)  # slot -> next restart delay
    _due: dict[int, float] = field(default_factory=dict)  # slot -> when to fork it again
    stopping: bool = False

    def run(self) -> int:
        """Fork the children, then supervise until SIGTERM/SIGINT; returns the exit code."""
        # The signals are taken synchronously (sigtimedwait), never by a handler
        # interrupting the loop halfway; SIGCHLD needs a handler to be delivered at all.
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            for slot in range(self.processes):
                self._fork(slot)
            while not self.stopping:
                timeout = self._next_timeout()
                info = signal.sigtimedwait(_SIGNALS, timeout)
                if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
                    self.stopping = True
                self._reap()
                if not self.stopping:
                    self._restart_due()
            self._stop_children()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        return 0

    def _next_timeout(self) -> float:
        if not self._due:
            return 60.0
        return max(0.0, min(self._due.values()) - time.monotonic())

    def _fork(self, slot: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child
            os._exit(_child(slot, parent, self.serve))
        self.children[pid] = slot
        self._born[slot] = time.monotonic()

    def _reap(self) -> None:
        """Collect the children that ended, and plan the restart of each."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = self.children.pop(pid, None)
            if slot is None:
                continue
            if self.stopping:
                continue
            self.log(f"Processus {pid} arrêté ({_describe(status)}) : remplacé.")
            lived = time.monotonic() - self._born.get(slot, 0.0)
            if lived >= YOUNG:
                self._delay[slot] = 0.0
            else:
                self._delay[slot] = min(MAX_DELAY, max(0.5, 2 * self._delay.get(slot, 0.0)))
            self._due[slot] = time.monotonic() + self._delay[slot]

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot, when in sorted(self._due.items()):
            if when <= now:
                del self._due[slot]
                self._fork(slot)

    def _stop_children(self) -> None:
        """SIGTERM to every child, then wait; SIGKILL for those still there after the timeout."""
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.children and time.monotonic() < deadline:
            signal.sigtimedwait({signal.SIGCHLD}, 0.2)
            self._reap()
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self.children.pop(pid, None)


def _child(slot: int, parent: int, serve: Callable[[int], None]) -> int:
    """In the forked child: default signals, die with the supervisor, serve; the exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Ctrl+C reaches the whole process group: the supervisor alone decides, and
    # stops the children with SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    _die_with(parent)
    try:
        serve(slot)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _die_with(parent: int) -> None:
    """A supervisor killed with SIGKILL cannot stop its children: the kernel does it."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl
        os._exit(0)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"code {os.waitstatus_to_exitcode(status)}"
