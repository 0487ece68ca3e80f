"""Benchmark: the signed-in mission list against a hello-world Flask page, same waitress settings.

Run with ``make bench``. Prints requests/s, p50 and p99 of each page, its ratio to hello
world and whether issue 14's goals for one process are met (the signed-in constant page
≥ 0.40 × hello; the list ≥ 0.15 × hello with p99 ≤ 50 ms at 16 connections); always
exits 0.
Two constant pages served by the same IMAG'IN server (bench/serve.py) show where the
ceiling is: what the app's machinery costs, then what being signed in adds.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from serve import HOST, THREADS, imagin_config

from imagin import clock, create_app
from imagin.auth.passwords import hash_password
from imagin.db import get_db
from imagin.demo import DEMO_PASSWORD, load_demo
from imagin.migrations import upgrade
from imagin.storage import get_storage

BENCH_DIR = Path(__file__).resolve().parent
SERVE = BENCH_DIR / "serve.py"
EMAIL = "claire.martin@example.fr"
# Flask-Login's session protection hashes the address and User-Agent into the session:
# the same agent for sign-in and load keeps the session unchanged (no Set-Cookie per
# request, which would add work the browsers' requests do not cause).
USER_AGENT = "imagin-bench"
ACCEPT_ENCODING = "br, gzip"  # what browsers send
HELLO = "hello world (/)"
SIGNED_IN = "signed-in constant page (/bench/signed-in)"
LIST = "mission list (/missions)"
SIGNED_IN_RATIO_GOAL = 0.40
LIST_RATIO_GOAL = 0.15
P99_GOAL_MS = 50.0
# The Python generator stops at this many requests even if time remains.
MAX_REQUESTS = 200_000
WRK_THREADS = 2  # one per core of the 2-core target machine


@dataclass(frozen=True)
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def prepare_database(instance: Path) -> None:
    """Create the schema and load the demo data into a fresh SQLite file in ``instance``."""
    app = create_app(imagin_config(instance))
    engine = app.extensions["imagin.engine"]
    upgrade(engine)
    with app.app_context():
        load_demo(get_db(), hash_password(DEMO_PASSWORD), clock.today(), storage=get_storage())
    # Closing the last connection checkpoints the WAL before the server opens the file.
    engine.dispose()


def start_server(
    stack: ExitStack, script: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start ``script ARGS``, which prints its port first, in its own process: it and its URL."""
    process = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    stack.callback(stop, process)
    port = process.stdout.readline().strip() if process.stdout else ""
    if not port.isdigit():
        raise RuntimeError(f"{script.name} {' '.join(args)} did not start (exit {process.poll()})")
    return process, f"http://{HOST}:{port}"


def stop(process: subprocess.Popen) -> None:
    """Stop a server: SIGTERM, then SIGKILL if it does not exit within 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout):
        if stream:
            stream.close()


def sign_in(base: str) -> str:
    """Sign in as Claire with the login form and return the Cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(f"{base}/intervenant", timeout=10) as response:
        form = response.read().decode()
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    if not match:
        raise RuntimeError("no CSRF token in the sign-in form")
    data = urllib.parse.urlencode(
        {"csrf_token": match.group(1), "email": EMAIL, "password": DEMO_PASSWORD}
    ).encode()
    # The 303 after a successful sign-in is followed to the mission list.
    with opener.open(f"{base}/intervenant", data=data, timeout=10) as response:
        if not response.url.endswith("/missions"):
            raise RuntimeError(f"sign-in failed: ended on {response.url}")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def response_sizes(url: str, headers: dict[str, str]) -> dict[str, int]:
    """Body size of ``url`` per content coding, checking it is the signed-in list."""
    sizes = {}
    for coding in ("br", "gzip", "identity"):
        request = urllib.request.Request(url, headers={**headers, "Accept-Encoding": coding})
        # urllib does not decode the body, so len() is what goes over the wire; it does
        # follow redirects, so a lost session shows as a different final URL.
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            encoding = response.headers.get("Content-Encoding", "identity")
            if response.url != url or encoding != coding:
                raise RuntimeError(f"unexpected answer for {coding}: {response.url}")
            if response.headers.get("Set-Cookie"):
                print("warning: /missions sets a cookie on every request", file=sys.stderr)
        if coding == "identity" and b"Mes missions" not in body:
            raise RuntimeError("/missions is not the signed-in mission list")
        sizes[coding] = len(body)
    return sizes


def check_signed_in_reference(url: str, headers: dict[str, str]) -> None:
    """Make sure the signed-in constant page answers itself, not the redirect to sign-in."""
    request = urllib.request.Request(url, headers={**headers, "Accept-Encoding": "identity"})
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.url != url or response.read() != b"Hello, World!":
            raise RuntimeError(f"{url} did not answer the signed-in user: {response.url}")


