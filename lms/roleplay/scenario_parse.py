"""Reading a scenario from YAML (pure): the format of `simulations/FORMAT.md`, checked field by field.

Problems carry the line and node they are about; the graph-level checks (reachability, endings)
and the node tests live in `validate.py`.

A trainer's `regex:` runs on every learner reply, so it is compiled with RE2 (google-re2), whose
matching time is linear in the reply whatever the pattern: `(a+)+b` cannot stall the server as it
would with Python's backtracking `re`. RE2 has no lookaround (`(?=…)`, `(?<=…)`) and no
backreferences (`\\1`); a pattern using them, or longer than `MAX_REGEX`, is refused with its line.
"""

from __future__ import annotations

from typing import Any, Mapping

import re2

from .conditions import Condition, ConditionError, parse as parse_condition
from .keypoints import pattern_from_phrasings, phrasing_problems
from .phrasebook import MUST_IDS
from .scenario import (
    CATEGORIES, CHOICE_POINTS, DEFAULT_ELAPSED, ID_RE, MAX_NODE_TITLE, MODES, NODE_RE, OUTCOMES, STAGES, TURN_NAMES, Branch, Expect,
    Node, NodeTest, Option, Pattern, Scenario, Variable,
)


MAX_REGEX = 300  # characters of one pattern; the longest shipped one has about 110
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the trainer, not logged to stderr


class RegexError(ValueError):
    """A trainer's pattern that cannot be used (the message says why, in Chinese)."""


def compile_regex(pattern: str):
    """Compile a trainer's pattern with RE2 (linear-time matching), or raise RegexError."""
    if len(pattern) > MAX_REGEX:
        raise RegexError(f"正则表达式太长（{len(pattern)}个字符，最多{MAX_REGEX}个）")
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = ("（不支持前后查找「(?=」「(?<=」和反向引用「\\1」）"
                if "perl operator" in detail or "escape sequence" in detail else "")
        raise RegexError(f"正则表达式「{pattern}」无法编译：{detail}{hint}") from exc


class ScenarioError(ValueError):
    """A scenario cannot be parsed; `problems` lists (line, node, message)."""

    def __init__(self, problems: list[tuple[int | None, str, str]]):
        super().__init__("；".join(f"{n}：{m}" if n else m for _, n, m in problems))
        self.problems = problems


