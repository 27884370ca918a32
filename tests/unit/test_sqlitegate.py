"""The SQLite write gate: writers of one database queue, and the gate is always given back."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from lms import _sqlite_begin  # noqa: F401 (the engine events)
from lms.sqlitegate import GatedConnection, gate_for

pytestmark = pytest.mark.no_db


def _engine(path):
    return create_engine(f"sqlite:///{path}", connect_args={"factory": GatedConnection})


def test_a_second_writer_reads_at_once_and_writes_when_the_first_commits(tmp_path):
    """Writers queue at the gate, but only from their first change: a save holds the write lock from
    its first change to its commit, not from its first read."""
    engine = _engine(tmp_path / "a.sqlite3")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE log (who TEXT)"))
        conn.execute(text("INSERT INTO log VALUES ('before')"))
    events, first_in = [], threading.Event()

    def first():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log VALUES ('first')"))
            first_in.set()
            time.sleep(0.3)
            events.append("first commits")

    def second():
        first_in.wait()
        with engine.begin() as conn:
            seen = conn.execute(text("SELECT who FROM log ORDER BY rowid")).scalars().all()
            events.append(f"second read {seen}")  # at once: the first's row is not committed yet
            conn.execute(text("INSERT INTO log VALUES ('second')"))
            events.append("second wrote")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_in.wait(5)
    gate = gate_for(str(tmp_path / "a.sqlite3"))
    assert not gate.acquire(timeout=0.05)  # the first writer holds the gate, not only SQLite's lock
    for t in threads:
        t.join()
    assert events == ["second read ['before']", "first commits", "second wrote"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM log ORDER BY rowid")).scalars().all() == ["before", "first", "second"]
    engine.dispose()


@pytest.mark.parametrize("end", ["commit", "rollback", "error"])
def test_the_gate_is_given_back_however_the_transaction_ends(tmp_path, end):
    path = tmp_path / "b.sqlite3"
    engine = _engine(path)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    gate = gate_for(str(path))
    conn = engine.connect()
    transaction = conn.begin()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    assert not gate.acquire(timeout=0.05)  # held by the open write transaction
    if end == "commit":
        transaction.commit()
    elif end == "rollback":
        transaction.rollback()
    else:
        with pytest.raises(Exception):
            conn.execute(text("INSERT INTO missing VALUES (1)"))
        transaction.rollback()
    assert gate.acquire(timeout=0.05)
    gate.release()
    conn.close()
    engine.dispose()



def test_a_lock_takes_the_write_lock_and_a_transaction_that_only_reads_takes_none(tmp_path):
    from sqlalchemy import Column, Integer, MetaData, Table, select

    path = tmp_path / "d.sqlite3"
    engine = _engine(path)
    table = Table("t", MetaData(), Column("x", Integer))
    with engine.begin() as conn:
        table.create(conn)
    gate = gate_for(str(path))
    with engine.begin() as conn:
        conn.execute(select(table))
        assert gate.acquire(timeout=0.05)  # reading took nothing
        gate.release()
        conn.execute(select(table).with_for_update())  # lms/locks.py: lock_row
        assert not gate.acquire(timeout=0.05)  # a lock is the write lock here
    assert gate.acquire(timeout=0.05)
    gate.release()
    engine.dispose()



def test_a_write_that_cannot_get_the_lock_fails_and_never_writes_without_it(tmp_path):
    """Another program holds SQLite's lock (not the gate): the write waits for the busy timeout,
    fails, gives the gate back and leaves the transaction waiting for the lock; once the lock is
    free, a second try in the same transaction writes, inside a transaction."""
    import sqlite3

    path = tmp_path / "e.sqlite3"
    engine = _engine(path)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    gate = gate_for(str(path))
    with engine.connect() as conn:
        transaction = conn.begin()
        dbapi = conn.connection.dbapi_connection
        dbapi.execute("PRAGMA busy_timeout=100")  # straight to the driver: not a write of the transaction
        with pytest.raises(Exception, match="locked"):
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert gate.acquire(timeout=0.05)  # given back
        gate.release()
        assert dbapi.pending is not None and not dbapi.in_transaction
        blocker.rollback()
        conn.execute(text("INSERT INTO t VALUES (2)"))
        assert dbapi.in_transaction
        transaction.commit()
    blocker.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [2]
    engine.dispose()


def _hold(path, ready):
    engine = _engine(path)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        ready.set()
        time.sleep(0.5)
    time.sleep(3)  # still running well after its commit
    engine.dispose()


def test_writers_in_two_processes_queue_at_the_gate(tmp_path):
    path = tmp_path / "c.sqlite3"
    engine = _engine(path)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    other = context.Process(target=_hold, args=(str(path), ready))
    other.start()
    assert ready.wait(10)
    gate = gate_for(str(path))
    assert not gate.acquire(timeout=0.05)  # the other process is writing
    assert gate.acquire(timeout=2)  # and gives the gate back when it commits,
    assert other.is_alive()  # not when it ends
    gate.release()
    other.join(10)
    assert other.exitcode == 0
