"""Shared fixtures: one app and schema per test session, every test rolled back.

The database is SQLite in a temporary folder, or PostgreSQL when LMS_TEST_DATABASE_URL is set.
The schema is built by the Alembic migrations (so they are tested too) and the real course
content is synced once. Each test runs inside an outer transaction that is rolled back at its
end; the app's own commits only release savepoints inside it.

Tests never hold an app context while using the client (Flask would reuse it, and with it
`g`, across requests); data is made through `factory`, which opens its own context.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from pathlib import Path
import os
import re
from dataclasses import dataclass
from datetime import date

import pytest
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from lms import create_app
from lms.extensions import db, limiter

TEST_DB_URL = os.environ.get("LMS_TEST_DATABASE_URL")
PASSWORD = "Test-pass-123"


class BoundSession(FlaskSession):
    """A Flask-SQLAlchemy session that uses the connection it was bound to (for rollback)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def make_app(tmp_path: Path, **extra):
    """Create an app for tests with its instance folder under tmp_path."""
    url = TEST_DB_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    config = {"TESTING": True, "SECRET_KEY": "test-secret-key", "DATABASE_URL": url,
              "RATELIMIT_STORAGE_URI": "memory://",
              "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", **extra}
    return create_app(config, instance_path=str(tmp_path / "instance"))


def reset_postgres(app) -> None:
    """Drop every table of the PostgreSQL test database."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("lms"))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        reset_postgres(app)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        from lms.cli import load_everything, run_sync

        problems = load_everything().problems
        assert not problems, problems
        assert run_sync()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(request):
    """Run the test in a transaction that is rolled back afterwards."""
    if "no_db" in request.keywords:
        yield
        return
    app = request.getfixturevalue("app")
    original = db.session
    with app.app_context():
        conn = db.engine.connect()
        outer = conn.begin()
    db.session = db._make_scoped_session(
        {"bind": conn, "class_": BoundSession, "join_transaction_mode": "create_savepoint"}
    )
    with app.app_context():
        limiter.reset()
    try:
        yield
        with app.app_context():
            _kept_standings_agree()
    finally:
        # Each app context removed its own session on teardown; drop the outer transaction.
        db.session = original
        outer.rollback()
        conn.close()
        from lms.catalog import forget_cached

        forget_cached(app)  # what was cached from the rolled-back transaction


SWEEP_AFTER_CONTENT = {"on": True}


@event.listens_for(Session, "before_commit")
def _as_if_the_sweep_ran_at_once(session) -> None:
    """In tests, a transaction that changes content also works out everyone's kept standing again,
    as `lms sweep` does a minute later in production (lms/certification/standing.py). Without it a
    row that a change forgot to work out would merely be of an older basis after a test's content
    set-up, unused and unchecked; with it every row is in use, and `_kept_standings_agree` checks
    them all."""
    if SWEEP_AFTER_CONTENT["on"] and session.info.get("content_changed"):
        from lms.accounts.models import User
        from lms.certification.standing import refresh

        refresh(session, session.scalars(select(User.id)).all())


def _kept_standings_agree() -> None:
    """After every test: each person's kept 上岗证 standing in use agrees with evaluating them afresh
    (lms/certification/standing.py): whatever the test changed, through whatever page or command,
    left no row behind that the manager's page would show wrongly."""
    from sqlalchemy.exc import DBAPIError

    from lms.certification.standing import differences

    try:
        problems = differences()
    except DBAPIError as exc:  # the test left PostgreSQL's transaction failed on purpose: nothing to read
        if "current transaction is aborted" in str(exc):
            return
        raise
    finally:
        db.session.remove()
    assert not problems, "kept standings differ from a fresh evaluation:\n" + "\n".join(problems)


@pytest.fixture
def frozen():
    """Freeze the clock; yield a function that sets it (aware datetimes)."""
    from lms import clock

    def set_time(moment):
        clock.freeze(moment)
        return moment

    yield set_time
    clock.freeze(None)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Person:
    id: int
    emp_no: str
    name: str
    role: str
    store_id: int | None
    position: str | None
    password: str = PASSWORD


