"""Certificates in a real browser, on a phone (375 × 812) and a PC (1280 × 800): the public verification
page in each state, and the trainer's list of expiring certificates with its XLSX download."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.extensions import db
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.no_db

SIZES = {"phone": (375, 812), "pc": (1280, 800)}

# The page wider than the screen, or a box of the page's content whose content is wider than the box
# (hidden or behind a sideways scroll); text fields, code and SVG aside. A trainer's page may scroll a
# wide table inside its own box. (The top bar is the phone-first work's, issue 15 part A.)
OVERFLOW = """(allowScrollBox) => {
  const doc = document.documentElement, bad = [];
  if (doc.scrollWidth > doc.clientWidth) bad.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const el of document.querySelectorAll('main, main *')) {
    if (['INPUT', 'TEXTAREA', 'SELECT', 'OPTION', 'CODE', 'PRE'].includes(el.tagName) || el.closest('svg')) continue;
    if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
    if (allowScrollBox && el.classList.contains('table-wrap')) continue;
    bad.push(`${el.tagName.toLowerCase()}.${el.className} ${el.scrollWidth} > ${el.clientWidth}`);
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def certificates(live_app):
    """A store of its own with five holders: valid, expiring in 10 days, expired, revoked, renewed —
    removed again afterwards, so the other journeys on the shared app count the demo people only."""
    from lms.accounts.models import Region, Store, User
    from lms.certification.models import Certificate, Certification
    from lms.certification.status import add_months
    from lms.clock import now

    app, _, _ = live_app
    at = now()
    with app.app_context():
        counter = db.session.scalar(select(Certification).where(Certification.slug == "counter"))
        store = Store(code="E2ECERT", name="证书验证营业厅", region=Region(code="E2EC", name="证书测试地市"))
        codes = {}

        def holder(key, name, issued, **extra):
            person = User(emp_no=f"E2EC{len(codes) + 1:03d}", name=name, role="staff", position="综合受理", store=store)
            person.set_password("E2e-cert-pass-1")
            db.session.add(person)
            db.session.flush()
            certificate = Certificate(code=f"E2E{key.upper()[:3]}{len(codes):04d}", user_id=person.id,
                                      certification_id=counter.id, issued_at=issued,
                                      expires_at=extra.pop("expires", add_months(issued, 12)), **extra)
            db.session.add(certificate)
            db.session.flush()
            codes[key] = certificate.code
            return person, certificate

        holder("valid", "王有效", at - timedelta(days=100))
        holder("expiring", "李将到", add_months(at + timedelta(days=10), -12))
        holder("expired", "赵过期", at - timedelta(days=400))
        holder("revoked", "钱撤销", at - timedelta(days=100), revoked_at=at - timedelta(days=3),
               revoke_reason="证件信息有误")
        person, old = holder("renewed", "孙续证", add_months(at + timedelta(days=20), -12))
        renewed = Certificate(code="E2ERENNEW1", user_id=person.id, certification_id=counter.id,
                              issued_at=at - timedelta(days=1), valid_from=old.expires_at,
                              expires_at=add_months(old.expires_at, 12), renewed_from_id=old.id)
        db.session.add(renewed)
        db.session.commit()
        store_id, region_id = store.id, store.region_id
    yield codes
    with app.app_context():
        people = db.session.scalars(select(User.id).where(User.store_id == store_id)).all()
        for certificate in db.session.scalars(select(Certificate).where(Certificate.user_id.in_(people))
                                              .order_by(Certificate.id.desc())):
            db.session.delete(certificate)  # the renewal first: it points at the one it renewed
            db.session.flush()
        for user_id in people:
            db.session.delete(db.session.get(User, user_id))
        db.session.flush()
        db.session.delete(db.session.get(Store, store_id))
        db.session.delete(db.session.get(Region, region_id))
        db.session.commit()


@pytest.mark.parametrize("size", SIZES)
def test_verification_page_in_each_state(browser, live_app, certificates, shoot, size):
    app, base, _ = live_app
    width, height = SIZES[size]
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    expected = {"valid": "有效", "expiring": "即将到期", "expired": "已过期", "revoked": "已撤销", "renewed": "已续期"}
    for key, state in expected.items():
        page.goto(f"{base}/verify/{certificates[key]}")
        card = page.inner_text("article")
        assert f"状态：{state}" in card and "认证：营业厅上岗证（柜台服务岗位）" in card, card
        assert "证书验证营业厅" not in card and "综合受理" not in card and "证件信息有误" not in card
        assert page.evaluate(OVERFLOW, False) == [], (key, size)
        shoot(page, f"{size}-{key}")
    page.goto(f"{base}/verify/{certificates['renewed']}")
    page.click("text=E2ERENNEW1")  # a renewed certificate leads to its successor
    assert "状态：有效" in page.inner_text("article")
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_trainer_reads_the_expiring_list_and_downloads_it(browser, live_app, certificates, shoot, size):
    from openpyxl import load_workbook

    app, base, accounts = live_app
    width, height = SIZES[size]
    page = log_in(browser, base, "PX0001", accounts["PX0001"], width=width, height=height)
    page.goto(f"{base}/store/")
    page.click("text=到期上岗证（按营业厅）")
    assert "/certificates/expiring" in page.url
    section = page.locator("section", has_text="证书验证营业厅")
    rows = [[cell.strip() for cell in row.split("\t")] for row in section.locator("tbody tr").all_inner_texts()]
    assert [(r[0], r[1], r[2]) for r in rows] == [("赵过期", "已过期", rows[0][2]), ("李将到", "即将到期", "还剩10天")]
    assert rows[0][2].startswith("已过期")
    assert page.evaluate(OVERFLOW, True) == [], size  # the table may scroll inside its box, the page may not
    shoot(page, f"{size}-list")
    section.locator("tbody tr").first.locator("a").first.click()  # the name leads to the person
    assert "上岗证记录" in page.inner_text("main") and "赵过期" in page.inner_text("main")
    shoot(page, f"{size}-person")
    page.go_back()
    with page.expect_download() as download:
        page.click("text=导出Excel")
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    lines = [[c.value for c in row] for row in book.iter_rows(min_row=3) if row[0].value == "证书验证营业厅"]
    assert [(line[1], line[2], line[3]) for line in lines] == [(r[0], r[1], r[2]) for r in rows]
    page.context.close()
