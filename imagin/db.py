"""Database engine, one session per request, and the declarative Base."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import click
from flask import Flask, current_app, g, request
from flask.cli import with_appcontext
from sqlalchemy import Engine, MetaData, create_engine, event, exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Naming constraints keeps Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Whether the current unit of work will write: SQLite then takes the write lock
# at BEGIN, instead of failing later with "database is locked" when a reader
# tries to upgrade its lock while another request writes.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A connection back in the pool for less than this answered the server a moment ago:
# pinging it again costs a round trip and nothing else (every signed-in request takes one
# twice: the account's read, then the view's session). A database restart lasts longer.
RECENTLY_USED_SECONDS = 0.1


def make_engine(url: str, config: Mapping[str, Any] | None = None) -> Engine:
    """Create the engine, with SQLite tuned for many concurrent requests.

    Other engines (PostgreSQL) get a pool sized per process from ``config``
    (``DB_POOL_SIZE``…) and a ping before use, as ``pool_pre_ping`` does, of every
    connection not used in the last ``RECENTLY_USED_SECONDS``: a connection that died
    with a database restart is replaced before use, so the restart costs at most the
    requests that were running during it, never the process.
    """
    config = config or {}
    if not url.startswith("sqlite"):
        engine = create_engine(
            url,
            pool_size=int(config.get("DB_POOL_SIZE", 10)),
            max_overflow=int(config.get("DB_MAX_OVERFLOW", 5)),
            pool_timeout=float(config.get("DB_POOL_TIMEOUT", 10)),
            connect_args=dict(config.get("DB_CONNECT_ARGS") or {}),
        )
        _ping_unless_recently_used(engine)
        event.listen(engine, "connect", _plan_with_each_execution_values)
        return engine
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection, _record):
        # pysqlite's own transaction handling would emit a deferred BEGIN; we
        # emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

    return engine


def _plan_with_each_execution_values(dbapi_connection, _record) -> None:
    """psycopg prepares a statement run 5 times with no ROLLBACK between (the DEC queue's,
    read without a transaction); PostgreSQL may then plan it once for any values (a
    generic plan). Planned with each execution's values instead, as every unprepared
    statement is and as tests/integration/test_queue_plans.py checks them."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


def _ping_unless_recently_used(engine: Engine) -> None:
    """``pool_pre_ping``, but not for a connection returned to the pool a moment ago."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _answered(_dbapi_connection, record) -> None:
        record.info["answered_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("answered_at", -math.inf) < RECENTLY_USED_SECONDS:
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            # As pool_pre_ping: this connection and every older one are replaced.
            raise exc.InvalidatePoolError() from error


def after_fork(app: Flask) -> None:
    """In a forked server process: forget the pooled connections copied from the parent.

    They belong to the parent (closing them here would close its sockets too); the
    child opens its own on first use.
    """
    app.extensions["imagin.engine"].dispose(close=False)


def get_db() -> Session:
    """Return this request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = current_app.extensions["imagin.sessionmaker"]()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    session = g._get_current_object().pop("db", None)  # type: ignore[attr-defined]
    if session is not None:
        session.close()


def _mark_write_intent() -> None:
    # What runs before the view (the signed-in user, the session…) only reads:
    # it takes no write lock, which the view's own transaction takes if it writes.
    write_intent.set(False)


def _enter_view() -> None:
    """End the reads done before the view, so the view's first statement opens its own
    transaction, with SQLite's write lock when the method writes."""
    # Each object behind Flask's proxies fetched once: an attribute read through a proxy
    # costs 8,000 instructions, fetching the object 1,500 (every request runs this).
    session = g._get_current_object().get("db")  # type: ignore[attr-defined]
    if session is not None and session.in_transaction():
        # Commit, not rollback: nothing was written, and what was loaded stays loaded.
        session.commit()
    write_intent.set(request._get_current_object().method in UNSAFE_METHODS)  # type: ignore[attr-defined]


def reads_first() -> None:
    """This view reads, then does slow work (checking a file), then writes: its reads
    take no write lock; it calls ``finish_reading`` before the slow work."""
    write_intent.set(False)


def finish_reading() -> None:
    """End the read transaction (nothing written): the slow work that follows holds no
    lock and no transaction, and the next statement takes the write lock at BEGIN."""
    session = get_db()
    if session.in_transaction():
        session.commit()
    write_intent.set(True)


def init_app(app: Flask) -> None:
    """Create the engine and wire the per-request session and the ``db`` commands."""
    engine = make_engine(app.config["DATABASE_URL"], app.config)
    app.extensions["imagin.engine"] = engine
    app.extensions["imagin.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.before_request(_mark_write_intent)
    # Flask has no hook between the last before_request (blueprints' run after the
    # app's) and the view: wrap this app's dispatch, where the view is called.
    dispatch = app.dispatch_request

    def dispatch_request():
        _enter_view()
        return dispatch()

    app.dispatch_request = dispatch_request  # type: ignore[method-assign]
    app.teardown_appcontext(close_db)
    app.cli.add_command(db_cli)


@click.group("db")
def db_cli() -> None:
    """Manage the database schema."""


@db_cli.command("upgrade")
@with_appcontext
@click.option("--revision", default="head", show_default=True)
def upgrade_command(revision: str) -> None:
    """Create or upgrade the schema and load the official rate tables."""
    from imagin.migrations import upgrade

    upgrade(current_app.extensions["imagin.engine"], revision)
    click.echo("Base de données à jour.")
