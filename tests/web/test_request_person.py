"""The person behind each request (lms/accounts/service.person_for_request): one Core statement,
and still an ordinary User of the session — and a changed token logs the session out at once."""

from __future__ import annotations

from sqlalchemy import event, inspect

from lms.accounts.models import User
from lms.accounts.service import person_for_request
from lms.extensions import db
from tests.conftest import login


def test_the_person_is_a_clean_persistent_user_whose_relations_and_changes_work(app, world):
    person = world["staff_a"]
    with app.test_request_context(method="POST"):  # a POST: it may change data
        token = db.session.get(User, person.id).auth_token
        db.session.expunge_all()
        statements = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            user = person_for_request(person.id, token)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] and len(
            [s for s in statements if "FROM users" in s]) == 1
        state = inspect(user)
        assert state.persistent and not state.modified and user in db.session
        assert db.session.get(User, person.id) is user  # the same object the ORM hands out
        assert (user.emp_no, user.position, user.store.name) == (person.emp_no, "综合受理", "甲营业厅")
        assert user.created_at.tzinfo is not None  # column types applied as the ORM would
        user.email = "a@example.com"
        db.session.flush()
        db.session.expire_all()
        assert db.session.get(User, person.id).email == "a@example.com"
        db.session.rollback()


def test_a_wrong_or_old_token_or_an_unknown_person_is_nobody(app, world):
    person = world["staff_a"]
    with app.test_request_context():
        assert person_for_request(person.id, "not-the-token") is None
        assert person_for_request(10**9, "x") is None
    with app.test_request_context():
        token = db.session.get(User, person.id).auth_token
        db.session.expunge_all()
        assert person_for_request(person.id, token) is not None


def test_a_password_changed_elsewhere_logs_this_session_out_on_its_next_request(app, world):
    client = app.test_client()
    login(client, world["staff_a"])
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.get(User, world["staff_a"].id)
        user.auth_token = "changed-elsewhere"
        db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
