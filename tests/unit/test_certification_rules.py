"""`courses/certifications.yaml`: the recertification path and its window, validated with the line of
each problem (in Chinese, as `lms check` and `lms sync` print them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.certification.rules import RecertificationRule, RuleError, parse_rules
from lms.yamlx import load

pytestmark = pytest.mark.no_db

KNOWN = dict(positions=["综合受理", "库管"], courses=["etiquette"], scenarios=["long-wait", "no-id"],
             exams=["final", "refresher"])
HEAD = """certifications:
  counter:
    title: 上岗证
    positions: [综合受理]
    courses: [etiquette]
    scenarios: {long-wait: 70, no-id: 70}
    exam: final
"""


def _parse(text: str):
    return parse_rules(load(text), **KNOWN)


def _problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(RuleError) as caught:
        _parse(text)
    return caught.value.problems


def test_a_recertification_path_and_window_are_read():
    [rule] = _parse(HEAD + "    recertification:\n      window_days: 60\n      exam: refresher\n"
                           "      scenarios: {no-id: 75}\n")
    assert rule.recertification == RecertificationRule(60, (("no-id", 75),), "refresher")
    [without] = _parse(HEAD)
    assert without.recertification is None  # then a certificate is never renewed, only issued anew


def test_each_problem_of_the_path_names_its_line():
    text = HEAD + """    recertification:
      window_days: 400
      exam: nosuch
      scenarios: {long-wait: 70, ghost: 60, no-id: 101}
      courses: [etiquette]
"""
    assert _problems(text) == [
        (12, "认证「counter」：「recertification」里不能写「courses」，只能写「window_days」、「exam」或「scenarios」"),
        (9, "认证「counter」：「recertification」的「window_days」应为1～335（短于有效期的天数）"),
        (11, "认证「counter」：续证要求里有未知情景「ghost」"),
        (11, "认证「counter」：续证要求里情景「no-id」的最低分应为0～100"),
        (10, "认证「counter」：续证要求里有未知考试「nosuch」"),
    ]


def test_a_path_needs_a_window_and_something_to_do():
    assert _problems(HEAD + "    recertification: 60\n") == [
        (8, "认证「counter」：「recertification」应为键值对（「window_days」、「exam」和「scenarios」）")]
    assert _problems(HEAD + "    recertification:\n      window_days: 30\n") == [
        (8, "认证「counter」：「recertification」没有任何要求（至少写「exam」或「scenarios」）")]
    assert _problems(HEAD + "    recertification:\n      exam: final\n") == [
        (8, "认证「counter」：「recertification」的「window_days」应为1～335（短于有效期的天数）")]
    short = HEAD.replace("    exam: final\n", "    exam: final\n    validity_months: 1\n")
    assert _problems(short + "    recertification:\n      window_days: 28\n      exam: final\n")[0][1].endswith(
        "「window_days」应为1～27（短于有效期的天数）")


def test_lms_check_prints_file_and_line(app, tmp_path, monkeypatch):
    """The shipped file has a path for each certification; a broken one is reported as file:line."""
    from lms import cli

    shipped = load((Path(__file__).resolve().parents[2] / "courses" / "certifications.yaml").read_text("utf-8"))
    assert all(spec["recertification"]["window_days"] == 60 for spec in shipped["certifications"].values())
    root = tmp_path / "courses"
    root.mkdir()
    (root / "certifications.yaml").write_text(HEAD.replace("etiquette", "service-standards") +
                                              "    recertification:\n      window_days: 0\n      exam: final\n",
                                              encoding="utf-8")
    monkeypatch.setattr(cli, "_content_root", lambda: root)
    with app.app_context():
        problems = [p for p in cli.load_everything().problems if "certifications.yaml" in p]
    assert "courses/certifications.yaml:9: 认证「counter」：「recertification」的「window_days」应为1～335（短于有效期的天数）" \
        in problems
