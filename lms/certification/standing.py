"""Each person's standing towards their 上岗证, kept in the same transaction as what it depends on.

The manager's 今天 shows, for every person of the store, their status and what they still miss.
Working that out (`facts.evaluate_people`: the facts read, every requirement evaluated) for a
store of fifty was most of that page's time, on every visit. So one row per person
(`PersonStanding`) keeps what the evaluation found that does not move with the clock: the
certification of their position, whether anything towards it was met or started, the requirements
still missing and the newest certificate's dates. The status itself is worked out when it is read,
by the rule's own `status.person_status`: it moves with the clock (即将到期, 已过期) and with an
overdue notice (已暂停), which the notices area tells at that moment.

How the rows stay right:
- **A person's own changes.** What the evaluation reads — module progress, exam sittings, finished
  role-play runs, certificates, the person's position — is only changed through the ORM (the app's
  Core statements on runs, a turn's and a start's, touch only unfinished ones). A flush that changes
  any of it notes the person; just before the transaction commits, the noted people are evaluated again from the database and their
  rows written, in the same transaction. On PostgreSQL the people's rows are locked first, so of two
  transactions about one person at the same moment, the second evaluates after the first has
  committed and sees both changes. Where the transaction already evaluated the person to decide on
  their 上岗证 (`evaluate_for_decision`, which locks the row first in the same way), that evaluation
  is used, unless a later flush changed one of their facts.
- **Content changes.** Each row carries its `basis`: the certification of the person's position,
  its rule as it stands and the versions of its courses' modules, as one number. A row whose basis
  is not the current one for the person's position is not used: the page evaluates that person as
  before, and `lms sweep` works such rows out again in batches (`refresh_stale`). Content no rule
  names (a new scenario, another course) leaves every row in use.
- **A person without a row** (new, or from before this table) is evaluated on the page, and by the
  sweep.
- `differences()` compares the rows in use with a fresh evaluation: the test suite runs it after
  every test, and `flask --app wsgi lms standings --check` on a live database.

A row that is wrong therefore means a change to those facts outside the ORM; the rows are only ever
a faster way to the same answer as `evaluate`, never a second rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Collection, Iterable

from sqlalchemy import Select, bindparam, case, event, inspect, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ..accounts.models import User
from ..catalog import Catalog, CertificationInfo, catalog
from ..clock import now
from ..courses.models import ModuleProgress
from ..exams.models import Attempt
from ..extensions import core_rows, db
from ..roleplay.models import Run
from .facts import evaluate_people, evaluate_person, rule_for
from .models import Certificate, PersonStanding
from .status import NOT_REQUIRED, CertificateFacts, Evaluation, person_status

SEPARATOR = "\n"  # between the titles of the requirements missing (a title is one line)
BATCH = 500  # people evaluated together by the sweep, each batch its own transaction


@dataclass(frozen=True)
class Standing:
    """A person's certification status at a moment, and the titles of the requirements still missing."""

    status: str
    missing: tuple[str, ...] = ()


_BASES: dict[int, tuple[Catalog, dict]] = {}  # per catalogue (by id, the catalogue kept with it): position -> basis


def basis(position: str | None, content: Catalog | None = None) -> int:
    """What a person's evaluation depends on in the content, as a number: the certification of their
    position, its rule as it stands (requirements, titles, module counts, minimum scores) and the
    versions of the modules of its courses. A row is used only while its basis is the current one:
    content that changes none of these (another course, a scenario no rule names) leaves it valid."""
    content = content or catalog()
    held = _BASES.get(id(content))
    if held is None or held[0] is not content:
        if len(_BASES) > 8:
            _BASES.clear()
        held = _BASES[id(content)] = (content, {})
    found = held[1].get(position)
    if found is None:
        certification = content.certification_for(position)
        if certification is None:
            what = "none"
        else:
            rule = rule_for(certification, content)
            versions = [(m.id, m.version) for c in rule.courses for m in content.modules.get(c.course_id, ())]
            what = repr((certification.id, rule, versions))
        found = held[1][position] = int.from_bytes(hashlib.blake2b(what.encode(), digest_size=8).digest(),
                                                    "big", signed=True)
    return found


