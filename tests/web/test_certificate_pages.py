"""The public verification page in every state (and nothing more about the person), and the trainer's
list of certificates expiring or expired, by store, with its XLSX."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from lms.accounts.models import User
from lms.certification.models import Certificate, Certification
from lms.certification.status import add_months
from lms.extensions import db
from tests.conftest import login

T = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
DAY = timedelta(days=1)


@pytest.fixture
def certification(app):
    """Only one certification, for 综合受理 and 前台销售, with a 60-day renewal window."""
    with app.app_context():
        db.session.execute(update(Certification).values(active=False))
        row = Certification(slug="zz-pages", title="页面测试上岗证", positions=["综合受理", "前台销售"], version=1,
                            rule={"courses": ["etiquette"], "scenarios": {"long-wait": 70},
                                  "exam": "frontline-certification", "validity_months": 12,
                                  "recertification": {"window_days": 60, "scenarios": {"long-wait": 70},
                                                      "exam": "frontline-certification"}})
        db.session.add(row)
        db.session.commit()
        return row.id


def certificate(app, user_id, certification_id, issued, code, revoked=None, reason="", renewed_from=None,
                expires=None, valid_from=None):
    with app.app_context():
        row = Certificate(code=code, user_id=user_id, certification_id=certification_id, issued_at=issued,
                          valid_from=valid_from or issued, expires_at=expires or add_months(issued, 12),
                          revoked_at=revoked, revoke_reason=reason, renewed_from_id=renewed_from)
        db.session.add(row)
        db.session.commit()
        return row.id


def overdue_notice(app, store_id, user_id, publisher_id):
    """A new-business notice for this one person, past its 48 hours."""
    from lms.notices.models import NoticeAssignment
    from lms.notices.service import NoticeData, publish

    with app.app_context():
        notice, _ = publish(NoticeData("新业务：验证页", "内容", None, None, [store_id], [], T - timedelta(hours=49)),
                            publisher_id)
        for assignment in db.session.scalars(select(NoticeAssignment).where(NoticeAssignment.notice_id == notice.id)):
            if assignment.user_id != user_id:
                assignment.completed_at = T - timedelta(hours=48)
        db.session.commit()


def verify_text(client, code) -> list[str]:
    """The verification page's card as lines of text."""
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    card = re.search(r'<article class="narrow">(.*?)</article>', page, re.S).group(1)
    text = html.unescape(re.sub(r"<[^>]+>", "", card))
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_the_verification_page_in_every_state_shows_no_more_than_it_must(app, factory, certification, frozen):
    frozen(T)
    store = factory.store(name="验证测试营业厅")
    trainer = factory.person("trainer", None, "培训")
    people = {key: factory.person("staff", store, "综合受理", name=f"验证{key}")
              for key in ("valid", "expiring", "expired", "revoked", "suspended", "renewed")}
    with app.app_context():
        for person in people.values():
            db.session.get(User, person.id).email = "secret@example.com"
        db.session.commit()
    c = certification
    certificate(app, people["valid"].id, c, T - 100 * DAY, "VALID00001")
    certificate(app, people["expiring"].id, c, T - 350 * DAY, "EXPIR00001")
    certificate(app, people["expired"].id, c, T - 400 * DAY, "EXPRD00001")
    certificate(app, people["revoked"].id, c, T - 100 * DAY, "REVOK00001", revoked=T - 5 * DAY, reason="考试作弊")
    certificate(app, people["suspended"].id, c, T - 100 * DAY, "SUSPD00001")
    overdue_notice(app, store, people["suspended"].id, trainer.id)
    old = certificate(app, people["renewed"].id, c, T - 340 * DAY, "RENEW00001")
    old_expiry = add_months(T - 340 * DAY, 12)
    certificate(app, people["renewed"].id, c, T - 10 * DAY, "RENEW00002", renewed_from=old, valid_from=old_expiry,
                expires=add_months(old_expiry, 12))

    anonymous = app.test_client()

    def card(key, code, issued, state, *notes):
        expires = add_months(issued, 12)
        return ["上岗证验证", f"状态：{state}", f"持证人：验证{key}", "认证：页面测试上岗证",
                f"发证日期：{issued.year}年{issued.month}月{issued.day}日",
                f"有效期至：{expires.year}年{expires.month}月{expires.day}日", *notes, f"证书编号{code}"]

    assert verify_text(anonymous, "VALID00001") == card("valid", "VALID00001", T - 100 * DAY, "有效")
    assert verify_text(anonymous, "EXPIR00001") == card("expiring", "EXPIR00001", T - 350 * DAY, "即将到期")
    assert verify_text(anonymous, "EXPRD00001") == card("expired", "EXPRD00001", T - 400 * DAY, "已过期",
                                                        "此证已于2026年10月16日到期。")
    assert verify_text(anonymous, "REVOK00001") == card("revoked", "REVOK00001", T - 100 * DAY, "已撤销",
                                                        "此证已于2026年11月15日撤销，不能凭此证上岗。")
    assert verify_text(anonymous, "SUSPD00001") == card("suspended", "SUSPD00001", T - 100 * DAY, "已暂停",
                                                        "此证暂停使用，恢复之前不能凭此证上岗。")
    assert verify_text(anonymous, "RENEW00001") == card("renewed", "RENEW00001", T - 340 * DAY, "已续期",
                                                        "此证已于2026年11月10日续期。",
                                                        "持证人已获发新证，请验证新证：RENEW00002")
    renewed = verify_text(anonymous, "renew00002 ")  # typed in lower case, with a space: still found
    assert renewed[1] == "状态：有效" and renewed[5] == "有效期至：2027年12月15日"
    for code in ("VALID00001", "REVOK00001", "SUSPD00001"):
        page = anonymous.get(f"/verify/{code}").get_data(as_text=True)
        for private in ("验证测试营业厅", "综合受理", "secret@example.com", "考试作弊", "新业务", "工号"):
            assert private not in page, (code, private)
    assert anonymous.get("/verify/NOSUCHCODE").status_code == 404


