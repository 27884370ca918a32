"""Certification facts: what people did that a certification's requirements look at, loaded in batch.

`load_facts` reads, for any number of people, the facts `status.evaluate` works on, in at most
two grouped queries whatever the head count (study; scenario runs, exam sittings and certificates
in one).
A single person is a batch of one: the learner's 上岗证 page, issuance and renewal, the manager's
matrix and its XLSX, the store page, the archive and the list of expiring certificates all go
through here. `load_history` reads every certificate people held (one query), `current_certificates`
selects each person's newest certificate per certification (for the reminders and the expiring list).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Collection, Iterable, Mapping

from sqlalchemy import (Float, Integer, String, and_, bindparam, case, cast, exists, func, literal_column, null, or_,
                        select, true, union_all)
from sqlalchemy.orm import aliased

from ..catalog import Catalog, CertificationInfo, catalog
from ..clock import LOCAL_TZ, now
from ..courses.models import Module, ModuleProgress
from ..dbtypes import UTCDateTime
# The one query shape of "studied in the current version" (courses own it; progress_by_course and
# studied_by_course are built on it): here it is grouped by person as well, with the last time.
from ..courses.service import current_study
from ..exams.models import Attempt
from ..extensions import core_rows, db
from ..roleplay.models import Run
from .models import NEWEST_FIRST, Certificate, Certification
from .status import (CertificateFacts, CourseItem, Evaluation, Examined, ExamItem, PersonFacts, Practised,
                     RENEWED, Recertification, Rule, ScenarioItem, Studied, certificate_status, ending, evaluate)

StudiedByCourse = Mapping[int, tuple[int, datetime | None]]  # course id -> (modules, last studied at)


def rule_for(certification: Certification | CertificationInfo, content: Catalog | None = None) -> Rule:
    """Resolve a certification's rule against the current content (module counts, titles, ids)."""
    content = content or catalog()
    spec = certification.rule

    def scenarios(minimums) -> tuple[ScenarioItem, ...]:
        return tuple(ScenarioItem(slug, s.title, s.id, int(minimum)) for slug, minimum in (minimums or {}).items()
                     if (s := content.scenario_by_slug.get(slug)) is not None)

    def exam(slug) -> ExamItem | None:
        found = content.exam_by_slug.get(slug) if slug else None
        return ExamItem(found.slug, found.title, found.id) if found else None

    courses = tuple(CourseItem(slug, c.title, c.id, content.module_totals.get(c.id, 0))
                    for slug in spec.get("courses", ()) if (c := content.course_by_slug.get(slug)) is not None)
    path = spec.get("recertification")
    recertification = (Recertification(int(path["window_days"]), scenarios(path.get("scenarios")),
                                       exam(path.get("exam"))) if path else None)
    return Rule(certification.id, courses, scenarios(spec.get("scenarios")), exam(spec.get("exam")),
                int(spec.get("validity_months", 12)), recertification)


@lru_cache(maxsize=None)
def _statements(batch: bool = True) -> dict:
    """The statements of load_facts, built once with the people and items as bound parameters (they
    run on every learner's home page; building them cost more than running them): what was studied,
    and the rest — scenario runs, exam sittings, the current certificates — as one statement, each
    kind of row marked in its first column (on PostgreSQL every statement is a round trip).

    For a batch, the people (`ids`) and the items are expanding IN lists. For one person (`batch`
    False) the person is one bound value (`ids`) and the items are not listed: the person's few
    rows of other items are read and left unused, and a statement with IN lists, rendered anew on
    every run, costs twice one without (bench/floor.py: the learner pages ask for one person)."""
    def people(column):
        return column.in_(bindparam("ids", expanding=True)) if batch else column == bindparam("ids")

    def items(column, name: str):
        return column.in_(bindparam(name, expanding=True)) if batch else true()

    # the current certificate of each person and certification: the newest (NEWEST_FIRST)
    ranked = select(Certificate, func.row_number().over(
        partition_by=(Certificate.user_id, Certificate.certification_id), order_by=NEWEST_FIRST).label("rank")
    ).where(people(Certificate.user_id), items(Certificate.certification_id, "certification_ids")).subquery()
    moment, nothing = cast(null(), UTCDateTime()), null()
    return {
        "study": current_study(ModuleProgress.user_id, Module.course_id, func.count(),
                               func.max(ModuleProgress.completed_at))
        .where(people(ModuleProgress.user_id), items(Module.course_id, "course_ids"))
        .group_by(ModuleProgress.user_id, Module.course_id),
        # (kind, person, item, score, moment, then the certificate's other columns): the first part's
        # labels name the columns, so a certificate row reads as one (facts_of)
        "done": union_all(
            select(literal_column(f"'{CERTIFICATE}'", String).label("kind"), ranked.c.user_id,
                   ranked.c.certification_id.label("item_id"), cast(nothing, Float).label("score"),
                   ranked.c.issued_at, ranked.c.expires_at, ranked.c.revoked_at, ranked.c.valid_from, ranked.c.code,
                   ranked.c.id).where(ranked.c.rank == 1),
            # per score reached: the last time a passed typing-mode run reached it
            select(literal_column(f"'{RUN}'", String), Run.user_id, Run.scenario_id, cast(Run.score, Float),
                   func.max(case((and_(Run.passed.is_(True), Run.typed), Run.finished_at))),
                   moment, moment, moment, cast(nothing, String), cast(nothing, Integer))
            .where(people(Run.user_id), items(Run.scenario_id, "scenario_ids"), Run.finished)
            .group_by(Run.user_id, Run.scenario_id, Run.score),
            # the best score of any sitting, and the last pass
            select(literal_column(f"'{SITTING}'", String), Attempt.user_id, Attempt.exam_id,
                   cast(func.max(Attempt.score), Float), func.max(case((Attempt.passed.is_(True), Attempt.submitted_at))),
                   moment, moment, moment, cast(nothing, String), cast(nothing, Integer))
            .where(people(Attempt.user_id), items(Attempt.exam_id, "exam_ids"), Attempt.kind == "exam")
            .group_by(Attempt.user_id, Attempt.exam_id)),
    }


