"""Course use cases: sync content from files, record study, read progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..clock import now
from ..extensions import db
from ..sanitize import render_markdown
from .loader import Content
from .models import Course, Module, ModuleProgress, ModuleVersion


@dataclass
class SyncReport:
    """What a sync changed, by kind of row."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # text changed: version bumped
    unchanged: int = 0
    retired: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # edited in the browser and changed in the file

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)


def sync_content(content: Content) -> SyncReport:
    """Make the database match the content read from files (the caller commits).

    Idempotent: a second run with the same files changes nothing. A course's or module's
    version goes up only when its text hash changes; items no longer in the files are retired
    (inactive), never deleted.
    """
    if content.errors:
        raise ValueError("refusing to sync content with errors")
    report = SyncReport()
    courses = {c.slug: c for c in db.session.scalars(select(Course))}
    seen_courses: set[str] = set()
    for spec in content.courses:
        seen_courses.add(spec.slug)
        course = courses.get(spec.slug)
        if course is None:
            course = Course(slug=spec.slug, version=1)
            db.session.add(course)
            report.created.append(spec.slug)
        elif course.source_hash != spec.text_hash or not course.active:
            if course.source_hash != spec.text_hash:
                course.version += 1
            report.updated.append(spec.slug)
            course.updated_at = now()
        else:
            report.unchanged += 1
        course.title, course.summary, course.sort_order = spec.title, spec.summary, spec.order
        course.positions, course.source = list(spec.positions), spec.source
        course.source_hash, course.active = spec.text_hash, True
        _sync_modules(course, spec, report)
    for slug, course in courses.items():
        if slug not in seen_courses and course.active:
            course.active = False
            report.retired.append(slug)
    db.session.flush()
    return report


def _sync_modules(course: Course, spec, report: SyncReport) -> None:
    existing = {m.slug: m for m in course.modules}
    seen: set[str] = set()
    for mspec in spec.modules:
        seen.add(mspec.slug)
        key = f"{spec.slug}/{mspec.slug}"
        module = existing.get(mspec.slug)
        text_hash = mspec.text_hash
        if module is not None and module.dirty:
            if module.source_hash == text_hash:  # the file caught up with the browser edit
                module.dirty = False
            else:  # never overwrite a browser edit that was not exported: report and skip
                report.conflicts.append(key)
                continue
        if module is None:
            module = Module(slug=mspec.slug, version=1, source_hash=text_hash)
            course.modules.append(module)
            report.created.append(key)
        elif module.source_hash != text_hash:
            module.version += 1
            module.updated_at = now()
            report.updated.append(key)
        elif not module.active:
            report.updated.append(key)
        else:
            report.unchanged += 1
        html = render_markdown(mspec.body)
        module.title, module.source, module.minutes = mspec.title, mspec.source, mspec.minutes
        module.sort_order, module.body_md, module.source_hash = mspec.order, mspec.body, text_hash
        module.check_categories = list(mspec.check)
        module.active = True
        if module.body_html != html:  # derived; re-rendered if the sanitiser changes
            module.body_html = html
        if not module.versions or module.versions[-1].version != module.version:
            module.versions.append(ModuleVersion(version=module.version, title=mspec.title, body_md=mspec.body,
                                                 origin="file"))
    for slug, module in existing.items():
        if slug not in seen and module.active and module.dirty:
            report.conflicts.append(f"{spec.slug}/{slug}")
        elif slug not in seen and module.active:
            module.active = False
            report.retired.append(f"{spec.slug}/{slug}")


def courses_for(position: str | None, everyone: bool = False) -> list[Course]:
    """Return the active courses a person in this position takes (all of them if everyone)."""
    courses = db.session.scalars(
        select(Course).where(Course.active.is_(True)).order_by(Course.sort_order, Course.slug)
    ).all()
    return [c for c in courses if everyone or c.open_to(position)]


def active_modules(course: Course) -> list[Module]:
    """Return the course's current modules in order."""
    return [m for m in course.modules if m.active]


@dataclass(frozen=True)
class CourseProgress:
    """How far a person is in a course."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done >= self.total


def _current_study(*columns):
    """Progress rows of active modules studied in their current version, selecting `columns`."""
    return (select(*columns).join(Module, Module.id == ModuleProgress.module_id)
            .where(Module.active.is_(True), ModuleProgress.version == Module.version))


def progress_by_course(user_ids: list[int]) -> dict[tuple[int, int], int]:
    """Count active modules studied in their current version, per (user, course), in one query."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        _current_study(ModuleProgress.user_id, Module.course_id, func.count())
        .where(ModuleProgress.user_id.in_(user_ids)).group_by(ModuleProgress.user_id, Module.course_id)
    ).all()
    return {(user_id, course_id): n for user_id, course_id, n in rows}


