"""Rendered Markdown keeps formatting and never carries script into the page."""

from __future__ import annotations

import pytest

from lms.sanitize import render_markdown

pytestmark = pytest.mark.no_db


def test_keeps_headings_lists_tables_and_quotes():
    html = render_markdown("## 标题\n\n- 一\n- 二\n\n| 列 | 值 |\n|---|---|\n| a | b |\n\n> 您好，欢迎光临！\n")
    for tag in ("<h2>", "<li>", "<table>", "<td>", "<blockquote>"):
        assert tag in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "[点我](javascript:alert(1))",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<img src=x onerror=alert(1)>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<div onclick=\"alert(1)\">x</div>",
        "[x](JaVaScRiPt:alert(1))",
        "<svg><script>alert(1)</script></svg>",
        "<style>body{display:none}</style>",
    ],
)
def test_script_never_survives(source):
    html = render_markdown(source).lower()
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html and "onclick" not in html
    assert "<iframe" not in html and "<style" not in html


def test_links_keep_safe_targets_with_noopener():
    html = render_markdown("[客服](https://www.example.com) [电话](tel:10000)")
    assert 'href="https://www.example.com"' in html and 'href="tel:10000"' in html
    assert "noopener" in html
