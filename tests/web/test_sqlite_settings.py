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