WRK_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
WRK_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> Result:
    """Load ``url`` with wrk and parse its report."""
    # wrk refuses fewer connections than threads.
    threads = min(WRK_THREADS, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    latency = {q: float(v) * WRK_UNIT_MS[unit] for q, v, unit in WRK_LATENCY.findall(output)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not (rate and total and len(latency) == 2):
        raise RuntimeError(f"cannot read wrk's report:\n{output}")
    # wrk counts 3xx as success; a 3xx here would be the redirect to sign-in.
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(bad.group(1)) if bad else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    return Result(float(rate.group(1)), latency["50"], latency["99"], int(total.group(1)), errors)


def _python_worker(
    url: str, headers: dict[str, str], deadline: float, quota: int
) -> tuple[list[float], int]:
    """One keep-alive connection sending requests back to back; latencies in ms, errors."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    latencies: list[float] = []
    errors = 0
    while time.monotonic() < deadline and len(latencies) + errors < quota:
        start = time.perf_counter()
        try:
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()  # reconnects on the next request
            continue
        if response.status == 200:
            latencies.append((time.perf_counter() - start) * 1000)
        else:
            errors += 1
    connection.close()
    return latencies, errors


def run_python(url: str, headers: dict[str, str], seconds: int, connections: int) -> Result:
    """Load ``url`` from one thread per connection (the fallback when wrk is missing)."""
    start = time.monotonic()
    deadline = start + seconds
    quota = MAX_REQUESTS // connections
    with ThreadPoolExecutor(connections) as pool:
        futures = [
            pool.submit(_python_worker, url, headers, deadline, quota) for _ in range(connections)
        ]
        outcomes = [future.result() for future in futures]
    elapsed = time.monotonic() - start
    latencies = sorted(ms for worker_latencies, _ in outcomes for ms in worker_latencies)
    errors = sum(worker_errors for _, worker_errors in outcomes)
    if len(latencies) < 2:
        raise RuntimeError(f"{url}: no successful responses ({errors} errors)")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Result(len(latencies) / elapsed, cuts[49], cuts[98], len(latencies), errors)


def cores() -> int | None:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def report(
    tool: str, args: argparse.Namespace, results: dict[str, Result], sizes: dict[str, int]
) -> None:
    """Print the table and the verdict on the goals."""
    hello, signed_in, listing = results[HELLO], results[SIGNED_IN], results[LIST]
    print()
    print(
        f"Load: {tool}, {args.connections} connections, {args.duration} s per page after "
        f"{args.warmup} s warm-up; {cores()} CPU cores, Python {platform.python_version()}, "
        f"waitress threads={THREADS}"
    )
    print()
    print(
        f"{'page':<44}{'requests/s':>11}{'× hello':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'requests':>10}{'errors':>8}"
    )
    for name, result in results.items():
        print(
            f"{name:<44}{result.requests_per_s:>11.1f}"
            f"{result.requests_per_s / hello.requests_per_s:>9.3f}{result.p50_ms:>9.2f}"
            f"{result.p99_ms:>9.2f}{result.requests:>10}{result.errors:>8}"
        )
    print()
    verdict = {True: "met", False: "MISSED"}
    for name, result, goal in (
        ("signed-in/hello", signed_in, SIGNED_IN_RATIO_GOAL),
        ("list/hello", listing, LIST_RATIO_GOAL),
    ):
        ratio = result.requests_per_s / hello.requests_per_s
        print(f"ratio {name}: {ratio:.3f}   goal ≥ {goal:.2f}: {verdict[ratio >= goal]}")
    met = listing.p99_ms <= P99_GOAL_MS
    print(f"list p99: {listing.p99_ms:.1f} ms   goal ≤ {P99_GOAL_MS:.0f} ms: {verdict[met]}")
    print(
        f"/missions body: {sizes['br']:,} B br, {sizes['gzip']:,} B gzip, "
        f"{sizes['identity']:,} B uncompressed"
    )


def main() -> None:
    """Set up a scratch instance, start both servers, load each page and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per page")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    use_wrk = args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk") is not None)
    if use_wrk:
        run, tool = run_wrk, f"wrk -t{WRK_THREADS}"
    else:
        run, tool = run_python, "Python load generator"
        if args.tool == "auto":
            print("wrk not found (Debian: apt-get install wrk): using the Python load generator")
    # SIGTERM unwinds like Ctrl+C, so the servers and the scratch directory go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with ExitStack() as stack:
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="imagin-bench-")))
        prepare_database(instance)
        _, hello_base = start_server(stack, SERVE, "hello")
        _, imagin_base = start_server(stack, SERVE, "imagin", str(instance))
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
        list_headers = {**headers, "Cookie": sign_in(imagin_base)}
        list_url = f"{imagin_base}/missions"
        sizes = response_sizes(list_url, list_headers)
        check_signed_in_reference(f"{imagin_base}/bench/signed-in", list_headers)

        results = {}
        for name, url, page_headers in (
            (HELLO, f"{hello_base}/", headers),
            ("constant page in IMAG'IN (/bench/plain)", f"{imagin_base}/bench/plain", headers),
            (SIGNED_IN, f"{imagin_base}/bench/signed-in", list_headers),
            (LIST, list_url, list_headers),
        ):
            print(f"{name}: {args.warmup} s warm-up, then {args.duration} s with {tool}…")
            if args.warmup:
                run(url, page_headers, args.warmup, args.connections)
            results[name] = run(url, page_headers, args.duration, args.connections)
        report(tool, args, results, sizes)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # The servers and the scratch directory are already gone (ExitStack).
        sys.exit(130)
