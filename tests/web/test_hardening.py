"""Hostile or unlucky input and account safety: NUL bytes, huge ids, sessions, admins, rate limits."""

from __future__ import annotations

import pytest

from lms.accounts.models import User
from lms.extensions import db
from tests.conftest import csrf_token, login, post


def test_nul_bytes_are_refused_before_reaching_the_database(client, world):
    token = csrf_token(client)
    response = client.post("/login", data={"emp_no": "A\x00", "password": "x", "csrf_token": token})
    assert response.status_code == 400 and "无法处理的字符" in response.get_data(as_text=True)
    login(client, world["admin"])
    assert client.get("/admin/people?q=%00").status_code == 400
    assert client.get("/courses/a%00b").status_code == 400


@pytest.mark.parametrize("url", ["/runs/99999999999999999999", "/runs/9223372036854775808/debrief",
                                 "/store/people/99999999999999999999", "/attempts/99999999999999999999/1"])
def test_huge_ids_are_not_found_not_errors(client, world, url):
    login(client, world["manager_a"])
    assert client.get(url).status_code == 404


def test_password_reset_logs_the_person_out_everywhere(app, world):
    staff = world["staff_a"]
    device = app.test_client()
    login(device, staff)
    assert device.get("/").status_code == 200
    admin = app.test_client()
    login(admin, world["admin"])
    post(admin, f"/admin/people/{staff.id}/password", page=f"/admin/people/{staff.id}")
    assert device.get("/").status_code == 302  # the old session no longer works


def test_generated_password_must_be_changed_at_first_log_in(app, client, world):
    admin = app.test_client()
    login(admin, world["admin"])
    page = post(admin, f"/admin/people/{world['staff_b'].id}/password",
                page=f"/admin/people/{world['staff_b'].id}").get_data(as_text=True)
    import re

    password = re.search(r'class="password">([^<]+)<', page).group(1)
    response = login(client, world["staff_b"], password=password)
    assert response.headers["Location"] == "/account/password"
    post(client, "/account/password", {"current": password, "new": "Own-pass-789", "confirm": "Own-pass-789"},
         page="/account/password")
    with app.app_context():
        user = db.session.get(User, world["staff_b"].id)
        assert not user.must_change_password and user.check_password("Own-pass-789")
    assert client.get("/").status_code == 200  # this session was renewed with the new token


def test_the_last_admin_cannot_be_removed(app, client, world):
    login(client, world["admin"])
    me = world["admin"]
    page = post(client, f"/admin/people/{me.id}", {"emp_no": me.emp_no, "name": "管理员", "role": "staff",
                                                     "position": "综合受理", "store_id": str(world["store_a"]),
                                                     "hire_date": "2026-01-01"}, page=f"/admin/people/{me.id}")
    assert "不能取消自己的管理员角色" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, me.id).role == "admin"


def test_log_in_limit_is_per_address_and_emp_no(client, world):
    for _ in range(10):
        login(client, world["staff_a"], password="wrong")
    assert login(client, world["staff_a"]).status_code == 429
    assert login(client, world["staff_b"]).status_code == 302  # another 工号 from the same counter PC


def test_unknown_emp_no_and_wrong_password_look_the_same(client, world):
    a = login(client, world["staff_a"], password="wrong").get_data(as_text=True)
    b = client.post("/login", data={"emp_no": "NOBODY", "password": "wrong",
                                    "csrf_token": csrf_token(client)}).get_data(as_text=True)
    assert "工号或密码不正确" in a and "工号或密码不正确" in b


def test_english_validation_messages_do_not_reach_users(client, world):
    login(client, world["admin"])
    page = post(client, "/admin/people/new", {"emp_no": "DX9999", "name": "测试", "role": "staff",
                                              "position": "综合受理", "store_id": str(world["store_a"]),
                                              "hire_date": "2026-13-45"}, page="/admin/people/new")
    text = page.get_data(as_text=True)
    assert "Not a valid" not in text and "日期" in text


@pytest.mark.no_db
def test_an_uninitialised_instance_says_so(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, SECRET_KEY=None, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    response = app.test_client().get("/login")
    assert response.status_code == 503 and "make run" in response.get_data(as_text=True)


def _counts(app):
    from sqlalchemy import func, select

    from lms.exams.models import Question

    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(User)),
                db.session.scalar(select(func.count()).select_from(Question)))


@pytest.mark.parametrize("name, data, message", [
    ("roster.csv", b"\x00\xff\xfe\x01\x02binary\x00", "不是文本格式"),
    ("roster.xlsx", b"PK\x03\x04 not really a workbook", "无法读取"),
    ("roster.xlsx", bytes(range(256)) * 8, "无法读取"),
    ("roster.csv", "工号,姓名,营业厅,岗位,入职日期\n".encode("utf-16"), "不是文本格式"),
])
def test_malformed_roster_uploads_get_a_clear_error_and_change_nothing(app, client, world, name, data, message):
    import io

    login(client, world["admin"])
    before = _counts(app)
    response = client.post("/admin/roster", data={
        "csrf_token": csrf_token(client, "/admin/roster"), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")
    assert response.status_code in (200, 422) and message in response.get_data(as_text=True)
    assert _counts(app) == before


@pytest.mark.parametrize("data", [b"\x00\x01\x02\xff\xfe junk", "::q::客户等候多久？{#15}".encode("gbk")])
def test_malformed_gift_uploads_get_a_clear_error_and_change_nothing(app, client, world, data):
    import io

    login(client, world["trainer"])
    before = _counts(app)
    response = client.post("/bank/import", data={
        "csrf_token": csrf_token(client, "/bank/import"), "course": "etiquette",
        "file": (io.BytesIO(data), "bank.gift")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code in (200, 422) and "UTF-8" in page and "已导入" not in page
    assert _counts(app) == before


def test_an_upload_over_the_size_limit_is_refused_in_chinese(app, client, world):
    import io

    login(client, world["admin"])
    token = csrf_token(client, "/admin/roster")
    big = io.BytesIO(b"a," * (3 * 1024 * 1024))
    response = client.post("/admin/roster", data={"csrf_token": token, "file": (big, "roster.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "文件太大" in response.get_data(as_text=True)


@pytest.mark.no_db
def test_log_in_limit_is_shared_by_processes_through_redis(tmp_path):
    """Two app processes (two gunicorn workers, or two hosts) count one person's failures together."""
    import socket
    import uuid

    from tests.conftest import Person, make_app

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix, apps = f"lms-test-{uuid.uuid4().hex}", []
    for name in ("one", "two"):
        app = make_app(tmp_path / name, DATABASE_URL=f"sqlite:///{tmp_path / (name + '.sqlite3')}",
                       RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15", RATELIMIT_KEY_PREFIX=prefix)
        assert app.test_cli_runner().invoke(args=["lms", "init", "--no-demo"]).exit_code == 0
        apps.append(app)
    nobody = Person(0, "NOBODY1", "无", "staff", None, None)
    first, second = apps[0].test_client(), apps[1].test_client()
    for i in range(10):
        assert login(first if i % 2 else second, nobody, password="wrong").status_code == 200
    assert login(first, nobody, password="wrong").status_code == 429
    assert login(second, nobody, password="wrong").status_code == 429
    for app in apps:
        with app.app_context():
            db.engine.dispose()
