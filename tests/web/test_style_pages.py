"""The house style (docs/style.md) as people see it: rendered module and scenario pages, and app pages.

The file rules live in tests/unit/test_style.py; here they run over the text a browser shows,
so that what Markdown rendering adds or loses is caught too: a soft line break inside a
paragraph shows as a space between two Chinese characters, and `**` that did not become bold
is printed as it is. On module and scenario pages only the content part is read (module body,
出处, scenario summary, persona and 出处). A sample of app pages (home, a notice, the exam list,
the question bank, the certification matrix), each as the role that uses it, is read whole, the
way tests/unit/test_style_ui.py reads the templates: real values filled in, boxes apart.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.extensions import db
from tests.conftest import login
from tests.unit.test_style import violations
from tests.unit.test_style_ui import PageText, ui_violations

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "div", "br", "tr",
          "ul", "ol", "table", "pre", "hr", "dd", "dt", "header", "footer", "section"}
SKIP = {"form", "button", "script", "style", "nav"}
VOID = {"br", "hr", "img", "input", "meta", "link"}


class ContentText(HTMLParser):
    """Collect the text of the elements with one of `classes` (or the tags in `tags`), one ¶ per block."""

    def __init__(self, classes: set[str], tags: set[str] = frozenset()):
        super().__init__(convert_charrefs=True)
        self.classes, self.tags = classes, tags
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, opens content, opens a skipped part)
        self.parts: list[str] = []

    def _inside(self) -> bool:
        return any(opens for _, opens, _ in self.stack) and not any(skip for _, _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        opens = bool(classes & self.classes) or tag in self.tags
        skip = tag in SKIP or ("muted" in classes and self._inside())
        if tag in BLOCKS:
            self.parts.append("¶")
        if tag not in VOID:
            self.stack.append((tag, opens, skip))

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self.parts.append("¶")
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if self._inside():
            self.parts.append(data)

    @classmethod
    def of(cls, html: str, classes: set[str], tags: set[str] = frozenset()) -> str:
        parser = cls(classes, tags)
        parser.feed(html)
        return "".join(parser.parts)


def _problems(url: str, text: str) -> list[str]:
    found = [f"{url}: {rule}: {excerpt}" for rule, _, excerpt in violations(text)]
    if "**" in text:
        found.append(f"{url}: unrendered bold: {text[max(0, text.find('**') - 10):text.find('**') + 12]}")
    return found


MODULES = sorted(f"/courses/{path.parent.name}/{path.stem.split('-', 1)[1]}"
                 for path in (ROOT / "courses").glob("*/[0-9]*-*.md"))
SCENARIOS = sorted(f"/practice/{path.stem}" for path in (ROOT / "simulations" / "scenarios").glob("*.yaml"))


def test_the_pages_under_test_are_the_shipped_content():
    assert len(MODULES) >= 39 and len(SCENARIOS) >= 14


@pytest.mark.parametrize("kind", ["modules", "scenarios"])
def test_rendered_content_follows_the_house_style(client, world, kind):
    login(client, world["trainer"])
    problems = []
    for url in MODULES if kind == "modules" else SCENARIOS:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        if kind == "modules":
            text = ContentText.of(html, {"module-body", "source"}, {"h1"})
        else:
            text = ContentText.of(html, set(), {"article"})
        assert len(text) > 40, f"{url}: no content found in the page"
        problems += _problems(url, text)
    assert not problems, "\n".join(problems)


def test_reader_sees_a_soft_line_break_as_a_break_in_the_text():
    html = '<div class="module-body"><p>起立迎候笑问好\n请坐询问何需要</p><p>营业前<strong>15分钟</strong>召开</p></div>'
    text = ContentText.of(html, {"module-body"})
    assert [rule for rule, _, _ in violations(text)] == ["han-spacing"]
    assert _problems("x", '¶营业前**15分钟**¶') == ["x: unrendered bold: ¶营业前**15分钟**¶"]
    assert ContentText.of('<p class="source">出处：第一章<br><span class="muted">约6分钟</span></p>',
                          {"source"}) == "¶出处：第一章¶¶"


@pytest.fixture
def notice(app, world):
    """A new-business notice for store A, issued an hour ago, with a module to study; returns its id."""
    from datetime import timedelta

    from lms.clock import now
    from lms.courses.models import Course, Module
    from lms.notices.service import NoticeData, publish

    with app.app_context():
        first = select(Module).join(Course).where(Course.slug == "etiquette").order_by(Module.sort_order)
        module = db.session.scalar(first)
        data = NoticeData("新业务：融合套餐上线", "受理前核对客户的有效证件，讲清套餐内容和资费。", module.id, None,
                          [world["store_a"]], [], now() - timedelta(hours=1))
        created, _ = publish(data, world["trainer"].id)
        db.session.commit()
        return created.id


APP_PAGES = {  # page: (who reads it, its address)
    "home": ("staff_a", lambda world, notice: "/"),
    "notice": ("staff_a", lambda world, notice: f"/notices/{notice}"),
    "exam list": ("staff_a", lambda world, notice: "/exams"),
    "bank": ("trainer", lambda world, notice: "/bank"),
    "matrix": ("manager_a", lambda world, notice: f"/store/{world['store_a']}/matrix"),
}


@pytest.mark.parametrize("page", APP_PAGES)
def test_app_pages_follow_the_house_style(client, world, notice, page):
    who, address = APP_PAGES[page]
    login(client, world[who])
    url = address(world, notice)
    response = client.get(url)
    assert response.status_code == 200, url
    texts = [text for _, text in PageText.of(response.get_data(as_text=True))]
    assert len(texts) > 10, f"{url}: hardly any text found in the page"
    problems = [f"{url}: {rule}: {excerpt}" for text in texts for rule, _, excerpt in ui_violations(text)]
    assert not problems, "\n".join(problems)


def test_app_page_text_is_read_as_shown():
    html = ('<p>共 12 道 · <a href="#">导出</a></p><p>剩余47小时 <span class="badge ok">已读</span></p>'
            '<div class="actions"><a href="#">导出Excel</a> <a href="#">打印</a></div><p>请运行 <code>lms sync</code></p>')
    texts = [text for _, text in PageText.of(html)]
    assert [sorted({rule for rule, _, _ in ui_violations(text)}) for text in texts] == [
        ["number-spacing"], [], [], [], [], ["han-spacing", "number-spacing"]]
