"""The content catalogue: what is the same for everyone (courses, module counts, certifications,
scenario and exam titles), read once per process and kept until the content changes.

Every page a learner opens needs these few facts, and they change only when content is synced
or edited. A request asks one small question instead (`content_stamp.value`); the catalogue is
read again when the answer differs from the one it was built at.

The stamp is moved by the database transaction that changes the content: a flush that writes a
course, module, certification, scenario, exam, question or one of their versions first runs
`UPDATE content_stamp SET value = value + 1` in the same transaction (so the stamp row is locked
before any content row, and two such transactions queue instead of deadlocking; a use case that
checks or locks a content row before it writes takes the stamp's lock earlier, with
`versioning.changing_content`). Every process
on every host sees new content together with the new stamp, and a process never keeps content
older than the stamp it read (the stamp is read before the content). Inside a transaction that
changes content itself, the catalogue is read fresh and not kept, so a sync or an edit always
sees its own changes. As a safety net for content written past the stamp (by hand in SQL, or by
a worker still on older code during a rolling upgrade) the catalogue is also read again once it
is a minute old.

The catalogue holds plain frozen records, never ORM objects: it is shared by the threads of a
process, and nothing in it can lazy-load or be modified.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from dataclasses import dataclass, field
from itertools import chain
from types import MappingProxyType
from typing import Any, Callable, Mapping, TypeVar

from flask import current_app, g, has_request_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db, reading_request
from .versioning import CatalogContent, ContentStamp

T = TypeVar("T")


@dataclass(frozen=True)
class CourseInfo:
    id: int
    slug: str
    title: str
    summary: str
    sort_order: int
    positions: tuple[str, ...]
    active: bool

    def open_to(self, position: str | None) -> bool:
        """Tell whether a person in this position takes the course."""
        return not self.positions or position in self.positions


@dataclass(frozen=True)
class ModuleInfo:
    """An active module as a learner's next step names it."""

    id: int
    course_id: int
    slug: str
    title: str
    version: int


@dataclass(frozen=True)
class CertificationInfo:
    id: int
    slug: str
    title: str
    positions: tuple[str, ...]
    rule: Mapping[str, Any]
    version: int
    scenarios: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # slug -> minimum score, any path


@dataclass(frozen=True)
class ItemInfo:
    """A scenario or an exam as a requirement names it."""

    id: int
    slug: str
    title: str
    active: bool


@dataclass(frozen=True)
class Catalog:
    stamp: int | None
    courses: tuple[CourseInfo, ...] = ()  # active ones, in display order (courses area)
    course_by_slug: Mapping[str, CourseInfo] = field(default_factory=lambda: MappingProxyType({}))  # all, retired ones too (courses area)
    module_totals: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))  # active modules per course id (courses area)
    modules: Mapping[int, tuple[ModuleInfo, ...]] = field(default_factory=lambda: MappingProxyType({}))  # active modules per course id, in order (courses area)
    certifications: tuple[CertificationInfo, ...] = ()  # active ones (certification area)
    scenario_by_slug: Mapping[str, ItemInfo] = field(default_factory=lambda: MappingProxyType({}))  # (roleplay area)
    exam_by_slug: Mapping[str, ItemInfo] = field(default_factory=lambda: MappingProxyType({}))  # (exams area)
    courses_with_check: frozenset[int] = frozenset()  # course ids whose modules end with a knowledge check (exams)
    loaded_at: float = 0.0

    def courses_for(self, position: str | None, everyone: bool = False) -> list[CourseInfo]:
        return [c for c in self.courses if everyone or c.open_to(position)]

    def certification_for(self, position: str | None) -> CertificationInfo | None:
        if not position:
            return None
        return next((c for c in self.certifications if position in c.positions), None)


def frozen(value: Any) -> Any:
    """A deep, read-only copy of JSON data (dicts become read-only mappings, lists tuples)."""
    if isinstance(value, dict):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return copy.copy(value)


# What each area puts in the catalogue: a loader per area, registered by the area itself (so this
# module, which every area uses, imports none of them). A loader returns some of Catalog's fields.
_PARTS: dict[str, Callable[[Session], Mapping[str, Any]]] = {}


def contribute(area: str, loader: Callable[[Session], Mapping[str, Any]]) -> None:
    """Register the loader of an area's part of the catalogue (called when the area is imported)."""
    _PARTS[area] = loader


def _load(stamp: int | None) -> Catalog:
    fields: dict[str, Any] = {}
    for loader in _PARTS.values():
        fields.update(loader(db.session))
    return Catalog(stamp=stamp, loaded_at=time.monotonic(), **fields)


class _Holder:
    def __init__(self) -> None:
        self.catalog: Catalog | None = None


_STAMP = select(ContentStamp.value).where(ContentStamp.id == 1)
# Read again at least this often, stamp or not: content written past the stamp (by a worker still
# on code older than migration 0008 during a rolling upgrade, or by hand in SQL) shows within it.
MAX_AGE = 60.0  # seconds


