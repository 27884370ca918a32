"""The 今天 home of each role (issue 15, A1): a learner's one ordered list of what to do now, each one
tap away; a manager's list of who in the store is overdue or not certified, with 提醒 and the person."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from lms.courses.models import Course, ModuleProgress
from lms.courses.service import active_modules
from lms.extensions import db
from lms.notices.models import Message
from lms.notices.service import NoticeData, publish
from tests.conftest import Statements, login, post

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 Beijing


def _publish(app, world, title: str, issued: datetime) -> int:
    with app.app_context():
        notice, _ = publish(NoticeData(title, "## 要点\n\n- 讲清资费", None, None, [world["store_a"]], [], issued),
                            world["trainer"].id)
        db.session.commit()
        return notice.id


def _study(app, user_id: int, course_slug: str, count: int, at: datetime) -> list[str]:
    """Record the first `count` modules of a course as studied; return the course's module slugs."""
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == course_slug))
        modules = active_modules(course)
        for module in modules[:count]:
            db.session.add(ModuleProgress(user_id=user_id, module_id=module.id, version=module.version,
                                          completed_at=at))
        db.session.commit()
        return [m.slug for m in modules]


def _steps(page: str) -> list[tuple[str, str, str]]:
    """The learner's list: (kind, title, link) in order."""
    block = re.search(r'<ol class="today">(.*?)</ol>', page, re.S).group(1)
    return re.findall(r'<li><a href="([^"]+)"><span class="kind">([^<]+)</span><strong>([^<]+)</strong>', block)


def test_a_learners_today_lists_notices_then_the_certificate_then_practice(app, world, frozen):
    frozen(T0)
    late = _publish(app, world, "新业务：已逾期的套餐", T0 - timedelta(hours=50))
    soon = _publish(app, world, "新业务：刚发布的套餐", T0 - timedelta(hours=1))
    client = app.test_client()
    login(client, world["staff_a"])  # 综合受理: the 营业厅上岗证 (courses, four scenarios, the exam)
    page = client.get("/").get_data(as_text=True)
    assert "<h1>今天</h1>" in page and "欢迎！" in page  # a first visit, not 「欢迎回来」
    steps = _steps(page)
    kinds = [kind for _, kind, _ in steps]
    assert steps[0] == (f"/notices/{late}", "新业务", "新业务：已逾期的套餐")
    assert f'<strong>新业务培训已逾期：</strong><a href="/notices/{late}">新业务：已逾期的套餐</a>。' in page  # the banner
    assert steps[1] == (f"/notices/{soon}", "新业务", "新业务：刚发布的套餐")
    assert kinds[2:] == ["上岗证"] * (len(kinds) - 3) + ["练习"]
    titles = {title: url for url, _, title in steps}
    assert titles["情景演练：久等客户的接待（≥70分）"] == "/practice/long-wait"
    assert [url for url, kind, title in steps if title.startswith("考试：")] == ["/exams/frontline-certification"]
    first_course = next(url for url, kind, title in steps if title.startswith("课程："))
    assert re.fullmatch(r"/courses/service-standards/[\w-]+", first_course)  # the module to study, one tap
    assert titles["情景演练"] == "/practice"
    assert '<span class="badge off">未练</span>' in page and '<span class="badge off">未考</span>' in page


def test_continue_points_where_the_learner_really_is(app, world, frozen):
    frozen(T0)
    modules = _study(app, world["staff_a"].id, "communication", 1, T0 - timedelta(days=1))
    client = app.test_client()
    login(client, world["staff_a"])
    courses = client.get("/my-courses").get_data(as_text=True)
    assert f'href="/courses/communication/{modules[1]}">继续学习：' in courses  # not the first course at 0 %
    steps = _steps(client.get("/").get_data(as_text=True))
    assert any(url == f"/courses/communication/{modules[1]}" and kind == "上岗证" for url, kind, _ in steps)
    fresh = app.test_client()
    login(fresh, world["staff_b"])  # nothing studied yet: the first course's first module, 开始学习
    assert re.search(r'href="/courses/service-standards/[\w-]+">开始学习：', fresh.get("/my-courses").get_data(as_text=True))