def _kept(evaluation: Evaluation | None, certification_id: int | None) -> dict:
    """The columns of a row for an evaluation (None: the position needs no certification)."""
    if evaluation is None:
        return {"certification_id": None, "progressed": False, "missing": "", "issued_at": None,
                "expires_at": None, "revoked_at": None}
    certificate = evaluation.certificate
    return {"certification_id": certification_id,
            "progressed": any(r.met or r.started for r in evaluation.requirements),
            "missing": SEPARATOR.join(r.title for r in evaluation.requirements if not r.met),
            "issued_at": certificate.issued_at if certificate else None,
            "expires_at": certificate.expires_at if certificate else None,
            "revoked_at": certificate.revoked_at if certificate else None}


def _standing(kept, suspended: bool, at: datetime) -> Standing:
    """The standing at `at` from a row's columns (a row, or a namespace of `_kept`'s)."""
    if kept.certification_id is None:
        return Standing(NOT_REQUIRED)
    certificate = (CertificateFacts(kept.issued_at, kept.expires_at, kept.revoked_at)
                   if kept.expires_at is not None else None)
    return Standing(person_status(certificate, kept.progressed, suspended, at),
                    tuple(kept.missing.split(SEPARATOR)) if kept.missing else ())


def _evaluated(people: Iterable[tuple[int, str | None]], suspended: Collection[int],
               at: datetime) -> dict[int, dict]:
    """Evaluate these (user id, position) now, as the columns of their rows."""
    people = list(people)
    evaluations = evaluate_people(people, suspended, at)
    kept = {}
    for user_id, _ in people:
        found = evaluations.get(user_id)
        kept[user_id] = _kept(found[1], found[0].id) if found else _kept(None, None)
    return kept


KEPT = (PersonStanding.basis, PersonStanding.certification_id, PersonStanding.progressed, PersonStanding.missing,
        PersonStanding.issued_at, PersonStanding.expires_at, PersonStanding.revoked_at)
_READ = select(PersonStanding.user_id, *KEPT).where(PersonStanding.user_id.in_(bindparam("ids", expanding=True)))


def with_kept(people: Select) -> Select:
    """A statement of people (User columns) with each person's kept row added (None where there is
    none), for `standings`: a page that lists people reads both in one statement."""
    return people.add_columns(*KEPT).outerjoin(PersonStanding, PersonStanding.user_id == User.id)


def standings(people: Iterable, suspended: Collection[int], at: datetime | None = None) -> dict[int, Standing]:
    """The standing at `at` of each person (a row or object with `id` and `position`, and the kept
    columns where its statement had them: `with_kept`; else they are read here), `suspended` being
    the ids of people with an overdue notice, as the notices area tells: from the kept rows, and for
    people whose row is missing or of another basis (content that changed since), by evaluating them
    now (nothing is written: a page that only looks changes no data; the sweep writes those rows)."""
    people = list(people)
    if not people:
        return {}
    at = at or now()
    overdue = set(suspended)
    content = catalog()
    if all(hasattr(p, "basis") for p in people):
        kept = {p.id: p for p in people if p.basis is not None}
    else:
        kept = {row.user_id: row for row in core_rows(_READ, {"ids": [p.id for p in people]})}
    result: dict[int, Standing] = {}
    rest = []
    for person in people:
        row = kept.get(person.id)
        if row is not None and row.basis == basis(person.position, content):
            result[person.id] = _standing(row, person.id in overdue, at)
        else:
            rest.append((person.id, person.position))
    for user_id, columns in _evaluated(rest, overdue, at).items():
        result[user_id] = _standing(SimpleNamespace(**columns), user_id in overdue, at)
    return result


# ------------------------------------------------------------------------------ keeping the rows


@lru_cache(maxsize=2)
def _upsert(dialect: str):
    table = PersonStanding.__table__
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.user_id],
        set_={c.name: statement.excluded[c.name] for c in table.columns if c.name != "user_id"})


_POSITIONS = select(User.id, User.position).where(User.id.in_(bindparam("ids", expanding=True))).order_by(User.id)


