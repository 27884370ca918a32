"""门店培训认证平台: the application factory."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from werkzeug.routing import IntegerConverter
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from . import config as default_config
from .sqlitegate import GatedConnection, gate_for
from .urls import url_problem
from .extensions import csrf, db, limiter, login_manager, migrate, reading_request

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")


def create_app(test_config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Create and configure the app: config, extensions, blueprints, CLI. No side effects."""
    app = Flask(__name__, instance_relative_config=True,
                instance_path=instance_path or os.environ.get("LMS_INSTANCE_PATH") or None)
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LMS")
    if "LMS_SECRET_KEY" in os.environ:  # a key is text even when it parses as JSON (e.g. all digits)
        app.config["SECRET_KEY"] = os.environ["LMS_SECRET_KEY"]
    if test_config:
        app.config.update(test_config)
    _finish_config(app)

    if app.config.get("PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["int"] = BoundedInt

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from . import catalog, web  # noqa: F401 (catalog: the content stamp's table and its flush hook)
    from .accounts import bp as accounts_bp
    from .accounts.admin import admin_bp
    from .courses import bp as courses_bp
    from .reports import bp as reports_bp
    from .roleplay import bp as roleplay_bp
    from .exams import bp as exams_bp
    from .certification import bp as certification_bp
    from .notices import bp as notices_bp
    from .authoring import bp as authoring_bp
    from .home import bp as home_bp
    from .speech import bp as speech_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(roleplay_bp)
    app.register_blueprint(exams_bp)
    app.register_blueprint(certification_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(authoring_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(speech_bp)
    web.init_app(app)

    from .cli import lms_cli

    app.cli.add_command(lms_cli)
    return app


class BoundedInt(IntegerConverter):
    """URL integers that fit a database integer: /runs/99999999999999999999 is a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _finish_config(app: Flask) -> None:
    """Derive the database URI and secret key from the merged configuration."""
    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + os.path.join(app.instance_path, "lms.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("factory", GatedConnection)
    # else: a server may restart or drop idle connections: _ping_if_idle tests a connection that sat
    # in the pool for a while before it is used (a file cannot go away)
    if not app.config.get("SECRET_KEY"):
        key_file = Path(app.instance_path) / "secret_key"
        if key_file.is_file():
            app.config["SECRET_KEY"] = key_file.read_text(encoding="ascii").strip()
    if app.config.get("PUBLIC_URL"):
        problem = url_problem(app.config["PUBLIC_URL"])
        if problem:
            raise ValueError(problem)
        app.config["PUBLIC_URL"] = app.config["PUBLIC_URL"].rstrip("/")
        if app.config["PUBLIC_URL"].lower().startswith("https://"):  # served on HTTPS: never send cookies in clear
            app.config["SESSION_COOKIE_SECURE"] = True
            app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", False))


@event.listens_for(Engine, "do_connect")
def _sqlite_private_file(dialect, conn_rec, cargs, cparams) -> None:
    """Create a new SQLite database file readable by its owner only (0600).

    Left to SQLite, the file gets the umask's mode (usually 0644): every local account could read
    the password hashes and the training records. SQLite gives its -wal and -shm files the mode of
    the database file.
    """
    if dialect.name != "sqlite" or cparams.get("uri"):
        return
    path = cargs[0] if cargs else cparams.get("database")
    if not path or path == ":memory:":
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass  # it exists already, or its folder does not (SQLite then says so itself)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Turn on foreign keys, WAL and a busy timeout for every SQLite connection.

    With WAL, `synchronous=NORMAL` (SQLite's advice for WAL; Rails' default): a commit no longer
    waits for the disk to flush the log, only a checkpoint does. A crash of the app or of gunicorn
    loses nothing committed; a power cut or a crash of the operating system may undo the last
    commits, never corrupt the file. The flush cost about 0.4 ms of every write, spent holding
    SQLite's one write lock (bench/README.md, issue 16's fourth round); docs/deploy.md says so.

    The driver's own transaction handling is switched off so that SQLAlchemy's BEGIN (below)
    and SAVEPOINTs behave as on PostgreSQL (the SQLAlchemy docs' pysqlite recipe).
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


IDLE_BEFORE_PING = 1.0  # seconds a pooled connection to a server may rest and be used without a test


@event.listens_for(Pool, "connect")
@event.listens_for(Pool, "checkin")
def _rested_since(dbapi_connection, connection_record) -> None:
    connection_record.info["rested_since"] = time.monotonic()  # a new connection needs no test either


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, connection_record, connection_proxy) -> None:
    """Test a database server's connection before use if it rested in the pool for a while.

    SQLAlchemy's `pool_pre_ping` tests every checkout, one round trip (0.17 ms of a 1.1 ms logged-in
    request on PostgreSQL, bench/README.md). A server restart or a dropped idle connection happens
    while connections rest; one used within the last second is as good as tested (if the server
    went away since, its request fails as it would on the way, and SQLAlchemy then empties the
    pool). A failed test makes the pool replace the connection (the documented `DisconnectionError`
    of a checkout listener). SQLite files cannot go away: their connections are never tested."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        return
    rested = connection_record.info.get("rested_since")
    if rested is not None and time.monotonic() - rested < IDLE_BEFORE_PING:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()  # end the transaction the driver began for it: the request sets its own mode
    except Exception as exc:  # the driver's own error for a dead connection, whichever driver
        raise DisconnectionError("the connection failed its test after resting in the pool") from exc


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """Start SQLite transactions explicitly (see _sqlite_pragmas).

    Requests that only look (GET: they never write, lms/web.py) read in one deferred transaction,
    one snapshot for the page, side by side with everything else. A transaction that may write
    takes SQLite's one write lock at its first write or lock (lms/sqlitegate.py: `defer`, then
    `_sqlite_first_write` below), with BEGIN IMMEDIATE: a deferred transaction that read first and
    wrote later would fail with "database is locked" when another writer got in between, which
    busy_timeout cannot fix. Until then its reads run without a transaction, each statement on its
    own snapshot, as under PostgreSQL's READ COMMITTED, where the app runs in production: what must
    not race takes a lock first (lms/locks.py) or claims with a conditional UPDATE (a role-play
    turn); a check-then-write that does neither races on SQLite now as it does on PostgreSQL.
    """
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        if reading_request():
            dbapi.execute("BEGIN")  # on the driver: the same statement, without SQLAlchemy's execution around it
            return
        if isinstance(dbapi, GatedConnection):  # queue behind this installation's other writers then
            dbapi.defer(conn.engine.url.database)
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_first_write(conn, cursor, statement, parameters, context, executemany) -> None:
    """Take the write lock of a deferred SQLite transaction before its first statement that writes
    or locks: anything but a SELECT, and a SELECT … FOR UPDATE (SQLite drops the clause; the lock
    it asks for is the write lock here)."""
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        if getattr(dbapi, "pending", None) is not None and _writes_or_locks(statement, context):
            dbapi.write_now()


def _writes_or_locks(statement: str, context) -> bool:
    if statement.lstrip()[:6].upper() != "SELECT":  # a CTE (WITH …) counts as a write: early, never late
        return True
    compiled = getattr(context, "compiled", None)
    return compiled is not None and getattr(compiled.statement, "_for_update_arg", None) is not None
