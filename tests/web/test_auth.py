"""Log-in, log-out, rate limit and own password."""

from __future__ import annotations

from tests.conftest import csrf_token, login, post


def test_good_login_lands_on_role_home(client, world):
    response = login(client, world["staff_a"])
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "我的课程" in page and world["staff_a"].name in page


def test_manager_and_admin_land_on_their_pages(app, world):
    assert login(app.test_client(), world["manager_a"]).headers["Location"] == "/store/"
    assert login(app.test_client(), world["admin"]).headers["Location"] == "/admin/people"


def test_login_is_case_insensitive_on_emp_no(client, world):
    person = world["staff_a"]
    token = csrf_token(client)
    response = client.post("/login", data={"emp_no": person.emp_no.lower(), "password": person.password,
                                           "csrf_token": token})
    assert response.status_code == 302


def test_bad_password_is_refused_with_a_message(client, world):
    response = login(client, world["staff_a"], password="wrong-password")
    assert response.status_code == 200
    assert "工号或密码不正确" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still anonymous


def test_deactivated_person_cannot_log_in(client, factory):
    gone = factory.person(active=False)
    response = login(client, gone)
    assert "工号或密码不正确，或账号已停用" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_rejected(client, world):
    response = client.post("/login", data={"emp_no": world["staff_a"].emp_no, "password": world["staff_a"].password})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)


def test_login_is_rate_limited(client, world):
    for _ in range(10):
        assert login(client, world["staff_a"], password="wrong").status_code == 200
    response = login(client, world["staff_a"])  # even the right password waits
    assert response.status_code == 429
    assert "尝试次数过多" in response.get_data(as_text=True)


def test_open_redirect_after_login_is_ignored(client, world):
    token = csrf_token(client)
    person = world["staff_a"]
    response = client.post("/login?next=https://evil.example/", data={
        "emp_no": person.emp_no, "password": person.password, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_next_page_after_login(client, world):
    assert client.get("/courses/etiquette").headers["Location"].startswith("/login?next=")
    token = csrf_token(client)
    person = world["staff_a"]
    response = client.post("/login?next=/courses/etiquette", data={
        "emp_no": person.emp_no, "password": person.password, "csrf_token": token})
    assert response.headers["Location"] == "/courses/etiquette"


def test_logout(client, world):
    login(client, world["staff_a"])
    response = post(client, "/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_change_own_password(client, world):
    person = world["staff_a"]
    login(client, person)
    bad = post(client, "/account/password", {"current": "nope", "new": "New-pass-456", "confirm": "New-pass-456"},
               page="/account/password")
    assert "当前密码不正确" in bad.get_data(as_text=True)
    ok = post(client, "/account/password", {"current": person.password, "new": "New-pass-456",
                                            "confirm": "New-pass-456"}, page="/account/password")
    assert ok.status_code == 302
    post(client, "/logout")
    assert login(client, person).status_code == 200  # old password no longer works
    assert login(client, person, password="New-pass-456").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, world):
    response = login(client, world["staff_a"])
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
