"""Benchmark: uploads under load, measured on a waitress server like ``imagin serve``.

1. The server's peak memory while 10 uploads of 5 MB run at once (PDFs, then JPEG photos).
2. The latency of the signed-in mission list while 20 slow uploads are in flight (each
   sender writes its body a little at a time over ~10 s, like a phone on a poor line).

Run by hand: ``.venv/bin/python bench/uploads.py`` (``--slow-seconds``, ``--probe-seconds``).
It is a measurement, not a test: it prints the figures and always exits 0. Memory is
read from ``/proc/<pid>/status`` of the server process (Linux).
"""

from __future__ import annotations

import argparse
import http.client
import io
import random
import re
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from mission_list import ACCEPT_ENCODING, USER_AGENT, prepare_database, sign_in, start_server
from PIL import Image
from serve import THREADS

from imagin.documents.bundle import pdf_file

BENCH_DIR = Path(__file__).resolve().parent
MIB = 1024 * 1024
MISSION = 621
UPLOAD_URL = f"/missions/{MISSION}/pieces"
CONCURRENT_UPLOADS = 10
SLOW_UPLOADS = 20
SLOW_BODY = 1 * MIB
# Room for every file the benchmark sends to the one claim (the quota is not measured).
ROOMY_QUOTA = {"MAX_DOCUMENTS_PER_CLAIM": 1000, "MAX_BYTES_PER_CLAIM": 1024 * MIB}


# --- The server --------------------------------------------------------------------------------


