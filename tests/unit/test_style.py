"""House style of the Chinese learning content (docs/style.md): the rules a machine can check.

The content is what learners read: course and module files and question banks in `courses/`,
scenarios (and the phrasebook's learner-facing texts) in `simulations/`. Each rule is a regex
with examples it must and must not catch; the shipped files must break none of them. Two
content rules ride along: a short-answer hint that states a length (（两个字）) accepts only
answers of that length, and every 常用服务用语 of 第一章 五、4 is practised in a scenario turn.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HAN = "\u4e00-\u9fff"
CN_PUNCT = "，。：；！？、（）「」『』《》"


@dataclass(frozen=True)
class Rule:
    """One house-style rule: an id (named in docs/style.md), what it asks for, and what breaks it."""

    id: str
    says: str
    pattern: re.Pattern
    bad: tuple[str, ...]
    good: tuple[str, ...]


RULES = (
    Rule("quotes", "中文引号用「」（嵌套用『』），不用 \" ' “ ” ‘ ’",
         re.compile("[\"'“”‘’]"),
         ('说"您好"', "说“您好”", "‘合宜’"), ("说「您好」", "「先生/小姐」", "『暂停营业』")),
    Rule("number-spacing", "数字、字母与汉字之间不加空格：15分钟、10000号、VIP客户",
         re.compile(rf"[0-9A-Za-z%][ \t]+[{HAN}]|[{HAN}][ \t]+(?:[0-9]+(?:\.[0-9]+)?(?=(?:～[0-9]+)?[{HAN}A-Za-z%，。！？/-])|[A-Za-z](?!\)))"),
         ("15 分钟", "拨打 10000号", "VIP 客户", "对 VIP客户", "100% 回复", "每月 20G", "提前 10～15分钟", "扣了 129！",
          "如 2026-11-21", "已学 3/5章"),
         ("15分钟", "10000号", "VIP客户", "2026年11月21日 14:30", "第一章 五、基本语言 4、常用服务用语", "第三章 五、其他要求 6",
          "第一章 六、电话服务 (一) 2、接电话的程序 a)～d)", "跟踪总结阶段 2～4（")),
    Rule("ranges", "数值范围用全角波浪号「～」：10～15分钟、3～6cm（日期2026-11-21不是范围）",
         # the two lookaheads let an ISO date (its hyphens after the year and the month) pass
         re.compile(r"(?!(?<=[0-9]{3})[0-9]-[0-9]{2}-[0-9]{2})(?!(?<=[0-9]{4}-[0-9])[0-9]-[0-9]{2})"
                    r"[0-9][ \t]*[-–—~〜][ \t]*[0-9]|[a-z]\)[-–—~〜][a-z]\)"),
         ("10—15分钟", "3-6cm", "5–20人", "15~30分钟", "a)–d)", "2026-11-21—2026-12-01"),
         ("10～15分钟", "a)～d)", "5～20人", "如2026-11-21")),
    Rule("file-codes", "不向学员显示种子文件编号（000～004），写出处的名称，如「门店岗位说明 三、业务受理」",
         re.compile(r"(?<![0-9A-Za-z])00[0-4](?![0-9])"),
         ("000 业务受理", "002 中国移动客服岗位职责", "（000 值班经理）"), ("10000号", "1000M宽带", "2000M", "S001营业厅")),
    Rule("terms", "一个概念一个词：首问负责制（不说首问责任制）、叫号机（不说排队机、叫号系统）、「暂停营业」牌（不说暂停服务牌）",
         re.compile(r"首问责任制|排队机|叫号系统|「暂停服务」|暂停服务牌"),
         ("按首问责任制", "排队机", "叫号系统", "翻转「暂停服务」牌"), ("首问负责制", "叫号机", "「暂停营业」牌", "暂停服务时")),
    Rule("bold-spacing", "加粗紧贴前后文字，不加空格：营业前**15分钟**",
         re.compile(rf"[{HAN}{CN_PUNCT}][ \t]+\*\*[^*\s]|[^*\s]\*\*[ \t]+[{HAN}{CN_PUNCT}]"),
         ("营业前 **15分钟**", "**15分钟** 召开", "对 **VIP客户**"), ("营业前**15分钟**召开", "- **诚信**：必须", "| **班前会** |")),
    Rule("han-spacing", "汉字和中文标点之间不留空格，也不在段落中间换行（出处里章节编号前的空格除外）；口诀一句一行（一句一段或一项）",
         re.compile(rf"(?<!第[一二三四五六七八九十])[{HAN}{CN_PUNCT}](?:[ \t]+|[ \t]*\n(?:> ?)?)"
                    rf"(?![一二三四五六七八九十]+、|第[0-9一二三四五六七八九十]+[章篇条])[{HAN}{CN_PUNCT}]"),
         ("班前击掌提提神 着装台席检查细", "> 起立迎候笑问好\n> 请坐询问何需要", "第四章 三、培训内容 至 六、",
          "来回跑 （第一章", "说明原因， 请客户谅解"),
         ("> 起立迎候笑问好\n>\n> 请坐询问何需要", "第一章 五、基本语言", "门店岗位说明 三、业务受理",
          "第一章 一、服务总要求 (二)服务标准", "制度汇编 第一章", "第三章 营业厅投诉处理规范",
          "客服岗位职责及要求 第2篇")),
    Rule("punctuation", "中文里用全角标点：，；：？！和「……」，不用 , ; : ? ! ...",
         re.compile(rf"[{HAN}）」][,;:!?]|[,;:!?][ \t]*[{HAN}（「]|\.\.\.|(?<!…)…(?!…)"),
         ("出处; 第一章", "好, 谢谢", "应该...", "应该…", "注意:"), ("出处；第一章", "应该……", "(一)接听电话")),
)


def violations(text: str) -> list[tuple[str, int, str]]:
    """Return (rule id, offset, excerpt) for every house-style rule the text breaks."""
    found = []
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            start, end = max(0, match.start() - 8), min(len(text), match.end() + 8)
            found.append((rule.id, match.start(), text[start:end].replace("\n", "⏎")))
    return found


# ---------------------------------------------------------------- what learners read, per file

def _front_matter(text: str) -> tuple[dict, str, int]:
    """Split a module file into its YAML front matter, body and the body's first line number."""
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body, head.count("\n") + 3