def test_the_certificate_page_links_each_requirement_to_what_meets_it(app, world):
    client = app.test_client()
    login(client, world["staff_a"])
    page = client.get("/certificates").get_data(as_text=True)
    links = re.findall(r'<li><a href="([^"]+)">(课程|情景演练|考试)：', page)
    assert ("/courses/etiquette", "课程") in links and ("/practice/long-wait", "情景演练") in links
    assert ("/exams/frontline-certification", "考试") in links


def _card(page: str, person) -> str:
    """What the manager's 今天 shows of one person (their card), after the name."""
    block = re.search(rf'<div class="who"><a href="/store/people/{person.id}"><strong>{person.name}</strong>(.*?)\n  </li>',
                      page, re.S)
    assert block, page
    return block.group(1)


def test_a_managers_today_counts_only_the_overdue_notices_as_overdue(app, world, frozen):
    """A notice still inside its 48 hours is still to learn, not overdue: of two, one is overdue."""
    frozen(T0)
    _publish(app, world, "新业务：已逾期的套餐", T0 - timedelta(hours=50))
    _publish(app, world, "新业务：刚发布的套餐", T0 - timedelta(hours=1))
    manager = app.test_client()
    login(manager, world["manager_a"])
    assert "新业务逾期1条" in _card(manager.get("/").get_data(as_text=True), world["staff_a"])
    frozen(T0 + timedelta(hours=48))  # the second is overdue too now
    assert "新业务逾期2条" in _card(manager.get("/").get_data(as_text=True), world["staff_a"])


def test_a_managers_today_lists_who_to_act_on_and_reminds_once_a_day(app, world, frozen):
    frozen(T0)
    _publish(app, world, "新业务：已逾期的套餐", T0 - timedelta(hours=50))
    manager = app.test_client()
    login(manager, world["manager_a"])
    page = manager.get("/").get_data(as_text=True)
    staff = world["staff_a"]
    card = _card(page, staff)
    assert "新业务逾期1条" in card and "上岗证未开始：还差" in card
    # the first few missing items and how many: a card a manager can read on a phone
    assert re.search(r"上岗证未开始：还差[^<、]+、[^<、]+、[^<、]+等\d+项</li>", card), card
    assert f'<button type="submit" name="user_id" value="{staff.id}" class="secondary">提醒</button>' in card
    assert page.count('action="/today/remind"') == 1 and "csrf_token" not in card  # one form for the list
    assert world["staff_b"].name not in page  # another store's people are not the manager's business

    done = post(manager, "/today/remind", {"user_id": staff.id}, follow_redirects=True).get_data(as_text=True)
    assert f"已提醒{staff.name}" in done and "今天已提醒" in done
    with app.app_context():
        message = db.session.scalar(select(Message).where(Message.user_id == staff.id))
        assert "新业务逾期1条" in message.body and message.link == "/"
    again = post(manager, "/today/remind", {"user_id": staff.id}, follow_redirects=True).get_data(as_text=True)
    assert f"今天已经提醒过{staff.name}了" in again
    with app.app_context():
        assert len(db.session.scalars(select(Message).where(Message.user_id == staff.id)).all()) == 1

    other = app.test_client()
    login(other, world["manager_b"])
    assert post(other, "/today/remind", {"user_id": staff.id}).status_code == 404  # not their store
    learner = app.test_client()
    login(learner, world["staff_b"])
    assert post(learner, "/today/remind", {"user_id": staff.id}).status_code == 403
    for bad in ("x", "²", "1" * 13, ""):
        assert post(manager, "/today/remind", {"user_id": bad}).status_code == 400


