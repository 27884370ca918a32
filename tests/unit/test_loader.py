"""The course loader reads good content and reports every kind of bad file with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.courses.loader import load_courses

pytestmark = pytest.mark.no_db

COURSE = """title: 服务礼仪
summary: 仪容、着装与仪态。
order: 2
positions: []
source: 第一章 二、服务礼仪
"""
MODULE = """---
title: 仪容规范
source: 第一章 二、服务礼仪 (一)仪容
minutes: 5
---

## 男员工

- 指甲不超过 1 毫米。
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "courses" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "courses"


def messages(content) -> list[str]:
    return [str(e) for e in content.errors]


def test_reads_a_good_course(tmp_path):
    root = write(tmp_path, {"etiquette/course.yaml": COURSE, "etiquette/01-grooming.md": MODULE,
                            "etiquette/02-dress.md": MODULE.replace("仪容规范", "着装规范")})
    content = load_courses(root)
    assert content.errors == []
    [course] = content.courses
    assert course.slug == "etiquette" and course.title == "服务礼仪" and course.order == 2
    assert [m.slug for m in course.modules] == ["grooming", "dress"]
    assert course.modules[0].minutes == 5
    assert course.modules[0].body.startswith("## 男员工")
    assert course.modules[0].source == "第一章 二、服务礼仪 (一)仪容"


def test_reserved_exams_folder_and_loose_files_are_not_courses(tmp_path):
    root = write(tmp_path, {"etiquette/course.yaml": COURSE, "etiquette/01-grooming.md": MODULE,
                            "exams/final.yaml": "title: x\n", "FORMAT.md": "# doc"})
    content = load_courses(root)
    assert content.errors == [] and [c.slug for c in content.courses] == ["etiquette"]


def test_courses_sorted_by_order(tmp_path):
    root = write(tmp_path, {"b/course.yaml": COURSE.replace("order: 2", "order: 1"), "b/01-x.md": MODULE,
                            "a/course.yaml": COURSE.replace("order: 2", "order: 5"), "a/01-x.md": MODULE})
    assert [c.slug for c in load_courses(root).courses] == ["b", "a"]


def test_text_hash_changes_with_text_only(tmp_path):
    root = write(tmp_path, {"c/course.yaml": COURSE, "c/01-m.md": MODULE})
    first = load_courses(root).courses[0].modules[0].text_hash
    (root / "c/01-m.md").write_text(MODULE.replace("minutes: 5", "minutes: 7"), encoding="utf-8")
    assert load_courses(root).courses[0].modules[0].text_hash == first
    (root / "c/01-m.md").write_text(MODULE.replace("1 毫米", "2 毫米"), encoding="utf-8")
    assert load_courses(root).courses[0].modules[0].text_hash != first