CERTIFICATE, RUN, SITTING = "certificate", "run", "sitting"  # the kinds of rows of _statements()["done"]


def load_facts(user_ids: Iterable[int], rules: Iterable[Rule], suspended: Collection[int],
               studied: Mapping[int, StudiedByCourse] | None = None) -> dict[int, PersonFacts]:
    """Load the facts of these people for these rules (`suspended`: the ids of people with an overdue
    notice, as the notices area tells; `studied`: per person, study already read by the caller)."""
    ids = sorted(set(user_ids))
    rules = list(rules)
    if not ids:
        return {}
    paths = [r.recertification for r in rules if r.recertification is not None]
    course_ids = sorted({c.course_id for r in rules for c in r.courses})
    scenario_ids = sorted({s.scenario_id for r in (*rules, *paths) for s in r.scenarios})
    exam_ids = sorted({r.exam.exam_id for r in (*rules, *paths) if r.exam})
    certification_ids = sorted({r.certification_id for r in rules})
    batch = len(ids) > 1
    statements = _statements(batch)

    def values(**items: list[int]) -> dict:
        return {"ids": ids, **items} if batch else {"ids": ids[0]}

    study: dict[int, dict[int, Studied]] = defaultdict(dict)
    if studied is not None and set(ids) <= set(studied):  # the caller's own studied_by_course: no query
        for user_id in ids:
            study[user_id] = {c: Studied(n, last) for c, (n, last) in studied[user_id].items()}
    elif course_ids:
        for user_id, course_id, n, last in core_rows(
                statements["study"], values(course_ids=course_ids)):
            study[user_id][course_id] = Studied(n, last)

    runs: dict[tuple[int, int], list[tuple[int | None, datetime | None]]] = defaultdict(list)
    examined: dict[int, dict[int, Examined]] = defaultdict(dict)
    newest: dict[int, dict[int, CertificateFacts]] = defaultdict(dict)
    if scenario_ids or exam_ids or certification_ids:
        for row in core_rows(statements["done"], values(scenario_ids=scenario_ids, exam_ids=exam_ids,
                                                        certification_ids=certification_ids)):
            kind, user_id, item_id, score, at = row[:5]
            if kind == RUN:
                runs[(user_id, item_id)].append((None if score is None else int(score), at))
            elif kind == SITTING:
                examined[user_id][item_id] = Examined(score, at)
            else:  # the current one; the newest is never renewed (its successor would be newer)
                newest[user_id][item_id] = facts_of(row)
    practised: dict[int, dict[int, Practised]] = defaultdict(dict)
    for (user_id, scenario_id), rows in runs.items():
        passes = tuple(sorted((score, last) for score, last in rows if score is not None and last is not None))
        practised[user_id][scenario_id] = Practised(True, passes)

    overdue = set(suspended)
    return {user_id: PersonFacts(study.get(user_id, {}), practised.get(user_id, {}), examined.get(user_id, {}),
                                 newest.get(user_id, {}), user_id in overdue) for user_id in ids}


def facts_of(certificate, renewed_at: datetime | None = None) -> CertificateFacts:
    """The facts of a certificate row (a Certificate or a row with its columns); `renewed_at`: when a
    successor renewed it, as the caller read it."""
    return CertificateFacts(certificate.issued_at, certificate.expires_at, certificate.revoked_at, certificate.id,
                            certificate.code, certificate.valid_from, renewed_at,
                            getattr(certificate, "revoke_reason", "") or "")


