"""Security review (issue 13), rows 1 and 6–10: the certification key, forced password changes, log-in
timing, the password policy, log-out on the server and scheduled notices. Each test names its row and
would fail if the hole came back."""

from __future__ import annotations

import html
import io
import re
import statistics
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.accounts.passwords import generate_password, password_problem
from lms.accounts.service import reset_password
from lms.errors import DomainError
from lms.exams.models import Attempt, Question
from lms.extensions import db
from tests.conftest import csrf_token, login, post

PAGE_ITEM = re.compile(r'<span class="muted">\d+\. [^<]*</span><br>(.*?)(?: ＿＿ .*?)?</p>', re.S)


def _generated_password(app, person, admin) -> str:
    """Give the person a generated one-time password, as an admin's reset does; return it."""
    with app.app_context():
        password = reset_password(db.session.get(User, person.id), db.session.get(User, admin.id))
        db.session.commit()
        return password


# Row 1: practice results are no oracle for the certification key ----------------------------------

def _certification_items(app) -> dict[int, str]:
    """Every active item a certification exam can draw: id -> its text as a page shows it."""
    from lms.exams.definitions import is_certification_category
    from lms.exams.service import certification_draws

    with app.app_context():
        draws = certification_draws()
        return {q.id: q.current.as_spec.text for q in db.session.scalars(select(Question).where(Question.active.is_(True)))
                if is_certification_category(q.category, draws)}


def _items_on(page: str) -> list[str]:
    """The item texts a result page shows in its 答题回顾."""
    return [html.unescape(text).strip() for text in PAGE_ITEM.findall(page)]


def _sit(client, start_url: str, page: str) -> tuple[int, str]:
    """Start an attempt, hand it in, return its id and its result page."""
    started = post(client, start_url, page=page)
    assert started.status_code == 302, started.status_code
    attempt_id = int(re.search(r"/attempts/(\d+)/1", started.headers["Location"]).group(1))
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    return attempt_id, client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)


def _answer_by_key(app, attempt_id: int, right: bool) -> None:
    """Answer every item of an attempt right (or wrong), reading the key on the server side."""
    from lms.exams.grading import grade

    with app.app_context():
        for r in db.session.get(Attempt, attempt_id).responses:
            spec = r.question_version.as_spec
            candidates = {"single": list(range(len(spec.choices))), "truefalse": [True, False],
                          "multiple": [[i for i, c in enumerate(spec.choices) if c.fraction > 0], []],
                          "short": [c.text for c in spec.choices] + ["不知道"],
                          "numerical": [n.low for n in spec.numeric] + [-12345],
                          "matching": [{str(i): p.right for i, p in enumerate(spec.pairs)}, {}],
                          "essay": ["略"]}[spec.qtype]
            wanted = [a for a in candidates if (grade(spec, a).fraction == 1.0) == right]
            r.answer = wanted[0] if wanted else candidates[0]
        db.session.commit()


def test_row1_practice_results_are_no_oracle_for_the_certification_key(app, client, world):
    """A learner sits the practice exam and every module check again and again and the certification
    exam: no certification item ever shows on a practice or check result, and the certification
    result shows neither a mark per item nor the key."""
    secret = _certification_items(app)
    assert len(secret) > 50  # the shipped certification pool
    secret_texts = set(secret.values())
    with app.app_context():
        from lms.courses.models import Course, Module

        modules = [(c.slug, m.slug) for m, c in db.session.execute(
            select(Module, Course).join(Course).where(Module.active.is_(True), Course.active.is_(True))
            .order_by(Course.sort_order, Module.sort_order)) if c.open_to("综合受理")]
    login(client, world["staff_a"])
    shown: list[str] = []
    for _ in range(6):
        attempt_id, page = _sit(client, "/exams/practice-basics/start", "/exams/practice-basics")
        items = _items_on(page)
        assert len(items) == 10 and page.count("参考答案") == 10  # every item taught, none kept back
        shown += items
    checks = 0
    for round_ in range(2):
        for course, module in modules:
            started = post(client, f"/courses/{course}/{module}/check", page=f"/courses/{course}/{module}")
            if started.status_code == 404:  # a module without a check
                continue
            attempt_id = int(re.search(r"/attempts/(\d+)/1", started.headers["Location"]).group(1))
            _answer_by_key(app, attempt_id, right=round_ == 1)
            post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
            page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
            items = _items_on(page)
            assert len(items) == 3 and page.count("参考答案") == 3
            shown += items
            checks += 1
    assert checks >= 40 and len(shown) >= 180
    assert secret_texts.isdisjoint(shown), sorted(secret_texts & set(shown))[:3]

    started = post(client, "/exams/frontline-certification/start", page="/exams/frontline-certification")
    attempt_id = int(re.search(r"/attempts/(\d+)/1", started.headers["Location"]).group(1))
    _answer_by_key(app, attempt_id, right=True)
    with app.app_context():  # half of the items wrong, so both marks would show if any did
        from lms.exams.grading import right_answer_text

        attempt = db.session.get(Attempt, attempt_id)
        drawn = [r.question_version.as_spec for r in attempt.responses]
        for r in attempt.responses[::2]:
            r.answer = None
        db.session.commit()
    assert {s.text for s in drawn} <= secret_texts
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "各类别得分" in page and "上岗认证考试不公布标准答案" in page
    for word in ("正确", "错误", "参考答案", "你的答案", "答题回顾", "badge ok", "badge bad"):
        assert word not in page, word
    assert _items_on(page) == [] and not any(html.escape(s.text) in page for s in drawn if len(s.text) >= 6)
    keys = {right_answer_text(s) for s in drawn if s.qtype in ("single", "multiple", "short", "matching")}
    outside_scores = re.sub(r"<table[^>]*>.*?</table>", "", page, flags=re.S)  # a key may also name a category
    assert [key for key in keys if len(key) >= 4 and html.escape(key) in outside_scores] == []


