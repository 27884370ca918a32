"""Exams and knowledge checks in the browser: integrity, saving, expiry, results, trainer pages."""

from __future__ import annotations

import io
import random
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEvent
from lms.clock import now
from lms.courses.models import Course, Module, ModuleProgress
from lms.exams.models import Attempt, Exam, Question, Response
from lms.exams.questions import Choice, Numeric, QuestionSpec
from lms.exams.bank import import_questions
from lms.extensions import db
from tests.conftest import csrf_token, login, post

SECRET_FEEDBACK = "反馈-只在交卷后可见"
QUESTIONS = [
    QuestionSpec("single", "t-single", "等候时间不超过多少分钟？", category="zz-test/时限",
                 choices=(Choice("15 分钟", 1.0, SECRET_FEEDBACK), Choice("30 分钟", 0.0), Choice("45 分钟", 0.0))),
    QuestionSpec("truefalse", "t-tf", "可以对客户说「你好」代替「您好」。", category="zz-test/用语", truth=False),
    QuestionSpec("short", "t-short", "新业务培训要在多少小时内完成？", category="zz-test/时限",
                 choices=(Choice("48小时", 1.0), Choice("四十八小时", 1.0))),
    QuestionSpec("numerical", "t-num", "每笔业务办理不超过几分钟？", category="zz-test/时限",
                 numeric=(Numeric(10, 10, 1.0, value=10, tolerance=0),)),
]
EXAM_YAML = """title: 测试上岗考试
certification: {cert}
time_limit_minutes: 10
pass_mark: 60
max_attempts: 2
cooldown_minutes: 30
draw:
  - {{category: "zz-test/*", count: 4}}
"""


@pytest.fixture
def exam(app):
    """A four-question exam over a test category of the etiquette bank."""
    def make(cert: bool = True, slug: str = "zz-exam") -> str:
        with app.app_context():
            course = db.session.scalar(select(Course).where(Course.slug == "etiquette"))
            import_questions(course, QUESTIONS, None)
            db.session.add(Exam(slug=slug, title="测试上岗考试", yaml_text=EXAM_YAML.format(cert=str(cert).lower()),
                                certification=cert, version=1, source_hash=slug))
            db.session.commit()
        return slug
    return make


def _start(client, slug) -> int:
    response = post(client, f"/exams/{slug}/start", page=f"/exams/{slug}")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(re.search(r"/attempts/(\d+)/1", response.headers["Location"]).group(1))


def _responses(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        return [(r.position, r.question_version.spec["name"], r.order) for r in attempt.responses]


def _right_answer(name, order):
    """The form data of the right answer: choice questions post the position as shown."""
    return {"t-single": {"answer": str(order.index(0)) if order else "0"}, "t-tf": {"answer": "false"},
            "t-short": {"answer": "４８小時"}, "t-num": {"answer": "10"}}[name]


def _answer(client, attempt_id, position, data, go="next"):
    page = f"/attempts/{attempt_id}/{position}"
    return client.post(page, data={**data, "go": go, "csrf_token": csrf_token(client, page)})


def test_full_exam_with_integrity_saving_and_result(app, client, world, exam):
    slug = exam(cert=True)
    login(client, world["staff_a"])
    attempt_id = _start(client, slug)
    plan = _responses(app, attempt_id)
    for position, name, order in plan:
        page = client.get(f"/attempts/{attempt_id}/{position}").get_data(as_text=True)
        assert SECRET_FEEDBACK not in page and "48小时" not in page and "fraction" not in page
        assert "剩余时间" in page
        _answer(client, attempt_id, position, _right_answer(name, order))
        with app.app_context():  # saved the moment it was given
            saved = db.session.scalar(select(Response).where(Response.attempt_id == attempt_id,
                                                             Response.position == position))
            assert saved.answer is not None and saved.saved_at is not None
    (last_position, last_name, last_order) = plan[-1]  # the page's autosave: 204, saved at once
    token = csrf_token(client, f"/attempts/{attempt_id}/{last_position}")
    saved = client.post(f"/attempts/{attempt_id}/{last_position}",
                        data={**_right_answer(last_name, last_order), "go": "stay", "csrf_token": token})
    assert saved.status_code == 204
    overview = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "交卷" in overview and "还有" not in overview
    first = post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    second = post(client, f"/attempts/{attempt_id}/submit", page=f"/exams/{slug}")
    assert first.status_code == second.status_code == 302
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.score == 100.0 and attempt.passed and attempt.result["zz-test/时限"]["questions"] == 3
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "exam.submitted", AuditEvent.actor_id == world["staff_a"].id)) == 1
    result = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "100.0分 · 通过" in result and "zz-test · 时限" in result and "zz-test/时限" not in result
    assert "不公布标准答案" in result and SECRET_FEEDBACK not in result and "参考答案" not in result