def _gift_texts(text: str):
    """Yield (line, text) of a GIFT bank, its syntax (names, braces, marks, weights) replaced by ¶."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("$CATEGORY"):
            continue
        if line.startswith("//"):  # comments: only the citation must name its section
            yield number, re.sub(r"[;:]", "¶", line[2:])
            continue
        line = re.sub(r"^::[^:]*::", "", line)
        yield number, re.sub(r"\{|\}|^[=~]|(?<=[{ ])[=~]|%-?[0-9.]+%|->|#|\\", "¶", line)


def _scenario_texts(data: dict):
    """Yield (where, text) of every learner-facing string of a scenario."""
    for key in ("title", "summary"):
        yield key, data.get(key, "")
    for item in data.get("source") or []:
        yield "source", item
    for key, value in (data.get("persona") or {}).items():
        yield f"persona.{key}", str(value)
    for node_id, node in (data.get("nodes") or {}).items():
        customer = node.get("customer")
        for item in customer if isinstance(customer, list) else [customer]:
            yield node_id, (item or {}).get("text", "") if isinstance(item, dict) else (item or "")
        for key in ("cite", "debrief"):
            yield node_id, node.get(key, "") or ""
        expect = node.get("expect") or {}
        yield node_id, expect.get("model", "") or ""
        for pattern in expect.get("patterns") or []:
            yield node_id, pattern.get("label", "")
        for option in node.get("options") or []:
            yield node_id, option.get("text", "")


def content_problems() -> list[str]:
    """Return `file:where: rule: excerpt` for every house-style break in courses/ and simulations/."""
    problems = []

    def check(path: Path, where, text: str, first_line: int | None = None) -> None:
        text = text or ""
        for rule, offset, excerpt in violations(text):
            at = where if first_line is None else first_line + text.count("\n", 0, offset)
            problems.append(f"{path.relative_to(ROOT)}:{at}: {rule}: {excerpt}")

    for path in sorted((ROOT / "courses").glob("*/course.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in ("title", "summary", "source"):
            check(path, key, data.get(key, ""))
    for path in sorted((ROOT / "courses").glob("*/[0-9]*-*.md")):
        head, body, first = _front_matter(path.read_text(encoding="utf-8"))
        for key in ("title", "source"):
            check(path, key, head.get(key, ""))
        check(path, "", body, first)
    for path in sorted((ROOT / "courses").glob("*/questions.gift")):
        for number, text in _gift_texts(path.read_text(encoding="utf-8")):
            check(path, number, text)
    for path in sorted((ROOT / "courses" / "exams").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in ("title", "summary"):
            check(path, key, data.get(key, ""))
    certifications = yaml.safe_load((ROOT / "courses" / "certifications.yaml").read_text(encoding="utf-8"))
    for key, item in certifications["certifications"].items():
        check(ROOT / "courses" / "certifications.yaml", key, item.get("title", ""))
    for path in sorted((ROOT / "simulations" / "scenarios").glob("*.yaml")):
        for where, text in _scenario_texts(yaml.safe_load(path.read_text(encoding="utf-8"))):
            check(path, where, text)
    return problems


# ---------------------------------------------------------------- the tests

@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_catches_what_it_describes(rule):
    for text in rule.bad:
        assert rule.pattern.search(text), f"{rule.id} should catch {text!r}"
    for text in rule.good:
        assert not rule.pattern.search(text), f"{rule.id} should let {text!r} pass"


def test_style_guide_names_every_checked_rule():
    guide = (ROOT / "docs" / "style.md").read_text(encoding="utf-8")
    missing = [rule.id for rule in RULES if f"`{rule.id}`" not in guide]
    assert not missing, f"docs/style.md does not describe {missing}"


def test_courses_and_scenarios_follow_the_house_style():
    problems = content_problems()
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} in all)"


def test_a_stated_answer_length_matches_every_accepted_answer():
    wrong = []
    for path in sorted((ROOT / "courses").glob("*/questions.gift")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"::([^:]+)::[^{]*（填?([一二三四五六七八九十])个字）[^{]*\{([^}]*)\}", text):
            name, size, block = match.group(1), "一二三四五六七八九十".index(match.group(2)) + 1, match.group(3)
            for answer in re.findall(r"=([^=~#]+)", block):
                bare = answer.strip().strip("「」")
                if len(bare) != size:
                    wrong.append(f"{path.relative_to(ROOT)}: {name}: 「{bare}」 is not {size} characters")
    assert not wrong, "\n".join(wrong)


# 第一章 五、基本语言 4、常用服务用语: each situation's standard phrase, as said in a model answer.
COMMON_PHRASES = {
    "进厅招呼": r"欢迎光临.{0,12}请问.{0,6}(办理什么业务|有什么可以帮)",
    "本台席办理": r"马上为您办理",
    "非本台席": r"请您?到[0-9一二三四五六七八九十]+号台席",
    "非本营业厅": r"本营业厅暂时没有办理此项业务",
    "尚未开办": r"(尚未|还未)开办",
    "不知道时问值班经理": r"值班经理",
    "请客户填单": r"请您先填好",
    "填写不当": r"不符合我们的业务受理规范要求",
    "收费": r"所需费用一共是",
    "唱收唱付": r"收您.{0,6}找您",
    "交接文件票据": r"这是您的.{0,8}请收好",
    "按规定不能办": r"按规定",
    "办结送客": r"再见.{0,2}欢迎下次光临",
    "拥挤催促": r"请遵守秩序|请不用着急",
    "久等": r"让您久等了",
    "特殊客户优先": r"请允许我先给这位办理",
    "交接班": r"正在交接班",
    "暂时离开岗位": r"复印.{0,30}请您?稍候",
    "请值班经理协助": r"我请.{0,6}来解决您的问题",
    "指导操作": r"我来帮助您操作",
    "客户提建议": r"谢谢您对我们公司的关心",
    "客户表扬": r"谢谢您对我们工作的支持",
}


def _normalized(text: str) -> str:
    return re.sub(r"[\s，。、；：！？…「」（）]", "", unicodedata.normalize("NFKC", text))


def test_every_common_service_phrase_is_practised_in_a_scenario_turn():
    models = []
    for path in sorted((ROOT / "simulations" / "scenarios").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        models += [_normalized((node.get("expect") or {}).get("model", "")) for node in data["nodes"].values()]
    unpractised = [name for name, pattern in COMMON_PHRASES.items()
                   if not any(re.search(pattern, model) for model in models)]
    assert not unpractised, f"no scenario turn's model answer practises {unpractised}"