def refresh(session: Session, user_ids: Iterable[int], writing: bool = False) -> int:
    """Evaluate these people again from the database and write their rows where they changed, in
    the transaction of `session` (the app's session: the evaluation reads through it); tell how
    many were evaluated. `writing`: the transaction has written already (on SQLite it holds the
    write lock).

    The people's rows are locked first (created where missing), in order of id, to the end of the
    transaction: of two transactions about one person at the same moment, the second evaluates
    after the first has committed and sees both changes (row locks, not advisory ones: a roster of
    thousands would fill PostgreSQL's table of advisory locks; on SQLite the first write takes the
    one write lock, which a transaction that has written holds already). A person this transaction
    evaluated already, under that lock, to decide on their 上岗证 (`evaluate_for_decision`) and has
    not changed since is not evaluated again."""
    ids = sorted(set(user_ids))
    connection = session.connection() if ids else None
    decided = session.info.get(_DECIDED) or {}
    done = 0
    for start in range(0, len(ids), BATCH):  # a roster of thousands: statements of a bounded size
        batch = ids[start:start + BATCH]
        known = {user_id: decided.pop(user_id) for user_id in batch if user_id in decided}
        rest = [user_id for user_id in batch if user_id not in known]
        held = {user_id: row for user_id, (row, _) in known.items()}  # the rows as the lock read them
        if rest and (connection.dialect.name == "postgresql" or not writing):
            held.update((row.user_id, row) for row in connection.execute(
                _lock(connection.dialect.name), [{"user_id": user_id} for user_id in rest]))
        content = catalog()
        positions = _positions(session, batch)
        kept = {user_id: columns for user_id, (_, columns) in known.items()}
        kept.update(_evaluated([(user_id, positions[user_id]) for user_id in rest if user_id in positions], (), now()))
        rows = [{"user_id": user_id, "basis": basis(position, content), **kept[user_id]}
                for user_id, position in positions.items()]
        # write only what changed (a finished run that moved nothing, say), where the row was read
        rows = [row for row in rows if (was := held.get(row["user_id"])) is None
                or any(getattr(was, name) != value for name, value in row.items())]
        if rows:
            connection.execute(_upsert(connection.dialect.name), rows)
        done += len(positions)
    return done


def evaluate_for_decision(session: Session, user_id: int, certification: CertificationInfo) -> Evaluation:
    """Evaluate a person to decide on a change (issuing or renewing their 上岗证), holding their row
    of this table first, as `refresh` holds it before evaluating: the row this transaction keeps at
    its commit is then made from this evaluation instead of a second one (at a run's end, issue 16),
    unless a later flush of the transaction changes one of the facts it read (`_note_people` forgets
    it then, and `refresh` evaluates as usual)."""
    session.flush()  # pending changes are noted now, not after the evaluation that counts them
    connection = session.connection()
    held = connection.execute(_lock(connection.dialect.name), {"user_id": user_id}).one()
    evaluation = evaluate_person(user_id, certification, suspended=False)
    session.info.setdefault(_DECIDED, {})[user_id] = (held, _kept(evaluation, certification.id))
    return evaluation


def _positions(session: Session, user_ids: list[int]) -> dict[int, str | None]:
    """The position of each of these people: of those the transaction has in hand (the person of
    the request, whose flush noted them) as it holds them, of the rest as the database does."""
    positions, rest = {}, []
    for user_id in user_ids:
        person = session.identity_map.get(identity_key(User, user_id))
        if person is not None and "position" in person.__dict__:
            positions[user_id] = person.position
        else:
            rest.append(user_id)
    if rest:
        positions.update(core_rows(_POSITIONS, {"ids": rest}).all())
    return positions


@lru_cache(maxsize=2)
def _lock(dialect: str):
    """Lock each person's row, making it where missing (a placeholder no basis matches): an INSERT
    that on a conflict updates the row to itself, which waits for any other transaction holding it.
    The table has no foreign key to `users`: a new row's key check would share-lock the person's
    row, which a request holding that row for update (lock_row) and then waiting, at its commit,
    for this one would turn into a deadlock."""
    table = PersonStanding.__table__
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(
        user_id=bindparam("user_id"), basis=0, progressed=False, missing="")
    return statement.on_conflict_do_update(index_elements=[table.c.user_id], set_={"basis": table.c.basis}
                                           ).returning(*table.columns)


def stale_people(limit: int) -> list[int]:
    """Up to `limit` people whose row is missing or of another basis than their position's now."""
    content = catalog()
    positions = sorted({p for c in content.certifications for p in c.positions})
    wanted = case({p: literal(basis(p, content)) for p in positions}, value=User.position,
                  else_=literal(basis(None, content))) if positions else literal(basis(None, content))
    return list(db.session.scalars(
        select(User.id).outerjoin(PersonStanding, PersonStanding.user_id == User.id)
        .where(or_(PersonStanding.user_id.is_(None), PersonStanding.basis != wanted))
        .order_by(User.active.desc(), User.id).limit(limit)))


