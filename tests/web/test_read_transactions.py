"""A request that only looks: on PostgreSQL it reads without a transaction (two round trips fewer
on every page), a change keeps its transaction, and a read never takes a lock."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from lms.accounts.models import User
from lms.extensions import db
from lms.locks import NOTICE_FAN_OUT, advisory_lock, lock_row
from tests.conftest import TEST_DB_URL, make_app


@pytest.mark.no_db
@pytest.mark.skipif(not (TEST_DB_URL or "").startswith("postgresql"), reason="PostgreSQL only (SQLite keeps BEGIN)")
def test_a_page_read_opens_no_transaction_and_a_change_still_has_one(tmp_path):
    from psycopg.pq import TransactionStatus

    app = make_app(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})  # one connection
    try:
        with app.test_request_context("/", method="GET"):
            assert db.session.execute(text("SELECT 1")).scalar() == 1
            dbapi = db.session.connection().connection.dbapi_connection
            assert dbapi.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
        with app.test_request_context("/", method="POST"):
            db.session.execute(text("SELECT 1"))
            assert db.session.connection().connection.dbapi_connection is dbapi  # the same, back from the read
            assert dbapi.info.transaction_status == TransactionStatus.INTRANS  # a change runs in a transaction
            db.session.rollback()
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.no_db
@pytest.mark.skipif(not (TEST_DB_URL or "").startswith("postgresql"), reason="PostgreSQL only (SQLite keeps BEGIN)")
def test_a_page_on_postgresql_is_read_through_the_apps_own_session_without_a_transaction(app, tmp_path):
    """The other database tests bind their session to a connection they roll back; this one uses the
    app's own session (`app`: the schema and content are in place, nothing is written)."""
    from psycopg.pq import TransactionStatus

    own = make_app(tmp_path)
    seen = []

    @own.after_request
    def transaction_status(response):
        seen.append(db.session.connection().connection.dbapi_connection.info.transaction_status)
        return response

    try:
        page = own.test_client().get("/verify/NO-SUCH-CODE")  # a public page that reads the database
        assert page.status_code == 404 and "门店培训认证平台" in page.get_data(as_text=True)
        assert seen == [TransactionStatus.IDLE]
    finally:
        with own.app_context():
            db.engine.dispose()


def test_a_read_takes_no_lock(app, world):
    with app.test_request_context("/", method="GET"):
        with pytest.raises(RuntimeError, match="takes no lock"):
            advisory_lock(NOTICE_FAN_OUT)
        with pytest.raises(RuntimeError, match="takes no lock"):
            lock_row(User, world["staff_a"].id)
    with app.test_request_context("/", method="POST"):
        assert lock_row(User, world["staff_a"].id).id == world["staff_a"].id


def test_a_read_that_tries_to_write_changes_nothing_not_even_the_content_stamp(app, world):
    """The refusal comes before any flush hook writes: on PostgreSQL a read runs in autocommit mode,
    where a bumped content stamp would stay (and every process would reload its catalogue)."""
    from lms.catalog import ContentStamp
    from lms.courses.models import Module

    with app.test_request_context("/", method="GET"):
        stamp = db.session.scalar(select(ContentStamp.value))
        module = db.session.scalar(select(Module).order_by(Module.id).limit(1))
        module.title += "（改）"
        with pytest.raises(RuntimeError, match="tried to change data"):
            db.session.flush()
        with db.session.no_autoflush:
            assert db.session.scalar(select(ContentStamp.value)) == stamp
        db.session.rollback()


def test_a_read_cannot_write_through_a_core_statement_either(app, world):
    """The hot write paths (a role-play turn) write with Core statements, past the flush hooks; the
    same refusal holds for them, before anything reaches the database."""
    from sqlalchemy import update

    from lms.extensions import core_rows

    person = world["staff_a"]
    with app.test_request_context("/", method="GET"):
        with pytest.raises(RuntimeError, match="tried to change data"):
            core_rows(update(User.__table__).where(User.__table__.c.id == person.id).values(name="改过的名字"))
        assert core_rows(select(User.__table__.c.name).where(User.__table__.c.id == person.id)).scalar() == person.name
    with app.test_request_context("/", method="POST"):
        assert core_rows(update(User.__table__).where(User.__table__.c.id == person.id)
                         .values(name="改过的名字")).rowcount == 1
        db.session.rollback()
