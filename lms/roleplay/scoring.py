"""Scoring of turns and runs (pure).

Turn: a typed reply earns the weights of the expected categories and patterns hit − penalties of
forbidden phrases, clamped to [0, max]; a critical forbidden phrase scores 0. A choice turn (an
action picked from options, no `expect`) is worth the node's `points`, of which the picked
option's `score` is the share. An option with a fixed `score` on a typed node earns that share
of the node's maximum.

Run: 100 × Σ points ÷ Σ maxima of the turns actually visited, rounded, except that 100 needs
every point (99.6 shows 99) and no points at all is 0. A run passes when that score reaches the
scenario's pass mark, no critical forbidden phrase was said, it did not end in failure, and — for
complaint scenarios — the four stages were reached in order (受理 → 解释澄清 → 提出解决 → 跟踪).
The shown score never contradicts the verdict: a run that fails for any other reason shows at
most pass mark − 1, and its reasons give the uncapped total (simulations/FORMAT.md, "Scores").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .phrasebook import Analysis, Phrasebook
from .scenario import STAGE_LABELS, STAGES, Node

STAGE_REACHED = 0.5  # a stage counts as reached by a turn scoring at least this fraction


@dataclass(frozen=True)
class TurnScore:
    points: float
    max_points: float
    fraction: float
    hit: tuple[str, ...]
    missing: tuple[str, ...]
    patterns_hit: tuple[str, ...]
    patterns_missing: tuple[str, ...]
    penalty: float


def score_turn(node: Node, analysis: Analysis, phrasebook: Phrasebook, fixed: float | None = None) -> TurnScore:
    """Score one reply against what the node expects (`fixed`: the picked option's own score)."""
    expect = node.expect
    if node.scored_choice and fixed is not None:
        return TurnScore(fixed * node.points, node.points, fixed, (), (), (), (), 0.0)
    weights = {c: expect.weights.get(c, phrasebook.categories[c].weight if c in phrasebook.categories else 1.0)
               for c in expect.categories}
    hit = tuple(c for c in expect.categories if analysis.has(c))
    missing = tuple(c for c in expect.categories if not analysis.has(c))
    normalized = analysis.normalized
    patterns_hit = tuple(p.id for p in expect.patterns if p.regex.search(normalized))
    patterns_missing = tuple(p.id for p in expect.patterns if p.id not in patterns_hit)
    max_points = sum(weights.values()) + sum(p.weight for p in expect.patterns)
    got = sum(weights[c] for c in hit) + sum(p.weight for p in expect.patterns if p.id in patterns_hit)
    penalty = sum(f.penalty for f in analysis.said)  # each 服务忌语 once, however often it was said
    if fixed is not None:
        points = fixed * max_points
        fraction = fixed
    elif analysis.critical:
        points, fraction = 0.0, 0.0
    else:
        points = max(0.0, min(max_points, got - penalty))
        if max_points:
            fraction = points / max_points
        else:  # only in versions saved before every node needed a maximum (validate.check_scoring)
            fraction = 0.0 if analysis.forbidden else 1.0
    return TurnScore(points, max_points, fraction, hit, missing, patterns_hit, patterns_missing, penalty)


@dataclass(frozen=True)
class TurnRecord:
    """What the run scorer needs to know of a turn."""

    points: float
    max_points: float
    fraction: float
    critical: bool
    stage: str | None


@dataclass(frozen=True)
class RunResult:
    score: int  # what the learner is shown: ≥ pass mark exactly when passed
    passed: bool
    reasons: tuple[str, ...]  # why it did not pass (empty when it passed)
    stages_reached: tuple[str, ...]
    raw_score: int = 0  # the turns' total before a failing run is capped below the pass mark


def stages_in_order(turns: Iterable[TurnRecord]) -> tuple[tuple[str, ...], bool]:
    """Return the stages reached (first reach, in order) and whether they are all four, in order."""
    reached: list[str] = []
    for turn in turns:
        if turn.stage and turn.fraction >= STAGE_REACHED and turn.stage not in reached:
            reached.append(turn.stage)
    return tuple(reached), tuple(reached) == STAGES


def percent(points: float, maximum: float) -> int:
    """Turn points into 0–100: rounded, but 100 only when every point was earned, and 0 with no maximum."""
    if maximum <= 0:
        return 0
    score = round(100 * points / maximum)
    return 99 if score == 100 and points < maximum else score


def score_run(turns: Sequence[TurnRecord], pass_score: int, outcome: str, require_stages: bool) -> RunResult:
    """Score a finished run and say whether it passed, and if not, why."""
    raw = percent(sum(t.points for t in turns), sum(t.max_points for t in turns))
    reasons = []
    if any(t.critical for t in turns):
        reasons.append("说了严重的服务忌语")
    if outcome == "fail":
        reasons.append("演练以失败结局结束")
    reached, in_order = stages_in_order(turns)
    if require_stages and not in_order:
        got = " → ".join(STAGE_LABELS[s] for s in reached) or "无"
        reasons.append(f"投诉处理阶段未按顺序走完（应为{' → '.join(STAGE_LABELS.values())}，实际：{got}）")
    score = raw
    if reasons and raw >= pass_score:
        # A failing run must not look like a pass (or a perfect run): keep it below the pass mark
        # and say what the turns alone would have given, so the score stays explainable.
        score = max(0, pass_score - 1)
        reasons.append(f"各轮得分合计{raw}分，但演练未通过，按{score}分计（及格线{pass_score}分）")
    elif raw < pass_score:
        reasons.insert(0, f"得分{raw}未达到{pass_score}分")
    return RunResult(score, not reasons, tuple(reasons), reached, raw)
