"""Row and advisory locks for check-then-write use cases.

Two requests can read the same state and both act on it (two hand-ins grading twice, two exam
starts passing the attempt limit). Locking the row they both depend on makes the second wait and
then see the first one's result. On SQLite a transaction that may write reads without a lock until
its first write or lock (lms/sqlitegate.py); a lock here takes SQLite's one write lock (SQLite drops
FOR UPDATE, and the app takes the write lock before such a statement: lms/__init__.py), which
serialises it with every other writer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

from sqlalchemy import bindparam, event, select, text
from sqlalchemy.orm import Session

from .extensions import db, reading_request
from .sqlitegate import GatedConnection

T = TypeVar("T")

# advisory lock: publishing, withdrawing and recounting notices and people changing scope take it
# exclusively, a completion shared (they all move the board's counts: lms/notices/tally.py)
NOTICE_FAN_OUT = 48_000
# advisory lock: changes to people, stores, regions and leave take it exclusively (each checks something
# first: a unique 工号, the last admin, a store's people, overlapping leave: lms/accounts/service.py);
# taken before NOTICE_FAN_OUT when both are
ORGANISATION = 48_001


def lock_row(model: type[T], row_id: int, *criteria) -> T | None:
    """Lock a row for the rest of the transaction and return it freshly read (None if there is
    no such row, or it does not meet `criteria`: nothing is locked then).

    Locking the same row again in the same transaction returns it as it stands in the session,
    without reading it again: it has been locked, so only this transaction has changed it since.
    """
    _refuse_on_reads()
    session = db.session()
    locked = session.info.setdefault("locked_rows", set())
    if (model, row_id) in locked and not criteria:
        row = session.get(model, row_id)  # from the identity map
        if row is not None:
            return row
    if criteria:
        row = session.scalar(_locking(model).where(*criteria), {"row_id": row_id})
    else:
        row = session.scalar(_locking(model), {"row_id": row_id})
    if row is not None:
        locked.add((model, row_id))
    return row


@lru_cache(maxsize=None)
def _locking(model):
    """The locking read of a row of `model` by id (`row_id`), built once per model: a person's row
    is locked at every start of a run and every certificate decision."""
    return (select(model).where(model.id == bindparam("row_id")).with_for_update()
            .execution_options(populate_existing=True))


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction) -> None:
    """Forget the locks when any transaction ends, a savepoint too (rolling one back releases the
    row locks taken inside it on PostgreSQL); forgetting too much only costs a read."""
    session.info.pop("locked_rows", None)


def advisory_lock(key: int, shared: bool = False) -> None:
    """Serialise a kind of change across processes until the transaction ends (PostgreSQL; on SQLite
    the one write lock, which serialises every writer). Shared holders run together and wait only for
    an exclusive one, and it for them."""
    _refuse_on_reads()
    if db.session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        db.session.execute(text(f"SELECT {function}(:key)"), {"key": key})
        return
    dbapi = db.session.connection().connection.dbapi_connection
    if isinstance(dbapi, GatedConnection):  # SQLite: its one write lock, now (it serialises every writer)
        dbapi.write_now()


def _refuse_on_reads() -> None:
    """A lock serves a change; a request that only looks makes none (on PostgreSQL it reads in
    autocommit mode, where a lock would end with its own statement: lms/extensions.py)."""
    if reading_request():
        raise RuntimeError("a GET, HEAD or OPTIONS request takes no lock: make the change a POST")
