"""Brotli quality 1–4 on the bodies our users download: bytes, and CPU instructions.

Run with ``make bench`` (or ``python bench/brotli_quality.py``). Takes the sign-in page,
the signed-in mission list, a mission page and the static files as the app serves them
uncompressed, compresses each at every quality, and prints the bytes and what compressing
once costs: instructions counted by callgrind (a run compressing the body ``--repeat``
times, minus a run that only loads it), or CPU microseconds without valgrind. The first
visit (sign-in page, then the list, with the stylesheet and scripts) must stay within
the 35 KB budget of tests/browser/test_budgets.py.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

QUALITIES = (1, 2, 3, 4)
FIRST_VISIT_BUDGET = 35 * 1024
TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def bodies(instance: Path) -> dict[str, bytes]:
    """The uncompressed bodies of the pages and static files of a first visit."""
    from instructions import _client, _mission_path, _sign_in

    app, client = _client("imagin", instance)
    identity = {"Accept-Encoding": "identity", "User-Agent": "imagin-bench"}
    found = {"sign-in page": client.get("/intervenant", headers=identity).get_data()}
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', found["sign-in page"].decode()):
        name = url.split("/")[-1].split("?")[0]
        found[name] = client.get(url, headers=identity).get_data()
    _sign_in(client)
    found["mission list"] = client.get("/missions", headers=identity).get_data()
    mission = _mission_path(app, "/missions/{number}/suivi")
    found["mission page"] = client.get(mission, headers=identity).get_data()
    return found


def compress_instructions(path: Path, quality: int, repeat: int) -> float:
    """Instructions of one compression of ``path`` at ``quality`` (callgrind, in-process)."""
    totals = []
    for times in (0, repeat):
        with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
            code = (
                "import brotli, sys; data = open(sys.argv[1], 'rb').read()\n"
                f"for _ in range({times}): brotli.compress(data, quality={quality}, lgwin=22)"
            )
            valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out.name}"]
            subprocess.run(
                [*valgrind, sys.executable, "-c", code, str(path)],
                check=True,
                capture_output=True,
            )
            totals.append(int(TOTALS.search(Path(out.name).read_text()).group(1)))
    return (totals[1] - totals[0]) / repeat


def compress_microseconds(data: bytes, quality: int, repeat: int) -> float:
    import brotli

    start = time.process_time()
    for _ in range(repeat):
        brotli.compress(data, quality=quality, lgwin=22)
    return (time.process_time() - start) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    import brotli
    from mission_list import prepare_database

    valgrind = shutil.which("valgrind") is not None
    unit = "M instr." if valgrind else "µs CPU"
    with tempfile.TemporaryDirectory(prefix="imagin-brotli-") as scratch:
        instance = Path(scratch)
        prepare_database(instance)
        found = bodies(instance)
        print(f"Brotli (lgwin 22) per body: compressed bytes / cost of one compression ({unit})")
        print(f"{'body':<26}{'raw':>8}" + "".join(f"{'q' + str(q):>22}" for q in QUALITIES))
        first_visit = dict.fromkeys(QUALITIES, 0)
        for name, data in found.items():
            path = instance / f"body-{len(name)}-{abs(hash(name))}"
            path.write_bytes(data)
            cells = []
            for quality in QUALITIES:
                size = len(brotli.compress(data, quality=quality, lgwin=22))
                if name != "mission page":
                    first_visit[quality] += size
                if valgrind:
                    cost = compress_instructions(path, quality, args.repeat) / 1e6
                else:
                    cost = compress_microseconds(data, quality, args.repeat)
                cells.append(f"{size:>10,} / {cost:>8.2f}")
            print(f"{name:<26}{len(data):>8,}" + "".join(f"{cell:>22}" for cell in cells))
        print(
            f"{'first visit (bytes)':<34}"
            + "".join(f"{first_visit[q]:>22,}" for q in QUALITIES)
            + f"   budget {FIRST_VISIT_BUDGET:,}"
        )


if __name__ == "__main__":
    main()
