"""Backups of the live SQLite database, and restoring one."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import func, select, text

from lms.extensions import db
from tests.conftest import make_app

pytestmark = pytest.mark.no_db


def test_backup_while_writing_and_restore(tmp_path):
    database = tmp_path / "live.sqlite3"
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{database}")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["lms", "init"]).exit_code == 0
    stop = threading.Event()

    def writer():  # keeps writing while the backup runs
        conn = sqlite3.connect(database, timeout=10)
        i = 0
        while not stop.is_set():
            conn.execute("INSERT INTO region (code, name) VALUES (?, ?)", (f"W{i}", "写入中"))
            conn.commit()
            i += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = runner.invoke(args=["lms", "backup", str(tmp_path / "copy.sqlite3")])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        people = copy.execute("SELECT count(*) FROM users").fetchone()[0]
        assert people >= 20
    with app.app_context():  # something happens after the backup…
        db.session.execute(text("DELETE FROM audit_event"))
        db.session.execute(text("UPDATE users SET name = '改坏了'"))
        db.session.commit()
    result = runner.invoke(args=["lms", "restore", str(tmp_path / "copy.sqlite3"), "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():  # …and the restore brings the backup back
        from lms.accounts.models import User

        assert db.session.scalar(select(func.count()).select_from(User).where(User.name == "改坏了")) == 0
        assert db.session.scalar(select(func.count()).select_from(User)) == people
        db.engine.dispose()
    assert list(tmp_path.glob("live.sqlite3.before-restore-*"))


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    app = make_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'live.sqlite3'}")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["lms", "init", "--no-demo"]).exit_code == 0
    junk = tmp_path / "junk.sqlite3"
    with sqlite3.connect(junk) as conn:
        conn.execute("CREATE TABLE t (x)")
    result = runner.invoke(args=["lms", "restore", str(junk), "--yes"])
    assert result.exit_code == 1 and "不是本系统的数据库备份" in result.output
    with app.app_context():
        db.engine.dispose()
