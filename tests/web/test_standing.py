"""The kept 上岗证 standings behind the manager's 今天 (lms/certification/standing.py): each person's row
follows every change in the same transaction, the status still moves with the clock without any
write, rows of older content are not trusted until the sweep works them out again, and a change made
outside the app is found and repaired by `lms standings`. (After every test of the suite, conftest
checks that the rows agree with a fresh evaluation.)"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, select

from lms.certification.models import Certificate, Certification, PersonStanding
from lms.certification.service import after_progress
from lms.certification.standing import SEPARATOR, differences, refresh_stale, stale_people
from lms.courses.models import Course, Module, ModuleProgress
from lms.courses.service import active_modules
from lms.extensions import db
from lms.roleplay.models import Scenario
from tests.conftest import SWEEP_AFTER_CONTENT, login
from tests.web.trainer_activity import play

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 Beijing


def _card(page: str, person) -> str:
    """The manager's card of one person ("" when they are not listed)."""
    found = re.search(rf'<strong>{person.name}</strong>(.*?)\n  </li>', page, re.S)
    return found.group(1) if found else ""


def _row(app, user_id: int) -> SimpleNamespace | None:
    """A person's kept row, its missing requirements as a list of titles."""
    with app.app_context():
        row = db.session.get(PersonStanding, user_id)
        if row is None:
            return None
        return SimpleNamespace(basis=row.basis, progressed=row.progressed, expires_at=row.expires_at,
                               missing=row.missing.split(SEPARATOR) if row.missing else [])


def _modules(app, slug: str) -> list[Module]:
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == slug))
        modules = active_modules(course)
        for module in modules:
            db.session.expunge(module)
        return modules


def _study(app, user_id: int, slug: str) -> list[Module]:
    """The person studies every module of a course (as `complete_module` records it)."""
    modules = _modules(app, slug)
    with app.app_context():
        for module in modules:
            db.session.add(ModuleProgress(user_id=user_id, module_id=module.id, version=module.version, completed_at=T0))
        db.session.commit()
    return modules


def test_a_persons_row_follows_what_they_do_and_the_manager_sees_it_at_once(app, world, frozen):
    frozen(T0)
    staff = world["staff_a"]
    first = _row(app, staff.id)  # written when the person was created
    assert first is not None and first.progressed is False and len(first.missing) > 3
    manager = app.test_client()
    login(manager, world["manager_a"])
    assert f"上岗证未开始：还差{first.missing[0]}、" in _card(manager.get("/").get_data(as_text=True), staff)

    _study(app, staff.id, "etiquette")
    after = _row(app, staff.id)
    assert after.progressed is True and len(after.missing) == len(first.missing) - 1
    card = _card(manager.get("/").get_data(as_text=True), staff)
    assert "上岗证进行中：还差" in card and f"等{len(after.missing)}项" in card


def _course_title(app, slug: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Course.title).where(Course.slug == slug))


def test_a_passed_run_shows_in_the_row_made_from_the_certificate_decision(app, world, frozen):
    """A passed typed run ends: deciding on the 上岗证 evaluates the person, and the row kept at the
    commit is made from that evaluation (standing.evaluate_for_decision): it shows what the run
    changed."""
    frozen(T0)
    staff = world["staff_a"]
    before = _row(app, staff.id)
    with app.app_context():
        slug = next(s.slug for s in db.session.scalars(select(Scenario).order_by(Scenario.id))
                    if s.title in before.missing)
        play(staff.id, slug, good=True)
        db.session.commit()
    after = _row(app, staff.id)
    assert after.progressed is True and len(after.missing) == len(before.missing) - 1


def test_a_change_after_the_certificate_check_in_the_same_transaction_still_counts(app, world, frozen):
    """The evaluation made to decide on the 上岗证 is kept for the commit only while nothing the
    person did changes after it: a course finished later in the same transaction still counts."""
    frozen(T0)
    staff = world["staff_a"]
    first, second = _modules(app, "etiquette"), _modules(app, "communication")
    titles = {_course_title(app, "etiquette"), _course_title(app, "communication")}
    assert titles <= set(_row(app, staff.id).missing)
    with app.app_context():
        for module in first:
            db.session.add(ModuleProgress(user_id=staff.id, module_id=module.id, version=module.version,
                                          completed_at=T0))
        after_progress(staff.id)  # decides (nothing to issue yet) and keeps its evaluation
        for module in second:
            db.session.add(ModuleProgress(user_id=staff.id, module_id=module.id, version=module.version,
                                          completed_at=T0))
        db.session.commit()
    assert not titles & set(_row(app, staff.id).missing)


