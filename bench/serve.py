"""Serve one benchmark app with waitress, as ``imagin serve`` does, on a free local port.

``python bench/serve.py hello`` or ``python bench/serve.py imagin INSTANCE_DIR``: prints
the port it listens on as its first line, then serves until stdin closes or SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from waitress.server import create_server

from imagin import config as default_config
from imagin.cli import THREADS_PER_PROCESS

HOST = "127.0.0.1"
THREADS = THREADS_PER_PROCESS  # the default of `imagin serve`, one process or several


def imagin_config(instance: Path) -> dict[str, Any]:
    """The app configuration: the tests' ``base_config`` with TESTING off, in ``instance``."""
    return {
        "TESTING": False,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "DATABASE_URL": f"sqlite:///{instance / 'imagin.db'}",
        "UPLOAD_DIR": str(instance / "uploads"),
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def add_reference_pages(app) -> None:
    """Two constant pages inside the app, for the benchmark only: what every page costs.

    ``/bench/plain`` pays for the app's own machinery (security headers, session,
    CSRF, compression check, database teardown); ``/bench/signed-in`` adds what every
    signed-in page needs (the session cookie and the account checked in the database,
    so that a signed-out cookie stops working). No page of the app can be faster.
    """
    from flask_login import login_required

    @app.get("/bench/plain")
    def bench_plain() -> str:
        """Answer with the hello-world text, through the app's machinery."""
        return "Hello, World!"

    @app.get("/bench/signed-in")
    @login_required
    def bench_signed_in() -> str:
        """Answer with the hello-world text to a signed-in user."""
        return "Hello, World!"


def load_app(kind: str, args: list[str]):
    """The WSGI app to serve: ``hello`` or ``imagin`` (with its instance directory)."""
    if kind == "hello":
        from hello import app

        return app
    if kind == "imagin":
        from imagin import create_app

        app = create_app(imagin_config(Path(args[0])))
        add_reference_pages(app)
        return app
    raise SystemExit(f"unknown app {kind!r}: hello or imagin")


def _exit_when_parent_goes() -> None:
    # The parent holds our stdin open; EOF means it is gone, even if it was killed
    # without a chance to stop us, so no server outlives the benchmark.
    sys.stdin.read()
    signal.raise_signal(signal.SIGTERM)


def main() -> None:
    """Serve the app named on the command line until told to stop."""
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    app = load_app(sys.argv[1], sys.argv[2:])
    # The settings of `imagin serve` (imagin/cli.py), the hello app included, so the
    # comparison measures the apps and not the server configuration.
    server = create_server(
        app,
        host=HOST,
        port=0,  # the OS picks a free port: no race with other programs
        threads=THREADS,
        max_request_body_size=default_config.MAX_CONTENT_LENGTH + 64 * 1024,
        ident="imagin",
    )
    # 16 connections on 2 threads queue by design, and requests still queued when the
    # load stops are cancelled at shutdown: waitress's warnings about both would drown
    # the report (the queueing shows in the measured latencies anyway).
    logging.getLogger("waitress").setLevel(logging.ERROR)
    # waitress stops its worker threads cleanly on SystemExit, as on Ctrl+C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.effective_port, flush=True)
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
