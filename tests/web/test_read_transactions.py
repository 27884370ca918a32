"""A request that only looks: on PostgreSQL it reads without a transaction (two round trips fewer
on every page), a change keeps its transaction, and a read never takes a lock."""

from __future__ import annotations

import pytest
from sqlalchemy import text

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


def test_a_read_takes_no_lock(app, world):
    with app.test_request_context("/", method="GET"):
        with pytest.raises(RuntimeError, match="takes no lock"):
            advisory_lock(NOTICE_FAN_OUT)
        with pytest.raises(RuntimeError, match="takes no lock"):
            lock_row(User, world["staff_a"].id)
    with app.test_request_context("/", method="POST"):
        assert lock_row(User, world["staff_a"].id).id == world["staff_a"].id
