"""Read and validate `simulations/` (pure): the phrasebook and every scenario.

Besides the format checks of `parse_scenario`, the graph must hold together (every target
exists, every node is reachable from `start`, an ending is reachable from every node, so cycles
can exit), every node's `tests:` must score and branch as labelled, and the scoring must be
sound (`check_scoring`: every turn has a real maximum that the best answer reaches, and a typed
run cannot end without a typed turn). Problems carry file, line and node:
`simulations/scenarios/x.yaml:12: open: message`.

These checks guard new content only: stored versions are parsed without them, so old runs stay
readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ..accounts.constants import POSITIONS
from ..yamlx import YamlError, at_line, load, yaml_error_message
from ..digest import text_hash
from .phrasebook import Phrasebook
from .phrasebook_load import PhrasebookError, parse as parse_phrasebook
from .scenario import Scenario, step
from .scenario_parse import ScenarioError, parse_scenario


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    node: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.node}：{self.message}" if self.node else f"{where}: {self.message}"


@dataclass
class ScenarioFile:
    id: str
    path: str
    text: str
    scenario: Scenario

    @property
    def source_hash(self) -> str:
        return text_hash(self.text)


@dataclass
class Simulations:
    phrasebook_text: str = ""
    phrasebook: Phrasebook | None = None
    scenarios: list[ScenarioFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def load_simulations(root: Path) -> Simulations:
    """Read the phrasebook and all scenarios under root; validate everything."""
    sims = Simulations()
    rel = lambda path: str(Path(root.name) / path.relative_to(root))  # noqa: E731
    book_path = root / "phrasebook.yaml"
    if not book_path.is_file():
        sims.problems.append(Problem(rel(book_path), None, "", "缺少「phrasebook.yaml」"))
        return sims
    sims.phrasebook_text = book_path.read_text(encoding="utf-8")
    try:
        sims.phrasebook = parse_phrasebook(sims.phrasebook_text)
    except PhrasebookError as exc:
        sims.problems += [Problem(rel(book_path), line, "", message) for line, message in exc.problems]
        return sims
    except YamlError as exc:
        sims.problems.append(Problem(rel(book_path), exc.line, "", str(exc)))
        return sims
    for path in sorted((root / "scenarios").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        try:
            scenario = parse_scenario_text(text, path.stem)
        except YamlError as exc:
            sims.problems.append(Problem(rel(path), exc.line, "", str(exc)))
            continue
        except ScenarioError as exc:
            sims.problems += [Problem(rel(path), line, node, message) for line, node, message in exc.problems]
            continue
        problems = check_scenario(scenario, sims.phrasebook)
        sims.problems += [Problem(rel(path), line, node, message) for line, node, message in problems]
        if not problems:
            sims.scenarios.append(ScenarioFile(path.stem, rel(path), text, scenario))
    return sims


def problem_text(line: int | None, node: str, message: str, titles: Mapping[str, str] | None = None) -> str:
    """One problem as a trainer reads it in the browser: 「第54行：节点「受理投诉」：……」 (the node by its
    title when `titles` gives one; `lms check` prints `file:line: node: message` instead, see Problem)."""
    where = f"节点「{(titles or {}).get(node) or node}」：" if node else ""
    return at_line(line) + where + message


def node_titles(text: str) -> dict[str, str]:
    """The `title:` of each node of a scenario text that may not parse as a scenario ({} if not YAML)."""
    try:
        nodes = (load(text) or {}).get("nodes")
    except (YamlError, AttributeError):
        return {}
    if not isinstance(nodes, dict):
        return {}
    return {str(nid): str(spec["title"]) for nid, spec in nodes.items()
            if isinstance(spec, dict) and isinstance(spec.get("title"), str) and spec["title"].strip()}


def scenario_text_problems(text: str, scenario_id: str,
                           phrasebook: Phrasebook | Callable[[], Phrasebook]) -> list[str]:
    """Everything `lms check` would say about a scenario text, each problem as `problem_text` writes it
    (`phrasebook` may be a function giving it: it is then fetched only for a text that parses)."""
    try:
        scenario = parse_scenario_text(text, scenario_id)
    except YamlError as exc:
        return [yaml_error_message(exc)]
    except ScenarioError as exc:
        titles = node_titles(text)
        return [problem_text(line, node, message, titles) for line, node, message in exc.problems]
    titles = {nid: node.title for nid, node in scenario.nodes.items()}
    book = phrasebook() if callable(phrasebook) else phrasebook
    return [problem_text(line, node, message, titles) for line, node, message in check_scenario(scenario, book)]


def parse_scenario_text(text: str, scenario_id: str) -> Scenario:
    """Parse scenario YAML text (raises ScenarioError or YamlError)."""
    return parse_scenario(load(text), scenario_id, POSITIONS)


def check_scenario(scenario: Scenario, phrasebook: Phrasebook) -> list[tuple[int | None, str, str]]:
    """Everything `lms check` says about one parsed scenario: graph, node tests, scoring."""
    return check_graph(scenario) + check_tests(scenario, phrasebook) + check_scoring(scenario, phrasebook)


def check_graph(scenario: Scenario) -> list[tuple[int | None, str, str]]:
    """Every node reachable from start; from every node an ending reachable."""
    problems = []
    edges = {nid: {b.goto for b in node.branches} for nid, node in scenario.nodes.items()}
    seen, todo = {scenario.start}, [scenario.start]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    for nid, node in scenario.nodes.items():
        if nid not in seen:
            problems.append((node.line, nid, "从「start」无法到达这个节点"))
    if not scenario.endings:
        problems.append((None, "", "没有任何结局节点（「end: true」）"))
        return problems
    can_end = {n.id for n in scenario.endings}
    changed = True
    while changed:
        changed = False
        for nid, targets in edges.items():
            if nid not in can_end and targets & can_end:
                can_end.add(nid)
                changed = True
    for nid, node in scenario.nodes.items():
        if nid not in can_end:
            problems.append((node.line, nid, "从这个节点永远走不到结局（循环无法退出）"))
    return problems


def check_tests(scenario: Scenario, phrasebook: Phrasebook) -> list[tuple[int | None, str, str]]:
    """Run every node's example replies and compare with their labels."""
    problems = []
    for node in scenario.nodes.values():
        for test in node.tests:
            label = test.reply or f"option {test.option}"
            unknown = set(test.vars) - set(scenario.variables)
            if unknown:
                problems.append((test.line, node.id, f"测试「{label}」的「vars」含未声明变量「{'、'.join(sorted(unknown))}」"))
                continue
            if test.option and node.option(test.option) is None:
                problems.append((test.line, node.id, f"测试的option「{test.option}」不存在"))
                continue
            variables = {**scenario.initial_variables(), **test.vars}
            result = step(scenario, node, variables, test.reply or "", phrasebook, option_id=test.option,
                          elapsed=test.elapsed)
            expected = test.expected
            said = (f"（得分{result.turn.fraction:.2f}，命中{'、'.join(result.analysis.categories) or '无'}，"
                    f"忌语{'、'.join(f.phrase for f in result.analysis.forbidden) or '无'}，去向{result.next_node}）")
            if "next" in expected and expected["next"] != result.next_node:
                problems.append((test.line, node.id, f"测试「{label}」应去「{expected['next']}」{said}"))
            if "min_score" in expected and result.turn.fraction < float(expected["min_score"]):
                problems.append((test.line, node.id, f"测试「{label}」得分应至少{expected['min_score']}{said}"))
            if "max_score" in expected and result.turn.fraction > float(expected["max_score"]):
                problems.append((test.line, node.id, f"测试「{label}」得分应至多{expected['max_score']}{said}"))
            if "forbidden" in expected and bool(expected["forbidden"]) != result.forbidden:
                want = "应" if expected["forbidden"] else "不应"
                problems.append((test.line, node.id, f"测试「{label}」{want}命中服务忌语{said}"))
            for cat in expected.get("categories") or []:
                if not result.analysis.has(cat):
                    problems.append((test.line, node.id, f"测试「{label}」应命中「{cat}」{said}"))
    return problems