def refresh_stale(batch: int = BATCH) -> int:
    """Work out again the rows of everyone whose row is missing or of another basis, a batch per
    transaction (the sweep; after a certification's content changed, everyone it applies to): tell
    how many."""
    done, seen = 0, set()
    while True:
        ids = [user_id for user_id in stale_people(batch) if user_id not in seen]
        if not ids:  # none left (or only people worked out in this run, whose content moved again since)
            return done
        seen.update(ids)
        done += refresh(db.session(), ids)
        db.session.commit()


def rebuild(batch: int = BATCH) -> int:
    """Work out everyone's row again, a batch per transaction (`lms standings`): tell how many."""
    done, after = 0, 0
    while True:
        ids = list(db.session.scalars(select(User.id).where(User.id > after).order_by(User.id).limit(batch)))
        if not ids:
            return done
        done += refresh(db.session(), ids)
        db.session.commit()
        after = ids[-1]


def differences() -> list[str]:
    """Where the rows in use (of the current basis) differ from evaluating those people now (empty
    when they agree)."""
    content = catalog()
    people = db.session.execute(select(User.id, User.position, PersonStanding)
                             .join(PersonStanding, PersonStanding.user_id == User.id)).all()
    rows = {user_id: row for user_id, position, row in people if row.basis == basis(position, content)}
    if not rows:
        return []
    problems = []
    for user_id, wanted in _evaluated([(u, p) for u, p, _ in people if u in rows], (), now()).items():
        row = rows[user_id]
        held = {name: getattr(row, name) for name in wanted}
        if held != wanted:
            changed = ", ".join(f"{name}: 应为{wanted[name]!r}，记录为{held[name]!r}"
                                for name in wanted if wanted[name] != held[name])
            problems.append(f"人员{user_id}：{changed}")
    return problems


# ------------------------------------------------------------------------------ noting who changed

# the columns the evaluation reads, per model (facts.load_facts); None: any change, a new or deleted row
WATCHED: dict[type, tuple[str, ...] | None] = {
    ModuleProgress: None,
    Certificate: None,
    Attempt: ("user_id", "kind", "exam_id", "score", "passed", "submitted_at"),
    Run: ("user_id", "scenario_id", "status", "mode", "score", "passed", "finished_at"),
    User: ("position",),
}
_NOTED = "standing_people"
# person -> (their row as `evaluate_for_decision` locked it, the columns its evaluation gives them)
_DECIDED = "standing_decided"


def _people_of(obj, changed: bool) -> set[int]:
    """The people a new or deleted object of a watched model concerns, or a changed one (`changed`)
    whose change touched the columns the evaluation reads (before and after a change of user_id)."""
    state, fields = inspect(obj), WATCHED[type(obj)]
    if changed and fields is not None and not any(state.attrs[name].history.has_changes() for name in fields):
        return set()
    if isinstance(obj, User):
        return {obj.id}
    if isinstance(obj, Run) and Run.FINISHED not in (obj.status, *state.attrs.status.history.deleted):
        return set()  # the evaluation reads finished runs only: starting or abandoning one changes nothing
    return {p for p in (obj.user_id, *(state.attrs.user_id.history.deleted or ())) if p is not None}


@event.listens_for(Session, "after_flush")
def _note_people(session: Session, flush_context) -> None:
    """Note the people whose facts this flush changed (evaluated again before the commit)."""
    noted: set[int] = set()
    for objects, changed in ((session.new, False), (session.dirty, True), (session.deleted, False)):
        for obj in objects:
            if type(obj) in WATCHED:
                noted |= _people_of(obj, changed)
    if noted:
        session.info.setdefault(_NOTED, set()).update(noted)
        decided = session.info.get(_DECIDED)
        for user_id in noted.intersection(decided or ()):
            del decided[user_id]  # evaluated before this change: refresh evaluates them again


@event.listens_for(Session, "before_commit")
def _refresh_noted(session: Session) -> None:
    """Work out again the rows of the people this transaction changed, before it commits (the
    transaction's own commit: a savepoint's leaves them noted for it)."""
    if session.in_nested_transaction():
        return
    while True:
        session.flush()
        noted = session.info.pop(_NOTED, None)
        if not noted:
            return
        refresh(session, noted, writing=True)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    """Forget what was noted when the session's own transaction ends (rolled back: nothing to do),
    and the evaluations kept for the commit when a savepoint ends too (rolled back, it undoes changes
    an evaluation may have counted, and on PostgreSQL the lock taken inside it); a flush's own inner
    transaction ending changes neither."""
    if transaction.nested or transaction.parent is None:
        session.info.pop(_DECIDED, None)
    if transaction.parent is None:
        session.info.pop(_NOTED, None)
