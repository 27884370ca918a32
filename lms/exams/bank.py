"""The question bank (题库) and exam definitions as versioned content (lms/versioning.py).

A question's identity is its `::name::` within its course, given once and never changed: a file
sync matches by it, a browser edit keeps it, and an import never overwrites another question
with it (a name already taken gets a「（2）」suffix, as two different questions must both survive).
Questions imported or created in the browser are never retired by a file sync; a browser edit of a
file's question is kept (a conflict while the file says otherwise) until `lms export` writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import audit
from ..courses.models import Course
from ..digest import text_hash
from ..errors import DomainError
from ..extensions import db
from ..versioning import Exporter, FileItem, SyncReport, changing_content, record_edit, sync_items, write_if_changed
from .definitions import ExamSpec
from .giftfile import merge_questions
from .loading import BANK_FILE, ExamContent
from .models import Exam, Question, QuestionVersion
from .questions import QuestionSpec, search_text, to_dict

NAME_LIMIT = 200


def spec_hash(spec: QuestionSpec) -> str:
    """The hash of a question's content (its line in a file is not content)."""
    return text_hash(json.dumps(to_dict(spec), ensure_ascii=False, sort_keys=True))


def _content_hash(spec: QuestionSpec) -> str:
    """The hash of what a question asks and accepts, whatever its name (finds a question imported twice)."""
    return spec_hash(replace(spec, name=""))


def _add_version(question: Question, spec: QuestionSpec, actor_id: int | None):
    return lambda version: question.versions.append(
        QuestionVersion(version=version, spec=to_dict(spec), created_by=actor_id))


def _apply(question: Question, spec: QuestionSpec) -> None:
    question.category, question.qtype, question.search_text = spec.category, spec.qtype, search_text(spec)


def sync_exam_content(content: ExamContent) -> list[SyncReport]:
    """Make the banks and exams match the files (the caller commits)."""
    if content.errors:
        raise ValueError("refusing to sync exam content with errors")
    bank = SyncReport("试题")
    courses = {c.slug: c for c in db.session.scalars(select(Course))}
    for slug, specs in content.banks.items():
        course = courses[slug]

        def create(item: FileItem, course=course) -> Question:
            question = Question(course_id=course.id, name=item.key)
            db.session.add(question)
            return question

        def apply(question: Question, item: FileItem, new_version: bool) -> None:
            _apply(question, item.spec)
            if new_version:
                _add_version(question, item.spec, None)(question.version)

        rows = {q.name: q for q in db.session.scalars(select(Question).where(Question.course_id == course.id))}
        sync_items(bank, rows, (FileItem(s.name, spec_hash(s), s) for s in specs), create, apply,
                   label=lambda name, slug=slug: f"{slug}/{name}")
    exams = SyncReport("考试")

    def create_exam(item: FileItem) -> Exam:
        row = Exam(slug=item.key)
        db.session.add(row)
        return row

    def apply_exam(row: Exam, item: FileItem, new_version: bool) -> None:
        spec, text = item.spec
        row.title, row.yaml_text, row.certification = spec.title, text, spec.certification

    sync_items(exams, {e.slug: e for e in db.session.scalars(select(Exam))},
               (FileItem(spec.id, text_hash(text), (spec, text)) for spec, text in content.exams), create_exam, apply_exam)
    db.session.flush()
    return [bank, exams]


def edit_question(question: Question, spec: QuestionSpec, actor_id: int) -> bool:
    """Save a browser edit of a question as its new version; return False when nothing changed."""
    if spec.name != question.name:
        raise DomainError("题目名称（「::名称::」）是题目的固定标识，不能修改。")
    if record_edit(question, spec_hash(spec), _add_version(question, spec, actor_id)):
        _apply(question, spec)
        audit.record("question.edited", actor_id=actor_id, subject_id=None, object_type="question",
                     object_id=question.id, version=question.version)
        db.session.flush()
        return True
    return False