def test_expiry_reminder_mails_link_to_the_public_address(app, world, certification, frozen, monkeypatch):
    """The e-mail's link is built on PUBLIC_URL (lms/urls.py): the holder's 上岗证 page, the manager's view of
    the person."""
    from lms.notices import reminders

    sent = []

    class FakeSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def send_message(self, message):
            sent.append((message["To"], message.get_content()))

    monkeypatch.setattr(reminders.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://lms.example.com")
    staff, manager = world["staff_a"], world["manager_a"]
    with app.app_context():
        db.session.get(User, staff.id).email = "holder@example.com"
        db.session.get(User, manager.id).email = "manager@example.com"
        db.session.commit()
    issued = T - 340 * DAY  # 30 days before expiry today: the holder and the manager hear of it
    certificate(app, staff.id, certification, issued, "MAILS00001")
    frozen(add_months(issued, 12) - 30 * DAY)
    result = app.test_cli_runner().invoke(args=["lms", "sweep"])
    assert "邮件2" in result.output, result.output
    mails = dict(sent)
    assert mails["holder@example.com"].rstrip().endswith("https://lms.example.com/certificates")
    assert mails["manager@example.com"].rstrip().endswith(f"https://lms.example.com/store/people/{staff.id}")
    assert "MAILS00001" in mails["holder@example.com"] and "续证" in mails["holder@example.com"]


# ---------------------------------------------------------------- the list of expiring certificates


def table_rows(page: str) -> list[list[str]]:
    """The text of each cell of each body row of the page's tables."""
    def text(cell: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())

    return [[text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for body in re.findall(r"<tbody>(.*?)</tbody>", page, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_expiring_list_by_store_and_its_xlsx(app, factory, certification, frozen):
    frozen(T)
    north, south = factory.store(code="ZN01", name="北站营业厅"), factory.store(code="ZS01", name="南湖营业厅")
    c = certification

    def holder(store, name, position="综合受理", active=True):
        return factory.person("staff", store, position, name=name, active=active)

    soon = holder(north, "甲")  # 10 days left: 即将到期
    window = holder(north, "乙")  # 45 days left: still 有效, the renewal window is open
    expired = holder(north, "丙")  # expired 5 days ago
    later = holder(north, "丁")  # 100 days left: only in a longer list
    revoked = holder(north, "戊")
    renewed = holder(north, "己")
    gone = holder(north, "庚", active=False)
    moved = holder(north, "辛", position="库管")  # a position that no longer needs this certificate
    other = holder(south, "壬", position="前台销售")  # 20 days left, in another store

    def expiring_in(days):
        return add_months(T + days * DAY, -12)

    certificate(app, soon.id, c, expiring_in(10), "SOON000001")
    certificate(app, window.id, c, expiring_in(45), "WIND000001")
    certificate(app, expired.id, c, expiring_in(-5), "EXPD000001")
    certificate(app, later.id, c, expiring_in(100), "LATR000001")
    certificate(app, revoked.id, c, expiring_in(10), "REVK000001", revoked=T - DAY, reason="违规")
    first = certificate(app, renewed.id, c, expiring_in(10), "RNWD000001")
    certificate(app, renewed.id, c, T - DAY, "RNWD000002", renewed_from=first, valid_from=T + 10 * DAY,
                expires=add_months(T + 10 * DAY, 12))
    certificate(app, gone.id, c, expiring_in(10), "GONE000001")
    certificate(app, moved.id, c, expiring_in(10), "MOVD000001")
    certificate(app, other.id, c, expiring_in(20), "OTHR000001")

    client = app.test_client()
    login(client, factory.person("trainer", None, "培训"))
    page = client.get("/certificates/expiring?days=60").get_data(as_text=True)
    groups = re.findall(r"<h2>([^<]+)<span class=\"muted\">（(\d+)人）</span></h2>", page)
    assert ("北站营业厅", "3") in groups and ("南湖营业厅", "1") in groups
    assert groups.index(("北站营业厅", "3")) < groups.index(("南湖营业厅", "1"))  # by store code
    cells = table_rows(page)
    mine = [(row[0], row[1], row[2]) for row in cells if row[0] in "甲乙丙丁戊己庚辛壬"]
    assert mine == [("丙", "已过期", "已过期5天"), ("甲", "即将到期", "还剩10天"), ("乙", "有效", "还剩45天"),
                    ("壬", "即将到期", "还剩20天")]
    # 乙's window is open: the renewal progress shows
    assert next(row for row in cells if row[0] == "乙")[4] == (
        "情景演练「久等客户的接待」未通过 考试「柜台服务岗位上岗考试」未通过")  # one step a line
    assert "共4人：已过期1人，60天内到期3人。" in page
    longer = client.get("/certificates/expiring?days=120").get_data(as_text=True)
    assert "还剩100天" in longer
    only_south = client.get(f"/certificates/expiring?days=60&store={south}").get_data(as_text=True)
    assert "南湖营业厅" in only_south and "北站营业厅<span" not in only_south

    book = load_workbook(io.BytesIO(client.get("/certificates/expiring.xlsx?days=60").data)).active
    assert [c.value for c in book[2]] == ["营业厅", "姓名", "状态", "剩余", "有效期至", "续证", "工号", "岗位",
                                          "证书编号", "发证日期", "上岗证"]
    lines = [[c.value for c in row] for row in book.iter_rows(min_row=3)]
    assert [(line[1], line[2], line[3]) for line in lines if line[1] in "甲乙丙丁戊己庚辛壬"] == mine
    assert [line[0] for line in lines if line[1] in "甲乙丙丁戊己庚辛壬"] == ["北站营业厅"] * 3 + ["南湖营业厅"]
    soon_row = next(line for line in lines if line[1] == "甲")
    assert soon_row[4] == f"{T + 10 * DAY:%Y-%m-%d}" and soon_row[8] == "SOON000001"
    assert next(line for line in lines if line[1] == "丙")[5] == "需重新完成全部认证要求"
    assert next(line for line in lines if line[1] == "乙")[5] == (
        "情景演练「久等客户的接待」未通过；考试「柜台服务岗位上岗考试」未通过")
