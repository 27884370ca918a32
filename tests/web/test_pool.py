"""Pooled connections to a database server: tested before use only after resting (lms/__init__.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import lms
from lms.extensions import db
from tests.conftest import TEST_DB_URL, isolated_app, login

pytestmark = [pytest.mark.no_db,
              pytest.mark.skipif(not (TEST_DB_URL or "").startswith("postgresql"), reason="a database server")]


@pytest.fixture
def served(tmp_path):
    with isolated_app(tmp_path, "POOL01", "连接", "Pool-pass-123", ("P001", "连接测试厅")) as served:
        yield served


def _end_the_servers_side(app) -> int:
    """Close, on the server, every connection of the app's pool (as a server restart does)."""
    import psycopg

    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        return admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()[0]


def test_a_page_after_the_server_dropped_resting_connections_works(served, monkeypatch):
    app, person = served
    client = app.test_client()
    login(client, person)
    assert client.get("/").status_code == 200
    assert _end_the_servers_side(app) >= 1
    monkeypatch.setattr(lms, "IDLE_BEFORE_PING", 0.0)  # they rested long enough to be tested
    assert client.get("/").status_code == 200  # the dead connection failed its test and was replaced
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_a_connection_used_a_moment_ago_is_not_tested(served, monkeypatch):
    """Without the test a dropped connection reaches the request: proof that none was run (and that
    the pool then starts afresh, so the page after works)."""
    app, person = served
    client = app.test_client()
    login(client, person)
    assert client.get("/").status_code == 200
    monkeypatch.setattr(lms, "IDLE_BEFORE_PING", 3600.0)
    _end_the_servers_side(app)
    assert client.get("/").status_code == 500
    assert client.get("/").status_code == 200