def test_an_evaluation_inside_a_savepoint_rolled_back_is_not_kept(app, world, frozen):
    """A savepoint that rolls back undoes what the decision counted: the row stays as it was."""
    frozen(T0)
    staff = world["staff_a"]
    before = _row(app, staff.id)
    modules = _modules(app, "etiquette")
    with app.app_context():
        with db.session.begin_nested() as savepoint:
            for module in modules:
                db.session.add(ModuleProgress(user_id=staff.id, module_id=module.id, version=module.version,
                                              completed_at=T0))
            after_progress(staff.id)
            savepoint.rollback()
        db.session.commit()
    assert _row(app, staff.id).missing == before.missing


def test_the_status_moves_with_the_clock_without_a_write(app, world, frozen):
    frozen(T0)
    staff = world["staff_a"]
    with app.app_context():
        certification = db.session.scalar(select(Certification).where(Certification.slug == "counter"))
        db.session.add(Certificate(code="TEST0001", user_id=staff.id, certification_id=certification.id,
                                   issued_at=T0 - timedelta(days=300), expires_at=T0 + timedelta(days=40)))
        db.session.commit()
    kept = _row(app, staff.id)
    assert kept.expires_at == T0 + timedelta(days=40)
    manager = app.test_client()
    login(manager, world["manager_a"])
    assert _card(manager.get("/").get_data(as_text=True), staff) == ""  # 有效: nothing to act on
    frozen(T0 + timedelta(days=41))  # expired since: nobody wrote anything
    card = _card(manager.get("/").get_data(as_text=True), staff)
    assert '<span class="badge bad">已过期</span>' in card and "上岗证已过期" in card
    later = _row(app, staff.id)
    assert (later.basis, later.missing, later.expires_at) == (kept.basis, kept.missing, kept.expires_at)


@pytest.fixture
def no_sweep_after_content():
    """Rows of an older basis stay so, as they do in production until the sweep comes (conftest)."""
    SWEEP_AFTER_CONTENT["on"] = False
    yield
    SWEEP_AFTER_CONTENT["on"] = True


def test_rows_of_older_content_are_not_trusted_until_the_sweep_works_them_out(app, world, frozen,
                                                                               no_sweep_after_content):
    frozen(T0)
    staff = world["staff_a"]
    modules = _study(app, staff.id, "etiquette")
    before = _row(app, staff.id)
    with app.app_context():  # a trainer rewrites a module of the course: studying it again is required
        module = db.session.get(Module, modules[0].id)
        module.version += 1
        db.session.commit()
        assert staff.id in stale_people(10_000)
    manager = app.test_client()
    login(manager, world["manager_a"])
    card = _card(manager.get("/").get_data(as_text=True), staff)
    assert f"等{len(before.missing) + 1}项" in card  # evaluated on the page: the course counts as missing again
    assert _row(app, staff.id).basis == before.basis  # a page that only looks wrote nothing

    result = app.test_cli_runner().invoke(args=["lms", "sweep"])  # what runs every minute
    assert result.exit_code == 0 and re.search(r"重新核算\d+人的上岗证情况", result.output), result.output
    with app.app_context():
        assert staff.id not in stale_people(10_000)
        assert refresh_stale() == 0  # nothing left
    after = _row(app, staff.id)
    assert after.basis != before.basis and len(after.missing) == len(before.missing) + 1
    assert _card(manager.get("/").get_data(as_text=True), staff) == card


def test_a_change_made_outside_the_app_is_found_and_repaired(app, world, frozen):
    frozen(T0)
    staff = world["staff_a"]
    modules = _study(app, staff.id, "etiquette")
    with app.app_context():
        db.session.execute(delete(ModuleProgress).where(ModuleProgress.user_id == staff.id))  # by hand, in SQL
        db.session.commit()
        problems = differences()
        assert len(problems) == 1 and f"人员{staff.id}" in problems[0] and "missing" in problems[0]
        runner = app.test_cli_runner()
        checked = runner.invoke(args=["lms", "standings", "--check"])
        assert checked.exit_code == 1 and "不一致" in checked.output
        assert differences() == problems  # --check changes nothing
        repaired = runner.invoke(args=["lms", "standings"])
        assert repaired.exit_code == 0 and "修正1处" in repaired.output, repaired.output
        assert differences() == []
        assert runner.invoke(args=["lms", "standings", "--check"]).exit_code == 0
