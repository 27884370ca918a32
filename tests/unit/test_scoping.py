"""The scope helper: managers see only their own store, staff only themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from lms.accounts.models import User
from lms.accounts.scoping import Scope
from lms.extensions import db


def _ids(stmt) -> set[int]:
    return {u.id for u in db.session.scalars(stmt)}


def _scope(person) -> Scope:
    return Scope(viewer_id=person.id, role=person.role, store_id=person.store_id)


def test_manager_sees_own_store_only(app, world):
    with app.app_context():
        scope = _scope(world["manager_a"])
        seen = _ids(scope.people())
        assert world["staff_a"].id in seen and world["manager_a"].id in seen
        assert world["staff_b"].id not in seen and world["manager_b"].id not in seen
        assert world["admin"].id not in seen and world["trainer"].id not in seen
        assert {s.id for s in db.session.scalars(scope.stores())} == {world["store_a"]}
        assert scope.person(world["staff_a"].id).id == world["staff_a"].id
        with pytest.raises(NotFound):
            scope.person(world["staff_b"].id)
        with pytest.raises(NotFound):
            scope.store(world["store_b"])


def test_restrict_applies_to_any_query_with_a_store_column(app, world):
    with app.app_context():
        stmt = select(User).where(User.role == "staff")
        assert _ids(_scope(world["manager_b"]).restrict(stmt, User.store_id)) == {world["staff_b"].id}


def test_admin_and_trainer_see_every_store(app, world):
    with app.app_context():
        for who in ("admin", "trainer"):
            seen = _ids(_scope(world[who]).people())
            assert {world["staff_a"].id, world["staff_b"].id} <= seen


def test_staff_see_only_themselves(app, world):
    with app.app_context():
        scope = _scope(world["staff_a"])
        assert _ids(scope.people()) == {world["staff_a"].id}
        assert {s.id for s in db.session.scalars(scope.stores())} == {world["store_a"]}
        with pytest.raises(NotFound):
            scope.person(world["manager_a"].id)


def test_manager_without_store_sees_nobody(app, factory):
    with app.app_context():
        scope = Scope(viewer_id=0, role="manager", store_id=None)
        assert _ids(scope.people()) == set()
        assert list(db.session.scalars(scope.stores())) == []