def test_option_values_do_not_follow_the_authored_order(app, world, exam):
    """In the page, the right option's value is just its shown position, which varies."""
    slug = exam(slug="zz-order")
    seen = set()
    for i in range(12):
        client = app.test_client()
        with app.app_context():
            from lms.accounts.service import PersonData, create_person
            from lms.accounts.models import User

            user, _ = create_person(PersonData(f"ORD{i:02d}", "测", "staff", "综合受理", world["store_a"], None),
                                    db.session.get(User, world["admin"].id), password="Order-pass-1")
            db.session.commit()
            user_id = user.id
        from tests.conftest import Person

        login(client, Person(user_id, f"ORD{i:02d}", "测", "staff", world["store_a"], "综合受理", "Order-pass-1"))
        attempt_id = _start(client, slug)
        position, _, order = next(p for p in _responses(app, attempt_id) if p[1] == "t-single")
        page = client.get(f"/attempts/{attempt_id}/{position}").get_data(as_text=True)
        values = re.findall(r'name="answer" value="(\d+)"', page)
        assert values == ["0", "1", "2"]
        seen.add(order.index(0))
    assert len(seen) > 1  # the right answer is not always behind the same value


def test_practice_exam_reveals_answers_after_submission(app, client, world, exam):
    slug = exam(cert=False, slug="zz-practice")
    login(client, world["staff_a"])
    attempt_id = _start(client, slug)
    position, _, order = next(r for r in _responses(app, attempt_id) if r[1] == "t-single")
    _answer(client, attempt_id, position, _right_answer("t-single", order))
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    result = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "25.0分 · 未通过" in result
    # the learner's answer, the right answer and the feedback of the answer given, item by item
    assert "<dt>你的答案</dt><dd>15 分钟</dd>" in result and "<dt>参考答案</dt><dd>15 分钟</dd>" in result
    assert SECRET_FEEDBACK in result
    assert "<dt>你的答案</dt><dd>未作答</dd>" in result and "<dt>参考答案</dt><dd>48小时；四十八小时</dd>" in result


def test_answers_after_the_deadline_are_refused_and_the_attempt_auto_submits(app, client, world, exam, frozen):
    slug = exam()
    start = frozen(now())
    login(client, world["staff_a"])
    attempt_id = _start(client, slug)
    (position, name, order), *_ = _responses(app, attempt_id)
    _answer(client, attempt_id, position, _right_answer(name, order))
    token = csrf_token(client, f"/attempts/{attempt_id}/2")  # the page is open when time runs out
    frozen(start + timedelta(minutes=10, seconds=1))
    late = client.post(f"/attempts/{attempt_id}/2", data={"answer": "x", "go": "next", "csrf_token": token})
    assert late.status_code == 302 and "/result" in late.headers["Location"]
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "submitted" and attempt.auto_submitted
        assert attempt.submitted_at == start + timedelta(minutes=10)
        assert attempt.score == 25.0  # the one answer saved in time
        assert db.session.scalar(select(Response.answer).where(Response.attempt_id == attempt_id,
                                                               Response.position == 2)) is None


def test_the_sweep_submits_expired_attempts(app, client, world, exam, frozen):
    slug = exam()
    start = frozen(now())
    login(client, world["staff_a"])
    attempt_id = _start(client, slug)
    frozen(start + timedelta(minutes=11))
    result = app.test_cli_runner().invoke(args=["lms", "sweep"])
    assert "自动交卷1份" in result.output
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "submitted"


def test_attempt_limit_and_cooldown(app, client, world, exam, frozen):
    slug = exam()
    start = frozen(now())
    login(client, world["staff_a"])
    first = _start(client, slug)
    post(client, f"/attempts/{first}/submit", page=f"/attempts/{first}")
    page = client.get(f"/exams/{slug}").get_data(as_text=True)
    assert "间隔30分钟" in page
    frozen(start + timedelta(minutes=31))
    second = _start(client, slug)
    post(client, f"/attempts/{second}/submit", page=f"/attempts/{second}")
    frozen(start + timedelta(hours=3))
    assert "已用完全部2次考试机会" in client.get(f"/exams/{slug}").get_data(as_text=True)
    refused = post(client, f"/exams/{slug}/start", page=f"/exams/{slug}", follow_redirects=True)
    assert "已用完全部2次考试机会" in refused.get_data(as_text=True)


