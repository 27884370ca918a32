"""Migration 0011 (certificate renewal): certificates issued so far start when they were issued, the
outbox takes a certificate's reminder (no notice), and the step down and up again keeps the data."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from lms.extensions import db
from tests.conftest import make_app

pytestmark = pytest.mark.no_db

ROWS = [
    "INSERT INTO region (id, code, name) VALUES (1, 'R1', '地市')",
    "INSERT INTO store (id, code, name, region_id, address, active, created_at) "
    "VALUES (1, 'S1', '营业厅', 1, '', 1, '2026-01-01 00:00:00')",
    "INSERT INTO users (id, emp_no, name, password_hash, role, position, store_id, hire_date, active, created_at) "
    "VALUES (1, 'E1', '张三', 'x', 'staff', '综合受理', 1, '2025-01-01', 1, '2026-01-01 00:00:00')",
    "INSERT INTO certification (id, slug, title, positions, rule, version, active, updated_at) "
    "VALUES (1, 'counter', '上岗证', '[]', '{}', 1, 1, '2026-01-01 00:00:00')",
    "INSERT INTO certificate (id, code, user_id, certification_id, issued_at, expires_at, revoke_reason, basis) "
    "VALUES (1, 'ABC', 1, 1, '2026-01-02 03:04:05', '2027-01-02 03:04:05', '', '{}')",
]


def test_certificates_keep_their_start_and_the_outbox_takes_certificate_reminders(tmp_path):
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0010")
        with db.engine.begin() as conn:
            for statement in ROWS:
                conn.execute(text(statement))
        upgrade(directory=directory)
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM certificate WHERE valid_from = issued_at")).scalar() == 1
            conn.execute(text("INSERT INTO outbox (key, kind, channel, recipient_id, certificate_id, payload, created_at, "
                              "attempts, last_error) VALUES ('cert1:cert-60d:inapp', 'cert-60d', 'inapp', 1, 1, '{}', "
                              "'2026-11-03 00:00:00', 0, '')"))
            assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        downgrade(directory=directory, revision="0010")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 0  # a certificate's reminder goes
            assert conn.execute(text("SELECT code FROM certificate")).scalar() == "ABC"
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM certificate WHERE valid_from = issued_at")).scalar() == 1
        db.engine.dispose()