def parse_scenario(data: Any, scenario_id: str, positions: tuple[str, ...]) -> Scenario:
    """Build a scenario from parsed YAML (yamlx LineDicts), or raise ScenarioError."""
    p = _Problems()
    if not isinstance(data, dict):
        raise ScenarioError([(1, "", "场景文件应为键值对（mapping）")])
    if data.get("id", scenario_id) != scenario_id:
        p.add(data, "id", "", f"id「{data.get('id')}」应与文件名「{scenario_id}」一致")
    if not ID_RE.match(scenario_id):
        p.add(data, None, "", "文件名只能用小写字母、数字和「-」")
    title = _text(data, "title", p)
    if len(title) > 200:
        p.add(data, "title", "", "「title」太长（最多200字）")
    if len(str(data.get("summary", ""))) > 500:
        p.add(data, "summary", "", "「summary」太长（最多500字）")
    if len(scenario_id) > 64:
        p.add(data, None, "", "文件名太长（最多64个字符）")
    category = _text(data, "category", p)
    if category and category not in CATEGORIES:
        p.add(data, "category", "", f"未知类别「{category}」（可用：{'、'.join(CATEGORIES)}）")
    raw_positions = data.get("positions") or []
    if not isinstance(raw_positions, list):
        p.add(data, "positions", "", "「positions」应为岗位列表")
        raw_positions = []
    for name in raw_positions:
        if name not in positions:
            p.add(data, "positions", "", f"未知岗位「{name}」")
    difficulty = data.get("difficulty", 1)
    if not isinstance(difficulty, int) or not 1 <= difficulty <= 3:
        p.add(data, "difficulty", "", "「difficulty」应为1～3")
        difficulty = 1
    source = data.get("source")
    source = tuple(str(s) for s in source) if isinstance(source, list) else ((str(source),) if source else ())
    if not source:
        p.add(data, "source", "", "缺少「source」（制度出处）")
    persona = data.get("persona") or {}
    if not isinstance(persona, dict):
        p.add(data, "persona", "", "「persona」应为键值对")
        persona = {}
    variables = _variables(data, p)
    mood = persona.get("mood")
    if mood is not None and mood not in variables:
        p.add(persona, "mood", "", f"persona.mood「{mood}」不是已声明的变量")
    pass_score = data.get("pass_score", 60)
    if not isinstance(pass_score, int) or not 0 <= pass_score <= 100:
        p.add(data, "pass_score", "", "「pass_score」应为0～100的整数")
        pass_score = 60
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        p.add(data, "nodes", "", "缺少「nodes」")
        raw_nodes = {}
    nodes, named = {}, {}
    for node_id, spec in raw_nodes.items():
        node = _node(str(node_id), spec, raw_nodes, variables, p)
        if node is None:
            continue
        nodes[node.id] = node
        if node.title in named:
            p.add(spec, "title", node.id, f"节点名称「{node.title}」与节点「{named[node.title]}」重复")
        named.setdefault(node.title, node.id)
    start = data.get("start")
    if start not in raw_nodes:
        p.add(data, "start", "", f"start「{start}」不是已有节点")
    p.raise_if_any()
    return Scenario(
        id=scenario_id, title=title, category=category, positions=tuple(raw_positions), difficulty=difficulty,
        source=source, summary=str(data.get("summary", "")), persona_name=str(persona.get("name", "客户")),
        persona_description=str(persona.get("description", "")), mood=mood, variables=variables,
        pass_score=pass_score, require_stages=bool(data.get("require_stages", False)), start=str(start),
        nodes=nodes,
    )


