"""Security properties across the whole app: CSRF on every POST, inert stored XSS, quiet logs,
per-instance secrets."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from lms.extensions import db
from tests.conftest import PASSWORD, csrf_token, login, make_app, post

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _post_urls(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "static":
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{arg}>", "1" if "id" in arg or arg in ("position", "version") else "x", url)
        urls.append(url)
    return sorted(urls)


def test_every_post_route_rejects_a_missing_csrf_token(app, world):
    urls = _post_urls(app)
    assert len(urls) >= 40
    anonymous, admin = app.test_client(), app.test_client()
    login(admin, world["admin"])
    for client in (anonymous, admin):
        for url in urls:
            response = client.post(url, data={"x": "1"})
            assert response.status_code == 400, (url, response.status_code)


def test_stored_xss_is_inert_everywhere(app, world, factory):
    evil = factory.person("staff", world["store_a"], "综合受理", name="坏人" + XSS[:30])
    trainer = app.test_client()
    login(trainer, world["trainer"])
    post(trainer, "/notices/new", {"title": "通知" + XSS, "body": "正文" + XSS + "[点我](javascript:alert(1))",
                                   "issued_at": ""}, page="/notices/new")
    learner = app.test_client()
    login(learner, evil)
    start = post(learner, "/practice/long-wait/start", {"mode": "text"}, page="/practice/long-wait")
    run_id = int(start.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(learner, f"/runs/{run_id}")
    learner.post(f"/runs/{run_id}/turns", data={"seq": "1", "reply": "您好" + XSS, "csrf_token": token})
    manager = app.test_client()
    login(manager, world["manager_a"])
    with app.app_context():
        from lms.notices.models import Notice

        notice_id = db.session.scalar(select(Notice.id).order_by(Notice.id.desc()).limit(1))
    pages = {
        "debrief": learner.get(f"/runs/{run_id}/debrief"),
        "run page": learner.get(f"/runs/{run_id}"),
        "notice": learner.get(f"/notices/{notice_id}"),
        "board": trainer.get(f"/notices/{notice_id}/board"),
        "store": manager.get(f"/store/{world['store_a']}"),
        "matrix": manager.get(f"/store/{world['store_a']}/matrix"),
        "archive": manager.get(f"/store/people/{evil.id}/archive"),
        "admin people": app.test_client(),
    }
    admin = pages.pop("admin people")
    login(admin, world["admin"])
    pages["admin people"] = admin.get("/admin/people")
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert "<script>alert" not in html, name  # shown as text (&lt;script&gt;), never as a tag
        assert not re.search(r"<img[^>]*onerror", html), name
        assert not re.search(r"href=[\"']?javascript:", html, re.I), name


def test_passwords_never_reach_the_log(app, client, world, caplog):
    caplog.set_level(logging.DEBUG)
    login(client, world["staff_a"], password="Wrong-" + PASSWORD)
    login(client, world["staff_a"])
    post(client, "/account/password", {"current": PASSWORD, "new": "Brand-new-pass-9", "confirm": "Brand-new-pass-9"},
         page="/account/password")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (PASSWORD, "Brand-new-pass-9"):
        assert secret not in logged


@pytest.mark.no_db
def test_each_instance_gets_its_own_secret_key(tmp_path):
    keys = []
    for name in ("one", "two"):
        app = make_app(tmp_path / name, DATABASE_URL=f"sqlite:///{tmp_path / (name + '.sqlite3')}", SECRET_KEY=None)
        assert app.test_cli_runner().invoke(args=["lms", "init", "--no-demo"]).exit_code == 0
        keys.append((tmp_path / name / "instance" / "secret_key").read_text().strip())
        with app.app_context():
            db.engine.dispose()
    assert keys[0] != keys[1] and all(len(k) == 64 for k in keys)


@pytest.mark.no_db
def test_a_configured_secret_key_is_used_as_text_and_no_key_file_is_written(tmp_path, monkeypatch):
    from lms import create_app

    monkeypatch.setenv("LMS_SECRET_KEY", "0123456789" * 4)  # valid JSON: must still be text

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'k.sqlite3'}"}, instance_path=str(tmp_path / "inst"))
    assert app.config["SECRET_KEY"] == "0123456789" * 4
    assert app.test_cli_runner().invoke(args=["lms", "init", "--no-demo"]).exit_code == 0
    assert not (tmp_path / "inst" / "secret_key").exists()
    with app.app_context():
        db.engine.dispose()