def test_row1_a_notice_check_draws_no_certification_item(app, client, world):
    """A notice's short check is retaken until passed and shows its score: it never draws a
    certification category (the form does not offer one, the service refuses one)."""
    from lms.notices.service import NoticeData, publish

    secret = _certification_items(app)
    with app.app_context():
        categories = {db.session.get(Question, qid).category for qid in secret}
    login(client, world["trainer"])
    form = client.get("/notices/new").get_data(as_text=True)
    offered = set(re.findall(r'<option value="([^"]+/[^"]*)"', form))
    assert offered and not offered & categories
    with app.app_context():
        with pytest.raises(DomainError, match="上岗认证考试的题库"):
            publish(NoticeData("新业务：偷看", "正文", None, sorted(categories)[0], [world["store_a"]], [], None),
                    world["trainer"].id)
        db.session.rollback()
        notice, _ = publish(NoticeData("新业务：小测", "正文", None, "etiquette/仪容/练习", [world["store_a"]], [], None),
                            world["trainer"].id)
        db.session.commit()
        notice_id = notice.id
    learner = app.test_client()
    login(learner, world["staff_a"])
    page = f"/notices/{notice_id}"
    for _ in range(3):
        started = post(learner, f"/notices/{notice_id}/check", page=page)
        attempt_id = int(re.search(r"/attempts/(\d+)/1", started.headers["Location"]).group(1))
        post(learner, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
        items = _items_on(learner.get(f"/attempts/{attempt_id}/result").get_data(as_text=True))
        assert items and set(items).isdisjoint(secret.values())


# Row 6: a forced password change cannot be skipped ------------------------------------------------

def test_row6_forced_password_change_cannot_be_skipped(app, client, world):
    """With a generated password, every page but the change form and log-out sends the person to
    the change form (GET or POST, any role's page); static files load; the new password must
    differ from the initial one."""
    person = world["staff_b"]
    initial = _generated_password(app, person, world["admin"])
    assert login(client, person, password=initial).headers["Location"] == "/account/password"
    urls = sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and rule.endpoint != "accounts.password"})
    urls += ["/courses/etiquette", "/courses/etiquette/grooming", "/exams/practice-basics", "/practice/phone-call",
             f"/store/people/{person.id}", "/notices/1", "/verify/ABCDEFGH", "/no-such-page"]
    assert len(urls) > 30
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", url
    started = post(client, "/exams/practice-basics/start", page="/account/password")
    assert started.headers["Location"] == "/account/password"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == person.id)) == 0
    assert client.get("/static/css/app.css").status_code == 200
    assert "请先改成您自己的密码" in client.get("/account/password").get_data(as_text=True)

    same = post(client, "/account/password", {"current": initial, "new": initial, "confirm": initial},
                page="/account/password")
    assert same.status_code == 200 and "新密码不能与当前密码相同" in same.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/account/password"
    assert post(client, "/logout", page="/account/password").headers["Location"] == "/login"

    login(client, person, password=initial)
    changed = post(client, "/account/password", {"current": initial, "new": "Own-choice-731", "confirm": "Own-choice-731"},
                   page="/account/password")
    assert changed.status_code == 302
    assert client.get("/").status_code == 200 and client.get("/exams").status_code == 200


# Row 7: log-in timing tells nothing -------------------------------------------------------------

