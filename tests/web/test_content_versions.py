"""No lost work in the question bank: imports and browser edits survive a file sync (`make run` runs
one), questions keep their identity by name, and `lms export` writes questions back into the files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from lms.courses.models import Course
from lms.exams.gift import parse_gift
from lms.exams.models import Exam, Question
from lms.extensions import db
from tests.conftest import post
from tests.web.test_authoring import files, trainer  # noqa: F401  (fixtures)

# Questions that start alike (the old import took the first 40 characters as their identity and
# let them overwrite each other), two different questions under one name, and one question twice.
STARTING_ALIKE = """\
$CATEGORY: zz-import/接待

营业厅迎接客户时，营业员应当在客户距离柜台多远时起身示意？{=一米五左右 ~三米以外 ~不用起身}

营业厅迎接客户时，营业员应当在客户距离柜台多远时起身示意？请选择最贴切的说法。{=约1.5米 ~5米 ~贴近柜台时}

营业厅迎接客户时，营业员应当在客户距离柜台多远时起身示意（判断）：三米以外就要起身。{F}

::同名题::客户递来身份证时，应当怎样接？{=双手接过 ~单手接过}

::同名题::客户离开时，应当说什么？{=请慢走 ~走好不送}

完全相同的一道题：营业员可以在柜台上吃东西。{F}

