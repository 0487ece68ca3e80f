"""Benchmark: `imagin serve --processes N --threads T`, the signed-in mission list under wrk.

Run with ``make bench-processes`` (or ``.venv/bin/python bench/processes.py``; options
``--processes 1,2 --threads 1,2,4,8 --duration 10 --connections 16``). A measurement,
not a test: it always exits 0.

For each combination it starts a real `imagin serve` on a free port (SQLite demo
database), signs Claire in, loads ``/missions`` with wrk, and reads the
context switches of the serving processes from /proc (voluntary + involuntary, all
their threads) before and after: per request, they show what extra threads cost.
It then prints the ratio of the best N-process rate to the best 1-process rate
(goal ≥ 1.6 on 2 cores). wrk runs on the same machine: it takes CPU from the server,
so the ratio here is a floor of what a separate load generator would see; and
the load average printed with the figures says whether other work shared the cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mission_list import (
    ACCEPT_ENCODING,
    USER_AGENT,
    cores,
    prepare_database,
    run_wrk,
    sign_in,
)
from serve import HOST, imagin_config

REPO = Path(__file__).resolve().parents[1]
IMAGIN = Path(sys.executable).parent / "imagin"
RATIO_GOAL = 1.6


@dataclass(frozen=True)
class Line:
    processes: int
    threads: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    switches_per_request: float
    cpu_ms_per_request: float


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def servers(parent: int, processes: int) -> list[int]:
    """The pids that serve: the children of the supervisor, or the process itself."""
    if processes == 1:
        return [parent]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


def context_switches(pids: list[int]) -> int:
    """Voluntary + involuntary context switches of every thread of ``pids`` so far."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for line in (task / "status").read_text().splitlines():
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by ``pids`` (all their threads)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def environment(instance: Path) -> dict[str, str]:
    config = imagin_config(instance)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGIN_")}
    env |= {
        "DATABASE_URL": config["DATABASE_URL"],
        "IMAGIN_SECRET_KEY": config["SECRET_KEY"],
        "IMAGIN_UPLOAD_DIR": config["UPLOAD_DIR"],
        "IMAGIN_OUTBOX_DIR": str(instance / "outbox"),
        "IMAGIN_RATELIMIT_STORAGE_URI": "memory://",
        "IMAGIN_REQUEST_LOG": "false",
    }
    return env


def measure(env, processes: int, threads: int, args) -> Line:
    port = free_port()
    process = subprocess.Popen(
        [
            *(str(IMAGIN), "serve", "--host", HOST, "--port", str(port)),
            *("--processes", str(processes), "--threads", str(threads)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"imagin serve exited with {process.returncode}")
            with contextlib.suppress(OSError):
                if len(servers(process.pid, processes)) == processes:
                    headers = {
                        "User-Agent": USER_AGENT,
                        "Accept-Encoding": ACCEPT_ENCODING,
                        "Cookie": sign_in(base),
                    }
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("imagin serve did not start")
            time.sleep(0.2)
        url = f"{base}/missions"
        if args.warmup:
            run_wrk(url, headers, args.warmup, args.connections)
        pids = servers(process.pid, processes)
        before, cpu_before = context_switches(pids), cpu_seconds(pids)
        result = run_wrk(url, headers, args.duration, args.connections)
        switches = context_switches(pids) - before
        cpu = cpu_seconds(pids) - cpu_before
        return Line(
            processes,
            threads,
            result.requests_per_s,
            result.p50_ms,
            result.p99_ms,
            result.errors,
            switches / max(1, result.requests),
            1000 * cpu / max(1, result.requests),
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--threads", default="1,2,4,8")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    process_counts = [int(n) for n in args.processes.split(",")]
    thread_counts = [int(n) for n in args.threads.split(",")]
    lines: list[Line] = []
    with tempfile.TemporaryDirectory(prefix="imagin-bench-") as folder:
        instance = Path(folder)
        prepare_database(instance)
        env = environment(instance)
        for processes in process_counts:
            for threads in thread_counts:
                print(f"{processes} process(es) × {threads} thread(s)…", flush=True)
                try:
                    lines.append(measure(env, processes, threads, args))
                except Exception as error:  # a measurement: report and go on
                    print(f"  failed: {error}")
    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"load average at the end: {load}\n"
        f"/missions, wrk {args.connections} connections, {args.duration} s, {cores()} cores, SQLite"
    )
    print(
        f"{'processes':>9} {'threads':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'switches/req':>12} {'CPU ms/req':>10}"
    )
    for line in lines:
        print(
            f"{line.processes:>9} {line.threads:>7} {line.rps:>8.1f} {line.p50_ms:>7.1f} "
            f"{line.p99_ms:>7.1f} {line.errors:>6} {line.switches_per_request:>12.1f} "
            f"{line.cpu_ms_per_request:>10.2f}"
        )
    best = {
        n: max((x for x in lines if x.processes == n), key=lambda x: x.rps, default=None)
        for n in process_counts
    }
    if best.get(1):
        for n, line in best.items():
            if n != 1 and line:
                ratio = line.rps / best[1].rps
                goal = "met" if ratio >= RATIO_GOAL else "NOT met"
                print(
                    f"{n} processes ÷ 1 (best thread count each: {line.threads} vs "
                    f"{best[1].threads}): {ratio:.2f} (goal ≥ {RATIO_GOAL}: {goal})"
                )


if __name__ == "__main__":
    main()