def test_attempts_are_private(app, world, exam):
    slug = exam()
    owner = app.test_client()
    login(owner, world["staff_a"])
    attempt_id = _start(owner, slug)
    other = app.test_client()
    login(other, world["staff_b"])
    assert other.get(f"/attempts/{attempt_id}/1").status_code == 404
    assert other.get(f"/attempts/{attempt_id}").status_code == 404
    post(owner, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    assert other.get(f"/attempts/{attempt_id}/result").status_code == 404
    manager_b = app.test_client()
    login(manager_b, world["manager_b"])
    assert manager_b.get(f"/attempts/{attempt_id}/result").status_code == 404
    manager_a = app.test_client()
    login(manager_a, world["manager_a"])
    assert manager_a.get(f"/attempts/{attempt_id}/result").status_code == 200


def test_a_save_into_someone_elses_or_a_handed_in_attempt_changes_no_answer(app, world, exam):
    """A save reads what it answers before it locks the attempt: it must still be the person's own
    attempt, and still open when the answer is written."""
    slug = exam()
    owner = app.test_client()
    login(owner, world["staff_a"])
    attempt_id = _start(owner, slug)
    position, name, order = _responses(app, attempt_id)[0]
    other = app.test_client()
    login(other, world["staff_b"])
    page = f"/attempts/{attempt_id}/{position}"
    token = csrf_token(other, "/")
    assert other.post(page, data={**_right_answer(name, order), "go": "stay", "csrf_token": token}).status_code == 404
    assert owner.post(page, data={**_right_answer(name, order), "go": "stay",
                                  "csrf_token": csrf_token(owner, page)}).status_code == 204
    post(owner, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    with app.app_context():
        kept = db.session.scalar(select(Response.answer).where(Response.attempt_id == attempt_id,
                                                                Response.position == position))
    late = owner.post(page, data={"answer": "改过的答案", "go": "stay", "csrf_token": csrf_token(owner, "/")})
    assert late.status_code == 302 and late.headers["Location"].endswith(f"/attempts/{attempt_id}/result")
    with app.app_context():
        assert db.session.scalar(select(Response.answer).where(Response.attempt_id == attempt_id,
                                                                Response.position == position)) == kept


def test_knowledge_check_completes_the_module(app, client, world):
    with app.app_context():
        module = db.session.scalar(select(Module).join(Course).where(Course.slug == "etiquette",
                                                                     Module.slug == "grooming"))
        course_has_bank = db.session.scalar(select(func.count()).select_from(Question).where(
            Question.course_id == module.course_id)) > 0
        module_id = module.id
    if not course_has_bank:
        pytest.skip("the etiquette course has no question bank")
    login(client, world["staff_a"])
    page = client.get("/courses/etiquette/grooming").get_data(as_text=True)
    assert "开始本章小测" in page and "我已学习</button>" not in page
    refused = post(client, "/courses/etiquette/grooming/complete", page="/courses/etiquette/grooming")
    assert refused.status_code == 302
    start = post(client, "/courses/etiquette/grooming/check", page="/courses/etiquette/grooming")
    attempt_id = int(re.search(r"/attempts/(\d+)/1", start.headers["Location"]).group(1))
    with app.app_context():  # answer every question right, reading the key on the server side
        from lms.exams.grading import grade

        attempt = db.session.get(Attempt, attempt_id)
        for r in attempt.responses:
            spec = r.question_version.as_spec
            candidates = {"single": list(range(len(spec.choices))), "truefalse": [True, False],
                          "multiple": [[i for i, c in enumerate(spec.choices) if c.fraction > 0]],
                          "short": [c.text for c in spec.choices], "numerical": [n.low for n in spec.numeric],
                          "matching": [{str(i): p.right for i, p in enumerate(spec.pairs)}]}[spec.qtype]
            r.answer = next(a for a in candidates if grade(spec, a).fraction == 1.0)
        db.session.commit()
    done = post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}", follow_redirects=True)
    assert "小测通过" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ModuleProgress).where(ModuleProgress.user_id == world["staff_a"].id,
                                                              ModuleProgress.module_id == module_id)) is not None


