"""Scoring of turns and runs (pure).

Turn: points = weights of the expected categories and patterns hit − penalties of forbidden
phrases, clamped to [0, max]; a critical forbidden phrase scores 0. Run: 100 × Σ points ÷ Σ
maxima of the turns actually visited. A run passes when its score reaches the scenario's
threshold, no critical forbidden phrase was said, it did not end in failure, and — for complaint
scenarios — the four stages were reached in order (受理 → 解释澄清 → 提出解决 → 跟踪).
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
    """Score one reply against what the node expects."""
    expect = node.expect
    weights = {c: expect.weights.get(c, phrasebook.categories[c].weight if c in phrasebook.categories else 1.0)
               for c in expect.categories}
    hit = tuple(c for c in expect.categories if analysis.has(c))
    missing = tuple(c for c in expect.categories if not analysis.has(c))
    normalized = analysis.normalized
    patterns_hit = tuple(p.id for p in expect.patterns if p.regex.search(normalized))
    patterns_missing = tuple(p.id for p in expect.patterns if p.id not in patterns_hit)
    max_points = sum(weights.values()) + sum(p.weight for p in expect.patterns)
    got = sum(weights[c] for c in hit) + sum(p.weight for p in expect.patterns if p.id in patterns_hit)
    penalty = sum(f.penalty for f in analysis.forbidden)
    if fixed is not None:
        points = fixed * max_points
        fraction = fixed
    elif analysis.critical:
        points, fraction = 0.0, 0.0
    else:
        points = max(0.0, min(max_points, got - penalty))
        if max_points:
            fraction = points / max_points
        else:
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
    score: int
    passed: bool
    reasons: tuple[str, ...]  # why it did not pass (empty when it passed)
    stages_reached: tuple[str, ...]


def stages_in_order(turns: Iterable[TurnRecord]) -> tuple[tuple[str, ...], bool]:
    """Return the stages reached (first reach, in order) and whether they are all four, in order."""
    reached: list[str] = []
    for turn in turns:
        if turn.stage and turn.fraction >= STAGE_REACHED and turn.stage not in reached:
            reached.append(turn.stage)
    return tuple(reached), tuple(reached) == STAGES


def score_run(turns: Sequence[TurnRecord], pass_score: int, outcome: str, require_stages: bool) -> RunResult:
    """Score a finished run and say whether it passed, and if not, why."""
    total_max = sum(t.max_points for t in turns)
    total = sum(t.points for t in turns)
    critical = any(t.critical for t in turns)
    if total_max:
        score = round(100 * total / total_max)
    else:
        score = 0 if critical else 100
    reasons = []
    if score < pass_score:
        reasons.append(f"得分{score}未达到{pass_score}分")
    if critical:
        reasons.append("说了严重的服务忌语")
    if outcome == "fail":
        reasons.append("演练以失败结局结束")
    reached, in_order = stages_in_order(turns)
    if require_stages and not in_order:
        got = " → ".join(STAGE_LABELS[s] for s in reached) or "无"
        reasons.append(f"投诉处理阶段未按顺序走完（应为{' → '.join(STAGE_LABELS.values())}，实际：{got}）")
    return RunResult(score, not reasons, tuple(reasons), reached)
