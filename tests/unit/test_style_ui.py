"""House style (docs/style.md) of the app's own Chinese strings: templates, string literals, scripts.

A UI string is Chinese text the app shows or prints: the text and readable attributes of every
template, every Python string literal in `lms/` with a Chinese character in it (flash messages,
form labels, validation errors, CLI output, error messages) and the strings the page script
writes. The rules of tests/unit/test_style.py, and the UI's own rule `codes`, run over each
string as it is shown: a placeholder ({{ n }}, {n}, a `code`) stands for its value, read once as
a number, once as a Latin word and once as a Chinese word, so 「第 {{ n }} 章」 breaks
number-spacing the way the page would. What must stay as it is is listed, with its reason, in
ALLOWED and NOT_SHOWN.

Page text is read the way a browser lays it out: a space between two boxes (a badge, a button,
two items of a flex row such as `.actions`) is a gap between boxes, not a space in a sentence.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2

from tests.unit.test_style import CN_PUNCT, HAN, Rule, violations

ROOT = Path(__file__).resolve().parents[2]
LMS = ROOT / "lms"
HAS_HAN = re.compile(f"[{HAN}]")
VALUE = "\ue000"  # marks a placeholder; checked as a number (0), a Latin word (x) and a Chinese one (字)

# What stays as it is, and why. Each entry is a regex removed from a string before the rules run.
ALLOWED = (
    # A message that starts with a file or file:line location keeps the ASCII colon after it:
    # editors and CI jump to `path:line:` (the location itself is a placeholder).
    re.compile(f"^{VALUE}(?::{VALUE})?: "),
    # GIFT written out in 「」 (「::名称::」, 「=问题 -> 答案」): its marks and spaces are GIFT syntax.
    re.compile(r"「[:=~#%{}\[][^「」]*」"),
)
# The UI's own rule (docs/style.md, UI strings): a code between Chinese words stands in 「」 and
# touches them. Letters and digits are number-spacing's business; this is about ASCII marks.
MARKS = r"!\"#$%&'*+,\-:;<=>?@\[\\\]^_`{|}~"  # ASCII punctuation but ( ) of citations, / between titles, 1. lists
CODES = Rule("codes", "代码（键、值、文件名、命令、GIFT记号）放在「」里，紧贴前后文字：缺少「title」、缺少右花括号「}」",
             re.compile(rf"[{HAN}{CN_PUNCT}][ \t]+[{MARKS}]|(?<=[^\s{MARKS}])[{MARKS}][ \t]+[{HAN}{CN_PUNCT}]"),
             ("缺少右花括号 }", "缺少 ->", "数值题中 ~ 后面", "小写字母、数字和 -", "以 = 开头"),
             ("缺少右花括号「}」", "第二章 (十)培训岗", "服务礼仪 / 仪容仪表", "70分 · 通过", "\n- 受理前", "# 演示账号",
              "\n## 受理要点", "1. 服务礼仪"))
# Not UI strings: docstrings, migrations (schema history: SQL values, never shown, never edited
# once applied) and regular expressions the app matches input with (arguments of re.*).
NOT_SHOWN = ("lms/migrations/",)
REGEX_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}

# The layout of lms/static/css/app.css: containers whose children are boxes of their own
# (flex and grid), and elements drawn as a box inside a line (a badge is a pill).
BOX_CONTAINERS = {"actions", "pager", "exam-bar", "cells", "turn-feedback", "who", "chat", "cards",
                  "filters", "funnel-row", "qgrid", "tiles"}
BOXES = {"button", "select", "option", "textarea", "input", "progress"}
BOX_CLASSES = {"badge"}
INLINE = {"a", "abbr", "b", "code", "em", "i", "kbd", "label", "mark", "q", "s", "small", "span",
          "strong", "sub", "sup", "time", "u", "var", "output", "data", "bdi", "img", "wbr"}
VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "source", "col"}
UNREAD = {"script", "style", "textarea", "svg"}  # a script, a user's own input, a chart
CODE = {"code", "kbd"}  # typed as it is: checked as a value that touches the text around it
READ_ATTRIBUTES = {"title", "placeholder", "alt", "aria-label", "data-confirm"}


class PageText(HTMLParser):
    """Collect what a page shows: text as (line, piece) with ¶ between boxes, and readable attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[int, str]] = []
        self.attributes: list[tuple[int, str]] = []
        self.stack: list[tuple[str, set[str]]] = []
        self.after_control = False  # the last thing was a form control (input, select, textarea)

    def _breaks(self, tag: str, classes: set[str]) -> bool:
        parent_classes = self.stack[-1][1] if self.stack else set()
        in_row = bool(parent_classes & BOX_CONTAINERS) or (
            tag != "li" and len(self.stack) >= 2 and self.stack[-1][0] == "li"
            and self.stack[-2][0] == "ul" and "modules" in self.stack[-2][1])
        return tag not in INLINE or tag in BOXES or bool(classes & (BOX_CLASSES | {"help"})) or in_row

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        if tag == "small" and self.after_control:
            classes.add("help")  # Pico: input + small {display: block}, the field's help line
        self.after_control = tag in ("input", "select", "textarea")
        if self._breaks(tag, classes):
            self.pieces.append((self.getpos()[0], "¶"))
        shows_value = tag in ("button", "option") or values.get("type") in ("submit", "button")
        for name, value in attrs:
            if (name in READ_ATTRIBUTES or (name == "value" and shows_value)) and value and HAS_HAN.search(value):
                self.attributes.append((self.getpos()[0], value))
        if tag in CODE and not self._unread():
            self.pieces.append((self.getpos()[0], VALUE))
        if tag not in VOID:
            self.stack.append((tag, classes | ({"unread"} if tag in UNREAD | CODE else set())))

    def handle_endtag(self, tag):
        self.after_control = tag in ("select", "textarea")
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                classes = self.stack[index][1]
                del self.stack[index:]
                if self._breaks(tag, classes):
                    self.pieces.append((self.getpos()[0], "¶"))
                return

    def _unread(self) -> bool:
        return any("unread" in classes for _, classes in self.stack)

    def handle_data(self, data):
        self.after_control = self.after_control and not data.strip()
        if not self._unread():
            self.pieces.append((self.getpos()[0], data))

    def texts(self):
        """Yield (line, text) of each run of text between two box edges, white space folded as a browser does."""
        line, parts = None, []
        for at, piece in self.pieces + [(0, "¶")]:
            if piece == "¶":
                text = re.sub(r"\s+", " ", "".join(parts)).strip()
                if HAS_HAN.search(text) or VALUE in text:  # a value may be Chinese
                    yield line, text
                line, parts = None, []
            else:
                if line is None and piece.strip():
                    line = at
                parts.append(piece)
        yield from self.attributes

    @classmethod
    def of(cls, html: str) -> list[tuple[int, str]]:
        """Return (line, text) of every run of shown text and every readable attribute of an HTML page."""
        parser = cls()
        parser.feed(html)
        parser.close()
        return list(parser.texts())


STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
OPERAND = rf"(?:{STRING}|[\w.]+(?:\([^()'\"]*\))?(?:\[[^\[\]]*\])?)"
CHAIN = re.compile(rf"{OPERAND}(?:\s*[+~]\s*{OPERAND})*")
MARKUP = re.compile(r"^\s*[\w.]+\(.*\)\s*$", re.S)  # {{ form.hidden_tag() }}, {{ field(...) }}: markup


def _tag_texts(source: str):
    """Yield each Chinese text a Jinja tag builds: a literal, or literals joined by + or ~ with values between."""
    for match in CHAIN.finditer(source):
        parts = re.findall(OPERAND, match.group())
        if not any(re.fullmatch(STRING, part) and HAS_HAN.search(part) for part in parts):
            continue
        text = "".join(ast.literal_eval(part) if re.fullmatch(STRING, part) else VALUE for part in parts)
        yield re.sub(r"%[-0-9.]*[sd]", VALUE, text)  # '…%s…' | format(x)


def template_strings(path: Path):
    """Yield (line, text) of every UI string of one template: its page text, and the texts its tags build."""
    html, origin, tag, literals = "", {1: 1}, None, []
    for line, kind, value in jinja2.Environment().lex(path.read_text(encoding="utf-8")):
        if kind == "data":
            here = html.count("\n") + 1
            origin.setdefault(here, line)
            for offset in range(1, value.count("\n") + 1):
                origin[here + offset] = line + offset
            html += value
        elif kind in ("variable_begin", "block_begin"):
            tag = (line, "")
        elif kind in ("variable_end", "block_end"):
            literals += [(tag[0], text) for text in _tag_texts(tag[1])]
            if kind == "variable_end":
                html += "\ue001" if MARKUP.match(tag[1]) else VALUE  # a macro's markup: a form control
            elif re.match(r"\s*-?\s*(else|elif)\b", tag[1]):
                html += "¶"  # two branches never show side by side
            tag = None
        elif tag is not None:
            tag = (tag[0], tag[1] + value)
    for line, text in PageText.of(html.replace("¶", "<br>").replace("\ue001", "<input>")):
        yield origin.get(line, line), text
    yield from literals