def studied_by_course(user_id: int, course_ids: list[int] | None = None) -> dict[int, tuple[int, datetime]]:
    """Per course: how many active modules the person studied in their current version, and when
    the last of them was studied (one query; all courses unless `course_ids` is given)."""
    query = (_current_study(Module.course_id, func.count(), func.max(ModuleProgress.completed_at))
             .where(ModuleProgress.user_id == user_id).group_by(Module.course_id))
    if course_ids is not None:
        if not course_ids:
            return {}
        query = query.where(Module.course_id.in_(course_ids))
    return {course_id: (count, last) for course_id, count, last in db.session.execute(query)}


def module_totals() -> dict[int, int]:
    """Active modules per course (from the content catalogue)."""
    from ..catalog import catalog

    return dict(catalog().module_totals)


def course_progress(user_id: int, courses: list, studied: dict[int, tuple[int, datetime]] | None = None
                    ) -> dict[int, CourseProgress]:
    """Return the person's progress in each of the courses (`studied`: from studied_by_course, if at hand)."""
    from ..catalog import catalog

    if studied is None:
        studied = studied_by_course(user_id, [c.id for c in courses])
    totals = catalog().module_totals
    return {c.id: CourseProgress(studied.get(c.id, (0, None))[0], totals.get(c.id, 0)) for c in courses}


def progress_for_modules(user_id: int, modules: list[Module]) -> dict[int, ModuleProgress]:
    """Return the person's progress rows for these modules, by module id."""
    ids = [m.id for m in modules]
    if not ids:
        return {}
    rows = db.session.scalars(
        select(ModuleProgress).where(ModuleProgress.user_id == user_id, ModuleProgress.module_id.in_(ids))
    )
    return {p.module_id: p for p in rows}


def complete_module(user_id: int, module: Module) -> tuple[ModuleProgress, bool]:
    """Record that the person studied the module's current version.

    Returns the progress row and whether anything changed: studying the same version again
    changes nothing; studying a newer version records the new version and time. Each change
    is also written to the training archive.
    """
    progress = db.session.scalar(
        select(ModuleProgress).where(ModuleProgress.user_id == user_id, ModuleProgress.module_id == module.id)
    )
    if progress is not None and progress.version == module.version:
        return progress, False
    at = now()
    if progress is None:
        progress = ModuleProgress(user_id=user_id, module_id=module.id, version=module.version, completed_at=at)
        try:
            with db.session.begin_nested():  # a double click racing itself: the first one wins
                db.session.add(progress)
        except IntegrityError:
            return complete_module(user_id, module)
    else:
        progress.version, progress.completed_at = module.version, at
    audit.record(
        "module.completed",
        actor_id=user_id,
        object_type="module",
        object_id=module.id,
        at=at,
        course=module.course.slug,
        module=module.slug,
        version=module.version,
    )
    db.session.flush()
    from ..certification.service import after_progress  # a module may be the last requirement

    after_progress(user_id)
    return progress, True


def edit_module(module: Module, title: str, body: str, actor_id: int, origin: str = "browser") -> bool:
    """Save a browser edit as a new version (marked for export); return whether anything changed."""
    from .loader import ModuleSpec

    title, body = title.strip(), body.strip()
    if not title or not body:
        raise ValueError("标题和正文都不能为空。")
    if len(title) > 200:
        raise ValueError("标题太长（最多 200 字）。")
    text_hash = ModuleSpec(module.slug, module.sort_order, title, module.source, module.minutes, body, "").text_hash
    if text_hash == module.source_hash:
        return False
    module.version += 1
    module.title, module.body_md, module.body_html = title, body, render_markdown(body)
    module.source_hash, module.updated_at, module.dirty = text_hash, now(), True
    module.versions.append(ModuleVersion(version=module.version, title=title, body_md=body, origin=origin,
                                         created_by=actor_id))
    audit.record("module.edited", actor_id=actor_id, subject_id=None, object_type="module", object_id=module.id,
                 version=module.version, origin=origin)
    db.session.flush()
    return True


def restore_module(module: Module, version: int, actor_id: int) -> bool:
    """Bring back an earlier version's text, as a new version."""
    old = next((v for v in module.versions if v.version == version), None)
    if old is None:
        raise ValueError("没有这个版本。")
    return edit_module(module, old.title, old.body_md, actor_id, origin="restore")
