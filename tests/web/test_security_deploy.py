"""Security review (issue 13), the deployment rows: 14 links never take the request's Host header,
16 cookies and files are private, 17 store robots only post to the robot services."""

from __future__ import annotations

import os
import re
import stat
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.accounts.models import Store, User
from lms.certification.models import Certificate, Certification
from lms.certification.routes import _qr
from lms.extensions import db
from lms.notices.models import Outbox
from lms.notices.service import NoticeData, publish
from tests.conftest import csrf_token, login, make_app, post

PUBLIC = "https://lms.example.com"
FORGED = "evil.example"
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
LMS = Path(__file__).resolve().parents[2] / "lms"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _certificate(app, person_id: int, code: str = "QRTEST01") -> str:
    with app.app_context():
        certification = db.session.scalar(select(Certification).where(Certification.active.is_(True)))
        db.session.add(Certificate(code=code, user_id=person_id, certification_id=certification.id, issued_at=T0,
                                   expires_at=T0 + timedelta(days=365), basis={}))
        db.session.commit()
    return code


def _forged_client(app):
    """A client whose every request says `Host: evil.example` (and keeps its cookies there)."""
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = FORGED
    return client


# Row 14: the verification URL and QR code, xAPI ids and e-mail links use PUBLIC_URL, never the Host.

def test_row14_forged_host_yields_a_qr_code_and_verify_link_on_the_configured_host(app, world, frozen, monkeypatch):
    frozen(T0)
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    code = _certificate(app, world["staff_a"].id)
    client = _forged_client(app)
    login(client, world["staff_a"])
    page = client.get(f"/certificates/{code}").get_data(as_text=True)
    assert f"「{PUBLIC}/verify/{code}」" in page
    assert str(_qr(f"{PUBLIC}/verify/{code}")) in page  # the QR code encodes the configured address
    assert FORGED not in page


def test_row14_without_public_url_tests_use_the_default_not_the_host(app, world, frozen):
    frozen(T0)
    code = _certificate(app, world["staff_a"].id)
    client = _forged_client(app)
    login(client, world["staff_a"])
    page = client.get(f"/certificates/{code}").get_data(as_text=True)
    assert f"http://127.0.0.1:5000/verify/{code}" in page and FORGED not in page


def test_row14_xapi_ids_are_on_the_configured_host_whatever_the_host_header(app, world, frozen, monkeypatch):
    frozen(T0)
    _certificate(app, world["staff_a"].id)
    client = _forged_client(app)
    login(client, world["trainer"])
    for base in ("http://127.0.0.1:5000", PUBLIC):  # the tests' default, then a configured one
        monkeypatch.setitem(app.config, "PUBLIC_URL", None if base.startswith("http:") else base)
        response = client.get(f"/store/people/{world['staff_a'].id}/xapi.json")
        statements = response.get_json()
        assert statements and FORGED not in response.get_data(as_text=True)
        for statement in statements:
            assert statement["actor"]["account"]["homePage"] == base
            assert statement["object"]["id"].startswith(f"{base}/xapi/activities/")


class _FakeSMTP:
    sent: list = []

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        _FakeSMTP.sent.append(message)


