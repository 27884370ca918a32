"""Certification rules (pure): `courses/certifications.yaml`.

    certifications:
      counter:
        title: 营业厅上岗证（柜台服务岗位）
        positions: [咨询引导, 前台销售, 综合受理, 投诉接待, 维系挽留]
        courses: [service-standards, etiquette]         # every module studied (check passed)
        scenarios: {greeting-triage: 70, long-wait: 70}  # a passed run scoring at least this
        exam: frontline-certification                   # a passed sitting
        validity_months: 12
        recertification:                                # 续证: the shorter path that renews a running one
          window_days: 60                               # opens this many days before the certificate expires
          exam: frontline-certification                 # passed again inside the window
          scenarios: {billing-complaint: 70}            # passed again inside the window

Completing the recertification path inside the window renews the certificate from its old expiry
date; after expiry (or a revocation) the full path applies again. Without `recertification` a
certificate is never renewed, only issued anew.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class RuleError(ValueError):
    def __init__(self, problems: list[tuple[int | None, str]]):
        super().__init__("；".join(m for _, m in problems))
        self.problems = problems


RECERTIFICATION_KEYS = ("window_days", "exam", "scenarios")


@dataclass(frozen=True)
class RecertificationRule:
    """The recertification path (续证): what must be passed again, and how many days before expiry
    the window in which it counts opens."""

    window_days: int
    scenarios: tuple[tuple[str, int], ...]
    exam: str | None


@dataclass(frozen=True)
class CertificationRule:
    id: str
    title: str
    positions: tuple[str, ...]
    courses: tuple[str, ...]
    scenarios: tuple[tuple[str, int], ...]
    exam: str | None
    validity_months: int
    recertification: RecertificationRule | None = None


def scenario_minimums(spec: Mapping[str, Any]) -> dict[str, int]:
    """The scenarios a stored rule names and the score each needs: the full path's in its order, then
    those only the recertification path names (a scenario in both keeps the full path's minimum)."""
    full = spec.get("scenarios") or {}
    renewal = (spec.get("recertification") or {}).get("scenarios") or {}
    merged = {**full, **{slug: minimum for slug, minimum in renewal.items() if slug not in full}}
    return {str(slug): int(minimum) for slug, minimum in merged.items()}


def _line(mapping: Any, key: str, default: int | None) -> int | None:
    """The line of a key of a mapping read by lms/yamlx.py (`default` when it has no such key)."""
    return getattr(mapping, "key_lines", {}).get(key, default)


def _scenario_minimums(cid: str, value: Any, known: set[str], at: int | None, renewal: bool,
                       problems: list[tuple[int | None, str]]) -> dict:
    """The scenarios of a path and their minimum scores; problems are added to `problems`."""
    key, part = ("「recertification」的「scenarios」", "续证要求里") if renewal else ("「scenarios」", "")
    if not isinstance(value, dict):
        problems.append((at, f"认证「{cid}」：{key}应为键值对（情景：最低分）"))
        return {}
    for slug, score in value.items():
        line = _line(value, slug, at)
        if slug not in known:
            problems.append((line, f"认证「{cid}」：{part}{'有' if part else ''}未知情景「{slug}」"))
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 100:
            problems.append((line, f"认证「{cid}」：{part}情景「{slug}」的最低分应为0～100"))
    return value


def _recertification(cid: str, spec: Any, months: int, known: dict[str, set[str]], at: int | None,
                     problems: list[tuple[int | None, str]]) -> RecertificationRule | None:
    """Validate a certification's `recertification` block (None: it has none)."""
    if "recertification" not in spec:
        return None
    raw = spec["recertification"]
    at = _line(spec, "recertification", at)
    if not isinstance(raw, dict):
        problems.append((at, f"认证「{cid}」：「recertification」应为键值对（「window_days」、「exam」和「scenarios」）"))
        return None
    for key in raw:
        if key not in RECERTIFICATION_KEYS:
            problems.append((_line(raw, key, at), f"认证「{cid}」：「recertification」里不能写「{key}」，"
                                                  f"只能写「window_days」、「exam」或「scenarios」"))
    window = raw.get("window_days")
    longest = months * 28  # the shortest possible validity period, in days
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window < longest:
        problems.append((_line(raw, "window_days", at),
                         f"认证「{cid}」：「recertification」的「window_days」应为1～{longest - 1}（短于有效期的天数）"))
        window = None
    scenarios = _scenario_minimums(cid, raw.get("scenarios") or {}, known["scenarios"],
                                   _line(raw, "scenarios", at), True, problems)
    exam = raw.get("exam")
    if exam is not None and exam not in known["exams"]:
        problems.append((_line(raw, "exam", at), f"认证「{cid}」：续证要求里有未知考试「{exam}」"))
    if not (scenarios or exam):
        problems.append((at, f"认证「{cid}」：「recertification」没有任何要求（至少写「exam」或「scenarios」）"))
    if window is None:
        return None
    return RecertificationRule(window, tuple((str(k), int(v)) for k, v in scenarios.items() if isinstance(v, int)),
                               exam)


def parse_rules(data: Any, positions: Iterable[str], courses: Iterable[str], scenarios: Iterable[str],
                exams: Iterable[str]) -> list[CertificationRule]:
    """Validate the rules against what exists; every position may belong to one rule at most."""
    problems: list[tuple[int | None, str]] = []
    known = {"positions": set(positions), "courses": set(courses), "scenarios": set(scenarios), "exams": set(exams)}
    if not isinstance(data, dict) or not isinstance(data.get("certifications"), dict):
        raise RuleError([(1, "「certifications.yaml」应有键值对「certifications」")])
    raw: Mapping = data["certifications"]
    rules, owner = [], {}
    for cid, spec in raw.items():
        at = raw.line_of(cid) if hasattr(raw, "line_of") else None
        if not ID_RE.match(str(cid)) or not isinstance(spec, dict):
            problems.append((at, f"认证「{cid}」的写法不对"))
            continue
        title = str(spec.get("title") or "").strip()
        if not title:
            problems.append((at, f"认证「{cid}」缺少「title」"))
        names = list(spec.get("positions") or [])
        for name in names:
            if name not in known["positions"]:
                problems.append((at, f"认证「{cid}」：未知岗位「{name}」"))
            elif name in owner:
                problems.append((at, f"岗位「{name}」同时属于认证「{owner[name]}」和「{cid}」"))
            owner[name] = cid
        course_list = list(spec.get("courses") or [])
        for slug in course_list:
            if slug not in known["courses"]:
                problems.append((at, f"认证「{cid}」：未知课程「{slug}」"))
        scenario_map = _scenario_minimums(cid, spec.get("scenarios") or {}, known["scenarios"], at, False, problems)
        exam = spec.get("exam")
        if exam is not None and exam not in known["exams"]:
            problems.append((at, f"认证「{cid}」：未知考试「{exam}」"))
        months = spec.get("validity_months", data.get("validity_months", 12))
        if not isinstance(months, int) or not 1 <= months <= 120:
            problems.append((at, f"认证「{cid}」：「validity_months」应为1～120"))
            months = 12
        if not (course_list or scenario_map or exam):
            problems.append((at, f"认证「{cid}」没有任何要求"))
        recertification = _recertification(str(cid), spec, months, known, at, problems)
        rules.append(CertificationRule(str(cid), title, tuple(names), tuple(course_list),
                                       tuple((str(k), int(v)) for k, v in scenario_map.items() if isinstance(v, int)),
                                       exam, months, recertification))
    if problems:
        raise RuleError(problems)
    return rules