def test_row7_log_in_takes_as_long_for_every_account_and_for_unknown_emp_no(app, client, world):
    """With the production hash method, a wrong password costs the same for an unknown 工号, an account
    with a chosen password and one with a generated password (ratio of medians within 0.5～2),
    and a successful log-in remakes a cheaper stored hash with the configured method."""
    configured = app.config["PASSWORD_HASH_METHOD"]
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"  # the default: what the reviewer timed
    try:
        with app.app_context():
            db.session.get(User, world["staff_a"].id).set_password("Chosen-pass-42")
            db.session.commit()
        generated = _generated_password(app, world["staff_b"], world["admin"])
        kinds = {"unknown": "NOBODY9", "chosen": world["staff_a"].emp_no, "generated": world["staff_b"].emp_no}
        token = csrf_token(client)
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for i in range(16):  # interleaved, so the machine's noise falls on every kind alike
            for j, (kind, emp_no) in enumerate(kinds.items()):
                begin = time.perf_counter()
                response = client.post("/login", data={"emp_no": emp_no, "password": "Wrong-pass-0", "csrf_token": token},
                                       environ_base={"REMOTE_ADDR": f"127.1.{i}.{j + 1}"})  # under the rate limit
                elapsed = time.perf_counter() - begin
                assert response.status_code == 200 and "工号或密码不正确" in response.get_data(as_text=True)
                if i:  # the first round warms up
                    times[kind].append(elapsed)
        median = {kind: statistics.median(values) for kind, values in times.items()}
        for kind in ("unknown", "generated"):
            assert 0.5 <= median[kind] / median["chosen"] <= 2, median

        with app.app_context():
            assert db.session.get(User, world["staff_b"].id).password_hash.startswith("pbkdf2:")
        assert login(client, world["staff_b"], password=generated).status_code == 302
        with app.app_context():
            user = db.session.get(User, world["staff_b"].id)
            assert user.password_hash.startswith("scrypt:") and user.must_change_password
    finally:
        app.config["PASSWORD_HASH_METHOD"] = configured


# Row 8: the password policy -----------------------------------------------------------------------

@pytest.mark.parametrize("new, message", [
    ("Ab1-xyz", "密码至少8位"),
    ("12345678", "这个密码太常见"),
    ("Password1", "这个密码太常见"),
    ("qq123456", "这个密码太常见"),
    ("{emp_no}-2026", "密码不能包含工号"),
    ("{emp_no_lower}abc", "密码不能包含工号"),
    ("83920475", "密码不能只用一类字符"),
    ("kxqzvbnmwt", "密码不能只用一类字符"),
    ("KXQZVBNMWT", "密码不能只用一类字符"),
])
def test_row8_weak_passwords_are_refused_with_a_clear_message(app, client, world, new, message):
    person = world["staff_a"]
    new = new.format(emp_no=person.emp_no, emp_no_lower=person.emp_no.lower())
    login(client, person)
    page = post(client, "/account/password", {"current": person.password, "new": new, "confirm": new},
                page="/account/password")
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, person.id)
        assert user.check_password(person.password) and not user.check_password(new)


def test_row8_one_policy_for_every_password_that_is_set(app, client, world):
    """The change form accepts a good password; admin create and reset, the roster import and the
    command line hand out generated passwords that meet the same policy; and no code path can store
    a password that breaks it (the model refuses)."""
    person = world["staff_a"]
    login(client, person)
    good = post(client, "/account/password", {"current": person.password, "new": "Lan-hua-2026", "confirm": "Lan-hua-2026"},
                page="/account/password")
    assert good.status_code == 302

    admin = app.test_client()
    login(admin, world["admin"])
    created = post(admin, "/admin/people/new", {"emp_no": "DX7001", "name": "新人", "role": "staff", "position": "综合受理",
                                                "store_id": str(world["store_a"]), "hire_date": "2026-01-05"},
                   page="/admin/people/new").get_data(as_text=True)
    reset = post(admin, f"/admin/people/{world['staff_b'].id}/password",
                 page=f"/admin/people/{world['staff_b'].id}").get_data(as_text=True)
    roster = f"工号,姓名,营业厅,岗位,入职日期\nDX7002,导入甲,{_store_code(app, world['store_a'])},综合受理,2026-01-05\n"
    preview = admin.post("/admin/roster", data={"file": (io.BytesIO(roster.encode("utf-8")), "roster.csv"),
                                                "csrf_token": csrf_token(admin, "/admin/roster")},
                         content_type="multipart/form-data").get_data(as_text=True)
    payload = re.search(r'name="payload" type="hidden" value="([^"]+)"', preview).group(1)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', preview).group(1)
    imported = admin.post("/admin/roster/confirm", data={"payload": payload, "csrf_token": token}).get_data(as_text=True)
    handed_out = [(emp_no, pw) for page in (created, reset, imported)
                  for emp_no, pw in re.findall(r"<td>([A-Z0-9]+)</td>.*?class=\"password\">([^<]+)<", page, re.S)]
    assert len(handed_out) == 3, handed_out
    cli = app.test_cli_runner().invoke(args=["lms", "admin", "create", "ADM7003", "备用管理员"])
    handed_out.append(("ADM7003", re.search(r"初始密码：(\S+)（", cli.output).group(1)))
    for emp_no, password in handed_out:
        assert password_problem(password, emp_no) is None, (emp_no, password)
    assert all(password_problem(generate_password("DX7001")) is None for _ in range(500))

    with app.app_context():
        user = db.session.get(User, world["staff_b"].id)
        for weak in ("12345678", "password123", f"{user.emp_no}x9y8"):
            with pytest.raises(DomainError):
                user.set_password(weak)
        db.session.rollback()