class _Problems:
    def __init__(self):
        self.items: list[tuple[int | None, str, str]] = []

    def add(self, obj: Any, key: str | None, node: str, message: str) -> None:
        line = None
        if hasattr(obj, "line_of"):
            line = obj.line_of(key) if key else obj.line
        self.items.append((line, node, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ScenarioError(self.items)


def _text(data: Mapping, key: str, p: _Problems, node: str = "") -> str:
    value = data.get(key)
    if value is None or not str(value).strip():
        p.add(data, key, node, f"缺少「{key}」")
        return ""
    return str(value).strip()


def _variables(data: Mapping, p: _Problems) -> dict[str, Variable]:
    raw = data.get("variables") or {}
    if not isinstance(raw, dict):
        p.add(data, "variables", "", "「variables」应为键值对")
        return {}
    result = {}
    for name, spec in raw.items():
        if name in TURN_NAMES or name in ("hit", "pattern"):
            p.add(raw, name, "", f"变量名「{name}」是保留名称")
            continue
        spec = spec if isinstance(spec, dict) else {"initial": spec}
        values = [spec.get("initial", 0), spec.get("min", 0), spec.get("max", 10)]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            p.add(raw, name, "", f"变量「{name}」的「initial」「min」「max」应为整数")
            continue
        initial, low, high = values
        if not low <= initial <= high:
            p.add(raw, name, "", f"变量「{name}」的「initial」应在「min」与「max」之间")
        result[str(name)] = Variable(str(name), initial, low, high)
    return result


def _node(node_id: str, spec: Any, raw_nodes: Mapping, variables: Mapping[str, Variable], p: _Problems) -> Node | None:
    if not NODE_RE.match(node_id) or len(node_id) > 64:
        p.add(raw_nodes, node_id, node_id, "节点名只能用字母、数字、「-」和「_」，最多64个字符")
    if not isinstance(spec, dict):
        p.add(raw_nodes, node_id, node_id, "节点应为键值对")
        return None
    line = spec.line if hasattr(spec, "line") else 0
    title = _node_title(node_id, spec, p)
    lines = _customer_lines(node_id, spec, p)
    if spec.get("end"):
        outcome = spec.get("outcome")
        if outcome not in OUTCOMES:
            p.add(spec, "outcome", node_id, f"结局的「outcome」应为{'、'.join(OUTCOMES)}之一")
        if not spec.get("debrief"):
            p.add(spec, "debrief", node_id, "结局缺少「debrief」（复盘说明）")
        return Node(node_id, line, lines, end=True, outcome=str(outcome or ""), debrief=str(spec.get("debrief", "")),
                    cite=str(spec.get("cite", "")), title=title)
    mode = spec.get("mode", "text")
    if mode not in MODES:
        p.add(spec, "mode", node_id, "「mode」应为「text」或「choice」")
    expect = _expect(node_id, spec.get("expect") or {}, spec, p)
    options = _options(node_id, spec, p)
    if mode == "choice" and not options:
        p.add(spec, "options", node_id, "「choice」节点需要「options」")
    forbid = spec.get("forbid") or []
    if not isinstance(forbid, list):
        p.add(spec, "forbid", node_id, "「forbid」应为列表")
        forbid = []
    branches = _branches(node_id, spec, raw_nodes, variables, p)
    tests = _tests(node_id, spec, p)
    points = spec.get("points", CHOICE_POINTS)
    if "points" in spec and not (mode == "choice" and expect.empty):
        p.add(spec, "points", node_id, "「points」只用于没有「expect」的「choice」节点（文字节点的满分来自「expect」）")
    if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
        p.add(spec, "points", node_id, "「points」应为正数")
        points = CHOICE_POINTS
    return Node(node_id, line, lines, mode, expect, tuple(str(f) for f in forbid), str(spec.get("cite", "")),
                options, branches, tests, points=float(points), title=title)


def _node_title(node_id: str, spec: Mapping, p: _Problems) -> str:
    """The node's short Chinese name (`title:`), or "" when it has none (Node then shows its id)."""
    if "title" not in spec:
        return ""
    raw = spec.get("title")
    title = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not title:
        p.add(spec, "title", node_id, "节点的「title」是空的：写一个简短的中文名称，如「受理投诉」")
    elif len(title) > MAX_NODE_TITLE:
        p.add(spec, "title", node_id, f"节点的「title」太长（{len(title)}个字，最多{MAX_NODE_TITLE}个）")
    return title


def _customer_lines(node_id: str, spec: Mapping, p: _Problems) -> tuple:
    raw = spec.get("customer")
    if raw is None:
        if not spec.get("end"):
            p.add(spec, None, node_id, "缺少「customer」（客户的话）")
        return ()
    if isinstance(raw, str):
        return ((None, raw),)
    if not isinstance(raw, list) or not raw:
        p.add(spec, "customer", node_id, "「customer」应为文字或变体列表")
        return ()
    result = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("text"):
            p.add(spec, "customer", node_id, "「customer」变体要有「text」")
            continue
        condition = None
        if "when" in item:
            try:
                condition = parse_condition(item["when"])
            except ConditionError as exc:
                p.add(item, "when", node_id, str(exc))
        result.append((condition, str(item["text"])))
    if result and result[-1][0] is not None:
        p.add(spec, "customer", node_id, "「customer」变体的最后一条不能带「when」（作为默认）")
    return tuple(result)


def _expect(node_id: str, raw: Any, spec: Mapping, p: _Problems) -> Expect:
    if not isinstance(raw, dict):
        p.add(spec, "expect", node_id, "「expect」应为键值对")
        return Expect()
    categories = raw.get("categories") or []
    if not isinstance(categories, list):
        p.add(raw, "categories", node_id, "「expect.categories」应为列表")
        categories = []
    for cat in categories:
        if cat not in MUST_IDS:
            p.add(raw, "categories", node_id, f"未知类别「{cat}」（可用：{'、'.join(MUST_IDS)}）")
    weights = raw.get("weights") or {}
    if not isinstance(weights, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in weights.values()):
        p.add(raw, "weights", node_id, "「expect.weights」应为键值对（类别：正数）")
        weights = {}
    for cat in weights:
        if cat not in categories:
            p.add(raw, "weights", node_id, f"「weights」中的「{cat}」不在「expect.categories」里")
    stage = raw.get("stage")
    if stage is not None and stage not in STAGES:
        p.add(raw, "stage", node_id, f"「stage」应为{'、'.join(STAGES)}之一")
    patterns = []
    seen: set[str] = set()
    raw_patterns = raw.get("patterns") or []
    if not isinstance(raw_patterns, list):
        p.add(raw, "patterns", node_id, "「expect.patterns」应为要点的列表")
        raw_patterns = []
    for item in raw_patterns:
        pattern = _pattern(node_id, item, raw, seen, p)
        if pattern is not None:
            patterns.append(pattern)
    return Expect(tuple(categories), {k: float(v) for k, v in weights.items()}, stage, tuple(patterns),
                  str(raw.get("model", "")))


def _pattern(node_id: str, item: Any, raw: Mapping, seen: set[str], p: _Problems) -> Pattern | None:
    """One key point (要点): `phrasings:` (example phrasings, keypoints.py) or `regex:` (RE2), never both."""
    if not isinstance(item, dict) or not item.get("id"):
        p.add(item if isinstance(item, dict) else raw, None if isinstance(item, dict) else "patterns", node_id,
              "每个要点要有「id」，以及「phrasings」（例句）或「regex」（正则）")
        return None
    if item["id"] in seen:
        p.add(item, "id", node_id, f"要点id「{item['id']}」重复")
    seen.add(item["id"])
    has_regex, has_phrasings = "regex" in item, "phrasings" in item
    if has_regex == has_phrasings:
        p.add(item, None, node_id, f"要点「{item['id']}」" + (
            "不能同时写「regex」和「phrasings」：二选一" if has_regex else "要写「phrasings」（例句）或「regex」（正则）之一"))
        return None
    phrasings: tuple[str, ...] = ()
    if has_phrasings:
        problems = phrasing_problems(item["phrasings"])
        for message in problems:
            p.add(item, "phrasings", node_id, f"要点「{item['id']}」：{message}")
        if problems:
            return None
        phrasings = tuple(str(x).strip() for x in item["phrasings"])
        source = pattern_from_phrasings(list(phrasings))
    elif not item.get("regex"):
        p.add(item, "regex", node_id, f"要点「{item['id']}」的「regex」是空的")
        return None
    else:
        source = str(item["regex"])
    try:
        compiled = compile_regex(source)
    except RegexError as exc:
        p.add(item, "phrasings" if has_phrasings else "regex", node_id, str(exc))
        return None
    weight = item.get("weight", 1)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
        p.add(item, "weight", node_id, "要点的「weight」应为正数")
        weight = 1
    return Pattern(str(item["id"]), str(item.get("label", item["id"])), compiled, float(weight), phrasings)


def _options(node_id: str, spec: Mapping, p: _Problems) -> tuple[Option, ...]:
    raw = spec.get("options") or []
    if not isinstance(raw, list):
        p.add(spec, "options", node_id, "「options」应为列表")
        return ()
    result, seen = [], set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("text"):
            p.add(spec, "options", node_id, "每个option要有「text」")
            continue
        option_id = str(item.get("id") or f"o{index + 1}")
        if len(option_id) > 64:
            p.add(item, "id", node_id, "option的「id」最多64个字符")
        if option_id in seen:
            p.add(item, "id", node_id, f"option id「{option_id}」重复")
        seen.add(option_id)
        score = item.get("score")
        if score is not None and (not isinstance(score, (int, float)) or not 0 <= score <= 1):
            p.add(item, "score", node_id, "option的「score」应在0～1之间")
            score = None
        result.append(Option(option_id, str(item["text"]), float(score) if score is not None else None))
    return tuple(result)


def _effects(item: Mapping, key: str, node_id: str, variables: Mapping[str, Variable], p: _Problems) -> dict:
    raw = item.get(key) or {}
    if not isinstance(raw, dict):
        p.add(item, key, node_id, f"「{key}」应为键值对（变量：整数）")
        return {}
    for name, value in raw.items():
        if name not in variables:
            p.add(item, key, node_id, f"「{key}」中的变量「{name}」未声明")
        if not isinstance(value, int) or isinstance(value, bool):
            p.add(item, key, node_id, f"「{key}」中「{name}」的值应为整数")
    return {str(k): v for k, v in raw.items() if isinstance(v, int)}


def _branches(node_id: str, spec: Mapping, raw_nodes: Mapping, variables: Mapping[str, Variable],
              p: _Problems) -> tuple[Branch, ...]:
    raw = spec.get("branches")
    if not isinstance(raw, list) or not raw:
        p.add(spec, "branches", node_id, "缺少「branches」")
        return ()
    known = TURN_NAMES | set(variables) | {f"hit.{c}" for c in MUST_IDS}
    pattern_ids = {pt.get("id") for pt in ((spec.get("expect") or {}).get("patterns") or []) if isinstance(pt, dict)}
    option_ids = {str(o.get("id")) for o in (spec.get("options") or []) if isinstance(o, dict)}
    result = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            p.add(spec, "branches", node_id, "branch应为键值对")
            continue
        line = item.line if hasattr(item, "line") else 0
        is_else = bool(item.get("else"))
        condition = None
        if is_else:
            if "when" in item:
                p.add(item, "when", node_id, "「else」分支不能再有「when」")
        elif "when" not in item:
            p.add(item, None, node_id, "分支要有「when」（或「else: true」）")
        else:
            try:
                condition = parse_condition(item["when"])
                for name in condition.names():
                    if name.startswith("pattern."):
                        if name[len("pattern."):] not in pattern_ids:
                            p.add(item, "when", node_id, f"条件中的「{name}」不是本节点的pattern")
                    elif name not in known:
                        p.add(item, "when", node_id, f"条件中的名称「{name}」未知")
                _check_choice_literals(condition, option_ids, item, node_id, p)
            except ConditionError as exc:
                p.add(item, "when", node_id, str(exc))
        goto = item.get("goto")
        if goto not in raw_nodes:
            p.add(item, "goto", node_id, f"goto「{goto}」不是已有节点")
        if is_else and index != len(raw) - 1:
            p.add(item, None, node_id, "「else」分支必须是最后一个")
        result.append(Branch(condition, str(goto), _effects(item, "add", node_id, variables, p),
                             _effects(item, "set", node_id, variables, p), line))
    if not raw or not (isinstance(raw[-1], dict) and raw[-1].get("else")):
        p.add(spec, "branches", node_id, "最后一个分支必须是「else: true」")
    return tuple(result)


def _check_choice_literals(condition: Condition, option_ids: set[str], item: Mapping, node_id: str,
                           p: _Problems) -> None:
    def walk(tree: tuple) -> None:
        if tree[0] == "cmp":
            sides = (tree[2], tree[3])
            if any(s == ("name", "choice", None) for s in sides):
                for s in sides:
                    if s[0] == "lit" and isinstance(s[1], str) and s[1] and s[1] not in option_ids:
                        p.add(item, "when", node_id, f"条件中的选项「{s[1]}」不是本节点的option id")
        for child in tree[1:]:
            if isinstance(child, tuple):
                walk(child)

    walk(condition.tree)


def _tests(node_id: str, spec: Mapping, p: _Problems) -> tuple[NodeTest, ...]:
    raw = spec.get("tests") or []
    if not isinstance(raw, list):
        p.add(spec, "tests", node_id, "「tests」应为列表")
        return ()
    result = []
    for item in raw:
        if not isinstance(item, dict) or not (item.get("reply") or item.get("option")):
            p.add(spec, "tests", node_id, "每个test要有「reply」或「option」")
            continue
        expected = {k: item[k] for k in ("next", "min_score", "max_score", "forbidden", "categories") if k in item}
        result.append(NodeTest(
            str(item["reply"]) if item.get("reply") else None,
            str(item["option"]) if item.get("option") else None,
            expected, dict(item.get("vars") or {}), float(item.get("elapsed", DEFAULT_ELAPSED)),
            item.line if hasattr(item, "line") else 0,
        ))
    return tuple(result)


