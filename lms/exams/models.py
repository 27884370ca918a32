"""Question bank (试题), exams (考试) and attempts (答卷) with their responses.

A question keeps every version of itself; a response points at the version it was answered
against, so editing a question never changes a past grade. An attempt is either an exam sitting
or a module's knowledge check (小测).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..versioning import VersionedContent
from .questions import QuestionSpec, from_dict


class Question(VersionedContent, db.Model):
    """A question of a course's bank; its content lives in versions.

    Its identity is its `name` within the course (GIFT's `::name::`), given once and never changed:
    file sync, browser edits and export all find the question by it, never by its text.
    """

    __table_args__ = (UniqueConstraint("course_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200), index=True)
    qtype: Mapped[str] = mapped_column(String(16))
    # the current version's text as the bank's search reads it (questions.search_text), kept on every save
    search_text: Mapped[str] = mapped_column(Text, default="")

    course = relationship("Course")
    versions: Mapped[list["QuestionVersion"]] = relationship(back_populates="question",
                                                              order_by="QuestionVersion.version")

    @property
    def current(self) -> "QuestionVersion":
        return self.versions[-1]


class QuestionVersion(db.Model):
    """The content of one version of a question."""

    __tablename__ = "question_version"
    __table_args__ = (UniqueConstraint("question_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    version: Mapped[int] = mapped_column()
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    question: Mapped[Question] = relationship(back_populates="versions")

    @property
    def as_spec(self) -> QuestionSpec:
        return from_dict(self.spec)


class Exam(VersionedContent, db.Model):
    """An exam definition (from courses/exams/*.yaml or edited in the browser)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    yaml_text: Mapped[str] = mapped_column(Text)
    certification: Mapped[bool] = mapped_column(default=False)


class Attempt(db.Model):
    """One sitting of an exam, or one knowledge check of a module."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # exam | check | notice
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exam.id"), index=True)
    exam_version: Mapped[int | None] = mapped_column()
    module_id: Mapped[int | None] = mapped_column(ForeignKey("module.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | submitted
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    pass_mark: Mapped[int] = mapped_column(default=60)
    score: Mapped[float | None] = mapped_column()  # percent, once every response is graded
    passed: Mapped[bool | None] = mapped_column()
    pending: Mapped[int] = mapped_column(default=0)  # responses waiting for a trainer
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per category

    exam: Mapped[Exam | None] = relationship()
    responses: Mapped[list["Response"]] = relationship(back_populates="attempt", order_by="Response.position")

    @property
    def open(self) -> bool:
        return self.status == "open"

    @property
    def time_up(self) -> bool:
        """Still open, but the server's deadline has passed: it can only be handed in (with what was saved)."""
        return self.open and self.deadline_at is not None and now() >= self.deadline_at


class Response(db.Model):
    """The learner's answer to one question of an attempt (saved as it is given)."""

    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    position: Mapped[int] = mapped_column()
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"), index=True)
    order: Mapped[list[int]] = mapped_column(JSON, default=list)  # shown order of choices / matching answers
    answer: Mapped[Any] = mapped_column(JSON, nullable=True)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fraction: Mapped[float | None] = mapped_column()
    graded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")

    attempt: Mapped[Attempt] = relationship(back_populates="responses")
    question_version: Mapped[QuestionVersion] = relationship()
