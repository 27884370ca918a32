"""Render Markdown to HTML that is safe to put in a page.

All content that users or files supply goes through `render_markdown`: the `markdown` package
renders it and nh3 (Ammonia) keeps only a whitelist of tags, attributes and URL schemes, so
`<script>`, event handlers and `javascript:` links never reach the browser.

The limits of what is rendered live here too, for every Markdown field (a module's body, a
notice) and the editors' previews: the `markdown` package takes time that grows with the length
times the number of brackets left open (`[[[[…` of 24 KB took 18 s), and with the square of the
lines of one paragraph (thousands of `#` lines without a blank line between), and it recurses once
per level of nested lists and quotes (300 levels exhaust Python's stack). `markdown_problem` says what is over a
limit, cheaply and before rendering; `render_markdown` refuses such a text.
"""

from __future__ import annotations

from html import escape
import re
from dataclasses import dataclass

import markdown
import nh3

MAX_LENGTH = 20_000  # characters of one Markdown text; the longest module has about 2,000
MAX_NESTING = 16  # lists and quotes inside one another (on one line: `> - 1. x` is 3)
MAX_OPEN = 32  # brackets of one kind (`[`, `(`, `<`) open at the same time
MAX_BLOCK_LINES = 200  # lines without a blank line between them

_LEADING = re.compile(r"(?P<space>[ \t]*)(?P<mark>>|(?:[-+*]|[0-9]{1,9}[.)])(?=[ \t]|$))?")
_BRACKETS = re.compile(r"\\.|[\[\]()<>\n]", re.S)
_CLOSE = {"]": "[", ")": "(", ">": "<"}


@dataclass(frozen=True)
class MarkdownProblem:
    """Why a Markdown text is not rendered: the line (1-based, in the text) and the reason."""

    line: int
    message: str

    def __str__(self) -> str:
        return self.message if self.line <= 1 else f"第{self.line}行：{self.message}"


class MarkdownRefused(ValueError):
    """A text over the limits reached `render_markdown` (callers check `markdown_problem` first)."""


def markdown_problem(text: str) -> MarkdownProblem | None:
    """Say why this Markdown would be too slow or too deep to render, or None when it is within the limits."""
    if len(text) > MAX_LENGTH:
        return MarkdownProblem(1, f"内容太长（{len(text)}个字符，最多{MAX_LENGTH}个）")
    block = 0
    for number, line in enumerate(text.split("\n"), 1):
        if _nesting(line) > MAX_NESTING:
            return MarkdownProblem(number, f"列表和引用嵌套太深（最多{MAX_NESTING}层）")
        block = block + 1 if line.strip() else 0
        if block > MAX_BLOCK_LINES:
            return MarkdownProblem(number, f"连续{block}行没有空行（最多{MAX_BLOCK_LINES}行），请用空行分段")
    open_count, line = {"[": 0, "(": 0, "<": 0}, 1
    for match in _BRACKETS.finditer(text):
        mark = match.group()
        if mark.endswith("\n"):  # a line break, or an escaped one
            line += 1
        elif mark in open_count:
            open_count[mark] += 1
            if open_count[mark] > MAX_OPEN:
                return MarkdownProblem(line, f"未配对的「{mark}」太多（同时最多{MAX_OPEN}个），请检查括号是否成对")
        elif mark in _CLOSE:
            open_count[_CLOSE[mark]] = max(0, open_count[_CLOSE[mark]] - 1)
        # else an escaped character (\[): plain text to the renderer as well
    return None


def _nesting(line: str) -> int:
    """How deep a line sits: its quote and list markers, and every 4 columns of indentation."""
    markers = columns = position = 0
    while True:
        match = _LEADING.match(line, position)
        columns += len(match.group("space").expandtabs(4))
        if not match.group("mark"):
            return markers + columns // 4
        markers += 1
        position = match.end()


_EXTENSIONS = ["tables", "sane_lists", "fenced_code", "attr_list"]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre",
    "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "abbr": {"title"},
    "ol": {"start"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


def clean_html(html: str) -> str:
    """Strip everything from HTML but the whitelisted tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Render Markdown text to sanitised HTML; a text over the limits raises MarkdownRefused."""
    if problem := markdown_problem(text):
        raise MarkdownRefused(str(problem))
    html = markdown.markdown(text, extensions=_EXTENSIONS, output_format="html")
    return clean_html(html)


def preview_markdown(text: str) -> str:
    """Render Markdown for an editor's preview: the HTML, or the reason it is not rendered (escaped)."""
    if problem := markdown_problem(text):
        return f'<p class="error">{escape(f"无法预览：{problem}")}</p>'
    return render_markdown(text)
