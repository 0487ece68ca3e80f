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
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlalchemy.sql import Select

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
        # A request never holds two connections: the reads' one goes back first.
        release_reads()
        g.db = current_app.extensions["imagin.sessionmaker"]()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    session = g._get_current_object().pop("db", None)  # type: ignore[attr-defined]
    if session is not None:
        session.close()
    release_reads()


class _Compiled:
    """A statement compiled once for a dialect: its SQL, parameters and result processors."""

    def __init__(self, statement: Select, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement rendered at each run cannot be compiled once")
        self.statement = statement  # kept: the cache is keyed by its id
        self.sql = str(compiled)
        self.names = (
            tuple(compiled.positiontup or ())
            if compiled.positional
            else tuple(set(compiled.bind_names.values()))
        )
        self.positional = compiled.positional
        binds = {name: compiled.binds[name] for name in self.names}
        self.bind_processors = {
            name: processor
            for name, bind in binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }
        # The statement's own values (literals compared with), processed once.
        self.defaults = self.process(
            {name: bind.effective_value for name, bind in binds.items() if not bind.required}
        )
        self.result_processors = tuple(
            (index, processor)
            for index, column in enumerate(statement.selected_columns)
            if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
        )

    def process(self, values: dict[str, Any]) -> dict[str, Any]:
        processors = self.bind_processors
        return {
            name: processors[name](value) if name in processors and value is not None else value
            for name, value in values.items()
        }

    def parameters(self, values: dict[str, Any]) -> tuple | dict:
        given = self.defaults | self.process(values)
        if self.positional:
            return tuple([given[name] for name in self.names])
        return {name: given[name] for name in self.names}

    def rows(self, fetched: list[tuple]) -> list[tuple]:
        if not self.result_processors:
            return fetched
        rows = []
        for fetched_row in fetched:
            row = list(fetched_row)
            for index, processor in self.result_processors:
                if row[index] is not None:
                    row[index] = processor(row[index])
            rows.append(tuple(row))
        return rows


class Reads:
    """Read-only statements run outside any transaction, on one pooled connection a request.

    What every signed-in page reads (the account, and a GET page's own reads) does not
    need the ORM Session: its transaction (a second checkout of a pooled connection,
    BEGIN, ROLLBACK) and SQLAlchemy's execution cost the mission list 1.3 M instructions
    of 6.9 M (callgrind). Each statement sees what was committed when it started, as in a
    READ COMMITTED transaction. Once the request opens its Session (``get_db``), reads run
    in its transaction instead, so they see what it wrote; the reads' connection goes back
    to the pool first: a request holds one connection at a time.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._compiled: dict[int, _Compiled] = {}
        # A pool that hands every checkout the same connection (in-memory SQLite) would
        # roll back the request's own transaction when the raw connection is returned.
        self.shared = isinstance(engine.pool, (SingletonThreadPool, StaticPool))
        # psycopg starts a transaction with the first statement unless in autocommit.
        self.autocommit = engine.dialect.name == "postgresql"

    def all(self, statement: Select, values: dict[str, Any]) -> list:
        """The rows of ``statement`` (built once: its compiled form is kept) for ``values``."""
        holder = g._get_current_object()  # type: ignore[attr-defined]
        session = holder.get("db")
        if session is not None or self.shared:
            return _read_in(session or get_db(), statement, values)
        compiled = self._compiled.get(id(statement))
        if compiled is None:
            compiled = self._compiled[id(statement)] = _Compiled(statement, self.engine)
        connection = holder.get("read_connection")
        if connection is None:
            connection = holder.read_connection = self.engine.raw_connection()
            if self.autocommit:
                connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        parameters = compiled.parameters(values)
        # Whoever watches the engine's SQL (the tests' query counts) sees these reads too.
        dispatch = self.engine.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(None, cursor, compiled.sql, parameters, None, False)
        try:
            cursor.execute(compiled.sql, parameters)
            return compiled.rows(cursor.fetchall())
        finally:
            cursor.close()

    def release(self, connection) -> None:
        driver = connection.driver_connection
        try:
            if self.autocommit and not driver.closed:
                driver.autocommit = False
        finally:
            connection.close()  # back to the pool


def _read_in(session: Session, statement: Select, values: dict[str, Any]) -> list:
    # What is pending is flushed first, as an ORM query's autoflush would.
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, values).all()


def read_all(statement: Select, values: dict[str, Any], db: Session | None = None) -> list:
    """Rows of a read-only statement built once, outside any transaction (see ``Reads``);
    in ``db``'s transaction when given, as in the request's once it has one."""
    if db is not None:
        return _read_in(db, statement, values)
    # The app behind the proxy fetched once (an attribute read through it costs 8,000).
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions["imagin.reads"].all(statement, values)


def release_reads() -> None:
    """Give the request's reads' connection back to the pool, if it has one."""
    connection = g._get_current_object().pop("read_connection", None)  # type: ignore[attr-defined]
    if connection is not None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        app.extensions["imagin.reads"].release(connection)


def read_without_transaction() -> None:
    """On PostgreSQL, run this request's ORM statements without BEGIN and ROLLBACK (the
    DEC queue's: two round trips of its six); ``read_all`` is the way for statements built
    once. Its statements only read, each sees what was committed when it started, as in a
    READ COMMITTED transaction (the isolation level of every other)."""
    db = get_db()
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


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
    app.extensions["imagin.reads"] = Reads(engine)
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
