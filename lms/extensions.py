"""Flask extensions, created unbound here and initialised in `create_app` (no app import)."""

from __future__ import annotations

from functools import lru_cache

from flask import has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, bindparam, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict

# Deterministic constraint names, so Alembic migrations behave the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Requests that only look: they never change data (lms/web.py refuses a write while answering one,
# lms/locks.py a lock).
READS = ("GET", "HEAD", "OPTIONS")


def reading_request() -> bool:
    """Tell whether the current request, if any, only looks (GET, HEAD, OPTIONS)."""
    return has_request_context() and request.method in READS



def refuse_changes_on_reads() -> None:
    """Refuse to change data while answering a request that only looks (a flush, lms/web.py, or a
    Core write, core_rows): looking at a page never changes data, and on PostgreSQL a read runs in
    autocommit mode, where a change would stay."""
    if reading_request():
        raise RuntimeError(f"{request.method} {request.endpoint} tried to change data; "
                           "make it an explicit action (a POST)")

class RequestSession(FlaskSession):
    """The app's session. On PostgreSQL a request that only looks reads in autocommit mode.

    Under PostgreSQL's READ COMMITTED every statement takes its own snapshot, in a transaction or
    not, so a page reads the same either way; without the transaction it spares the BEGIN and the
    ROLLBACK, two round trips to the server on every page (bench/floor.py). Writes (POST) keep
    their transaction. SQLite keeps a deferred BEGIN on reads (lms/__init__.py): there the
    transaction is what holds one snapshot for the page, and it costs no round trip.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if isinstance(engine, Engine) and engine.dialect.name == "postgresql" and reading_request():
            return _autocommit(engine)
        return engine


@lru_cache(maxsize=16)
def _autocommit(engine: Engine) -> Engine:
    """The engine with its connections in autocommit mode (same pool; the mode is undone when a
    connection goes back to it)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING), session_options={"class_": RequestSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


def core_rows(statement, parameters: dict | None = None):
    """Run a Core statement on the session's connection, after flushing pending changes as the ORM
    would: a SELECT of columns, whose rows come back without the ORM's result handling (about 30 µs
    less a statement), or an INSERT or UPDATE on a hot write path (a role-play turn) without the
    unit of work — statements built once. Like a flush, it refuses to change data while answering
    a request that only looks (lms/web.py). Read a SELECT's rows before the request's next write:
    on SQLite a write first takes the write lock, which a result still being read can make fail at
    once (lms/sqlitegate.py)."""
    if statement.is_dml:
        refuse_changes_on_reads()
    session = db.session()
    session.flush()
    return session.connection().execute(statement, parameters or {})


@lru_cache(maxsize=None)
def _keys(mapper) -> tuple[str, ...]:
    """The attribute of each column of a mapped class's table, in the table's order."""
    return tuple(mapper.get_property_by_column(column).key for column in mapper.local_table.c)


def loaded(model, row):
    """The object of `model` that a Core row of its table's columns (all of them, in the table's
    order; columns after those are ignored) describes, made part of the request's session as the
    ORM's own load would have made it: persistent, nothing to flush, relationships and changes
    working as usual — without the ORM's query machinery, for a row read on every request (the
    person of the request, the run of a turn). The caller has looked in the session's identity map
    first: an object already there is the one to use."""
    mapper = model.__mapper__
    instance = mapper.class_manager.new_instance()
    instance_dict(instance).update(zip(_keys(mapper), row))  # a new object: nothing to track yet
    make_transient_to_detached(instance)  # marks what is set as loaded, as a load would
    db.session.add(instance)
    return instance


@lru_cache(maxsize=None)
def _by_id(table):
    return select(*table.c).where(table.c.id == bindparam("id"))


def get_by_id(model, id_: int):
    """`db.session.get(model, id_)` for a model with an `id` primary key, read with one Core
    statement built once (`loaded`): about 75 µs less on a row read on every request."""
    session = db.session()
    known = session.identity_map.get(session.identity_key(model, id_))
    if known is not None:
        return known
    row = core_rows(_by_id(model.__table__), {"id": id_}).first()
    return loaded(model, row) if row is not None else None
