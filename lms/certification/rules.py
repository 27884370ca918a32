"""Certification rules (pure): `courses/certifications.yaml`.

    certifications:
      counter:
        title: 营业厅上岗证（柜台服务岗位）
        positions: [咨询引导, 前台销售, 综合受理, 投诉接待, 维系挽留]
        courses: [service-standards, etiquette]         # every module studied (check passed)
        scenarios: {greeting-triage: 70, long-wait: 70}  # a passed run scoring at least this
        exam: frontline-certification                   # a passed sitting
        validity_months: 12
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


@dataclass(frozen=True)
class CertificationRule:
    id: str
    title: str
    positions: tuple[str, ...]
    courses: tuple[str, ...]
    scenarios: tuple[tuple[str, int], ...]
    exam: str | None
    validity_months: int


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
        scenario_map = spec.get("scenarios") or {}
        if not isinstance(scenario_map, dict):
            problems.append((at, f"认证「{cid}」：「scenarios」应为键值对（情景：最低分）"))
            scenario_map = {}
        for slug, score in scenario_map.items():
            if slug not in known["scenarios"]:
                problems.append((at, f"认证「{cid}」：未知情景「{slug}」"))
            if not isinstance(score, int) or not 0 <= score <= 100:
                problems.append((at, f"认证「{cid}」：情景「{slug}」的最低分应为0～100"))
        exam = spec.get("exam")
        if exam is not None and exam not in known["exams"]:
            problems.append((at, f"认证「{cid}」：未知考试「{exam}」"))
        months = spec.get("validity_months", data.get("validity_months", 12))
        if not isinstance(months, int) or not 1 <= months <= 120:
            problems.append((at, f"认证「{cid}」：「validity_months」应为1～120"))
            months = 12
        if not (course_list or scenario_map or exam):
            problems.append((at, f"认证「{cid}」没有任何要求"))
        rules.append(CertificationRule(str(cid), title, tuple(names), tuple(course_list),
                                       tuple((str(k), int(v)) for k, v in scenario_map.items() if isinstance(v, int)),
                                       exam, months))
    if problems:
        raise RuleError(problems)
    return rules