def test_a_learners_today_names_their_store_and_stops_welcoming_once_a_message_came(app, world, frozen):
    frozen(T0)
    staff = world["staff_a"]
    client = app.test_client()
    login(client, staff)
    page = client.get("/").get_data(as_text=True)
    assert f"{staff.name} · 综合受理 · 甲营业厅</p>" in page
    assert "欢迎！" in page and '消息<span class="badge' not in page
    with app.app_context():
        db.session.add(Message(user_id=staff.id, title="营业厅经理提醒", body="请完成新业务培训。", link="/"))
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "欢迎！" not in page  # nothing studied yet, but somebody has written to them
    assert '消息<span class="badge bad">1</span>' in page  # the header's count, read with it
    assert "甲营业厅</p>" in client.get("/my-courses").get_data(as_text=True)


def test_an_overdue_notice_refuses_other_training_by_its_title(app, world, frozen):
    frozen(T0)
    late = _publish(app, world, "新业务：已逾期的套餐", T0 - timedelta(hours=50))
    client = app.test_client()
    login(client, world["staff_a"])
    page = post(client, "/practice/long-wait/start", data={"mode": "text"}, follow_redirects=True).get_data(as_text=True)
    assert "请先完成已逾期的新业务培训「新业务：已逾期的套餐」" in page
    assert f'<strong>新业务培训已逾期：</strong><a href="/notices/{late}">新业务：已逾期的套餐</a>。' in page  # the banner


def test_one_read_of_study_counts_what_the_course_pages_count(app, world, frozen):
    """The home's single read (study_of) and studied_by_course give the same per-course figures: a
    module studied in an older version, or one taken out of the course, does not count in either."""
    from lms.courses.service import study_of, studied_by_course

    person = world["staff_a"].id
    _study(app, person, "communication", 3, T0 - timedelta(days=2))
    _study(app, person, "etiquette", 2, T0 - timedelta(days=1))
    with app.test_request_context("/", method="POST"):
        course = db.session.scalar(select(Course).where(Course.slug == "communication"))
        first, second = active_modules(course)[:2]
        first.version += 1  # rewritten since it was studied
        second.active = False  # taken out of the course
        db.session.flush()
        by_course, versions = study_of(person)
        assert by_course == studied_by_course(person)
        assert by_course[course.id][0] == 1  # of three studied, one still counts
        assert versions[first.id] == first.version - 1  # the version that was studied
        assert second.id in versions  # the version studied is kept, whether the module counts or not
        db.session.rollback()


def test_the_today_pages_read_a_whole_store_in_the_same_few_statements(app, factory, world, frozen):
    """The manager's 今天 lists every person of the store with their overdue notices and 上岗证, and a
    learner's pages name their store, messages and notices: each page reads what it shows in the same
    few statements (one of them the logged-in person's) however many people the store holds."""
    frozen(T0)
    _publish(app, world, "新业务：已逾期的套餐", T0 - timedelta(hours=50))
    manager, learner = app.test_client(), app.test_client()
    login(manager, world["manager_a"])
    login(learner, world["staff_a"])

    def statements(client, url):
        client.get(url)  # warm: the content catalogue is read once per process
        with Statements(app) as counted:
            page = client.get(url)
        assert page.status_code == 200
        return counted.count, page.get_data(as_text=True)

    pages = {"今天 (manager)": (manager, "/"), "今天 (learner)": (learner, "/"), "我的课程": (learner, "/my-courses")}
    few = {name: statements(*where)[0] for name, where in pages.items()}
    joined = [factory.person("staff", world["store_a"], position)
              for position in ["前台销售", "综合受理", "值班经理", "库管"] * 3]
    _publish(app, world, "新业务：又一条逾期的套餐", T0 - timedelta(hours=49))
    many = {name: statements(*where) for name, where in pages.items()}
    assert {name: count for name, (count, _) in many.items()} == few
    assert few == {"今天 (manager)": 3, "今天 (learner)": 4, "我的课程": 4}, few
    today = many["今天 (manager)"][1]
    assert "新业务逾期2条" in _card(today, world["staff_a"])
    assert all("上岗证未开始" in _card(today, person) for person in joined)