def stamp_column():
    """The stamp as a column for a statement every request runs anyway (the logged-in person's row:
    lms/accounts/service.py); hand what it read to `note_stamp`, and catalog() reads it no more."""
    return _STAMP.scalar_subquery().label("content_stamp")


def note_stamp(value: int | None) -> None:
    """Keep the stamp a statement of this request read with `stamp_column`, for catalog()."""
    if has_request_context():
        g.lms_content_stamp = value


_NOT_READ = object()


def catalog() -> Catalog:
    """The content catalogue as of now (one small query per request, or none when the request read
    the stamp already; a reload after a change)."""
    if reading_request() and "lms_catalog" in g:  # a page that only looks changes no content (lms/web.py)
        return g.lms_catalog
    session = db.session()
    if session.info.get("content_changed") or _content_in(session):
        return _load(None)  # this transaction changes content: read it as it stands, keep nothing
    if has_request_context() and "lms_catalog" in g:
        return g.lms_catalog
    holder = current_app.extensions.setdefault("lms_catalog", _Holder())
    with session.no_autoflush:  # nothing of this session's own is read into what is kept
        stamp = g.pop("lms_content_stamp", _NOT_READ) if has_request_context() else _NOT_READ
        if stamp is _NOT_READ:
            stamp = session.scalar(_STAMP)
        current = holder.catalog
        if (current is None or stamp is None or current.stamp != stamp
                or time.monotonic() - current.loaded_at > MAX_AGE):
            current = _load(stamp)
            if stamp is not None:
                holder.catalog = current
    if has_request_context():
        g.lms_catalog = current
    return current


def version_cached(name: str, key: int, load: Callable[[], T], maxsize: int = 512) -> T:
    """A per-process cache for what is read from a row that never changes once committed (a
    scenario, phrasebook or question version): `load()` runs on a miss. Inside a transaction that
    created content the result is not kept: that transaction may yet roll back, and SQLite may
    then give the same id to another row.

    One thread loads a missing entry while the others of the process that want it wait and take
    its result: compiling a phrasebook takes about 0.3 s, and the first turns after a worker starts
    (or after a new phrasebook) came in on every thread at once, each compiling it again."""
    _CACHE_NAMES.add(name)
    cache = current_app.extensions.setdefault(name, {})
    try:
        return cache[key]
    except KeyError:
        pass
    session = db.session()
    # The load only reads (no autoflush: it writes nothing), so it never waits for a lock that a
    # thread waiting for it holds (SQLite's write lock, a row lock).
    with _loading(name, key), session.no_autoflush:
        try:
            return cache[key]
        except KeyError:
            pass
        value = load()
        if not session.info.get("content_changed"):
            if len(cache) >= maxsize:
                cache.clear()
            cache[key] = value
    return value


_LOADING: dict[tuple[str, int], threading.Lock] = {}  # one per entry ever missed: a few hundred versions
_LOADING_LOCK = threading.Lock()


def _loading(name: str, key: int) -> threading.Lock:
    with _LOADING_LOCK:
        return _LOADING.setdefault((name, key), threading.Lock())


def _after_fork() -> None:
    """A forked child starts with locks of its own (one held by another thread of the parent at the
    fork would stay held in the child for ever)."""
    global _LOADING, _LOADING_LOCK
    _LOADING, _LOADING_LOCK = {}, threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


_CACHE_NAMES = {"lms_catalog"}


def forget_cached(app) -> None:
    """Drop what this process keeps for the app (the test suite does this after each test: its
    commits are savepoints that are rolled back in the end, which real commits never are)."""
    for name in _CACHE_NAMES:
        app.extensions.pop(name, None)


def _content_in(session: Session) -> bool:
    """Tell whether the session holds unflushed changes to content (a version row never comes alone:
    its content row changes with it)."""
    models = CatalogContent
    return (any(isinstance(obj, models) for obj in chain(session.new, session.deleted))
            or any(isinstance(obj, models) and session.is_modified(obj) for obj in session.dirty))


@event.listens_for(Session, "before_flush")
def _bump_on_content_change(session: Session, flush_context, instances) -> None:
    """Move the stamp in the transaction that changes content (see the module's docstring).

    Before the flush, so that the stamp row is always locked before any content row: two
    transactions changing content queue on the stamp instead of deadlocking on PostgreSQL.
    """
    if not _content_in(session):
        return
    session.info["content_changed"] = True
    session.connection().execute(update(ContentStamp).where(ContentStamp.id == 1)
                                 .values(value=ContentStamp.value + 1))
    if has_request_context():
        g.pop("lms_catalog", None)
        g.pop("lms_content_stamp", None)  # read before this change: never to be matched again


@event.listens_for(Session, "after_transaction_end")
def _forget_change(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("content_changed", None)