def _notice_with_mail(app, factory, monkeypatch) -> tuple[int, int]:
    from lms.notices import reminders

    monkeypatch.setattr(reminders.smtplib, "SMTP", _FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    _FakeSMTP.sent = []
    store = factory.store()
    person = factory.person("staff", store)
    trainer = factory.person("trainer", None, "培训")
    with app.app_context():
        db.session.get(User, person.id).email = "ann@example.com"
        notice, _ = publish(NoticeData("新业务：链接测试", "正文", None, None, [store], [], None), trainer.id)
        db.session.commit()
        return notice.id, person.id


def test_row14_reminder_email_links_are_on_the_configured_host(app, factory, frozen, monkeypatch):
    from lms.notices.reminders import sweep

    frozen(T0)
    notice_id, _ = _notice_with_mail(app, factory, monkeypatch)
    frozen(T0 + timedelta(hours=24))  # the person's due−24 h reminder, in tests without PUBLIC_URL
    with app.app_context():
        assert sweep().sent["email"] == 1
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    frozen(T0 + timedelta(hours=42))  # due−6 h, with PUBLIC_URL configured
    with app.app_context():
        assert sweep().sent["email"] == 1
    default, configured = (m.get_content() for m in _FakeSMTP.sent)
    assert f"\nhttp://127.0.0.1:5000/notices/{notice_id}\n" in default  # absolute, never a bare path
    assert f"\n{PUBLIC}/notices/{notice_id}\n" in configured


def test_row14_production_requires_public_url(app, factory, frozen, monkeypatch, tmp_path):
    """Outside tests, debug mode and the development server: pages answer 503 and e-mails are not sent
    with a relative or guessed link; the development server and a configured PUBLIC_URL work."""
    from lms.notices.reminders import sweep

    frozen(T0)
    _notice_with_mail(app, factory, monkeypatch)
    monkeypatch.setitem(app.config, "TESTING", False)
    frozen(T0 + timedelta(hours=24))
    with app.app_context():
        report = sweep()
        row = db.session.scalar(select(Outbox).where(Outbox.channel == "email"))
        assert report.sent["email"] == 0 and report.failed == 1 and "PUBLIC_URL" in row.last_error
    assert _FakeSMTP.sent == []

    production = make_app(tmp_path / "p", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], TESTING=False)
    page = production.test_client().get("/login", headers={"Host": FORGED})
    assert page.status_code == 503 and "PUBLIC_URL" in page.get_data(as_text=True)
    development = production.test_client().get("/login", environ_base={"SERVER_SOFTWARE": "Werkzeug/3.1.9"})
    assert development.status_code == 200
    configured = make_app(tmp_path / "c", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], TESTING=False,
                          PUBLIC_URL=PUBLIC + "/")
    assert configured.test_client().get("/login").status_code == 200
    assert configured.config["PUBLIC_URL"] == PUBLIC
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        make_app(tmp_path / "x", PUBLIC_URL="lms.example.com")  # no scheme: not an address


def test_row14_every_absolute_link_is_built_by_the_one_helper():
    """No code or template builds an absolute URL from the request (its Host header): only lms/urls.py."""
    request_urls = re.compile(r"_external\s*=|\b(?:host_url|url_root|base_url)\b|request\.url\b")
    public_url = re.compile(r"""["']PUBLIC_URL["']\]|get\(\s*["']PUBLIC_URL["']""")
    found = []
    for path in [*LMS.rglob("*.py"), *LMS.rglob("*.html")]:
        if path.name == "urls.py" and path.parent == LMS:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (request_urls, public_url):
            found += [f"{path.relative_to(LMS)}: {m.group(0)}" for m in pattern.finditer(text)
                      if not (pattern is public_url and path == LMS / "__init__.py")]  # config check only
    assert found == []


# Row 16: Secure cookies on https; the SQLite database, instance/ and backups private.

def _cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_row16_session_and_remember_cookies_are_secure_when_public_url_is_https(app, world, tmp_path):
    for public, secure in ((PUBLIC, True), ("http://127.0.0.1:5000", False)):
        other = make_app(tmp_path / str(secure), DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], PUBLIC_URL=public)
        client = other.test_client()
        token = csrf_token(client, "/login")
        person = world["staff_a"]
        response = client.post("/login", data={"emp_no": person.emp_no, "password": person.password,
                                               "remember": "y", "csrf_token": token})
        assert response.status_code == 302
        cookies = _cookies(response)
        assert {"session", "remember_token"} <= set(cookies)
        for name in ("session", "remember_token"):
            assert ("; Secure" in cookies[name]) is secure, cookies[name]
            assert "; HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]


