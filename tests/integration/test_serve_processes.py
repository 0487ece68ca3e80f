"""``imagin serve --processes N`` (issue 14, item 4): every core serves the one port.

A real ``imagin serve`` runs as a subprocess. Which process answers is proven from
outside, without anything new in the app: the other children are frozen
(SIGSTOP), so only the one left can accept the connection.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagin.demo import DEMO_PASSWORD
from tests.browserless import Visitor
from tests.conftest import CLAIRE, PAUL
from tests.services import free_port, imagin_command, imagin_environment, start, stop, wait_for


def children(parent: int) -> set[int]:
    """The live processes whose parent is ``parent`` (read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # pid (comm) state ppid …: comm may contain spaces, so split after ")".
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == parent and state != "Z":
                found.add(int(entry.name))
    return found


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@contextlib.contextmanager
def only(serving: int, all_children: set[int]) -> Iterator[None]:
    """Freeze every child but ``serving``: only it can accept connections meanwhile."""
    frozen = all_children - {serving}
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)


def senders(log: Path) -> list[int]:
    """The pids that announced they send the outbox, in order."""
    return [int(pid) for pid in re.findall(r"par ce processus \((\d+)\)", log.read_text())]


class Served:
    def __init__(self, process: subprocess.Popen, port: int, log: Path, outbox: Path):
        self.process, self.port, self.log, self.outbox = process, port, log, outbox
        self.url = f"http://127.0.0.1:{port}"

    def children(self) -> set[int]:
        return children(self.process.pid)

    def healthy(self) -> bool:
        return Visitor(self.url).get("/healthz").status == 200


@contextlib.contextmanager
def serving(database_url: str, folder: Path, processes: int = 2, **settings) -> Iterator[Served]:
    """`imagin serve --processes N` on a free port, stopped at the end."""
    port = free_port()
    settings = {"REQUEST_LOG": False, "MAIL_POLL_SECONDS": 0.5} | settings
    env = imagin_environment(database_url, folder, **settings)
    log = folder / "serve.log"
    process = start(
        imagin_command("serve", "--port", str(port), "--processes", str(processes)),
        log,
        env=env | {"PYTHONUNBUFFERED": "1"},
    )
    server = Served(process, port, log, folder / "outbox")
    # One process serves by itself; several are the supervisor's children.
    forked = processes if processes > 1 else 0

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        return len(server.children()) == forked and server.healthy()

    try:
        wait_for(up, f"imagin serve --processes {processes}")
        yield server
    finally:
        stop(process)


@pytest.fixture
def served(database_url, tmp_path) -> Iterator[Served]:
    with serving(database_url, tmp_path) as server:
        yield server


def test_two_processes_serve_the_port_and_share_the_signed_in_session(served):
    first, second = sorted(served.children())
    visitor = Visitor(served.url)
    # Signed in by the first process…
    with only(first, {first, second}):
        answer = visitor.sign_in(CLAIRE, DEMO_PASSWORD)
        assert answer.status == 303
    # …and recognised by the second: the session lives in the cookie and the database.
    with only(second, {first, second}):
        page = visitor.get(answer.header("Location"))
        assert page.status == 200
        assert "Se déconnecter" in page.text
    assert "Connexion" in Visitor(served.url).get("/intervenant").text


def test_a_process_that_dies_is_replaced_and_the_outbox_still_goes(served):
    pids = served.children()
    wait_for(lambda: len(senders(served.log)) == 1, "the sender's announcement")
    # One process only sends the outbox, and it is one of the two.
    (sender,) = senders(served.log)
    assert sender in pids

    os.kill(sender, signal.SIGKILL)
    survivor = (pids - {sender}).pop()

    def replaced() -> bool:
        now = served.children()
        return len(now) == 2 and sender not in now and survivor in now

    wait_for(replaced, "a new process in place of the killed one")
    (newcomer,) = served.children() - {survivor}
    wait_for(lambda: senders(served.log) == [sender, newcomer], "the newcomer sends the outbox")
    with only(newcomer, {newcomer, survivor}):
        assert served.healthy()
    # A message queued by the other process is sent by the newcomer's sender.
    with only(survivor, {newcomer, survivor}):
        visitor = Visitor(served.url)
        token = visitor.token("/intervenant/mot-de-passe")
        answer = visitor.post("/intervenant/mot-de-passe", {"csrf_token": token, "email": PAUL})
        assert answer.status == 303
    wait_for(lambda: len(list(served.outbox.glob("*.eml"))) == 1, "the password link sent")
    assert PAUL in next(served.outbox.glob("*.eml")).read_text()


@pytest.mark.parametrize("processes", [1, 2])
def test_every_process_has_two_threads_by_default(database_url, tmp_path, processes):
    """Few threads per process, one process or several: more would only switch (GIL)."""
    with serving(database_url, tmp_path, processes=processes) as served:
        assert f"({processes} processus × 2 fils ;" in served.log.read_text()
        assert Visitor(served.url).sign_in(CLAIRE, DEMO_PASSWORD).status == 303


@pytest.mark.parametrize("how", ["SIGTERM to the supervisor", "Ctrl+C (SIGINT to the group)"])
def test_stopping_the_supervisor_stops_every_process(served, how):
    pids = served.children()
    if how.startswith("SIGTERM"):
        served.process.send_signal(signal.SIGTERM)
    else:
        os.killpg(served.process.pid, signal.SIGINT)
    assert served.process.wait(30) == 0
    wait_for(lambda: all(gone(pid) for pid in pids), "every child gone")
    with pytest.raises(OSError):
        Visitor(served.url).get("/healthz")


def test_every_process_trusts_the_proxy_it_was_told_of(database_url, tmp_path):
    """The waitress settings (trusted proxy) reach each child: visitors are told apart."""
    with serving(database_url, tmp_path, REQUEST_LOG=True, PROXY_COUNT=1) as served:
        pids = served.children()
        for n, pid in enumerate(sorted(pids)):
            with only(pid, pids):
                answer = Visitor(served.url).get(
                    "/healthz", **{"X-Forwarded-For": f"203.0.113.{n + 1}"}
                )
                assert answer.status == 200
        log = served.log

        def logged() -> bool:
            text = log.read_text()
            return all(f'"remote_addr": "203.0.113.{n + 1}"' in text for n in range(2))

        wait_for(logged, "both visitors' addresses in the request log")