def certificate_facts(certificate: Certificate) -> CertificateFacts:
    """The facts of one certificate, for a page about that certificate (when it was renewed included)."""
    renewed_at = db.session.scalar(select(func.min(Certificate.issued_at))
                                   .where(Certificate.renewed_from_id == certificate.id))
    return facts_of(certificate, renewed_at)


def current_certificates():
    """Select (Certificate, User): each person's current certificate of each certification — the
    newest (NEWEST_FIRST), with no other issued after it — and its holder. Callers add their filters."""
    from ..accounts.models import User

    newer = aliased(Certificate)
    return (select(Certificate, User).join(User, User.id == Certificate.user_id)
            .where(~exists().where(newer.user_id == Certificate.user_id,
                                   newer.certification_id == Certificate.certification_id,
                                   or_(newer.issued_at > Certificate.issued_at,
                                       and_(newer.issued_at == Certificate.issued_at, newer.id > Certificate.id)))))


@dataclass(frozen=True)
class HeldCertificate:
    """One certificate a person held, for their history: its facts, its state at the moment asked
    (有效 … 已续期, from `status.certificate_status`) and how it ended (`status.ending`)."""

    title: str  # the certification's
    facts: CertificateFacts
    state: str
    ended: tuple[str, datetime] | None
    successor: str = ""  # the code of the certificate that renewed it

    @property
    def code(self) -> str:
        return self.facts.code

    @property
    def summary(self) -> str:
        """The certificate in one line, for the archive and its export: code, period, state or ending."""
        f = self.facts

        def day(moment: datetime) -> str:
            return f"{moment.astimezone(LOCAL_TZ):%Y-%m-%d}"

        period = (f"有效期{day(f.valid_from)}～{day(f.expires_at)}" if f.valid_from and f.valid_from > f.issued_at
                  else f"有效期至{day(f.expires_at)}")
        if self.ended is None:
            return f"编号{f.code}，{period}，{self.state}"
        how, when = self.ended
        detail = (f"，新证编号{self.successor}" if how == RENEWED and self.successor
                  else f"，原因：{f.revoke_reason}" if how == "已撤销" and f.revoke_reason else "")
        return f"编号{f.code}，{period}，{how}（{day(when)}{detail}）"


def load_history(user_ids: Iterable[int], suspended: Collection[int] = (),
                 at: datetime | None = None) -> dict[int, list[HeldCertificate]]:
    """Every certificate these people held, newest first (one query), with state and ending."""
    ids = sorted(set(user_ids))
    at = at or now()
    result: dict[int, list[HeldCertificate]] = {user_id: [] for user_id in ids}
    if not ids:
        return result
    successor = aliased(Certificate)
    overdue = set(suspended)
    for c, title, renewed_at, next_code in db.session.execute(
            select(Certificate, Certification.title, successor.issued_at, successor.code)
            .join(Certification, Certification.id == Certificate.certification_id)
            .outerjoin(successor, successor.renewed_from_id == Certificate.id)
            .where(Certificate.user_id.in_(ids)).order_by(Certificate.user_id, *NEWEST_FIRST)):
        facts = facts_of(c, renewed_at)
        result[c.user_id].append(HeldCertificate(title, facts, certificate_status(facts, at, c.user_id in overdue),
                                                 ending(facts, at), next_code or ""))
    return result


def evaluate_person(user_id: int, certification: Certification | CertificationInfo, suspended: bool | None = None,
                    studied: StudiedByCourse | None = None, at: datetime | None = None) -> Evaluation:
    """Evaluate one person (a batch of one); `suspended` is asked of the notices area unless given."""
    if suspended is None:
        from ..notices.service import is_suspended

        suspended = is_suspended(user_id)
    rule = rule_for(certification)
    facts = load_facts([user_id], [rule], [user_id] if suspended else (),
                       {user_id: studied} if studied is not None else None)
    return evaluate(rule, facts[user_id], at or now())


def evaluate_people(people: Iterable[tuple[int, str | None]], suspended: Collection[int],
                    at: datetime | None = None) -> dict[int, tuple[CertificationInfo, Evaluation]]:
    """Evaluate each (user id, position) against their position's certification; people whose
    position needs none are left out."""
    content = catalog()
    wanted = {user_id: c for user_id, position in people if (c := content.certification_for(position)) is not None}
    rules: dict[int, Rule] = {}
    for c in wanted.values():
        if c.id not in rules:
            rules[c.id] = rule_for(c, content)
    facts = load_facts(wanted, rules.values(), suspended)
    at = at or now()
    return {user_id: (c, evaluate(rules[c.id], facts[user_id], at)) for user_id, c in wanted.items()}