def test_failed_check_does_not_complete_the_module(app, client, world):
    login(client, world["staff_a"])
    start = post(client, "/courses/etiquette/dress/check", page="/courses/etiquette/dress")
    if start.status_code == 404:
        pytest.skip("the etiquette course has no question bank")
    attempt_id = int(re.search(r"/attempts/(\d+)/1", start.headers["Location"]).group(1))
    done = post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}", follow_redirects=True)
    assert "小测未通过" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ModuleProgress).where(
            ModuleProgress.user_id == world["staff_a"].id)) == 0


def test_essay_grading_queue(app, client, world):
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "etiquette"))
        import_questions(course, [QuestionSpec("essay", "t-essay", "谈谈首问负责制。", category="zz-essay/论述")], None)
        db.session.add(Exam(slug="zz-essay", title="论述考试", yaml_text='title: 论述考试\npass_mark: 50\nessays: true\ndraw:\n  - {category: "zz-essay/*", count: 1}\n',
                            certification=False, version=1, source_hash="e"))
        db.session.commit()
    login(client, world["staff_a"])
    attempt_id = _start(client, "zz-essay")
    _answer(client, attempt_id, 1, {"answer": "首问负责，限时办结，闭环管理。"}, go="overview")
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    assert "待评分" in client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    trainer = client.application.test_client()
    login(trainer, world["trainer"])
    queue = trainer.get("/grading").get_data(as_text=True)
    assert "首问负责，限时办结" in queue
    with app.app_context():
        response_id = db.session.scalar(select(Response.id).where(Response.attempt_id == attempt_id))
    post(trainer, f"/grading/{response_id}", {"score": "0", "comment": "离题"}, page="/grading")
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).score == 0.0  # zero is a grade too
        db.session.get(Response, response_id).fraction = None  # let the trainer grade again below
        db.session.get(Attempt, attempt_id).pending = 1
        db.session.commit()
    post(trainer, f"/grading/{response_id}", {"score": "80", "comment": "要点齐全"}, page="/grading")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.score == 80.0 and attempt.passed and attempt.pending == 0


def test_gift_upload_with_errors_imports_nothing_unless_asked(app, client, world):
    good = "::u-good::客户等候不超过几分钟？{#15}\n"
    bad = "::u-bad::缺右括号 {=甲 ~乙\n"
    login(client, world["trainer"])

    def upload(text, valid_only=False):
        data = {"csrf_token": csrf_token(client, "/bank/import"), "course": "etiquette",
                "file": (io.BytesIO(text.encode()), "bank.gift")}
        if valid_only:
            data["valid_only"] = "y"
        return client.post("/bank/import", data=data, content_type="multipart/form-data").get_data(as_text=True)

    page = upload(good + "\n" + bad)
    assert "第3行" in page and "未导入任何题目" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question).where(Question.name == "u-good")) == 0
    page = upload(good + "\n" + bad, valid_only=True)
    assert "已导入1道题" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question).where(Question.name == "u-good")) == 1


def test_question_edit_keeps_history(app, client, world, exam):
    exam()
    with app.app_context():
        qid = db.session.scalar(select(Question.id).where(Question.name == "t-num"))
    login(client, world["trainer"])
    page = client.get(f"/bank/{qid}/gift").get_data(as_text=True)
    assert "::t-num::" in page
    post(client, f"/bank/{qid}/gift", {"gift": "::t-num::每笔业务办理不超过几分钟？{#10:1}"}, page=f"/bank/{qid}/gift")
    with app.app_context():
        question = db.session.get(Question, qid)
        assert question.version == 2 and len(question.versions) == 2 and question.origin == "browser"


def test_item_analysis_page(app, client, world, exam):
    slug = exam()
    login(client, world["staff_a"])
    attempt_id = _start(client, slug)
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    trainer = app.test_client()
    login(trainer, world["trainer"])
    page = trainer.get(f"/exams/manage/{slug}/analysis").get_data(as_text=True)
    assert "t-single" in page and "得分率" in page and "15 分钟" in page