@pytest.mark.no_db
def test_row16_instance_database_and_backups_are_created_private_and_init_warns_without_public_url(tmp_path):
    with _umask(0o022):  # the usual umask: left to it, files are 0644 and folders 0755
        app = make_app(tmp_path, DATABASE_URL=None)  # the embedded default: instance/lms.sqlite3
        runner = app.test_cli_runner()
        first = runner.invoke(args=["lms", "init", "--no-demo"])
        assert first.exit_code == 0, first.output
        assert "未设置「PUBLIC_URL」" in first.output  # row 14: lms init warns
        assert "已收紧" not in first.output  # born private, not tightened afterwards
        instance = Path(app.instance_path)
        database = instance / "lms.sqlite3"
        assert _mode(instance) == 0o700 and _mode(database) == 0o600
        for side in (instance / "lms.sqlite3-wal", instance / "lms.sqlite3-shm"):
            assert not side.exists() or _mode(side) == 0o600

        result = runner.invoke(args=["lms", "backup"])
        assert result.exit_code == 0, result.output
        backups = instance / "backups"
        [copy] = backups.glob("*.sqlite3")
        assert _mode(backups) == 0o700 and {_mode(f) for f in backups.iterdir()} == {0o600}  # -wal, -shm too
        chosen = tmp_path / "elsewhere.sqlite3"
        assert runner.invoke(args=["lms", "backup", str(chosen)]).exit_code == 0
        assert _mode(chosen) == 0o600
        again = runner.invoke(args=["lms", "backup", str(chosen)])
        assert again.exit_code == 1 and "已存在" in again.output
        result = runner.invoke(args=["lms", "restore", str(chosen), "--yes"])
        assert result.exit_code == 0, result.output
        [aside] = instance.glob("lms.sqlite3.before-restore-*")
        assert _mode(aside) == 0o600
        with app.app_context():
            db.engine.dispose()

        os.chmod(instance, 0o755)  # as an older version left them
        os.chmod(database, 0o644)
        os.chmod(copy, 0o644)
        configured = make_app(tmp_path, DATABASE_URL=None, PUBLIC_URL=PUBLIC)
        second = configured.test_cli_runner().invoke(args=["lms", "init", "--no-demo"])
        assert second.exit_code == 0, second.output
        assert "PUBLIC_URL" not in second.output and "已收紧" in second.output
        assert _mode(instance) == 0o700 and _mode(database) == 0o600 and _mode(copy) == 0o600
        with configured.app_context():
            db.engine.dispose()


# Row 17: store robots post only to https on the known robot hosts, unless the operator allows more.

BAD_WEBHOOKS = [
    "http://127.0.0.1:8080/robot",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",
    "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",  # the right host, but not https
    "https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=k",
    "https://qyapi.weixin.qq.com.evil.example/cgi-bin/webhook/send",
    "https://user:pw@oapi.dingtalk.com/robot/send",
    "https://evil.example\\@oapi.dingtalk.com/robot/send",
    "file:///etc/passwd",
]
GOOD_WEBHOOKS = ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123",
                 "https://oapi.dingtalk.com/robot/send?access_token=abc"]


def _save_store(client, app, store_id: int, webhook: str):
    with app.app_context():
        store = db.session.get(Store, store_id)
        data = {"code": store.code, "name": store.name, "region_id": str(store.region_id), "address": "",
                "webhook_url": webhook}
    return post(client, f"/admin/stores/{store_id}", data, page=f"/admin/stores/{store_id}")


def _webhook(app, store_id: int) -> str:
    with app.app_context():
        return db.session.get(Store, store_id).webhook_url


