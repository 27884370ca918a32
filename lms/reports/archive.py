"""A person's training archive (培训档案): everything they learned, in time order.

Built from the records themselves: modules studied, knowledge checks, scenario runs, exam
attempts, certificates, new-business notices and in-person training sessions; headed by the
person's 上岗证 status today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..certification.status import pass_fail
from ..clock import LOCAL_TZ, now
from ..exports import Table
from ..courses.models import Course, Module, ModuleProgress
from ..exams.models import Attempt
from ..extensions import db
from ..notices.deadlines import DONE_STATES, STATE_LABELS
from ..notices.models import NoticeAssignment
from ..roleplay.models import Run

KINDS = {"module": "课程学习", "check": "章节小测", "scenario": "情景演练", "exam": "考试", "certificate": "上岗证",
         "notice": "新业务培训", "session": "现场培训", "speech": "口语练习"}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # a key of KINDS
    title: str
    result: str = ""  # score, pass/fail, on time …
    passed: bool | None = None
    ref: str = ""  # an id for the xAPI object


def certification_status(user_id: int, position: str | None) -> tuple[str, str] | None:
    """The title and today's status of the certification the person's position needs (None if none)."""
    from ..certification.facts import evaluate_person
    from ..certification.service import certification_for

    certification = certification_for(position)
    if certification is None:
        return None
    return certification.title, evaluate_person(user_id, certification).status


def entries(user_id: int) -> list[Entry]:
    """Return the person's archive, oldest first."""
    result: list[Entry] = []
    for progress, module, course in db.session.execute(
            select(ModuleProgress, Module, Course).join(Module, Module.id == ModuleProgress.module_id)
            .join(Course, Course.id == Module.course_id).where(ModuleProgress.user_id == user_id)):
        result.append(Entry(progress.completed_at, "module", f"{course.title} / {module.title}",
                            f"版本{progress.version}", True, f"module/{course.slug}/{module.slug}"))
    for attempt in db.session.scalars(select(Attempt).where(Attempt.user_id == user_id, Attempt.status == "submitted")):
        if attempt.kind == "exam":
            title = attempt.exam.title if attempt.exam else "考试"
            kind, ref = "exam", f"exam/{attempt.exam.slug if attempt.exam else attempt.exam_id}"
        elif attempt.kind == "check":
            module = db.session.get(Module, attempt.module_id)
            title, kind, ref = f"小测：{module.title}", "check", f"check/{attempt.module_id}"
        else:
            title, kind, ref = "新业务小测", "check", f"notice-check/{attempt.notice_id}"
        score = "待评分" if attempt.pending else f"{attempt.score:g}分"
        result.append(Entry(attempt.submitted_at, kind, title, score, attempt.passed, ref))
    for run in db.session.scalars(select(Run).where(Run.user_id == user_id, Run.finished, Run.is_training)):
        mode = "（新手模式）" if run.mode == "beginner" else ""
        result.append(Entry(run.finished_at, "scenario", f"{run.scenario.title}{mode}", f"{run.score}分", run.passed,
                            f"scenario/{run.scenario.slug}"))
    from ..certification.facts import load_history
    from ..notices.service import overdue_people

    for held in load_history([user_id], overdue_people([user_id]))[user_id]:  # each with how it ended
        certificate = held.facts
        result.append(Entry(certificate.issued_at, "certificate", held.title, held.summary, True,
                            f"certificate/{certificate.code}"))
        if certificate.revoked_at:
            result.append(Entry(certificate.revoked_at, "certificate", f"撤销：{held.title}",
                                certificate.revoke_reason, False, f"certificate/{certificate.code}"))
    at = now()
    for assignment in db.session.scalars(select(NoticeAssignment).where(
            NoticeAssignment.user_id == user_id, NoticeAssignment.in_state(at, *DONE_STATES))):
        state = assignment.state(at)
        result.append(Entry(assignment.completed_at, "notice", assignment.notice.title, STATE_LABELS[state],
                            state == "done_on_time", f"notice/{assignment.notice_id}"))
    from .sessions import sessions_attended

    for session in sessions_attended(user_id):
        result.append(Entry(session.held_at, "session", session.content[:60],
                            f"{session.trainer_name} · {session.place}" + (f" · {session.assessment}" if session.assessment else ""),
                            None, f"session/{session.id}"))
    from ..speech.service import archive_entries

    for at, title, summary, passed, ref in archive_entries(user_id):
        result.append(Entry(at, "speech", title, summary, passed, ref))
    return sorted(result, key=lambda e: e.at)


def archive_table(person) -> Table:
    """A person's archive as a downloadable table (lms/exports.py), with today's 上岗证 status on top."""
    certification = certification_status(person.id, person.position)
    return Table("培训档案", ["时间", "类别", "内容", "结果", "是否通过"],
                 [[f"{e.at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}", KINDS[e.kind], e.title, e.result, pass_fail(e.passed)]
                  for e in entries(person.id)],  # the page's rows, in the page's order
                 title=[f"培训档案：{person.name}（{person.emp_no}）",
                        f"{certification[0]}：{certification[1]}" if certification else ""])
