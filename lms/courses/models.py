"""Courses (课程) and modules (章节) loaded from `courses/`, and each person's progress.

Content rows carry a `version` (bumped only when the text changes) and the `source_hash` of the
text; progress rows record the version that was learned. Modules that disappear from the files
are marked inactive, never deleted, so progress and history keep pointing at them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..versioning import VersionedContent


class Course(VersionedContent, db.Model):
    """A course: an ordered set of modules on one subject."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    sort_order: Mapped[int] = mapped_column(default=100)
    positions: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: everyone
    source: Mapped[str] = mapped_column(String(300), default="")

    modules: Mapped[list["Module"]] = relationship(
        back_populates="course", order_by="Module.sort_order"
    )

    def open_to(self, position: str | None) -> bool:
        """Tell whether a person in this position takes the course."""
        return not self.positions or position in self.positions


class Module(VersionedContent, db.Model):
    """A module: one Markdown page of a course, ending with 「我已学习」."""

    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(300), default="")
    minutes: Mapped[int | None] = mapped_column()
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    check_categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # its knowledge check draws here

    course: Mapped[Course] = relationship(back_populates="modules")
    versions: Mapped[list["ModuleVersion"]] = relationship(back_populates="module", order_by="ModuleVersion.version")


class ModuleVersion(db.Model):
    """The text of one version of a module, from a file or from the browser."""

    __tablename__ = "module_version"
    __table_args__ = (UniqueConstraint("module_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    version: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(10), default="file")  # file | browser | restore
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    module: Mapped[Module] = relationship(back_populates="versions")


class ModuleProgress(db.Model):
    """That a person studied a module: when, and which version of it."""

    __tablename__ = "module_progress"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    version: Mapped[int] = mapped_column()
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    module: Mapped[Module] = relationship()