def test_row17_admin_can_save_only_robot_hosts_with_a_clear_error(app, client, world, monkeypatch):
    login(client, world["admin"])
    store = world["store_a"]
    for url in BAD_WEBHOOKS:
        response = _save_store(client, app, store, url)
        assert response.status_code == 200, url
        assert "群机器人地址只能是企业微信「https://qyapi.weixin.qq.com/…」" in response.get_data(as_text=True), url
        assert _webhook(app, store) == "", url
    for url in GOOD_WEBHOOKS:
        assert _save_store(client, app, store, url).status_code == 302, url
        assert _webhook(app, store) == url
    relay = "http://10.0.0.5:8080/robot?key=x"
    assert _save_store(client, app, store, relay).status_code == 200  # not from the admin page…
    monkeypatch.setitem(app.config, "WEBHOOK_EXTRA_ORIGINS", ["http://10.0.0.5:8080"])  # …but by the operator
    assert _save_store(client, app, store, relay).status_code == 302
    assert _webhook(app, store) == relay
    assert _save_store(client, app, store, "http://10.0.0.5:9090/robot").status_code == 200  # that origin only


def test_row17_the_service_refuses_too(app, world):
    from lms.accounts.service import save_store
    from lms.errors import DomainError

    with app.app_context():
        store = db.session.get(Store, world["store_a"])
        admin = db.session.get(User, world["admin"].id)
        with pytest.raises(DomainError, match="群机器人地址只能是"):
            save_store(store, store.code, store.name, store.region_id, "", admin, "http://127.0.0.1/robot")
        db.session.rollback()


class _Answer:
    def __init__(self, body: bytes):
        self.body = body

    def read(self):
        return self.body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_row17_a_webhook_saved_before_the_rule_is_not_posted_to(app, factory, frozen, monkeypatch):
    import urllib.request

    from lms.notices import reminders

    frozen(T0)
    store = factory.store()
    factory.person("manager", store)
    factory.person("staff", store)
    trainer = factory.person("trainer", None, "培训")
    with app.app_context():
        db.session.get(Store, store).webhook_url = "http://169.254.169.254/latest/meta-data/"  # an old row
        publish(NoticeData("新业务：机器人测试", "正文", None, None, [store], [], None), trainer.id)
        db.session.commit()
    opened = []

    def network(self, request, *args, **kwargs):
        opened.append(request.full_url)
        return _Answer(b'{"errcode": 0}')

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", network)  # every way out of urllib
    frozen(T0 + timedelta(hours=42))  # the managers' due−6 h reminder, with the store robot
    with app.app_context():
        report = reminders.sweep()
        row = db.session.scalar(select(Outbox).where(Outbox.channel == "webhook", Outbox.store_id == store))
        assert report.failed == 1 and row.sent_at is None and "群机器人地址只能是" in row.last_error
    assert opened == []
    with app.app_context():  # corrected by the admin: the retry goes out to the robot
        db.session.get(Store, store).webhook_url = GOOD_WEBHOOKS[0]
        db.session.commit()
    frozen(T0 + timedelta(hours=42, minutes=2))
    with app.app_context():
        assert reminders.sweep().sent["webhook"] == 1
    assert opened == [GOOD_WEBHOOKS[0]]


@contextmanager
def _server(handler):
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_row17_an_allowed_robot_that_redirects_is_not_followed(app, monkeypatch):
    """An allowed origin answering 302 to an internal address does not make the server go there."""
    from lms.notices.reminders import _send_webhook

    reached = []

    class Inside(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            reached.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode": 0}')

        def do_GET(self):  # noqa: N802
            self.do_POST()

        def log_message(self, *args):
            pass

    with _server(Inside) as inside:
        class Redirecting(Inside):
            def do_POST(self):  # noqa: N802
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{inside}/secret")
                self.end_headers()

        with _server(Redirecting) as robot:
            monkeypatch.setitem(app.config, "WEBHOOK_EXTRA_ORIGINS", [f"http://127.0.0.1:{robot}"])
            with app.app_context():
                try:
                    _send_webhook(f"http://127.0.0.1:{robot}/robot", {"title": "t", "body": "b"})
                except Exception as exc:  # a failed delivery: recorded and retried by the sweep
                    refused = str(exc)
                else:
                    refused = ""
    assert reached == [] and "redirect" in refused