def _not_shown(tree: ast.AST) -> set[int]:
    """Return the ids of the string nodes that are docstrings or regular expressions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                and node.func.attr in REGEX_CALLS):
            found.add(id(node.args[0]))
    return found


def _sum_parts(node: ast.AST) -> list[ast.AST]:
    """Return the operands of a chain of + (a + b + c), left to right."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _sum_parts(node.left) + _sum_parts(node.right)
    return [node]


def _shown(node: ast.AST) -> str | None:
    """Return how a string node shows, values as placeholders; None if it is not a string."""
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else VALUE for part in node.values)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def python_strings(path: Path):
    """Yield (line, text) of every Chinese string of one module: literals, f-strings, and "a" + b + "c" sums."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _not_shown(tree)
    skip |= {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for part in ast.walk(node) if part is not node}
    sums = [node for node in ast.walk(tree) if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)]
    skip |= {id(part) for node in sums for part in (node.left, node.right)
             if isinstance(part, ast.BinOp) and isinstance(part.op, ast.Add)}  # only the whole chain counts
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if node in sums:
            # an operand (f"，冲突{n}" if n else "") shows as its first branch
            parts = [_shown(part.body if isinstance(part, ast.IfExp) else part) for part in _sum_parts(node)]
            if all(part is None for part in parts):
                continue
            skip |= {id(part) for part in _sum_parts(node)}
            text = "".join(VALUE if part is None else part for part in parts)
        else:
            text = _shown(node)
            if text is None:
                continue
        for column in text.split("\t"):  # a tab separates the columns of a text table
            if HAS_HAN.search(column):
                yield node.lineno, column


def script_strings(path: Path):
    """Yield (line, text) of each line of a script that builds Chinese text: its literals joined by a value."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        literals = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        if any(HAS_HAN.search(literal) for literal in literals):
            yield number, VALUE.join(literals)


def ui_sources():
    """Return (path, strings) for every file that holds UI strings."""
    sources = [(path, template_strings) for path in sorted((LMS / "templates").rglob("*.html"))]
    sources += [(path, python_strings) for path in sorted(LMS.rglob("*.py"))
                if not str(path.relative_to(ROOT)).startswith(NOT_SHOWN)]
    sources += [(path, script_strings) for path in sorted((LMS / "static" / "js").glob("*.js"))]
    return sources


def ui_violations(text: str) -> list[tuple[str, int, str]]:
    """Return (rule, offset, excerpt) for each house-style break of one UI string as it can be shown."""
    for allowed in ALLOWED:
        text = allowed.sub("", text)
    text = re.sub(r"`[^`\n]*`", VALUE, text)  # a `code` in a message is checked like a value
    text = re.sub(r"%[YmdHMS]", "0", text)  # a strftime directive shows as a number
    found = {}
    for value in ("0", "x", "字"):
        shown = text.replace(VALUE, value)
        codes = [(CODES.id, m.start(), shown[max(0, m.start() - 8):m.end() + 8]) for m in CODES.pattern.finditer(shown)]
        for rule, offset, excerpt in violations(shown) + codes:
            found.setdefault((rule, offset), (rule, offset, excerpt))  # same length: same offsets
    return list(found.values())