@pytest.mark.parametrize(
    "files, expected",
    [
        pytest.param({"c/course.yaml": "title: [unclosed\nsummary: x\n", "c/01-m.md": MODULE},
                     "courses/c/course.yaml:1: 方括号「[」没有配对的「]」", id="broken-course-yaml"),
        pytest.param({"c/course.yaml": COURSE.replace("title: 服务礼仪", "title: ''"), "c/01-m.md": MODULE},
                     "courses/c/course.yaml:1: 缺少标题（title）", id="empty-course-title"),
        pytest.param({"c/course.yaml": COURSE.replace("title: 服务礼仪\n", ""), "c/01-m.md": MODULE},
                     "courses/c/course.yaml:1: 缺少标题（title）", id="missing-course-title"),
        pytest.param({"c/course.yaml": COURSE.replace("positions: []", "positions:\n  - 综合受理\n  - 收银员"),
                      "c/01-m.md": MODULE},
                     "courses/c/course.yaml:6: 未知岗位「收银员」", id="unknown-position"),
        pytest.param({"c/course.yaml": COURSE + "titel: typo\n", "c/01-m.md": MODULE},
                     "courses/c/course.yaml:6: 未知字段「titel」", id="unknown-key"),
        pytest.param({"c/course.yaml": COURSE.replace("order: 2", "order: second"), "c/01-m.md": MODULE},
                     "courses/c/course.yaml:3: 「order」应为整数", id="order-not-int"),
        pytest.param({"c/course.yaml": COURSE.replace("source: 第一章 二、服务礼仪\n", ""), "c/01-m.md": MODULE},
                     "缺少出处（制度章节）（source）", id="missing-source"),
        pytest.param({"c/01-m.md": MODULE}, "courses/c: 缺少「course.yaml」", id="missing-course-yaml"),
        pytest.param({"c/course.yaml": COURSE}, "courses/c: 课程没有任何章节", id="no-modules"),
        pytest.param({"c/course.yaml": COURSE, "c/01-grooming.md": MODULE, "c/02-grooming.md": MODULE},
                     "courses/c/02-grooming.md: 章节slug「grooming」重复", id="duplicate-module-slug"),
        pytest.param({"c/course.yaml": COURSE, "c/01-a.md": MODULE, "c/01-b.md": MODULE},
                     "courses/c/01-b.md: 章节序号1重复", id="duplicate-order"),
        pytest.param({"c/course.yaml": COURSE, "c/Grooming.md": MODULE},
                     "courses/c/Grooming.md: 章节文件名应为「NN-slug.md」", id="bad-module-name"),
        pytest.param({"c/course.yaml": COURSE, "c/01-m.md": "## no front matter\n"},
                     "courses/c/01-m.md:1: 文件应以「---」开头", id="no-front-matter"),
        pytest.param({"c/course.yaml": COURSE, "c/01-m.md": "---\ntitle: x\n"},
                     "courses/c/01-m.md:1: YAML头部没有以「---」结束", id="unclosed-front-matter"),
        pytest.param({"c/course.yaml": COURSE, "c/01-m.md": MODULE.replace("minutes: 5", "minutes: [5")},
                     "courses/c/01-m.md:4: 方括号「[」没有配对的「]」", id="broken-front-matter"),
        pytest.param({"c/course.yaml": COURSE, "c/01-m.md": MODULE.replace("title: 仪容规范\n", "")},
                     "courses/c/01-m.md:1: 缺少标题（title）", id="missing-module-title"),
        pytest.param({"c/course.yaml": COURSE, "c/01-m.md": MODULE.replace("title: 仪容规范", "title:")},
                     "courses/c/01-m.md:2: 缺少标题（title）", id="empty-module-title"),
        pytest.param({"c/course.yaml": COURSE, "c/01-m.md": MODULE.split("---\n\n")[0] + "---\n"},
                     "courses/c/01-m.md:6: 正文为空", id="empty-body"),
        pytest.param({"Bad_Name/course.yaml": COURSE, "Bad_Name/01-m.md": MODULE},
                     "courses/Bad_Name: 课程目录名只能用小写字母、数字和「-」", id="bad-course-folder"),
        pytest.param({"c/course.yaml": "- just\n- a list\n", "c/01-m.md": MODULE},
                     "courses/c/course.yaml:1: YAML内容应为键值对", id="yaml-not-mapping"),
    ],
)
def test_reports_bad_files_with_file_and_line(tmp_path, files, expected):
    root = write(tmp_path, files)
    content = load_courses(root)
    assert any(m.startswith(expected) or expected in m for m in messages(content)), messages(content)
    assert content.courses == []  # a course with any problem is not returned at all


def test_one_bad_course_does_not_hide_the_others_errors(tmp_path):
    root = write(tmp_path, {"a/course.yaml": COURSE.replace("title: 服务礼仪\n", ""), "a/01-m.md": MODULE,
                            "b/course.yaml": COURSE, "b/01-m.md": "no front matter"})
    assert len(load_courses(root).errors) == 2


def test_non_utf8_module_is_reported(tmp_path):
    root = write(tmp_path, {"c/course.yaml": COURSE})
    (root / "c/01-m.md").write_bytes(MODULE.encode("gbk"))
    assert "courses/c/01-m.md: 文件不是UTF-8编码" in messages(load_courses(root))


def test_shipped_content_loads_without_errors():
    root = Path(__file__).resolve().parents[2] / "courses"
    content = load_courses(root)
    assert content.errors == []
    assert len(content.courses) >= 7 and content.module_count >= 24
    for course in content.courses:
        assert course.source
        for module in course.modules:
            assert module.source, module.path
            assert len(module.body) > 300, module.path