class Factory:
    """Make rows for a test; returns plain values so no app context is left open."""

    _seq = itertools.count(1)

    def __init__(self, app):
        self.app = app

    def region(self) -> int:
        from lms.accounts.models import Region

        n = next(self._seq)
        with self.app.app_context():
            region = Region(code=f"R{n:04d}", name=f"测试地市{n}")
            db.session.add(region)
            db.session.commit()
            return region.id

    def store(self, code: str | None = None, name: str | None = None, region_id: int | None = None) -> int:
        from lms.accounts.models import Store

        n = next(self._seq)
        region_id = region_id or self.region()
        with self.app.app_context():
            store = Store(code=code or f"T{n:04d}", name=name or f"测试营业厅{n}", region_id=region_id)
            db.session.add(store)
            db.session.commit()
            return store.id

    def person(self, role: str = "staff", store_id: int | None = None, position: str | None = "综合受理",
               hire_date: date | None = None, active: bool = True, emp_no: str | None = None,
               name: str | None = None) -> Person:
        from lms.accounts.models import User

        n = next(self._seq)
        if role in ("staff", "manager") and store_id is None:
            store_id = self.store()
        if role == "manager":
            position = "营业厅经理"
        if role in ("admin",):
            position = None
        with self.app.app_context():
            user = User(emp_no=emp_no or f"E{n:05d}", name=name or f"测试{n}", role=role, position=position,
                        store_id=store_id, hire_date=hire_date or date(2025, 1, 1), active=active)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
            return Person(user.id, user.emp_no, user.name, role, store_id, position)


@pytest.fixture
def factory(app):
    return Factory(app)


CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


class Statements:
    """Count the SQL statements the app's engine runs inside a `with` block (not the savepoints with
    which the tests' bound session wraps each request: BoundSession)."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _seen(self, conn, cursor, statement, *args, **kwargs):
        self.count += not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def csrf_token(client, url: str = "/login") -> str:
    """Fetch a page and return the CSRF token in its first form."""
    response = client.get(url)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1)


def login(client, person: Person, password: str | None = None):
    """Log a person in through the log-in form; return the response."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"emp_no": person.emp_no, "password": password or person.password,
                                       "csrf_token": token})


def post(client, url: str, data: dict | None = None, page: str | None = None, **kwargs):
    """POST a form with a valid CSRF token taken from `page` (default: the home page)."""
    token = csrf_token(client, page or "/")
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture
def world(factory):
    """Two stores A and B with staff and a manager each, plus a trainer and an admin."""
    a, b = factory.store(name="甲营业厅"), factory.store(name="乙营业厅")
    return {
        "store_a": a,
        "store_b": b,
        "staff_a": factory.person("staff", a, "综合受理"),
        "staff_b": factory.person("staff", b, "咨询引导"),
        "manager_a": factory.person("manager", a),
        "manager_b": factory.person("manager", b),
        "trainer": factory.person("trainer", None, "培训"),
        "admin": factory.person("admin"),
    }


def live_database(tmp: Path):
    """A database of its own, for tests with real threads or several apps (not the rolled-back
    test transaction): a SQLite file, or a fresh PostgreSQL database when testing on one.
    Returns its URL and a function that drops it."""
    if TEST_DB_URL and TEST_DB_URL.startswith("postgresql"):
        import psycopg

        name = f"lms_live_{os.getpid()}"
        server = TEST_DB_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return TEST_DB_URL.rsplit("/", 1)[0] + f"/{name}", drop
    return f"sqlite:///{tmp / 'live.sqlite3'}", lambda: None


@contextmanager
def isolated_app(tmp: Path, emp_no: str, name: str, password: str, store: tuple[str, str]):
    """An app on a database of its own (live_database), initialised without demo data, with one
    staff member in a store of their own: yields (app, person); drops the database afterwards."""
    url, drop = live_database(tmp)
    app = make_app(tmp, DATABASE_URL=url)
    result = app.test_cli_runner().invoke(args=["lms", "init", "--no-demo"])
    assert result.exit_code == 0, result.output
    try:
        yield app, add_live_person(app, emp_no, name, password, store=store)
    finally:
        with app.app_context():
            db.engine.dispose()
        drop()


def add_live_person(app, emp_no: str, name: str, password: str, store: tuple[str, str],
                    position: str = "综合受理") -> Person:
    """Add one staff member, in a new store of a new region, to a live database (committed)."""
    from lms.accounts.models import Region, Store, User

    with app.app_context():
        code, store_name = store
        row = Store(code=code, name=store_name, region=Region(code=code[0], name="测试"))
        user = User(emp_no=emp_no, name=name, role="staff", position=position, store=row)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return Person(user.id, emp_no, name, "staff", row.id, position, password)
