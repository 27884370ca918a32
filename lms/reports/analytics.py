"""Trainer analytics: where learners struggle in role-play, and how new hires get certified."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median

from sqlalchemy import case, func, select

from ..accounts.models import User
from ..certification.models import Certificate
from ..clock import LOCAL_TZ, now
from ..courses.models import ModuleProgress
from ..exams.models import Attempt
from ..extensions import db
from ..roleplay.models import Run, Scenario, Turn


@dataclass
class ScenarioStats:
    scenario: Scenario
    runs: int = 0
    passed: int = 0
    average: float = 0.0
    missed: list[tuple[str, int]] = field(default_factory=list)  # category id, times missing
    forbidden: list[tuple[str, int]] = field(default_factory=list)  # 服务忌语, times said

    @property
    def pass_rate(self) -> int:
        return round(100 * self.passed / self.runs) if self.runs else 0


def _people_filter(stmt, store_id: int | None, position: str | None):
    if store_id:
        stmt = stmt.where(User.store_id == store_id)
    if position:
        stmt = stmt.where(User.position == position)
    return stmt


def scenario_stats(store_id: int | None = None, position: str | None = None,
                   worst: int | None = None) -> list[ScenarioStats]:
    """Per scenario (typed runs only): runs, pass rate, average score, most-missed, most-said 忌语,
    lowest pass rate first. With `worst`, only that many of the lowest among those played, and the
    turns are read for those alone (the trainer's home)."""
    stats = {s.id: ScenarioStats(s) for s in db.session.scalars(select(Scenario).where(Scenario.active.is_(True)))}
    grouped = _people_filter(
        select(Run.scenario_id, func.count(), func.sum(case((Run.passed.is_(True), 1), else_=0)), func.avg(Run.score))
        .join(User, User.id == Run.user_id).where(Run.finished, Run.typed),
        store_id, position).group_by(Run.scenario_id)
    for scenario_id, runs, passed, average in db.session.execute(grouped):
        if scenario_id in stats:
            stats[scenario_id].runs, stats[scenario_id].passed = runs, int(passed or 0)
            stats[scenario_id].average = round(float(average or 0), 1)
    ordered = sorted(stats.values(), key=lambda s: (s.pass_rate if s.runs else 101, s.scenario.slug))
    if worst is not None:
        ordered = [s for s in ordered if s.runs][:worst]
    missed: dict[int, Counter] = {}
    said: dict[int, Counter] = {}
    turns = _people_filter(
        select(Run.scenario_id, Turn.missing, Turn.analysis).join(Run, Run.id == Turn.run_id)
        .join(User, User.id == Run.user_id).where(Run.typed), store_id, position)
    if worst is not None:
        turns = turns.where(Run.scenario_id.in_([s.scenario.id for s in ordered]))
    for scenario_id, missing, analysis in db.session.execute(turns):
        missed.setdefault(scenario_id, Counter()).update(missing or [])
        said.setdefault(scenario_id, Counter()).update(f["phrase"] for f in (analysis or {}).get("forbidden", []))
    for item in ordered:
        item.missed = missed.get(item.scenario.id, Counter()).most_common(3)
        item.forbidden = said.get(item.scenario.id, Counter()).most_common(3)
    return ordered


@dataclass
class Funnel:
    hired: int
    studying: int
    practising: int
    examined: int
    certified: int
    median_days: float | None

    def steps(self) -> list[tuple[str, int]]:
        return [("入职", self.hired), ("开始学习课程", self.studying), ("通过情景演练", self.practising),
                ("通过考试", self.examined), ("取得上岗证", self.certified)]


def onboarding_funnel(days: int = 180, store_id: int | None = None, position: str | None = None) -> Funnel:
    """New hires of the last `days` days and how far each got (a handful of grouped queries)."""
    since = now().astimezone(LOCAL_TZ).date() - timedelta(days=days)
    hires = {u.id: u.hire_date for u in db.session.scalars(_people_filter(
        select(User).where(User.active.is_(True), User.role == "staff", User.hire_date >= since), store_id, position))}
    ids = list(hires)
    if not ids:
        return Funnel(0, 0, 0, 0, 0, None)
    studying = set(db.session.scalars(select(ModuleProgress.user_id).where(ModuleProgress.user_id.in_(ids)).distinct()))
    practising = set(db.session.scalars(select(Run.user_id).where(
        Run.user_id.in_(ids), Run.passed.is_(True), Run.typed).distinct()))
    examined = set(db.session.scalars(select(Attempt.user_id).where(
        Attempt.user_id.in_(ids), Attempt.kind == "exam", Attempt.passed.is_(True)).distinct()))
    first_cert = dict(db.session.execute(select(Certificate.user_id, func.min(Certificate.issued_at)).where(
        Certificate.user_id.in_(ids)).group_by(Certificate.user_id)).all())
    days_taken = [(issued.astimezone(LOCAL_TZ).date() - hires[u]).days for u, issued in first_cert.items()
                  if isinstance(hires[u], date)]
    return Funnel(len(ids), len(studying), len(practising), len(examined), len(first_cert),
                  median(days_taken) if days_taken else None)
