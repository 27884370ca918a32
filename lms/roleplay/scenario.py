"""Scenarios (情景演练): what a scenario is, and stepping through it (pure; parsing in scenario_parse).

A scenario is a graph of nodes. A node has the customer's line (which may vary with the
scenario's variables), an input mode, what the reply should contain (`expect`), and ordered
branches whose conditions read the turn's result and the variables. `step` scores one reply and
says where the conversation goes next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from ..rings import Rings
from .conditions import Condition, ConditionError
from .phrasebook import MUST_IDS, Analysis, Phrasebook

if TYPE_CHECKING:
    from .scoring import TurnScore

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
NODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
STAGES = ("listen", "explain", "solve", "follow_up")
STAGE_LABELS = {"listen": "接受投诉", "explain": "解释澄清", "solve": "提出解决", "follow_up": "跟踪总结"}
OUTCOMES = ("success", "partial", "fail")
OUTCOME_LABELS = {"success": "圆满解决", "partial": "部分解决", "fail": "未能解决"}
CATEGORIES = ("迎宾引导", "柜台受理", "投诉处理", "电话服务", "维系挽留", "现场管理")
MODES = ("text", "choice")
TURN_NAMES = {"score", "forbidden", "critical", "elapsed", "rings", "choice", "turns"}
TIMED_NAMES = {"elapsed", "rings"}  # a node branching on one of these shows the learner a timer
DEFAULT_ELAPSED = 5.0
MAX_NODE_TITLE = 20  # characters of a node's `title:`
CHOICE_POINTS = 2.0  # what a choice turn is worth unless its node says `points:` (a short typed turn's worth)


@dataclass(frozen=True)
class Variable:
    name: str
    initial: int
    minimum: int
    maximum: int

    def clamp(self, value: int) -> int:
        return max(self.minimum, min(self.maximum, value))


@dataclass(frozen=True)
class Pattern:
    """Required content that is not a stock phrase (a key point, 要点), found by a regular expression
    (RE2: linear time) — written by the trainer, or built from example phrasings (keypoints.py)."""

    id: str
    label: str
    regex: Any  # a compiled re2 pattern (scenario_parse.compile_regex)
    weight: float = 1.0
    phrasings: tuple[str, ...] = ()  # as written; empty for a key point written as `regex:`


@dataclass(frozen=True)
class Expect:
    categories: tuple[str, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    stage: str | None = None
    patterns: tuple[Pattern, ...] = ()
    model: str = ""

    @property
    def empty(self) -> bool:
        """Tell whether nothing is expected (no category, no pattern): the reply itself earns no points."""
        return not self.categories and not self.patterns


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    score: float | None = None


@dataclass(frozen=True)
class Branch:
    condition: Condition | None  # None: else
    goto: str
    add: Mapping[str, int] = field(default_factory=dict)
    set: Mapping[str, int] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class NodeTest:
    reply: str | None
    option: str | None
    expected: Mapping[str, Any]
    vars: Mapping[str, int]
    elapsed: float
    line: int


@dataclass(frozen=True)
class Node:
    id: str
    line: int
    lines: tuple[tuple[Condition | None, str], ...]  # customer line variants
    mode: str = "text"
    expect: Expect = Expect()
    forbid: tuple[str, ...] = ()
    cite: str = ""
    options: tuple[Option, ...] = ()
    branches: tuple[Branch, ...] = ()
    tests: tuple[NodeTest, ...] = ()
    end: bool = False
    outcome: str = ""
    debrief: str = ""
    points: float = CHOICE_POINTS  # a choice node without `expect`: the turn's maximum; each option's score is a share
    title: str = ""  # the short Chinese name shown instead of the id; the id when the file gives none

    def __post_init__(self):
        if not self.title:
            object.__setattr__(self, "title", self.id)

    @property
    def scored_choice(self) -> bool:
        """Tell whether the turn is an action picked from options, each option scoring a share of `points`."""
        return self.mode == "choice" and self.expect.empty

    @property
    def timed(self) -> bool:
        """Tell whether a branch reads the reply time (the UI then shows a timer)."""
        return any(b.condition is not None and TIMED_NAMES & b.condition.names() for b in self.branches)

    def customer_line(self, variables: Mapping[str, int]) -> str:
        """Return the customer's line for these variable values."""
        env = dict(variables)
        for condition, text in self.lines:
            if condition is None:
                return text
            try:
                if condition.evaluate(env):
                    return text
            except ConditionError:
                continue
        return self.lines[-1][1] if self.lines else ""

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    category: str
    positions: tuple[str, ...]
    difficulty: int
    source: tuple[str, ...]
    summary: str
    persona_name: str
    persona_description: str
    mood: str | None
    variables: Mapping[str, Variable]
    pass_score: int
    require_stages: bool
    start: str
    nodes: Mapping[str, Node]

    def initial_variables(self) -> dict[str, int]:
        return {name: v.initial for name, v in self.variables.items()}

    @property
    def endings(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.end]


# ---------------------------------------------------------------- stepping


@dataclass(frozen=True)
class Step:
    """The outcome of one reply: how it scored and where the conversation goes."""

    analysis: Analysis
    turn: "TurnScore"
    next_node: str
    variables: Mapping[str, int]
    option_id: str | None = None

    @property
    def forbidden(self) -> bool:
        return bool(self.analysis.forbidden)


def _holds(condition: Condition, env: Mapping[str, Any]) -> bool:
    """Evaluate a branch condition; one that cannot be evaluated (e.g. comparing text with a
    number) counts as false, so the conversation goes on along a later branch or `else`."""
    try:
        return condition.evaluate(env)
    except ConditionError:
        return False


def step(
    scenario: Scenario,
    node: Node,
    variables: Mapping[str, int],
    reply: str,
    phrasebook: Phrasebook,
    *,
    option_id: str | None = None,
    elapsed: float = DEFAULT_ELAPSED,
    turns: int = 1,
    rings: Rings = Rings(),
) -> Step:
    """Score a reply at a node and choose the branch to follow."""
    from .scoring import score_turn

    option = node.option(option_id) if option_id else None
    text = option.text if option is not None else reply
    analysis = phrasebook.analyze(text, node.forbid)
    turn = score_turn(node, analysis, phrasebook, fixed=option.score if option is not None else None)
    env: dict[str, Any] = {
        **variables,
        "score": turn.fraction,
        "forbidden": bool(analysis.forbidden),
        "critical": analysis.critical,
        "elapsed": elapsed,
        "rings": rings.started(elapsed),  # the rings begun by then, at the organisation's cadence (lms/rings.py)
        "choice": option.id if option is not None else "",
        "turns": turns,
        "hit": {c: analysis.has(c) for c in MUST_IDS},
        "pattern": {pt.id: pt.id in turn.patterns_hit for pt in node.expect.patterns},
    }
    branch = next(b for b in node.branches if b.condition is None or _holds(b.condition, env))
    new_vars = dict(variables)
    for name, value in branch.set.items():
        new_vars[name] = scenario.variables[name].clamp(value)
    for name, value in branch.add.items():
        new_vars[name] = scenario.variables[name].clamp(new_vars.get(name, 0) + value)
    return Step(analysis, turn, branch.goto, new_vars, option.id if option is not None else None)
