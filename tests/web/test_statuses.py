"""Results say the same thing everywhere: 未练 / 未考 / 进行中 / 未通过 / 通过 are defined once
(lms/certification/status.py) and every page and export takes them from there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.certification.status import FAILED, IN_PROGRESS, NOT_PRACTISED, NOT_TAKEN, PASSED, RESULT_LEVEL, pass_fail

LMS = Path(__file__).resolve().parents[2] / "lms"
RETIRED = ("已通过", "未练习", "打字模式未通过", "还没练过", "还没考过")  # old words for the same results


@pytest.mark.no_db
def test_the_five_results_and_their_colours():
    assert (NOT_PRACTISED, NOT_TAKEN, IN_PROGRESS, FAILED, PASSED) == ("未练", "未考", "进行中", "未通过", "通过")
    assert RESULT_LEVEL[PASSED] == "ok" and RESULT_LEVEL[FAILED] == "bad"
    assert (pass_fail(True), pass_fail(False), pass_fail(None)) == ("通过", "未通过", "")


@pytest.mark.no_db
def test_no_page_or_export_spells_a_result_its_own_way():
    found = []
    for path in [*LMS.rglob("*.html"), *LMS.rglob("*.py")]:
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(LMS)}: {word}" for word in RETIRED if word in text]
        if path.suffix == ".html":  # a pass/fail badge comes from the result_badge filter, never typed out
            found += [f"{path.relative_to(LMS)}: {m}" for m in
                      re.findall(r'<span class="badge \w+">(?:通过|未通过)</span>', text)]
    assert found == []


def test_result_badge_is_the_one_way_a_page_shows_pass_or_fail(app):
    with app.app_context():
        render = app.jinja_env.from_string("{{ a | result_badge }}|{{ b | result_badge }}|{{ c | result_badge }}").render
        assert render(a=True, b=False, c=None) == '<span class="badge ok">通过</span>|<span class="badge bad">未通过</span>|'
