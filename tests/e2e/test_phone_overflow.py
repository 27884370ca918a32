"""Nothing scrolls sideways on a phone (issue 15, A2).

For each role, at 375 × 812: the home page, every page one tap away (the top bar's menu and the
page's links) and every page one tap further. On each page neither the page nor any box on it may
be wider than it shows (`scrollWidth > clientWidth`), text fields and code aside. Trainer and
admin pages, used mostly on a PC, may scroll a wide table inside a box made for it (overflow-x:
auto); learner and manager pages may not. Pages of the same shape (/scenarios/<slug>,
/store/people/<id>) are visited once, the first found. A screenshot of each page lands in
test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from .conftest import log_in

pytestmark = pytest.mark.no_db  # the live app keeps its own database

WIDTH, HEIGHT = 375, 812
ROLES = {  # 工号 of the demo organisation: a learner (new hire), a store manager, the trainer, the admin
    "learner": ("DX1007", False),
    "staff": ("DX1003", False),
    "manager": ("DX1001", False),
    "trainer": ("PX0001", True),
    "admin": ("admin", True),
}
SKIP = re.compile(r"\.(xlsx|csv|json|gift|yaml|png|svg)$|/logout$|/export|/static/|/download")

# Every element whose content is wider than its box. Text fields (they scroll their text by
# nature), code and SVG drawings aside; on trainer/admin pages also a box that is explicitly a
# sideways scroller.
OVERFLOW = """(allowScrollers) => {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) out.push(`页面 ${root.scrollWidth} > ${root.clientWidth}`);
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('textarea, input, select, code, pre, svg, [hidden]')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.display === 'inline' || style.display === 'contents') continue;
    if (el.scrollWidth <= el.clientWidth) continue;
    if (allowScrollers && (style.overflowX === 'auto' || style.overflowX === 'scroll')) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    out.push(`${name} ${el.scrollWidth} > ${el.clientWidth}: ${(el.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 40)}`);
  }
  return out;
}"""


# The spacing rule of generated Chinese text (issue 15, A4; docs/style.md): no half-width space between a
# Chinese character and full-width punctuation, and a number touches its unit (5个, not 5 个); it is
# about the text the product generates.
HAN = "\u4e00-\u9fff"
FULL_PUNCT = "，。、；：？！「」『』（）《》【】…—～"
SPACING = re.compile(rf"[{HAN}{FULL_PUNCT}] [{FULL_PUNCT}]|[{FULL_PUNCT}] [{HAN}]|\d [个分秒天人章题次条项元岁小时周月年日号位名道家]")


# The page's text as it reads: a badge, a button or a bar is a box of its own, not a word in a sentence.
# What people wrote (a trainer's course or notice text, a learner's reply) is theirs and not checked.
BOX_TEXT = """() => {
  for (const el of document.querySelectorAll('.badge, button, [role=button], progress, .actions > *, .who > *')) {
    el.style.display = 'block';
  }
  for (const el of document.querySelectorAll('.module-body, .bubble.clerk')) { el.style.display = 'none'; }
  return document.body.innerText.split('\\n').map(l => l.trim()).join('\\n');
}"""


def spacing_problems(text: str) -> list[str]:
    """Each place in the text that breaks the spacing rule, with a few characters around it."""
    return [repr(text[max(0, m.start() - 8):m.end() + 8]) for m in SPACING.finditer(text)]


def _shape(app, path: str) -> str:
    """The page a path shows (its endpoint): /practice/a and /practice/b are one page."""
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path.split("?")[0], method="GET")
    except Exception:  # a redirect or an unknown path: its own shape
        return path
    return endpoint


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc and f"{parts.scheme}://{parts.netloc}" != base:
            continue
        if not parts.path.startswith("/") or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _visit(page, base: str, path: str, allow: bool, shoot, label: str) -> list[str]:
    response = page.goto(f"{base}{path}")
    page.wait_for_load_state()
    if response is None or response.status >= 400 or not response.headers.get("content-type", "").startswith("text/html"):
        return []
    shoot(page, f"{label}-{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_') or 'home'}")
    problems = page.evaluate(OVERFLOW, allow)
    text = page.evaluate(BOX_TEXT)
    return ([f"{path}: {problem}" for problem in problems]
            + [f"{path}: 空格 {problem}" for problem in spacing_problems(text)])


@pytest.mark.parametrize("role", list(ROLES))
def test_no_page_within_two_taps_is_wider_than_a_phone(browser, live_app, shoot, role):
    app, base, accounts = live_app
    emp_no, allow = ROLES[role]
    page = log_in(browser, base, emp_no, accounts[emp_no], width=WIDTH, height=HEIGHT)
    problems = _visit(page, base, "/", allow, shoot, role)
    seen, visited, later = {_shape(app, "/")}, ["/"], []
    for tap in (1, 2):
        links, later = (_links(page, base) if tap == 1 else later), []
        for path in dict.fromkeys(links):
            if _shape(app, path) in seen:
                continue
            seen.add(_shape(app, path))
            visited.append(path)
            problems += _visit(page, base, path, allow, shoot, role)
            if tap == 1:
                later += _links(page, base)
    if role == "learner":  # a scenario's 开始 button is a form, not a link: tap it, and reply once
        page.goto(f"{base}/practice/long-wait")
        page.click("text=开始演练（打字回复）")
        page.wait_for_load_state()
        problems += _visit(page, base, urlsplit(page.url).path, allow, shoot, role)
        page.fill("#reply-text", "您好，让您久等了，请问您要办理什么业务？")
        page.click("button:has-text('发送')")
        page.wait_for_load_state()
        problems += _visit(page, base, urlsplit(page.url).path, allow, shoot, f"{role}-replied")
        visited.append(urlsplit(page.url).path)
    print(role, "visited", " ".join(visited))
    page.context.close()
    assert len(visited) > 5, visited
    assert problems == [], "\n".join(problems)
