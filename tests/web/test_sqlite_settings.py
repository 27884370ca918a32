"""The settings every SQLite connection of the app gets (lms/__init__.py); docs/deploy.md tells
an operator what synchronous=NORMAL means for a power cut, so the setting must be what it says."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from lms.extensions import db
from tests.conftest import make_app

pytestmark = pytest.mark.no_db


@pytest.fixture
def sqlite_app(tmp_path):
    path = tmp_path / "settings.sqlite3"
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{path}")
    result = app.test_cli_runner().invoke(args=["lms", "init", "--no-demo"])
    assert result.exit_code == 0, result.output
    yield app, path
    with app.app_context():
        db.engine.dispose()


def test_connections_use_wal_normal_sync_foreign_keys_and_a_busy_timeout(sqlite_app):
    app, _ = sqlite_app
    with app.app_context():
        pragma = {name: db.session.execute(text(f"PRAGMA {name}")).scalar()
                  for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 5000}



def test_a_save_reads_without_the_write_lock_and_a_lock_takes_it(sqlite_app):
    """On SQLite a change reads beside other writers until its first write or lock; lms/locks.py's
    locks take SQLite's one write lock (the notices' advisory lock guards the board's counts, and
    `lms notices recount --check` reads them under it, as one snapshot)."""
    from sqlalchemy import select

    from lms.accounts.models import Region
    from lms.locks import NOTICE_FAN_OUT, advisory_lock, lock_row
    from lms.sqlitegate import gate_for

    app, path = sqlite_app
    gate = gate_for(str(path))
    with app.test_request_context("/", method="POST"):
        db.session.execute(select(Region.id)).all()
        assert gate.acquire(timeout=0.05)  # reading took nothing
        gate.release()
        advisory_lock(NOTICE_FAN_OUT)
        assert not gate.acquire(timeout=0.05)
        db.session.rollback()
    assert gate.acquire(timeout=0.05)
    gate.release()
    with app.test_request_context("/", method="POST"):
        region = Region(code="LOCK1", name="锁测试区")
        db.session.add(region)
        db.session.commit()
        assert gate.acquire(timeout=0.05)  # given back at the commit
        gate.release()
        assert lock_row(Region, region.id).code == "LOCK1"
        assert not gate.acquire(timeout=0.05)
        db.session.rollback()
