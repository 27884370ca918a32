"""Reading a phrasebook (pure): `simulations/phrasebook.yaml` (see simulations/FORMAT.md) into a
compiled `Phrasebook`, with every problem reported by line."""

from __future__ import annotations

import re
from typing import Any

from ..digest import text_hash
from .normalize import normalize
from .phrasebook import BOTH, CLAUSE_END, CLAUSE_START, GAP, MUST_IDS, SEVERITIES, Category, Phrasebook, Rule

WORD_RE = re.compile(r"\{([^{}]*)\}")
MAX_EXPANSIONS = 1000  # spellings one written phrase may stand for once its {words} are filled in


class PhrasebookError(ValueError):
    """The phrasebook file has problems; `problems` lists (line, message)."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        super().__init__("；".join(m for _, m in problems))
        self.problems = problems


def from_data(data: Any, source_hash: str = "") -> Phrasebook:
    """Build a phrasebook from parsed YAML (yamlx LineDicts), or raise PhrasebookError."""
    problems: list[tuple[int | None, str]] = []

    def line(obj: Any, key: str | None = None) -> int | None:
        if hasattr(obj, "line_of"):
            return obj.line_of(key) if key else obj.line
        return None

    if not isinstance(data, dict):
        raise PhrasebookError([(1, "「phrasebook」应为键值对（mapping）")])
    words = _words(data.get("words"), line(data, "words"), problems)

    def spell(written: Any, at: int | None) -> list[str]:
        """Every spelling a written phrase stands for (its {words} filled in); problems go to the list."""
        try:
            return expand(str(written), words)
        except ValueError as exc:
            problems.append((at, str(exc)))
            return []
    raw = data.get("categories")
    if not isinstance(raw, dict) or not raw:
        raise PhrasebookError([(line(data, "categories"), "缺少「categories」")])
    categories: list[Category] = []
    must_phrases: dict[str, tuple[str, ...]] = {}
    must_unless: dict[str, tuple[str, ...]] = {}
    rules: list[Rule] = []
    discouraged: dict[str, str] = {}
    questions: tuple[str, ...] = ()
    rebukes: tuple[str, ...] = ()
    seen_match: dict[str, str] = {}
    for cid, spec in raw.items():
        if not isinstance(spec, dict):
            problems.append((line(raw, cid), f"类别「{cid}」应为键值对"))
            continue
        kind = spec.get("kind")
        if kind not in ("must", "forbidden"):
            problems.append((line(spec, "kind"), f"类别「{cid}」：「kind」应为「must」或「forbidden」"))
            continue
        severity = spec.get("severity", "major")
        if severity not in SEVERITIES:
            problems.append((line(spec, "severity"), f"类别「{cid}」：「severity」应为「critical」或「major」"))
        try:
            weight, penalty = float(spec.get("weight", 1)), float(spec.get("penalty", 1))
        except (TypeError, ValueError):
            problems.append((line(spec), f"类别「{cid}」：「weight」「penalty」应为数字"))
            weight, penalty = 1.0, 1.0
        if not spec.get("label"):
            problems.append((line(spec), f"类别「{cid}」：缺少「label」"))
        categories.append(Category(str(cid), str(spec.get("label", cid)), kind, weight, severity, penalty,
                                   str(spec.get("source", "")), str(spec.get("hint", "")),
                                   str(spec.get("instead", ""))))
        if kind == "must":
            phrases = spec.get("phrases") or []
            if not isinstance(phrases, list) or not phrases:
                problems.append((line(spec, "phrases"), f"类别「{cid}」：缺少「phrases」"))
                phrases = []
            spelled = [s for p in phrases for s in spell(p, line(spec, "phrases"))]
            for phrase in spelled:
                key = normalize(phrase).text
                if not key:
                    problems.append((line(spec, "phrases"), f"类别「{cid}」：短语「{phrase}」去掉标点后为空"))
                elif key in seen_match and seen_match[key] != cid:
                    problems.append((line(spec, "phrases"), f"短语「{phrase}」同时属于「{seen_match[key]}」和「{cid}」"))
                seen_match[key] = str(cid)
            must_phrases[str(cid)] = tuple(dict.fromkeys(spelled))
            if spec.get("questions") is not None:
                if cid != "inquiry" or not isinstance(spec["questions"], list):
                    problems.append((line(spec, "questions"), f"类别「{cid}」：「questions」只用于「inquiry」，应为列表"))
                else:
                    questions = tuple(str(q) for q in spec["questions"])
            if spec.get("rebukes") is not None:
                if cid != "inquiry" or not isinstance(spec["rebukes"], list):
                    problems.append((line(spec, "rebukes"), f"类别「{cid}」：「rebukes」只用于「inquiry」，应为列表"))
                else:
                    rebukes = tuple(s for r in spec["rebukes"] for s in spell(r, line(spec, "rebukes")))
            unless = spec.get("unless") or []
            if not isinstance(unless, list):
                problems.append((line(spec, "unless"), f"类别「{cid}」：「unless」应为列表"))
                unless = []
            must_unless[str(cid)] = tuple(s for u in unless for s in spell(u, line(spec, "unless")))
            for phrase, advice in (spec.get("discouraged") or {}).items():
                discouraged[str(phrase)] = str(advice)
        else:
            raw_rules = spec.get("rules") or []
            if not isinstance(raw_rules, list) or not raw_rules:
                problems.append((line(spec, "rules"), f"类别「{cid}」：缺少「rules」"))
                raw_rules = []
            for rule in raw_rules:
                if not isinstance(rule, dict) or not rule.get("phrase"):
                    problems.append((line(rule) or line(spec, "rules"), f"类别「{cid}」：每条规则要有「phrase」"))
                    continue
                match = rule.get("match") or [rule["phrase"]]
                if not isinstance(match, list):
                    problems.append((line(rule, "match"), f"「{rule['phrase']}」：「match」应为列表"))
                    continue
                spelled = []
                for m in match:
                    if GAP in str(m) and BOTH in str(m):
                        problems.append((line(rule, "match"), f"「{rule['phrase']}」：match「{m}」不能同时用省略号（按顺序）和加号（不论顺序）"))
                    bare = str(m).removeprefix(CLAUSE_START).removesuffix(CLAUSE_END)
                    if CLAUSE_START in bare or CLAUSE_END in bare:
                        problems.append((line(rule, "match"), f"「{rule['phrase']}」：match「{m}」里「^」只能写在开头，「$」只能写在结尾"))
                    for s in spell(m, line(rule, "match")):
                        if not all(normalize(part).text for part in re.split(r"[…+]", s.strip("^$"))):
                            problems.append((line(rule, "match"), f"「{rule['phrase']}」：match「{m}」去掉标点后为空"))
                            break
                        spelled.append(s)
                unless = rule.get("unless") or []
                if not isinstance(unless, list):
                    problems.append((line(rule, "unless"), f"「{rule['phrase']}」：「unless」应为列表"))
                    unless = []
                redeemed = rule.get("redeemed_by") or []
                if not isinstance(redeemed, list):
                    problems.append((line(rule, "redeemed_by"), f"「{rule['phrase']}」：「redeemed_by」应为列表"))
                    redeemed = []
                rules.append(Rule(str(cid), str(rule["phrase"]), tuple(dict.fromkeys(spelled)),
                                  bool(rule.get("clause_only", False)),
                                  tuple(s for u in unless for s in spell(u, line(rule, "unless"))),
                                  tuple(normalize(s).text for r in redeemed for s in spell(r, line(rule, "redeemed_by")))))
    ids = [c.id for c in categories if c.kind == "must"]
    if sorted(ids) != sorted(MUST_IDS):
        problems.append((line(data, "categories"),
                         f"必说类别应正好是{'、'.join(MUST_IDS)}（现有：{'、'.join(ids) or '无'}）"))
    negators = data.get("negators") or []
    if not isinstance(negators, list):
        problems.append((line(data, "negators"), "「negators」应为列表"))
        negators = []
    negators = [s for n in negators for s in spell(n, line(data, "negators"))]
    denials = data.get("denials") or []
    if not isinstance(denials, list):
        problems.append((line(data, "denials"), "「denials」应为列表"))
        denials = []
    denials = [s for d in denials for s in spell(d, line(data, "denials"))]
    gap = data.get("negator_gap", 3)
    if not isinstance(gap, int) or gap < 0:
        problems.append((line(data, "negator_gap"), "「negator_gap」应为非负整数"))
        gap = 3
    if problems:
        raise PhrasebookError(problems)
    return Phrasebook(categories, must_phrases, rules, [str(n) for n in negators], gap, discouraged, source_hash,
                      must_unless, questions, rebukes, tuple(denials))


def _words(raw: Any, at: int | None, problems: list[tuple[int | None, str]]) -> dict[str, tuple[str, ...]]:
    """The word groups (同义词组): a name and the words that mean the same, e.g. 自己: [自己, 自个儿]."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append((at, "「words」应为键值对：名称和同义的写法列表"))
        return {}
    words: dict[str, tuple[str, ...]] = {}
    for name, spellings in raw.items():
        where = raw.line_of(name) if hasattr(raw, "line_of") else at
        if not isinstance(spellings, list) or not spellings or not all(isinstance(s, (str, int)) for s in spellings):
            problems.append((where, f"词组「{name}」应为非空的写法列表"))
            continue
        if any(WORD_RE.search(str(s)) or not normalize(str(s)).text for s in spellings):
            problems.append((where, f"词组「{name}」：写法不能为空，也不能再引用词组"))
            continue
        words[str(name)] = tuple(str(s) for s in spellings)
    return words


def expand(written: str, words: dict[str, tuple[str, ...]]) -> list[str]:
    """Every spelling of a phrase whose {name}s stand for a word group (ValueError for an unknown
    name or too many spellings)."""
    parts = WORD_RE.split(written)  # text, name, text, name, …, text
    if any("{" in text or "}" in text for text in parts[::2]):
        raise ValueError(f"「{written}」：花括号不成对")
    spellings = [parts[0]]
    for i in range(1, len(parts), 2):
        group = words.get(parts[i])
        if group is None:
            raise ValueError(f"「{written}」：没有词组「{parts[i]}」（在「words」下定义）")
        spellings = [s + w + parts[i + 1] for s in spellings for w in group]
        if len(spellings) > MAX_EXPANSIONS:
            raise ValueError(f"「{written}」：展开后超过{MAX_EXPANSIONS}种写法，请拆成几条")
    return spellings


def parse(text: str) -> Phrasebook:
    """Parse phrasebook YAML text (raises PhrasebookError or yamlx.YamlError)."""
    from ..yamlx import load

    return from_data(load(text), text_hash(text))
