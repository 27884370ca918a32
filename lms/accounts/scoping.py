"""Scope: which stores and people a viewer may see. Every manager query goes through here.

- admin and trainer: every store and every person;
- manager: their own store and the people in it, nothing else;
- staff: themselves only.

Lookups of a single row outside the scope answer 404, so an id in a URL reveals nothing about
another store.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import Select, false, select
from sqlalchemy.orm import InstrumentedAttribute

from ..extensions import db, get_by_id
from .models import Store, User

WIDE_ROLES = frozenset({"admin", "trainer"})


@dataclass(frozen=True)
class Scope:
    """What one viewer may see."""

    viewer_id: int
    role: str
    store_id: int | None

    @classmethod
    def of(cls, viewer: User) -> "Scope":
        """Build the scope of a logged-in person."""
        return cls(viewer_id=viewer.id, role=viewer.role, store_id=viewer.store_id)

    @property
    def all_stores(self) -> bool:
        return self.role in WIDE_ROLES

    def restrict(self, stmt: Select, store_column: InstrumentedAttribute, user_column=None) -> Select:
        """Limit any query to rows of stores (and, for staff, the person) in scope."""
        if self.all_stores:
            return stmt
        if self.role == "manager":
            if self.store_id is None:
                return stmt.where(false())
            return stmt.where(store_column == self.store_id)
        if user_column is None:
            return stmt.where(false())
        return stmt.where(user_column == self.viewer_id)

    def people(self) -> Select:
        """Select the people in scope."""
        return self.restrict(select(User), User.store_id, User.id)

    @property
    def store_ids(self) -> list[int] | None:
        """The ids of the stores in scope (None: every store): a manager's and a staff member's own
        store, if they have one."""
        if self.all_stores:
            return None
        return [] if self.store_id is None else [self.store_id]

    def stores(self) -> Select:
        """Select the stores in scope."""
        ids = self.store_ids
        return select(Store) if ids is None else select(Store).where(Store.id.in_(ids))

    def person(self, user_id: int) -> User:
        """Return the person if in scope, else answer 404."""
        person = db.session.scalar(self.people().where(User.id == user_id))
        if person is None:
            abort(404)
        return person

    def store(self, store_id: int) -> Store:
        """Return the store if in scope, else answer 404."""
        ids = self.store_ids
        store = get_by_id(Store, store_id) if ids is None or store_id in ids else None
        if store is None:
            abort(404)
        return store