def _store_code(app, store_id: int) -> str:
    from lms.accounts.models import Store

    with app.app_context():
        return db.session.get(Store, store_id).code


# Row 9: log-out ends the session on the server ----------------------------------------------------

def _log_in_remembered(client, person):
    response = client.post("/login", data={"emp_no": person.emp_no, "password": person.password, "remember": "y",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    return client.get_cookie("session").value, client.get_cookie("remember_token").value


def _replays(app, name: str, value: str) -> bool:
    """Tell whether a fresh browser holding only this cookie gets in."""
    browser = app.test_client()
    browser.set_cookie(name, value)
    return browser.get("/").status_code == 200


def test_row9_log_out_ends_the_session_and_the_remember_cookie_on_the_server(app, client, world):
    session, remember = _log_in_remembered(client, world["staff_a"])
    assert _replays(app, "session", session) and _replays(app, "remember_token", remember)  # copies work while in
    assert post(client, "/logout").headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert not _replays(app, "session", session)
    assert not _replays(app, "remember_token", remember)
    assert login(client, world["staff_a"]).status_code == 302 and client.get("/").status_code == 200


def test_row9_a_password_change_ends_the_other_sessions(app, client, world):
    person = world["staff_a"]
    phone = app.test_client()
    session, remember = _log_in_remembered(phone, person)
    login(client, person)
    post(client, "/account/password", {"current": person.password, "new": "Fresh-pass-852", "confirm": "Fresh-pass-852"},
         page="/account/password")
    assert client.get("/").status_code == 200  # this device goes on
    assert phone.get("/").status_code == 302  # the other one is out
    assert not _replays(app, "session", session) and not _replays(app, "remember_token", remember)


# Row 10: a scheduled notice stays hidden until its issue time -------------------------------------

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def test_row10_a_scheduled_notice_is_hidden_until_its_issue_time(app, world, frozen):
    """Before its issue time a scheduled notice is 404 to the learners and managers it is for — its
    page, its steps, the board and the sign-in sheet — and is on none of their lists, nor in a
    reminder; from the issue time on it is there. Its trainer sees it all along."""
    from lms.notices.models import Outbox
    from lms.notices.reminders import enqueue
    from lms.notices.service import NoticeData, publish

    frozen(T0)
    issue = T0 + timedelta(hours=2)
    title = "新业务：定时发布的秘密套餐"
    with app.app_context():
        notice, assigned = publish(NoticeData(title, "## 资费\n\n- 首月免费", None, None, [world["store_a"]], [], issue),
                                   world["trainer"].id)
        db.session.commit()
        notice_id = notice.id
    assert assigned == 2  # staff_a and manager_a
    learner, manager, trainer = app.test_client(), app.test_client(), app.test_client()
    login(learner, world["staff_a"])
    login(manager, world["manager_a"])
    login(trainer, world["trainer"])
    hidden = {learner: [f"/notices/{notice_id}"],
              manager: [f"/notices/{notice_id}", f"/notices/{notice_id}/board", f"/notices/{notice_id}/signin.csv",
                        f"/notices/{notice_id}/signin.xlsx"]}
    lists = {learner: ["/", "/notices", "/messages"], manager: ["/store/", "/notices", "/messages"]}

    frozen(issue - timedelta(seconds=1))
    for browser, urls in hidden.items():
        for url in urls:
            assert browser.get(url).status_code == 404, url
        for url in lists[browser]:
            page = browser.get(url, follow_redirects=True)
            assert page.status_code == 200 and title not in page.get_data(as_text=True), url
    for step in ("read", "check", "attest"):
        assert post(learner, f"/notices/{notice_id}/{step}", page="/notices").status_code == 404, step
    with app.app_context():
        enqueue(issue - timedelta(seconds=1))
        assert db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.notice_id == notice_id)) == 0
    assert title in trainer.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert trainer.get(f"/notices/{notice_id}/board").status_code == 200

    frozen(issue)
    assert title in learner.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert title in learner.get("/notices").get_data(as_text=True)
    for url in hidden[manager]:
        assert manager.get(url).status_code == 200, url
    assert post(learner, f"/notices/{notice_id}/read", page=f"/notices/{notice_id}").status_code == 302