def check_scoring(scenario: Scenario, phrasebook: Phrasebook) -> list[tuple[int | None, str, str]]:
    """Every turn has a real maximum the best answer reaches; a typed run needs a typed turn."""
    problems: list[tuple[int | None, str, str]] = []
    if scenario.pass_score < 1:
        problems.append((None, "", "「pass_score」至少为1（未通过的演练要能显示低于及格线的分数）"))
    initial = scenario.initial_variables()
    for node in scenario.nodes.values():
        if node.end:
            continue
        if node.scored_choice:
            unscored = [o.id for o in node.options if o.score is None]
            if unscored:
                problems.append((node.line, node.id, f"「choice」节点没有「expect」，每个选项都要有「score」（缺：{'、'.join(unscored)}）"))
            elif max(o.score for o in node.options) < 1:
                problems.append((node.line, node.id, "「choice」节点最好的选项应得满分（「score: 1」）"))
            continue
        if node.expect.empty:
            problems.append((node.line, node.id, "文字节点要有「expect」（类别或「pattern」），否则这一轮没有满分可言"))
            continue
        answers = [("参考说法", node.expect.model, None)] if node.expect.model else []
        answers += [(f"选项「{o.id}」", "", o.id) for o in node.options]
        best = []
        for label, reply, option_id in answers:
            result = step(scenario, node, initial, reply, phrasebook, option_id=option_id)
            if label == "参考说法" and (result.turn.fraction < 1 or result.forbidden):
                problems.append((node.line, node.id, f"参考说法应得满分且不含服务忌语（得分{result.turn.fraction:.2f}，"
                                                     f"缺{'、'.join(result.turn.missing + result.turn.patterns_missing) or '无'}）"))
            if option_id:
                best.append(result.turn.fraction)
        if best and max(best) < 1:
            problems.append((node.line, node.id, f"新手模式的选项中应有一个得满分（最高{max(best):.2f}）"))
    problems += _untyped_endings(scenario)
    return problems


def _untyped_endings(scenario: Scenario) -> list[tuple[int | None, str, str]]:
    """Endings a typing-mode run reaches through choice nodes only (the learner never types)."""
    seen, todo = {scenario.start}, [scenario.start]
    while todo:
        node = scenario.nodes[todo.pop()]
        if node.end or node.mode == "text":
            continue
        for branch in node.branches:
            if branch.goto not in seen and branch.goto in scenario.nodes:
                seen.add(branch.goto)
                todo.append(branch.goto)
    return [(scenario.nodes[nid].line, nid, "打字模式下只经过选择节点就能到达这个结局：演练可能一句话都不用说就结束")
            for nid in sorted(seen) if scenario.nodes[nid].end]
