"""Benchmark: the production stack under a day of users (Locust, headless), at 1 and 2 processes.

Run with ``make bench-stack`` (or ``.venv/bin/python bench/stack.py``; options
``--processes 1,2``, ``--users``, ``--duration``). A measurement, not a test: it
always exits 0. For each number of `imagin serve` processes it starts the whole
topology of the stack tests — nginx (deploy/nginx/imagin.conf, TLS) in front,
the processes, one `imagin worker`, their own PostgreSQL, Redis and SeaweedFS,
an SMTP sink — loads the demo data and BENCH accounts (one intervenant and one
mission like N° 621 each), then runs bench/locustfile.py headless and prints,
per page: requests/s, p50, p99 and failures; then the ratio of the totals.

Locust runs from its own virtual environment (.venv-bench), so that its gevent
never enters the test suite's; it is created on first use.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.services import (  # noqa: E402  (the repository's root must be on the path first)
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

BENCH_VENV = REPO / ".venv-bench"
LOCUST = BENCH_VENV / "bin" / "locust"
LOCUSTFILE = REPO / "bench" / "locustfile.py"
FIRST_MISSION = 10000


@dataclass
class Line:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p99: float


def ensure_locust() -> bool:
    if LOCUST.exists():
        return True
    print("--- creating .venv-bench with Locust ---", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        pip = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "locust>=2.30,<3"], check=True)
    except subprocess.CalledProcessError as error:
        print(f"Locust could not be installed ({error}); nothing measured.")
        return False
    return True


def photo(folder: Path) -> Path:
    """A 1 MB JPEG photo (noise compresses badly, like a phone picture of a ticket)."""
    from PIL import Image

    path = folder / "billet.jpg"
    side = 900
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    quality = 70
    while True:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= 1_100_000 or quality < 20:
            break
        quality -= 5
    path.write_bytes(buffer.getvalue())
    return path


def seed(database_url: str, folder: Path, accounts: int) -> None:
    """BENCH accounts bench-NNNN@example.fr, each with a mission copied from N° 621."""
    from sqlalchemy import select

    from imagin import create_app
    from imagin.auth.passwords import hash_password
    from imagin.db import get_db
    from imagin.demo import DEMO_PASSWORD
    from imagin.models import Claim, Mission, MissionDay, User

    app = create_app(
        {"SECRET_KEY": "bench", "DATABASE_URL": database_url, "UPLOAD_DIR": str(folder)}
    )
    with app.app_context():
        db = get_db()
        model = db.scalar(select(Mission).where(Mission.number == 621))
        owner = model.intervenant
        password = hash_password(DEMO_PASSWORD)
        for n in range(accounts):
            user = User(
                email=f"bench-{n:04d}@example.fr",
                role="intervenant",
                first_name="Banc",
                last_name=f"Essai {n}",
                password_hash=password,
                family_commune=owner.family_commune,
                admin_commune=owner.admin_commune,
                vehicle_cv=owner.vehicle_cv,
            )
            db.add(
                Mission(
                    number=FIRST_MISSION + n,
                    intervenant=user,
                    exam_id=model.exam_id,
                    session_id=model.session_id,
                    mission_type_id=model.mission_type_id,
                    centre_id=model.centre_id,
                    bureau_id=model.bureau_id,
                    specialite=model.specialite,
                    epreuve_option=model.epreuve_option,
                    starts_on=model.starts_on,
                    ends_on=model.ends_on,
                    pay_applies=model.pay_applies,
                    travel_applies=model.travel_applies,
                    days=[
                        MissionDay(day=d.day, start_time=d.start_time, half_days=d.half_days)
                        for d in model.days
                    ],
                    claim=Claim(),
                )
            )
        db.commit()
    app.extensions["imagin.engine"].dispose()


def run(processes: int, args, folder: Path, picture: Path) -> list[Line]:
    from tests.stack.conftest import Mailbox, smtp

    https_port = free_port()
    with contextlib.ExitStack() as services:
        database = services.enter_context(postgres())
        database_url = database.create_database("imagin_bench")
        redis_url = services.enter_context(redis_server(folder / "redis"))
        s3 = services.enter_context(seaweedfs(folder / "seaweedfs"))
        smtp_port = services.enter_context(smtp(Mailbox()))
        env = imagin_environment(
            database_url,
            folder,
            **s3.config(f"{s3.bucket}/bench"),
            RATELIMIT_STORAGE_URI=redis_url,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=smtp_port,
            SEND_MAIL_IN_SERVE=False,
            PROXY_COUNT=1,
            HTTPS=True,
            PUBLIC_URL=f"https://localhost:{https_port}",
            # Hundreds of sign-ins from one address (the load generator) in a few minutes.
            LOGIN_IP_LIMIT="100000 per minute",
            MAX_DOCUMENTS_PER_CLAIM=1000,
        )
        with (folder / "setup.log").open("ab") as log:
            for command in (("db", "upgrade"), ("demo",)):
                subprocess.run(
                    imagin_command(*command), env=env, check=True, stdout=log, stderr=log
                )
        seed(database_url, folder / "uploads", args.accounts)
        apps = services.enter_context(imagin_servers(processes, env, folder / "apps"))
        proxy = services.enter_context(
            nginx(folder / "nginx", [app.address for app in apps], https_port=https_port)
        )
        services.enter_context(imagin_worker(env, folder / "worker.log"))
        database_before = database_size(database_url)
        prefix = folder / "locust"
        locust_env = os.environ | {
            "BENCH_FIRST_MISSION": str(FIRST_MISSION),
            "BENCH_ACCOUNTS": str(args.accounts),
            "BENCH_PHOTO": str(picture),
            "BENCH_CA": str(proxy.folder / "cert.pem"),
        }
        subprocess.run(
            [
                str(LOCUST),
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.duration}s",
                "--host",
                proxy.url,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=locust_env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=(folder / "locust.log").open("wb"),
        )
        show_failures(Path(f"{prefix}_failures.csv"))
        show_growth(database_url, database_before, s3)
        return read_stats(Path(f"{prefix}_stats.csv"))


def database_size(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        size = connection.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    return int(size)


def show_growth(url: str, before: int, s3) -> None:
    """What the claims filed during the run added, in the database and in the bucket."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        filed = connection.scalar(text("SELECT count(*) FROM claim WHERE pay_status = 'valide'"))
        documents, stored = connection.execute(
            text("SELECT count(*), coalesce(sum(size), 0) FROM document")
        ).one()
    engine.dispose()
    growth = database_size(url) - before
    listing = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="bench/")
    in_bucket = sum(item["Size"] for item in listing.get("Contents", []))
    print(
        f"  claims validated: {filed}; documents: {documents} ({stored / 1e6:.1f} MB, "
        f"bucket {in_bucket / 1e6:.1f} MB); database grew {growth / 1e6:.1f} MB"
    )
    if filed:
        print(
            f"  per 10,000 claims: database ≈ {growth / filed * 1e4 / 1e9:.2f} GB, "
            f"documents ≈ {in_bucket / max(filed, 1) * 1e4 / 1e9:.1f} GB"
        )