def ui_problems() -> list[str]:
    """Return `file:line: rule: excerpt` for every house-style break in the app's UI strings."""
    problems = []
    for path, strings in ui_sources():
        for line, text in strings(path):
            for rule, _, excerpt in ui_violations(text):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {rule}: {excerpt}")
    return problems


def test_ui_strings_follow_the_house_style():
    problems = ui_problems()
    assert not problems, "\n".join(problems[:80]) + f"\n({len(problems)} in all)"


def test_the_ui_rule_catches_what_it_describes():
    for text in CODES.bad:
        assert CODES.pattern.search(text), f"codes should catch {text!r}"
    for text in CODES.good:
        assert not CODES.pattern.search(text), f"codes should let {text!r} pass"
    assert f"`{CODES.id}`" in (ROOT / "docs" / "style.md").read_text(encoding="utf-8")


def _flagged(strings) -> dict[str, list[str]]:
    return {text.replace(VALUE, "…"): sorted({rule for rule, _, _ in ui_violations(text)}) for _, text in strings}


def test_a_template_is_read_as_the_page_shows_it(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '<p>第 {{ n }} / {{ total }} 章</p>\n<p>已学{{ n }}章 <span class="badge ok">已完成</span></p>\n'
        '<div class="actions"><a href="#">导出Excel</a> <a href="#">打印</a></div>\n'
        '<form>{{ form.hidden_tag() }}\n  <label>标题 <input name="t" placeholder="如 2026-11-21"></label></form>\n'
        '<p>请运行 <code>lms sync</code> 同步</p>\n'
        "{{ post_button(url, '删除', confirm='确定删除 ' + name + ' 吗？') }}\n", encoding="utf-8")
    assert _flagged(template_strings(page)) == {
        "第 … / … 章": ["han-spacing", "number-spacing"], "已学…章": [], "已完成": [], "导出Excel": [], "打印": [],
        "标题": [], "如 2026-11-21": ["number-spacing"], "请运行 … 同步": ["han-spacing", "number-spacing"],
        "删除": [], "确定删除 … 吗？": ["han-spacing", "number-spacing"]}


def test_a_module_is_read_as_its_messages_show(tmp_path):
    module = tmp_path / "messages.py"
    module.write_text(
        '"""A docstring is not shown: 共 1 个."""\nimport re\n\nDAY = re.compile(r"(\\d+)\\s*日?$")\n\n\n'
        'def messages(n, path, line):\n    """Return the messages (这里也不检查 1 个)."""\n'
        '    return (f"已导入 {n} 道题", f"{path}:{line}: 缺少「title」", "共" + str(n) + " 人",\n'
        '            "工号\\t姓名", f"{path}: 类别 x: 缺少 label", "请先 `lms export` 写出")\n', encoding="utf-8")
    assert _flagged(python_strings(module)) == {
        "已导入 … 道题": ["han-spacing", "number-spacing"], "…:…: 缺少「title」": [], "共… 人": ["han-spacing", "number-spacing"],
        "工号": [], "姓名": [], "…: 类别 x: 缺少 label": ["codes", "number-spacing", "punctuation"],
        "请先 `lms export` 写出": ["han-spacing", "number-spacing"]}


def test_a_script_is_read_as_the_text_it_writes(tmp_path):
    script = tmp_path / "app.js"
    script.write_text('box.textContent = "剩余时间：" + m + " 分 " + s + " 秒";\nout.textContent = "已保存";\n',
                      encoding="utf-8")
    assert _flagged(script_strings(script)) == {"剩余时间：… 分 … 秒": ["han-spacing", "number-spacing"], "已保存": []}