def create_question(course: Course, spec: QuestionSpec, actor_id: int) -> Question:
    """Add a question written in the browser's form to a course's bank (its first version)."""
    changing_content()
    if db.session.scalar(select(Question.id).where(Question.course_id == course.id, Question.name == spec.name)):
        raise DomainError(f"本课程的题库已有名为「{spec.name}」的题目，请换一个名称")
    question = Question(course_id=course.id, name=spec.name, version=0, source_hash="", origin="browser")
    db.session.add(question)
    record_edit(question, spec_hash(spec), _add_version(question, spec, actor_id))
    _apply(question, spec)
    db.session.flush()
    audit.record("question.created", actor_id=actor_id, subject_id=None, object_type="question",
                 object_id=question.id, version=question.version)
    return question


@dataclass
class ImportReport:
    """What an import created, and what it left out because the bank already had it word for word."""

    created: list[Question] = field(default_factory=list)
    identical: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (name in the file, name given)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for question in self.created:
            out[question.qtype] = out.get(question.qtype, 0) + 1
        return out


def import_questions(course: Course, specs: list[QuestionSpec], actor_id: int | None) -> ImportReport:
    """Add imported questions to a course's bank as new questions (like Moodle's import).

    Never overwrites a question: a name already in the bank gets a numbered suffix. A question
    identical to one already in the bank (the same text, answers and feedback under any name) is not
    added twice.
    """
    report = ImportReport()
    changing_content()  # the names taken are read after any import or addition running at the same moment
    rows = db.session.scalars(select(Question).where(Question.course_id == course.id)
                              .options(selectinload(Question.versions))).all()  # their current texts, in one query
    taken = {q.name: q for q in rows}
    present = {_content_hash(q.current.as_spec) for q in rows if q.active and q.versions}
    for spec in specs:
        if not spec.category:
            spec = replace(spec, category=course.slug)
        if _content_hash(spec) in present:
            report.identical.append(spec.name)
            continue
        name = spec.name
        n = 2
        while name in taken:
            suffix = f"（{n}）"
            name = spec.name[:NAME_LIMIT - len(suffix)] + suffix
            n += 1
        if name != spec.name:
            report.renamed.append((spec.name, name))
            spec = replace(spec, name=name)
        question = Question(course_id=course.id, name=name, version=0, source_hash="", origin="browser")
        db.session.add(question)
        record_edit(question, spec_hash(spec), _add_version(question, spec, actor_id))
        _apply(question, spec)
        taken[name] = question
        present.add(_content_hash(spec))
        report.created.append(question)
    db.session.flush()
    if report.created:
        audit.record("questions.imported", actor_id=actor_id, subject_id=None, object_type="course",
                     object_id=course.slug, count=len(report.created))
    return report


def save_exam(exam: Exam | None, slug: str, text: str, spec: ExamSpec, actor_id: int) -> tuple[Exam, bool]:
    """Save an exam definition edited (or created) in the browser; return (exam, changed)."""
    if exam is None:
        exam = Exam(slug=slug, version=0, source_hash="", origin="browser")
        db.session.add(exam)
    changed = record_edit(exam, text_hash(text), lambda version: None)  # the text itself is the version
    if changed:
        exam.title, exam.yaml_text, exam.certification = spec.title, text, spec.certification
        audit.record("exam.edited", actor_id=actor_id, subject_id=None, object_type="exam", object_id=slug,
                     version=exam.version)
    db.session.flush()
    return exam, changed


def exporters(root: Path) -> list[Exporter]:
    """How `lms export` writes questions (into each course's GIFT file) and exams (their YAML)."""
    def dirty_questions() -> list[Question]:
        return list(db.session.scalars(select(Question).where(Question.dirty.is_(True))
                                       .options(selectinload(Question.versions))
                                       .order_by(Question.course_id, Question.category, Question.id)))

    def write_questions(rows: list[Question]) -> list[str]:
        written = []
        for course in sorted({q.course for q in rows}, key=lambda c: c.slug):
            path = root / course.slug / BANK_FILE
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            merged = merge_questions(text, [q.current.as_spec for q in rows if q.course_id == course.id])
            if write_if_changed(path, merged):
                written.append(str(path))
        return written

    def dirty_exams() -> list[Exam]:
        return list(db.session.scalars(select(Exam).where(Exam.dirty.is_(True)).order_by(Exam.slug)))

    def write_exams(rows: list[Exam]) -> list[str]:
        return [str(path) for row in rows
                if write_if_changed(path := root / "exams" / f"{row.slug}.yaml", row.yaml_text)]

    return [Exporter("试题", dirty_questions, write_questions), Exporter("考试", dirty_exams, write_exams)]
