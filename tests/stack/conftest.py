"""The whole production topology on one machine, every part real.

nginx (deploy/nginx/imagin.conf, TLS) → two `imagin serve` processes → their own
PostgreSQL cluster, Redis and SeaweedFS (S3), plus one `imagin worker` sending
to an SMTP server inside the tests. Everything on free loopback ports and in
temporary folders; a missing program skips the module with what to install.

With IMAGIN_STACK_NETNS=1 (root, iproute2), the same tests run on three
"machines": each app process and PostgreSQL in a Linux network namespace of
its own, joined to this one by a bridge (10.213.0.0/24, made and removed by
the tests): app 1 at .11, app 2 at .12, the database at .13, and nginx, Redis,
SeaweedFS, the SMTP server and the worker here at .1.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.browserless import Visitor
from tests.services import (
    AppServer,
    NginxServer,
    PostgresServer,
    S3Server,
    free_port,
    imagin_command,
    imagin_environment,
    imagin_servers,
    imagin_worker,
    nginx,
    postgres,
    redis_server,
    seaweedfs,
)


class Mailbox:
    """An SMTP server's handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def subjects(self, prefix: str = "") -> list[str]:
        with self.lock:
            return [m["Subject"] for m in self.messages if m["Subject"].startswith(prefix)]


@dataclass
class Stack:
    folder: Path
    database: PostgresServer
    database_url: str
    redis_url: str
    s3: S3Server
    mailbox: Mailbox
    env: dict[str, str]
    apps: list[AppServer]
    proxy: NginxServer
    workers: list = field(default_factory=list)

    def visitor(self, source: str = "127.0.0.2") -> Visitor:
        return Visitor(self.proxy.url, source=source, cafile=str(self.proxy.folder / "cert.pem"))

    def direct(self, app: AppServer, visitor: Visitor | None = None) -> Visitor:
        """A visitor talking to one process directly (bypassing nginx), with the cookies given."""
        straight = Visitor(app.url)
        if visitor is not None:
            straight.cookies = dict(visitor.cookies)
        return straight


@contextlib.contextmanager
def smtp(mailbox: Mailbox, host: str = "127.0.0.1") -> Iterator[int]:
    port = free_port()
    controller = Controller(mailbox, hostname=host, port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def run(env: dict[str, str], *args: str, log: Path) -> None:
    with log.open("ab") as output:
        subprocess.run(imagin_command(*args), env=env, check=True, stdout=output, stderr=output)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("IMAGIN_STACK_DONE"):
        skip = pytest.mark.skip(reason="déjà passés (make test : la pile a son propre PostgreSQL)")
        for item in items:
            if "tests/stack/" in str(item.fspath):
                item.add_marker(skip)


NETNS = os.environ.get("IMAGIN_STACK_NETNS") == "1"
SUBNET = "10.213.0"
HERE = f"{SUBNET}.1"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def machines(*names: str) -> Iterator[dict[str, tuple[str, str]]]:
    """One network namespace per name, on a bridge with this one: {name: (namespace, address)}."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("IMAGIN_STACK_NETNS=1 demande root et iproute2 (ip netns)")
    tag = str(os.getpid() % 100000)
    bridge = f"imbr{tag}"
    made: dict[str, tuple[str, str]] = {}
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{HERE}/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for n, name in enumerate(names):
            namespace, address = f"imagin-{name}-{tag}", f"{SUBNET}.{11 + n}"
            ip("netns", "add", namespace)
            made[name] = (namespace, address)
            outside = f"imv{tag}x{n}"
            ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("link", "set", outside, "master", bridge)
            ip("link", "set", outside, "up")
            ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
        yield made
    finally:
        for namespace, _address in made.values():
            subprocess.run(["ip", "netns", "delete", namespace], check=False)
        subprocess.run(["ip", "link", "delete", bridge], check=False, capture_output=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("stack")
    mailbox = Mailbox()
    https_port = free_port()
    with contextlib.ExitStack() as services:
        if NETNS:
            hosts = services.enter_context(machines("app1", "app2", "db"))
            here, db_netns, db_host = HERE, *hosts["db"]
            apps_on = [hosts["app1"], hosts["app2"]]
        else:
            here, db_netns, db_host, apps_on = "127.0.0.1", None, "127.0.0.1", None
        database = services.enter_context(postgres(db_host, db_netns))
        database_url = database.create_database("imagin_stack")
        redis_url = services.enter_context(redis_server(folder / "redis", here))
        s3 = services.enter_context(seaweedfs(folder / "seaweedfs", here))
        smtp_port = services.enter_context(smtp(mailbox, here))
        env = imagin_environment(
            database_url,
            folder,
            **s3.config(f"{s3.bucket}/stack"),
            RATELIMIT_STORAGE_URI=redis_url,
            SMTP_HOST=here,
            SMTP_PORT=smtp_port,
            SEND_MAIL_IN_SERVE=False,
            MAIL_POLL_SECONDS=0.5,
            PROXY_COUNT=1,
            # nginx reaches the processes from this address.
            TRUSTED_PROXY=here,
            HTTPS=True,
            PUBLIC_URL=f"https://localhost:{https_port}",
            # The app machines' own addresses: their health checks and direct visitors.
            TRUSTED_HOSTS=[address for _, address in apps_on or []],
            METRICS_TOKEN="jeton-des-tests",
        )
        run(env, "db", "upgrade", log=folder / "setup.log")
        run(env, "demo", log=folder / "setup.log")
        apps = services.enter_context(
            imagin_servers(2, env, folder / "apps", metrics=True, machines=apps_on)
        )
        proxy = services.enter_context(
            nginx(folder / "nginx", [app.address for app in apps], https_port=https_port)
        )
        worker = services.enter_context(imagin_worker(env, folder / "worker-1.log"))
        yield Stack(
            folder, database, database_url, redis_url, s3, mailbox, env, apps, proxy, [worker]
        )
