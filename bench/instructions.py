"""CPU instructions per request, counted by valgrind's callgrind, in-process through WSGI.

Run with ``make bench`` (or ``python bench/instructions.py``). For each page, callgrind
runs ``python bench/instructions.py --run`` twice on the same scratch instance: once
with the warm-up requests only, once with the warm-up then ``--requests`` more; the
difference divided by ``--requests`` is what one request costs once the process is warm
(imports, the first compilations and caches are in both runs and cancel out).
Instructions repeat exactly whatever else the machine does, unlike timings. Requests go
through the whole WSGI app (middleware, hooks, session, CSRF, compression, headers) as
a browser's would, with the same cookies and ``Accept-Encoding``; the server (waitress)
is left out. Prints a table with each page's ratio to hello world; always exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

EMAIL = "claire.martin@example.fr"
USER_AGENT = "imagin-bench"
ACCEPT_ENCODING = "br, gzip"
WARMUP = 20
REQUESTS = 50
# name -> (app, path, signed in)
PAGES = {
    "hello": ("hello", "/", False),
    "plain": ("imagin", "/bench/plain", False),
    "signed-in": ("imagin", "/bench/signed-in", True),
    "missions": ("imagin", "/missions", True),
    "mission": ("imagin", "/missions/{number}/suivi", True),
}
GOALS = {"signed-in": 1.2e6, "missions": 5e6}
TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


# --- Inside valgrind: build the app, sign in, send the requests ---------------------------


def _client(kind: str, instance: Path):
    from serve import load_app

    app = load_app(kind, [str(instance)] if kind == "imagin" else [])
    return app, app.test_client()


def _sign_in(client) -> None:
    from imagin.demo import DEMO_PASSWORD

    form = client.get("/intervenant", headers={"User-Agent": USER_AGENT}).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    if not token:
        raise RuntimeError("no CSRF token in the sign-in form")
    response = client.post(
        "/intervenant",
        data={"csrf_token": token.group(1), "email": EMAIL, "password": DEMO_PASSWORD},
        headers={"User-Agent": USER_AGENT},
    )
    if response.status_code != 303 or not response.location.endswith("/missions"):
        raise RuntimeError(f"sign-in failed: {response.status_code} {response.location}")


def _mission_path(app, template: str) -> str:
    """The page of Claire's first mission."""
    if "{number}" not in template:
        return template
    from sqlalchemy import select

    from imagin.models import Mission, User

    with app.app_context():
        from imagin.db import get_db

        db = get_db()
        user_id = db.scalar(select(User.id).where(User.email == EMAIL))
        number = db.scalar(
            select(Mission.number)
            .where(Mission.intervenant_id == user_id)
            .order_by(Mission.number)
            .limit(1)
        )
    return template.format(number=number)


def prepare(page: str, instance: Path):
    """The app, signed in if the page needs it, and a function sending it one request."""
    from werkzeug.test import EnvironBuilder

    kind, path, signed_in = PAGES[page]
    app, client = _client(kind, instance)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
    if signed_in:
        _sign_in(client)
        # The first page after sign-in settles the session (its CSRF token…): the cookie
        # a browser then holds.
        client.get(_mission_path(app, path), headers=headers)
        cookies = [f"{cookie.key}={cookie.value}" for cookie in client._cookies.values()]
        headers["Cookie"] = "; ".join(cookies)
    path = _mission_path(app, path)
    # The environ a WSGI server would pass, built once: the test client's own work per
    # request (building it, its cookie jar) is not the app's.
    environ = EnvironBuilder(
        path=path, headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    ).get_environ()

    def send() -> tuple[str, list]:
        answer: list = []
        body = app(dict(environ), lambda *args: answer.extend(args[:2]))
        for _chunk in body:
            pass
        if hasattr(body, "close"):
            body.close()
        return answer[0], answer[1]

    return path, send


def run(page: str, instance: Path, warmup: int, requests: int) -> None:
    """Warm up then send ``requests`` requests to ``page``; each must be a 200."""
    path, send = prepare(page, instance)
    last = warmup + requests - 1
    for number in range(warmup + requests):
        status, headers = send()
        # Once warm, a page sets no cookie: a browser's requests would not cause that work.
        set_cookie = number == last and any(name == "Set-Cookie" for name, _ in headers)
        if not status.startswith("200") or set_cookie:
            raise RuntimeError(f"{path}: {status} {headers}")


# --- Outside: prepare the instance, run callgrind, report ----------------------------------


def count(page: str, instance: Path, warmup: int, requests: int, out_dir: Path) -> int:
    """Instructions of one callgrind run of ``page``."""
    out = out_dir / f"callgrind.{page}.{requests}"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--run",
        page,
        "--instance",
        str(instance),
        "--warmup",
        str(warmup),
        "--requests",
        str(requests),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{page}: callgrind run failed\n{result.stderr[-3000:]}")
    totals = TOTALS.search(out.read_text(errors="replace"))
    if not totals:
        raise RuntimeError(f"no totals in {out}")
    return int(totals.group(1))


def per_request(page: str, instance: Path, args, out_dir: Path) -> float:
    base = count(page, instance, args.warmup, 0, out_dir)
    loaded = count(page, instance, args.warmup, args.requests, out_dir)
    return (loaded - base) / args.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", choices=PAGES, help=argparse.SUPPRESS)
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--pages", nargs="*", choices=PAGES, default=list(PAGES))
    parser.add_argument("--keep", type=Path, help="keep the callgrind files in this directory")
    args = parser.parse_args()
    if args.run:
        run(args.run, args.instance, args.warmup, args.requests)
        return
    if shutil.which("valgrind") is None:
        print("valgrind not found (Debian: apt-get install valgrind): no instruction counts")
        return
    from mission_list import prepare_database

    with tempfile.TemporaryDirectory(prefix="imagin-callgrind-") as scratch:
        instance = Path(scratch)
        prepare_database(instance)
        out_dir = args.keep or instance
        out_dir.mkdir(parents=True, exist_ok=True)
        results = {}
        for page in args.pages:
            print(f"{page}: callgrind, {args.warmup} warm-up + {args.requests} requests…")
            results[page] = per_request(page, instance, args, out_dir)
    print()
    print(f"{'page':<12}{'path':<26}{'instructions':>14}{'× hello':>9}  goal")
    hello = results.get("hello")
    for page, value in results.items():
        ratio = f"{hello / value:>9.3f}" if hello else f"{'':>9}"
        goal = GOALS.get(page)
        verdict = ""
        if goal:
            verdict = f"≤ {goal / 1e6:.1f} M: {'met' if value <= goal else 'MISSED'}"
        print(f"{page:<12}{PAGES[page][1]:<26}{value / 1e6:>12.3f} M{ratio}  {verdict}")


if __name__ == "__main__":
    main()
