"""Security review (issue 13), rows 6–9: forced password changes, log-in timing, the password
policy and log-out on the server. Each test names its row and would fail if the hole came back."""

from __future__ import annotations

import io
import re
import statistics
import time

import pytest
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.accounts.passwords import generate_password, password_problem
from lms.accounts.service import reset_password
from lms.errors import DomainError
from lms.exams.models import Attempt
from lms.extensions import db
from tests.conftest import csrf_token, login, post


def _generated_password(app, person, admin) -> str:
    """Give the person a generated one-time password, as an admin's reset does; return it."""
    with app.app_context():
        password = reset_password(db.session.get(User, person.id), db.session.get(User, admin.id))
        db.session.commit()
        return password


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
