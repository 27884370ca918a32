"""Access matrix: every page × every role, and managers kept inside their own store."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token, login

# (url template, roles that get 200); every other logged-in role gets 403 (or 404 where the page
# is scoped: a manager asking for another store's row), anonymous is sent to log-in.
ALL = ("staff", "manager", "trainer", "admin")
PAGES = [
    ("/", ALL),
    ("/my-courses", ALL),
    ("/courses/etiquette", ALL),
    ("/courses/etiquette/grooming", ALL),
    ("/account/password", ALL),
    ("/practice", ALL),
    ("/practice/history", ALL),
    ("/practice/{scenario}", ALL),
    ("/exams", ALL),
    ("/exams/{exam}", ALL),
    ("/certificates", ALL),
    ("/certificates/expiring", ("trainer", "admin")),
    ("/certificates/expiring.xlsx", ("trainer", "admin")),
    ("/bank", ("trainer", "admin")),
    ("/bank/import", ("trainer", "admin")),
    ("/bank/{question}", ("trainer", "admin")),
    ("/bank/{question}/gift", ("trainer", "admin")),
    ("/bank/new", ("trainer", "admin")),
    ("/bank/new/matching", ("trainer", "admin")),
    ("/bank/pool?category=etiquette/*", ("trainer", "admin")),
    ("/bank/export/etiquette", ("trainer", "admin")),
    ("/exams/manage", ("trainer", "admin")),
    ("/exams/manage/new", ("trainer", "admin")),
    ("/exams/manage/{exam}", ("trainer", "admin")),
    ("/exams/manage/{exam}/yaml", ("trainer", "admin")),
    ("/exams/manage/new/yaml", ("trainer", "admin")),
    ("/exams/manage/{exam}/analysis", ("trainer", "admin")),
    ("/grading", ("trainer", "admin")),
    ("/author/", ("trainer", "admin")),
    ("/author/phrasebook", ("trainer", "admin")),
    ("/author/phrasebook/suggestions", ("trainer", "admin")),
    ("/author/phrasebook/suggestions/propose", ("trainer", "admin")),
    ("/author/scenarios/{scenario}", ("trainer", "admin")),
    ("/author/scenarios/{scenario}/yaml", ("trainer", "admin")),
    ("/author/scenarios/new", ("trainer", "admin")),
    ("/author/modules/{question}", ("trainer", "admin")),
    ("/notices", ALL),
    ("/notices/new", ("trainer", "admin")),
    ("/notices/audience", ("trainer", "admin")),
    ("/messages", ALL),
    ("/speech", ALL),
    ("/speech/ring", ALL),
    ("/speech/read/book-service", ALL),
    ("/store/", ("manager", "admin", "trainer")),
    ("/store/{store_a}", ("manager", "admin", "trainer")),
    ("/store/people/{staff_a}", ("manager", "admin", "trainer")),
    ("/store/analytics", ("admin", "trainer")),
    ("/store/{store_a}/matrix", ("manager", "admin", "trainer")),
    ("/store/{store_a}/matrix.xlsx", ("manager", "admin", "trainer")),
    ("/store/{store_a}/sessions", ("manager", "admin", "trainer")),
    ("/store/people/{staff_a}/archive", ("manager", "admin", "trainer")),
    ("/store/people/{staff_a}/archive.xlsx", ("manager", "admin", "trainer")),
    ("/store/people/{staff_a}/xapi.json", ("admin", "trainer")),  # not offered to managers
    ("/admin/", ()),  # redirects admins to the people list
    ("/admin/people", ("admin",)),
    ("/admin/people/new", ("admin",)),
    ("/admin/people/{staff_a}", ("admin",)),
    ("/admin/stores", ("admin",)),
    ("/admin/stores/new", ("admin",)),
    ("/admin/stores/{store_a}", ("admin",)),
    ("/admin/regions", ("admin",)),
    ("/admin/roster", ("admin",)),
]
# POST-only endpoints: anonymous is sent to log-in, the wrong role gets 403.
ADMIN_POSTS = [
    "/admin/people/{staff_a}/active",
    "/admin/people/{staff_a}/password",
    "/admin/people/{staff_a}/leave",
    "/admin/people/{staff_a}/leave/1/delete",
    "/admin/stores/{store_a}/active",
    "/admin/roster/confirm",
]
LOGGED_IN_POSTS = ["/courses/etiquette/grooming/complete", "/practice/{scenario}/start", "/runs/1/turns",
                   "/exams/{exam}/start", "/courses/etiquette/grooming/check", "/attempts/1/submit", "/attempts/1/1",
                   "/notices/1/check", "/notices/1/attest", "/notices/1/read", "/messages/read", "/runs/1/timer",
                   "/speech/read/book-service/1", "/speech/ring", "/speech/turn/1"]
TRAINER_POSTS = ["/grading/1", "/certificates/X/revoke", "/notices/1/withdraw",
                 "/author/preview", "/author/modules/1/restore/1", "/author/scenarios/long-wait/validate",
                 "/author/scenarios/long-wait/test", "/author/phrasebook/test",
                 "/author/phrasebook/suggestions/save", "/bank/preview/single"]
# Pages whose access depends on the row (owner, store): tested in test_roleplay, test_exams,
# test_certification and test_notices.
OWNER_PAGES = ["/runs/1", "/attempts/1", "/attempts/1/result", "/certificates/X", "/notices/1",
               "/notices/1/board", "/notices/1/signin.csv", "/today/remind"]  # remind: test_today
PUBLIC = ["/verify/X"]


SCENARIO = "greeting-triage"
EXAM = "practice-basics"


def _question_id() -> int:
    from sqlalchemy import select

    from lms.exams.models import Question
    from lms.extensions import db

    return db.session.scalar(select(Question.id).order_by(Question.id).limit(1))


def _url(template: str, world, question: int = 0) -> str:
    return template.format(store_a=world["store_a"], staff_a=world["staff_a"].id, scenario=SCENARIO, exam=EXAM,
                           question=question)


def _who(role: str, world):
    return world[{"staff": "staff_a", "manager": "manager_a", "trainer": "trainer", "admin": "admin"}[role]]


@pytest.mark.parametrize("template, allowed", PAGES)
@pytest.mark.parametrize("role", ("anonymous",) + ALL)
def test_page_access(app, world, template, allowed, role):
    client = app.test_client()
    if role != "anonymous":
        login(client, _who(role, world))
    with app.app_context():
        question = _question_id()
    response = client.get(_url(template, world, question))
    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    elif template == "/admin/" and role == "admin":
        assert response.status_code == 302
    elif template == "/store/" and role == "manager":
        assert response.status_code == 302  # straight to their own store
    elif role in allowed:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("template", ADMIN_POSTS)
@pytest.mark.parametrize("role", ("anonymous", "staff", "manager", "trainer"))
def test_admin_posts_refused(app, world, template, role):
    client = app.test_client()
    if role != "anonymous":
        login(client, _who(role, world))
    token = csrf_token(client, "/login" if role == "anonymous" else "/account/password")
    response = client.post(_url(template, world), data={"csrf_token": token})
    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("template", TRAINER_POSTS)
@pytest.mark.parametrize("role", ("staff", "manager"))
def test_trainer_posts_refused(app, world, template, role):
    client = app.test_client()
    login(client, _who(role, world))
    response = client.post(template, data={"csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 403


@pytest.mark.parametrize("template", LOGGED_IN_POSTS)
def test_learner_posts_need_login(client, template):
    response = client.post(template.format(scenario=SCENARIO, exam=EXAM), data={"csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_route_is_in_the_matrix(app):
    """A new page must be added to the access matrix above."""
    covered = {t.split("{")[0].rstrip("/") for t, _ in PAGES} | {
        t.split("{")[0].rstrip("/") for t in ADMIN_POSTS + LOGGED_IN_POSTS + TRAINER_POSTS + OWNER_PAGES + PUBLIC}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in ("/login", "/logout"):
            continue
        prefix = rule.rule.split("<")[0].rstrip("/")
        if not any(c == prefix or c.startswith(prefix) for c in covered):
            missing.append(rule.rule)
    assert missing == []


@pytest.mark.parametrize("template", [
    "/store/{store_b}",
    "/store/people/{staff_b}",
    "/store/people/{manager_b}",
    "/store/{store_b}/matrix",
    "/store/{store_b}/matrix.xlsx",
    "/store/{store_b}/sessions",
    "/store/people/{staff_b}/archive",
    "/store/people/{staff_b}/archive.xlsx",
])
def test_manager_cannot_reach_another_store(app, world, template):
    client = app.test_client()
    login(client, world["manager_a"])
    url = template.format(store_b=world["store_b"], staff_b=world["staff_b"].id, manager_b=world["manager_b"].id)
    response = client.get(url)
    assert response.status_code == 404
    assert world["staff_b"].name not in response.get_data(as_text=True)


def test_manager_home_lists_only_own_staff(client, world):
    login(client, world["manager_a"])
    response = client.get("/store/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "甲营业厅" in page and world["staff_a"].name in page
    assert world["staff_b"].name not in page and "乙营业厅" not in page


def test_error_pages_speak_chinese(client, world):
    login(client, world["staff_a"])
    assert "页面不存在" in client.get("/no/such/page").get_data(as_text=True)
    assert "没有权限" in client.get("/admin/people").get_data(as_text=True)


def test_server_error_page_is_chinese_and_logged(client, world, monkeypatch, caplog):
    import lms.home as routes

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(routes, "course_progress", broken)
    login(client, world["staff_a"])
    response = client.get("/")
    assert response.status_code == 500
    assert "系统出错了" in response.get_data(as_text=True)
    assert "database went away" not in response.get_data(as_text=True)
    assert any("Unhandled error on GET /" in r.getMessage() for r in caplog.records)