完全相同的一道题：营业员可以在柜台上吃东西。{F}
"""


def _gift_file(tmp_path: Path, text: str = STARTING_ALIKE) -> Path:
    path = tmp_path / "import.gift"
    path.write_text(text, encoding="utf-8")
    return path


def _bank(app, category_prefix: str = "zz-import") -> dict[str, tuple[int, bool, str]]:
    with app.app_context():
        rows = db.session.scalars(select(Question).where(Question.category.like(f"{category_prefix}%"))).all()
        return {q.name: (q.version, q.active, q.current.spec["text"]) for q in rows}


def test_cli_import_counts_what_exists_and_survives_a_sync(app, files, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lms", "gift", "import", str(_gift_file(tmp_path)), "--course", "etiquette"])
    assert result.exit_code == 0, result.output
    assert "已导入6道题" in result.output and "1道与题库中已有的题目完全相同" in result.output
    assert "「同名题」已被占用，导入为「同名题（2）」" in result.output
    before = _bank(app)
    assert len(before) == 6 and all(active for _, active, _ in before.values())
    assert len({text for _, _, text in before.values()}) == 6  # none overwrote another
    result = runner.invoke(args=["lms", "sync"])
    assert result.exit_code == 0, result.output
    assert _bank(app) == before
    again = runner.invoke(args=["lms", "gift", "import", str(_gift_file(tmp_path)), "--course", "etiquette"])
    assert "已导入0道题" in again.output and _bank(app) == before  # importing the same file twice adds nothing


def test_browser_import_survives_a_sync(app, trainer, files, tmp_path):
    page = "/bank/import"
    with _gift_file(tmp_path).open("rb") as handle:
        response = post(trainer, page, {"course": "etiquette", "file": (handle, "import.gift")}, page=page,
                        content_type="multipart/form-data")
    assert response.status_code == 200 and "已导入6道题" in response.get_data(as_text=True)
    before = _bank(app)
    assert app.test_cli_runner().invoke(args=["lms", "sync"]).exit_code == 0
    assert _bank(app) == before and len(before) == 6


def _file_question(app, name: str = "仪容-男士发式") -> Question:
    with app.app_context():
        return db.session.scalar(select(Question).join(Course).where(Course.slug == "etiquette", Question.name == name))


def test_browser_edit_of_a_file_question_is_kept_and_reported_as_a_conflict(app, trainer, files):
    courses, _ = files
    question = _file_question(app)
    edited = ("::仪容-男士发式::男士营业员的发式标准（网页修订）：{\n=前不遮额、侧不盖耳、后不触领\n~长度不限\n}")
    page = f"/bank/{question.id}/gift"
    response = post(trainer, page, {"gift": "$CATEGORY: etiquette/仪容\n" + edited}, page=page)
    assert response.status_code == 302
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lms", "sync"])
    assert result.exit_code == 0, result.output
    assert "冲突，已跳过：「etiquette/仪容-男士发式」" in result.output
    row = _file_question(app)
    assert row.version == question.version + 1 and row.active and row.dirty
    with app.app_context():
        assert "网页修订" in db.session.get(Question, question.id).current.spec["text"]
    # The file changes as well: still kept, still a conflict, and the file's change is not loaded.
    bank = courses / "etiquette" / "questions.gift"
    bank.write_text(bank.read_text(encoding="utf-8").replace("男士营业员的发式标准是", "男士营业员发式的标准是"),
                    encoding="utf-8")
    result = runner.invoke(args=["lms", "sync"])
    assert "冲突，已跳过：「etiquette/仪容-男士发式」" in result.output and "文件自上次同步后也改了" in result.output
    assert _file_question(app).version == question.version + 1


def test_export_writes_edits_in_place_and_imports_at_the_end_then_sync_is_quiet(app, trainer, files, tmp_path):
    courses, _ = files
    bank = courses / "etiquette" / "questions.gift"
    original = bank.read_text(encoding="utf-8")
    question = _file_question(app)
    page = f"/bank/{question.id}/gift"
    post(trainer, page, {"gift": "$CATEGORY: etiquette/仪容\n::仪容-男士发式::男士营业员的发式标准（修订）：{\n"
                                 "=前不遮额、侧不盖耳、后不触领\n~长度不限\n}"}, page=page)
    runner = app.test_cli_runner()
    runner.invoke(args=["lms", "gift", "import", str(_gift_file(tmp_path)), "--course", "etiquette"])
    result = runner.invoke(args=["lms", "export"])
    assert result.exit_code == 0 and "已导出网页上的修改：7项" in result.output
    text = bank.read_text(encoding="utf-8")
    # Comments citing the rulebook stay; the edit stands where the question stood; imports come last.
    assert text.count("// source:") == original.count("// source:")
    assert text.index("男士营业员的发式标准（修订）") < text.index("仪容-女士指甲油")
    assert text.rstrip().endswith("{FALSE}") and "$CATEGORY: zz-import/接待" in text
    parsed = parse_gift(text)
    assert not parsed.errors and len(parsed.questions) == len(parse_gift(original).questions) + 6
    result = runner.invoke(args=["lms", "sync"])
    assert result.exit_code == 0 and "冲突" not in result.output
    assert "试题：新增0，更新0" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question).where(Question.dirty.is_(True))) == 0
        assert db.session.scalar(select(func.count()).select_from(Question).where(
            Question.category.like("zz-import%"), Question.origin == "file", Question.active.is_(True))) == 6


def test_a_file_question_removed_from_the_file_is_retired_but_an_import_is_not(app, files, tmp_path):
    courses, _ = files
    runner = app.test_cli_runner()
    runner.invoke(args=["lms", "gift", "import", str(_gift_file(tmp_path)), "--course", "etiquette"])
    bank = courses / "etiquette" / "questions.gift"
    text = bank.read_text(encoding="utf-8")
    start = text.index("::仪容-女士指甲油::")
    bank.write_text(text[:start] + text[text.index("\n\n", start):], encoding="utf-8")
    result = runner.invoke(args=["lms", "sync"])
    assert "下线：etiquette/仪容-女士指甲油" in result.output and "网页新建6" in result.output
    assert _file_question(app, "仪容-女士指甲油").active is False
    assert all(active for _, active, _ in _bank(app).values())


def test_bank_files_must_name_every_question(app, files):
    courses, _ = files
    bank = courses / "etiquette" / "questions.gift"
    bank.write_text(bank.read_text(encoding="utf-8") + "\n\n没有名称的题目。{T}\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["lms", "sync"])
    assert result.exit_code == 1 and "每道题都要以「::名称::」开头" in result.output


def test_an_exam_created_in_the_browser_survives_a_sync_and_is_exported(app, trainer, files):
    courses, _ = files
    text = 'title: 网页上新建的练习\npass_mark: 60\ndraw:\n  - {category: "etiquette/*/练习", count: 2}\n'
    response = post(trainer, "/exams/manage/new/yaml", {"slug": "zz-browser", "yaml_text": text}, page="/exams/manage/new/yaml")
    assert response.status_code == 302
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lms", "sync"])
    assert result.exit_code == 0 and "网页新建1" in result.output
    with app.app_context():
        assert db.session.scalar(select(Exam).where(Exam.slug == "zz-browser")).active
    runner.invoke(args=["lms", "export"])
    assert (courses / "exams" / "zz-browser.yaml").read_text(encoding="utf-8") == text
