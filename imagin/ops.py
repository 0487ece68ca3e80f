"""What operators see: health checks, one JSON log line per request, Prometheus metrics.

- ``/healthz``: the process answers (no database, no session) — for the
  balancer and systemd.
- ``/readyz``: the database and the document storage answer — 503 otherwise.
- Every request gets an id: the one nginx sends in ``X-Request-Id`` when it is
  well formed, else a fresh one; it goes back in ``X-Request-Id`` and in the log
  line (logger ``imagin.request``: method, path, endpoint, status, duration,
  user id, client address).
- Metrics: request count and latency by endpoint, and the outbox backlog, in a
  registry of this app; served at ``/metrics`` only to a bearer of
  ``METRICS_TOKEN``, or on a port of its own (``imagin serve --metrics-port``).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
import time
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from imagin import clock

bp = Blueprint("ops", __name__)

request_log = logging.getLogger("imagin.request")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@bp.get("/healthz")
def healthz():
    """The process is up (no database, no session)."""
    return _plain("ok\n", 200)


@bp.get("/readyz")
def readyz():
    """The database and the document storage answer: 200, else 503 saying which does not."""
    from imagin.storage import get_storage

    checks = {"database": _database_ready, "storage": lambda: get_storage().ready()}
    failed = []
    for name, check in checks.items():
        try:
            check()
        except Exception as error:
            current_app.logger.warning("readyz: %s unavailable: %s", name, error)
            failed.append(name)
    body = "".join(f"{name}: {'indisponible' if name in failed else 'ok'}\n" for name in checks)
    return _plain(body, 503 if failed else 200)


@bp.get("/metrics")
def metrics():
    """Prometheus metrics of this process, for the bearer of METRICS_TOKEN only."""
    token = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    # Without a configured token /metrics does not exist; a wrong one gets the same 404.
    if not token or not hmac.compare_digest(given.encode(), str(token).encode()):
        abort(404)
    return Response(
        generate_latest(registry(current_app)), 200, {"Content-Type": CONTENT_TYPE_LATEST}
    )


def _database_ready() -> None:
    from imagin.db import get_db

    db = get_db()
    db.execute(text("SELECT 1"))
    db.rollback()


def _plain(body: str, status: int) -> Response:
    return Response(body, status, {"Content-Type": "text/plain; charset=utf-8"})


# --- Request id, log line and metrics -----------------------------------------------------


def _new_request_id() -> str:
    # 32 random hex digits, as uuid4().hex gave, for a fifth of its work.
    return os.urandom(16).hex()


def _start() -> None:
    # The header as WSGI gives it: request.headers would look it up by a normalized name.
    incoming = request._get_current_object().environ.get("HTTP_X_REQUEST_ID", "")  # type: ignore[attr-defined]
    request_globals = g._get_current_object()  # type: ignore[attr-defined]
    request_globals.request_id = incoming if REQUEST_ID.fullmatch(incoming) else _new_request_id()
    request_globals.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    request_globals = g._get_current_object()  # type: ignore[attr-defined]
    started = getattr(request_globals, "request_started", None)
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    response.headers["X-Request-Id"] = request_globals.request_id
    answered = request._get_current_object()  # type: ignore[attr-defined]
    endpoint = answered.endpoint or "(aucune)"
    instruments = current_app._get_current_object().extensions["imagin.metrics"]  # type: ignore[attr-defined]
    instruments.record(endpoint, answered.method, response.status_code, elapsed)
    if request_log.isEnabledFor(logging.INFO):
        request_log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_globals.request_id,
                    "method": answered.method,
                    "path": answered.path,
                    "endpoint": endpoint,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user_id": _user_id(),
                    "remote_addr": answered.remote_addr,
                }
            },
        )
    return response


def _user_id() -> int | None:
    # Only the user a view already loaded: logging must not cost a query.
    user = g.get("_login_user")
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": clock.now().isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on standard error for the whole process (``imagin serve``, ``imagin worker``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # waitress's own "Serving on…" and queue warnings stay useful; its per-task noise is not.
    logging.getLogger("waitress.queue").setLevel(logging.WARNING)


# Label sets whose metrics are kept at hand; emptied when it grows past this (a client
# can make up methods).
MAX_LABEL_SETS = 1_000


class _Instruments:
    def __init__(self, app: Flask) -> None:
        # (endpoint, method, status) -> its request counter and latency histogram:
        # prometheus_client's labels() validates and locks on each call.
        self._labelled: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "imagin_http_requests",
            "HTTP requests answered, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "imagin_http_request_duration_seconds",
            "Time to answer a request (until the response starts), by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_OutboxCollector(app))

    def record(self, endpoint: str, method: str, status: int, elapsed: float) -> None:
        """Count one answered request and its duration."""
        key = (endpoint, method, status)
        labelled = self._labelled.get(key)
        if labelled is None:
            if len(self._labelled) >= MAX_LABEL_SETS:
                self._labelled.clear()
            labelled = self._labelled[key] = (
                self.requests.labels(endpoint, method, str(status)),
                self.latency.labels(endpoint),
            )
        labelled[0].inc()
        labelled[1].observe(elapsed)


class _OutboxCollector:
    """The outbox backlog, read from the database when scraped."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self):
        return []

    def collect(self):
        from imagin.mail import outbox_backlog

        waiting = GaugeMetricFamily("imagin_outbox_waiting", "E-mails not sent yet.")
        oldest = GaugeMetricFamily(
            "imagin_outbox_oldest_age_seconds", "Age of the oldest e-mail not sent yet."
        )
        try:
            with self.app.app_context(), self.app.extensions["imagin.sessionmaker"]() as db:
                count, since = outbox_backlog(db)
        except Exception:
            logging.getLogger(__name__).warning(
                "metrics: outbox backlog unavailable", exc_info=True
            )
            return
        waiting.add_metric([], count)
        oldest.add_metric([], (clock.now() - since).total_seconds() if since else 0)
        yield waiting
        yield oldest


def registry(app: Flask) -> CollectorRegistry:
    return app.extensions["imagin.metrics"].registry


def init_app(app: Flask) -> None:
    app.extensions["imagin.metrics"] = _Instruments(app)
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(bp)