def show_failures(path: Path) -> None:
    """The most frequent failures, so that a failed run says why."""
    if not path.exists():
        return
    with path.open() as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: -int(r["Occurrences"]))
    for row in rows[:5]:
        print(
            f"  failure ×{row['Occurrences']}: {row['Method']} {row['Name']}: {row['Error'][:200]}"
        )


def read_stats(path: Path) -> list[Line]:
    if not path.exists():
        return []
    lines = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            name = row["Name"] if row["Type"] else "Aggregated"
            lines.append(
                Line(
                    f"{row['Type']} {name}".strip(),
                    int(row["Request Count"]),
                    int(row["Failure Count"]),
                    float(row["Requests/s"]),
                    float(row["50%"] or 0),
                    float(row["99%"] or 0),
                )
            )
    return lines


def show(processes: int, lines: list[Line]) -> None:
    print(f"\n{processes} process(es) `imagin serve`:")
    print("| page | requests | req/s | p50 ms | p99 ms | failures |")
    print("|---|---|---|---|---|---|")
    for line in lines:
        print(
            f"| {line.name} | {line.requests} | {line.rps:.1f} | {line.p50:.0f} | "
            f"{line.p99:.0f} | {line.failures} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2", help="e.g. 1,2")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--duration", type=int, default=90, help="seconds of load per run")
    parser.add_argument("--accounts", type=int, default=300)
    args = parser.parse_args()
    if not ensure_locust():
        return
    print(
        f"{platform.node()}: {os.cpu_count()} CPU, Python {platform.python_version()}, "
        f"{args.users} users for {args.duration} s"
    )
    totals: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="imagin-bench-") as scratch:
        picture = photo(Path(scratch))
        for processes in (int(p) for p in args.processes.split(",")):
            folder = Path(scratch) / f"p{processes}"
            folder.mkdir()
            try:
                lines = run(processes, args, folder, picture)
            except Exception as error:  # a measurement: say what failed, exit 0
                print(f"{processes} process(es): not measured ({error!r})")
                continue
            show(processes, lines)
            aggregated = [line for line in lines if line.name == "Aggregated"]
            if aggregated:
                totals[processes] = aggregated[0].rps
    if 1 in totals and 2 in totals and totals[1]:
        print(f"\nratio 2 processes ÷ 1: {totals[2] / totals[1]:.2f} (goal ≥ 1.6)")


if __name__ == "__main__":
    main()
