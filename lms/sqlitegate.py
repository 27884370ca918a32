"""A queue for SQLite's one writer.

SQLite lets one transaction write at a time. A writer that finds the lock taken is put to sleep
by SQLite's busy handler in steps that grow to 100 ms, and tries again only when it wakes: under
a burst of saves the lock is often free while every waiter sleeps, the server idles, and the
unlucky save waits a second or more.

The gate makes writers of this installation queue instead: before `BEGIN IMMEDIATE` a
connection takes a lock shared by the threads of its process, then an exclusive `flock` on
`<database>.writelock` shared by its processes (gunicorn workers, the sweep, `flask lms`
commands), and gives both up the moment its transaction commits or rolls back. A waiting thread
wakes when the lock it waits on is released; a waiting process looks again every 0.2 ms (every
2 ms once it has waited 20 ms).
Waiting is bounded by the busy timeout: a writer that does not get through the gate in time
goes on without it and is left to SQLite's own locking (which stays in charge in any case: the
gate only orders writers, it never replaces the database lock).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

TIMEOUT = 5.0  # seconds, as PRAGMA busy_timeout
POLL, PATIENCE, POLL_SLOW = 0.0002, 0.02, 0.002  # seconds between looks at another process's lock, and after PATIENCE


class WriteGate:
    """The gate of one database file, for this process."""

    def __init__(self, path: str):
        self.path = path + ".writelock"
        self.threads = threading.Lock()
        self.fd: int | None = None
        self.pid: int | None = None

    def _file(self) -> int:
        if self.pid != os.getpid():  # a forked child must not share its parent's open file (and lock)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self.pid = os.getpid()
        return self.fd

    def acquire(self, timeout: float = TIMEOUT) -> bool:
        """Wait for the gate, up to `timeout` seconds; tell whether it was taken."""
        deadline = time.monotonic() + timeout
        if not self.threads.acquire(timeout=timeout):
            return False
        try:
            fd = self._file()
            started = time.monotonic()
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    now = time.monotonic()
                    if now >= deadline:
                        break
                    # Another process writes: a save holds the lock for well under a millisecond, so
                    # look again soon (only the first waiting thread of a process looks); after a
                    # long wait less often. Waits of up to 2 ms between looks left the lock free
                    # while the next writer slept: turns under gunicorn +22 %, p95 −25 %
                    # (bench/README.md, issue 16's fifth round).
                    time.sleep(POLL if now - started < PATIENCE else POLL_SLOW)
        except OSError:
            pass  # no lock file (read-only folder, say): SQLite's own locking still holds
        self.threads.release()
        return False

    def release(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def _after_fork() -> None:
    """A forked child starts with gates of its own: a lock held by another thread of the parent
    at the fork would otherwise stay held in the child for ever."""
    global _gates, _gates_lock
    _gates, _gates_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def gate_for(path: str | None) -> WriteGate | None:
    """The gate of a database file (None for an in-memory database)."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    path = os.path.abspath(path)
    with _gates_lock:
        gate = _gates.get(path)
        if gate is None:
            gate = _gates[path] = WriteGate(path)
        return gate


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that takes the write lock at its transaction's first write, and gives
    the gate back when the transaction ends.

    A transaction that may write (a POST, a command) starts without a database transaction
    (`defer`): its reads run as SQLite's autocommit statements, each on its own snapshot, as every
    statement does under PostgreSQL's READ COMMITTED. Its first write, or first lock
    (lms/locks.py), takes the gate and then `BEGIN IMMEDIATE` (`write_now`), and everything after
    runs in that one transaction. So a save holds SQLite's one write lock from its first change to
    its commit, not from its first read: the log-in check, loading what it changes and, for a
    role-play turn, the phrase analysis run beside other writers.
    """

    gate: WriteGate | None = None
    pending: str | None = None  # the database file whose write lock the open transaction takes at its first write

    def defer(self, path: str | None) -> None:
        """Open a transaction that may write, without taking the write lock yet."""
        self.pending = path or ""

    def write_now(self) -> None:
        """Take the write lock for the deferred transaction, if it has not yet (gate, then BEGIN IMMEDIATE)."""
        if self.pending is None:
            return
        path, self.pending = self.pending, None
        if self.in_transaction:  # begun by hand on the driver (a SAVEPOINT in autocommit mode, say)
            return
        self.take(gate_for(path))
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:  # locked past the busy timeout: the transaction must not go on without the lock
            self.give_back()
            self.pending = path  # a next write tries again (until the rollback that normally follows)
            raise

    def take(self, gate: WriteGate | None) -> None:
        """Take the gate before BEGIN IMMEDIATE (if it can be had in time)."""
        if gate is not None and self.gate is None and gate.acquire():
            self.gate = gate

    def give_back(self) -> None:
        self.pending = None
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back()