def test_gift_cli_import_and_export(app, tmp_path):
    path = tmp_path / "bank.gift"
    path.write_text("$CATEGORY: etiquette/cli\n\n::cli-q::鞋跟高度下限？{#3}\n\n::cli-tf::可以染发。{F}\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["lms", "gift", "import", str(path), "--course", "etiquette"])
    assert result.exit_code == 0 and "已导入2道题" in result.output and "数值题1" in result.output
    exported = app.test_cli_runner().invoke(args=["lms", "gift", "export", "--course", "etiquette"])
    from lms.exams.gift import parse_gift

    back = {q.name: q for q in parse_gift(exported.output).questions}
    assert back["cli-q"].qtype == "numerical" and back["cli-q"].numeric[0].low == 3
    assert back["cli-tf"].truth is False and back["cli-tf"].category == "etiquette/cli"
    bad = tmp_path / "bad.gift"
    bad.write_text("::x::没有右括号 {=a ~b\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["lms", "gift", "import", str(bad), "--course", "etiquette"])
    assert result.exit_code == 1 and "bad.gift:1:" in result.output


def test_practice_exam_teaches_every_item_and_draws_no_certification_item(app, client, world):
    """practice-basics shows each item's right answer, the learner's answer and feedback; none is a
    certification item; categories are shown by title."""
    login(client, world["staff_a"])
    attempt_id = _start(client, "practice-basics")
    with app.app_context():
        from lms.exams.definitions import is_certification_category
        from lms.exams.service import certification_draws

        attempt = db.session.get(Attempt, attempt_id)
        categories = [r.question_version.spec["category"] for r in attempt.responses]
        assert len(categories) == 10 and not any(is_certification_category(c, certification_draws()) for c in categories)
        # answer one item with a one-field answer (a matching item takes one field per pair)
        first = next(r for r in attempt.responses if r.question_version.spec["qtype"] != "matching")
        spec = first.question_version.as_spec
        answered_position = first.position
    _answer(client, attempt_id, answered_position, {"answer": "0" if spec.qtype in ("single", "multiple") else
                                                     "false" if spec.qtype == "truefalse" else "1"})
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert page.count("参考答案") == 10 and page.count("你的答案") == 10 and page.count("未作答") == 9
    assert "不公布对错和标准答案" not in page
    assert "/练习</td>" not in page and " · 练习</td>" in page  # 「服务礼仪 · 仪容 · 练习」, not the id


def test_a_certification_item_in_a_practice_attempt_stays_secret(app, client, world):
    """Should an old practice attempt hold a certification item, its answer and mark stay secret."""
    with app.app_context():
        from lms.exams.service import create_attempt

        cert_q = db.session.scalar(select(Question).where(Question.category == "etiquette/仪容"))
        practice_q = db.session.scalar(select(Question).where(Question.category == "etiquette/仪容/练习"))
        practice = db.session.scalar(select(Exam).where(Exam.slug == "practice-basics"))
        attempt = create_attempt(world["staff_a"].id, "exam", [cert_q.id, practice_q.id], random.Random(1),
                                 exam_id=practice.id, exam_version=practice.version, pass_mark=60)
        db.session.commit()
        attempt_id = attempt.id
    login(client, world["staff_a"])
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert page.count("不公布对错和标准答案") == 1 and page.count("参考答案") == 1


def test_module_check_draws_practice_items_and_shows_their_answers(app, client, world):
    login(client, world["staff_a"])
    start = post(client, "/courses/etiquette/grooming/check", page="/courses/etiquette/grooming")
    attempt_id = int(re.search(r"/attempts/(\d+)/1", start.headers["Location"]).group(1))
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert {r.question_version.spec["category"] for r in attempt.responses} == {"etiquette/仪容/练习"}
    post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert page.count("参考答案") == 3 and page.count("你的答案") == 3 and "服务礼仪 · 仪容 · 练习" in page


def test_exam_editor_refuses_a_practice_exam_that_draws_certification_items(app, client, world):
    login(client, world["trainer"])
    text = "title: 偷看练习\ncertification: false\ndraw:\n  - {category: \"etiquette/*\", count: 2}\n"
    page = post(client, "/exams/manage/new/yaml", page="/exams/manage/new/yaml", data={"slug": "zz-peek", "yaml_text": text},
                follow_redirects=True).get_data(as_text=True)
    assert "会抽到上岗认证考试的题目" in page
    with app.app_context():
        assert db.session.scalar(select(Exam).where(Exam.slug == "zz-peek")) is None

def test_bank_page_reports_items_that_give_each_other_away(app, client, world):
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "etiquette"))
        import_questions(course, [
            QuestionSpec("short", "zz-牌子", "离席时翻转什么牌？", category="etiquette/仪容/练习",
                         choices=(Choice("暂停服务中", 1.0),)),
            QuestionSpec("truefalse", "zz-离席", "离席时要翻转「暂停服务中」牌。", category="etiquette/仪容/练习", truth=True),
        ], None)
        db.session.commit()
    login(client, world["trainer"])
    page = client.get("/bank").get_data(as_text=True)
    assert "题库检查：1处" in page and "「zz-牌子」的答案「暂停服务中」" in page and "同一抽题范围（考试「服务规范练习考试」）" in page