def serve_with_room(instance: str) -> None:
    """``uploads.py --serve INSTANCE``: bench/serve.py's server, with a roomy quota."""
    import serve

    base_config = serve.imagin_config
    serve.imagin_config = lambda folder: {**base_config(folder), **ROOMY_QUOTA}
    sys.argv = [str(BENCH_DIR / "serve.py"), "imagin", instance]
    serve.main()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        key: int(value) for key, value in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)
    }


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0), so the next peak is this phase's."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler:
    """Samples the RSS every few ms: the peak even where VmHWM cannot be reset."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, memory_kib(self.pid)["VmRSS"])
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


# --- Files and requests ------------------------------------------------------------------------


def padded_pdf(size: int, rng: random.Random) -> bytes:
    """A valid one-page PDF of exactly ``size`` bytes, unique thanks to a random comment."""
    padding = size
    for _ in range(10):
        comment = b"% " + rng.randbytes(padding // 2 + 1).hex().encode()[:padding] + b"\n"
        content = comment + b"BT /F1 12 Tf 72 720 Td (IMAG'IN) Tj ET"
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        output = pdf_file(objects)
        if len(output) == size:
            return output
        padding += size - len(output)
    raise RuntimeError("could not make a PDF of that size")


def phone_photo(rng: random.Random, limit: int) -> bytes:
    """A 12 Mpx JPEG just under ``limit`` bytes, with a texture that compresses like a photo."""
    grain = Image.frombytes("RGB", (1000, 750), rng.randbytes(1000 * 750 * 3))
    picture = grain.resize((4000, 3000), Image.Resampling.BICUBIC)
    for quality in (95, 90, 85, 80, 70, 60):
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= limit:
            return buffer.getvalue()
    raise RuntimeError("could not make a photo under the limit")


def multipart(name: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


class Session:
    """Claire, signed in: her cookie and the CSRF token her pages carry."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.cookie = sign_in(base)
        page = self.get(f"/missions/{MISSION}/deplacement", encoding="identity")[1].decode()
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)

    def headers(self, **extra: str) -> dict[str, str]:
        return {"User-Agent": USER_AGENT, "Cookie": self.cookie, **extra}

    def get(self, path: str, connection=None, encoding: str = ACCEPT_ENCODING):
        own = connection or http.client.HTTPConnection(self.host, self.port, timeout=60)
        own.request("GET", path, headers=self.headers(**{"Accept-Encoding": encoding}))
        response = own.getresponse()
        body = response.read()
        if connection is None:
            own.close()
        return response.status, body

    def upload(self, name: str, data: bytes, content_type: str) -> int:
        body, ctype = multipart(name, data, content_type)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        headers = self.headers(
            **{"Content-Type": ctype, "HX-Request": "true", "X-CSRFToken": self.token}
        )
        connection.request("POST", UPLOAD_URL, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status

    def slow_upload(self, name: str, data: bytes, seconds: float, started: threading.Event) -> int:
        """Send the request line and headers, then the body in small pieces over ``seconds``."""
        body, ctype = multipart(name, data, "application/pdf")
        headers = self.headers(
            **{
                "Host": f"{self.host}:{self.port}",
                "Content-Type": ctype,
                "Content-Length": str(len(body)),
                "HX-Request": "true",
                "X-CSRFToken": self.token,
            }
        )
        head = f"POST {UPLOAD_URL} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        with socket.create_connection((self.host, self.port), timeout=seconds + 60) as sock:
            sock.sendall(head.encode() + b"\r\n")
            started.set()
            pieces = 100
            step = -(-len(body) // pieces)
            for offset in range(0, len(body), step):
                sock.sendall(body[offset : offset + step])
                time.sleep(seconds / pieces)
            reply = sock.makefile("rb").readline()
        return int(reply.split()[1]) if reply else 0


# --- Phases ------------------------------------------------------------------------------------


def concurrent_uploads(session: Session, pid: int, files: list[tuple[str, bytes, str]]) -> dict:
    """Send every file at once; the server's peak RSS meanwhile."""
    reset = reset_peak(pid)
    before = memory_kib(pid)["VmRSS"]
    start = time.perf_counter()
    with Sampler(pid) as sampler, ThreadPoolExecutor(len(files)) as pool:
        statuses = list(pool.map(lambda f: session.upload(*f), files))
    elapsed = time.perf_counter() - start
    after = memory_kib(pid)
    peak = max(sampler.peak, after["VmHWM"] if reset else 0)
    return {
        "before": before,
        "peak": peak,
        "after": after["VmRSS"],
        "seconds": elapsed,
        "statuses": statuses,
    }


def probe(session: Session, seconds: float) -> list[float]:
    """GET /missions back to back on one keep-alive connection; latencies in ms."""
    connection = http.client.HTTPConnection(session.host, session.port, timeout=30)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        status, _body = session.get("/missions", connection)
        if status == 200:
            latencies.append((time.perf_counter() - start) * 1000)
    connection.close()
    return latencies


def summary(latencies: list[float]) -> str:
    if len(latencies) < 2:
        return "no answer"
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return (
        f"{len(latencies)} requests, p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def main() -> None:
    """Set up a scratch instance, start the server, run both phases and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--slow-seconds", type=float, default=10.0, help="time each slow body takes"
    )
    parser.add_argument("--probe-seconds", type=float, default=6.0, help="latency probe duration")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(621)
    five_mb = 5 * MIB

    with ExitStack() as stack:
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="imagin-bench-")))
        prepare_database(instance)
        process, base = start_server(stack, Path(__file__), "--serve", str(instance))
        session = Session(base)
        # Warm-up: the first upload imports pypdf and Pillow, the first list builds caches.
        session.upload("warm-up.pdf", padded_pdf(10_000, rng), "application/pdf")
        probe(session, 1)
        idle = memory_kib(process.pid)["VmRSS"]
        print(
            f"server pid {process.pid}, waitress threads={THREADS}, RSS after warm-up {mib(idle)}"
        )

        pdfs = [
            (f"facture-{i}.pdf", padded_pdf(five_mb, rng), "application/pdf")
            for i in range(CONCURRENT_UPLOADS)
        ]
        photos = [
            (f"photo-{i}.jpg", phone_photo(rng, five_mb), "image/jpeg")
            for i in range(CONCURRENT_UPLOADS)
        ]
        results = {}
        for label, files in (("PDF", pdfs), ("JPEG", photos)):
            size = sum(len(data) for _name, data, _type in files) / len(files) / MIB
            print(f"{CONCURRENT_UPLOADS} concurrent uploads of {size:.2f} MiB {label}…")
            results[label] = concurrent_uploads(session, process.pid, files)

        print(f"latency of /missions, idle, {args.probe_seconds:.0f} s…")
        quiet = probe(session, args.probe_seconds)
        print(
            f"latency of /missions during {SLOW_UPLOADS} slow uploads "
            f"({args.slow_seconds:.0f} s each)…"
        )
        bodies = [padded_pdf(SLOW_BODY, rng) for _ in range(SLOW_UPLOADS)]
        started = [threading.Event() for _ in bodies]
        reset_peak(process.pid)
        with Sampler(process.pid) as sampler, ThreadPoolExecutor(SLOW_UPLOADS) as pool:
            futures = [
                pool.submit(session.slow_upload, f"lent-{i}.pdf", body, args.slow_seconds, event)
                for i, (body, event) in enumerate(zip(bodies, started, strict=True))
            ]
            for event in started:
                event.wait(30)
            time.sleep(0.5)
            busy = probe(session, min(args.probe_seconds, args.slow_seconds - 1))
            slow_statuses = [future.result() for future in futures]
        slow_peak = max(sampler.peak, memory_kib(process.pid)["VmHWM"])

    print()
    for label, result in results.items():
        codes = sorted(set(result["statuses"]))
        before, peak = result["before"], result["peak"]
        print(
            f"{CONCURRENT_UPLOADS} × 5 MB {label:<5} RSS {mib(before)} → peak {mib(peak)} "
            f"(+{mib(peak - before)}), {result['seconds']:.1f} s, statuses {codes}"
        )
    print(f"/missions, idle:                   {summary(quiet)}")
    print(f"/missions, {SLOW_UPLOADS} slow uploads in flight: {summary(busy)}")
    print(f"slow uploads: statuses {sorted(set(slow_statuses))}, server peak RSS {mib(slow_peak)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve_with_room(sys.argv[2])
    else:
        try:
            main()
        except KeyboardInterrupt:
            sys.exit(130)
