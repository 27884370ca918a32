"""The spacing rule the browser walk checks on every rendered page (tests/e2e/test_phone_overflow.py)."""

from __future__ import annotations

import pytest

from tests.e2e.test_phone_overflow import spacing_problems

pytestmark = pytest.mark.no_db


@pytest.mark.parametrize("text", ["说明原因 （第一章 五、基本语言）", "先排队； 办完再说", "一次提供5 个以上", "共 3 人，用时2 小时"])
def test_the_issues_examples_break_the_rule(text):
    assert spacing_problems(text)


@pytest.mark.parametrize("text", ["说明原因（第一章 五、基本语言）", "先排队；办完再说", "一次提供5个以上",
                                  "2026年12月02日 20:28", "70分 · 通过", "A058……总算轮到我了"])
def test_text_in_the_house_style_passes(text):
    assert spacing_problems(text) == []
