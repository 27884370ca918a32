"""Course use cases: sync content from files, record study, read progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from .. import audit, events
from ..catalog import CourseInfo, ModuleInfo, catalog, contribute
from ..clock import now
from ..errors import DomainError
from ..extensions import core_rows, db
from ..locks import lock_row
from ..sanitize import markdown_problem, render_markdown
from ..versioning import Exporter, FileItem, SyncReport, record_edit, sync_items, write_if_changed
from .loader import Content, module_file_text
from .models import Course, Module, ModuleProgress, ModuleVersion


def sync_content(content: Content) -> list[SyncReport]:
    """Make the database's courses and modules match the files (lms/versioning.py; the caller commits).

    Idempotent: a second run with the same files changes nothing. A course's or module's version
    goes up only when its text hash changes; browser edits not yet exported are never overwritten.
    """
    if content.errors:
        raise ValueError("refusing to sync content with errors")
    courses_report, modules_report = SyncReport("课程"), SyncReport("章节")
    courses = {c.slug: c for c in db.session.scalars(select(Course))}

    def create_course(item: FileItem) -> Course:
        course = Course(slug=item.key)
        db.session.add(course)
        return course

    def apply_course(course: Course, item: FileItem, new_version: bool) -> None:
        spec = item.spec
        course.title, course.summary, course.sort_order = spec.title, spec.summary, spec.order
        course.positions, course.source = list(spec.positions), spec.source
        _sync_modules(course, spec, modules_report)

    sync_items(courses_report, courses, (FileItem(c.slug, c.text_hash, c) for c in content.courses),
               create_course, apply_course)
    db.session.flush()
    return [courses_report, modules_report]


def _sync_modules(course: Course, spec, report: SyncReport) -> None:
    def create(item: FileItem) -> Module:
        module = Module(slug=item.key)
        course.modules.append(module)
        return module

    def apply(module: Module, item: FileItem, new_version: bool) -> None:
        mspec = item.spec
        module.title, module.source, module.minutes = mspec.title, mspec.source, mspec.minutes
        module.sort_order, module.body_md = mspec.order, mspec.body
        module.check_categories = list(mspec.check)
        html = render_markdown(mspec.body)
        if module.body_html != html:  # derived; re-rendered if the sanitiser changes
            module.body_html = html
        if new_version:
            module.versions.append(ModuleVersion(version=module.version, title=mspec.title, body_md=mspec.body,
                                                 origin="file"))

    sync_items(report, {m.slug: m for m in course.modules}, (FileItem(m.slug, m.text_hash, m) for m in spec.modules),
               create, apply, label=lambda slug: f"{spec.slug}/{slug}")


def exporters(root: Path) -> list[Exporter]:
    """How `lms export` writes modules edited in the browser back to their Markdown files."""
    def dirty_modules() -> list[Module]:
        return list(db.session.scalars(select(Module).where(Module.dirty.is_(True)).order_by(Module.id)))

    def write(rows: list[Module]) -> list[str]:
        written = []
        for module in rows:
            folder = root / module.course.slug
            existing = sorted(folder.glob(f"[0-9]*-{module.slug}.md"))
            path = existing[0] if existing else folder / f"{module.sort_order:02d}-{module.slug}.md"
            text = module_file_text(module.title, module.source, module.minutes, module.check_categories, module.body_md)
            if write_if_changed(path, text):
                written.append(str(path))
        return written

    return [Exporter("章节", dirty_modules, write)]


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


def _current():
    """The condition on a progress row joined to its module: an active module studied in its current version."""
    return and_(Module.active.is_(True), ModuleProgress.version == Module.version)


def current_study(*columns):
    """Progress rows of active modules studied in their current version, selecting `columns`."""
    return select(*columns).join(Module, Module.id == ModuleProgress.module_id).where(_current())


def progress_by_course(user_ids: list[int]) -> dict[tuple[int, int], int]:
    """Count active modules studied in their current version, per (user, course), in one query."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        current_study(ModuleProgress.user_id, Module.course_id, func.count())
        .where(ModuleProgress.user_id.in_(user_ids)).group_by(ModuleProgress.user_id, Module.course_id)
    ).all()
    return {(user_id, course_id): n for user_id, course_id, n in rows}


def studied_by_course(user_id: int, course_ids: list[int] | None = None) -> dict[int, tuple[int, datetime]]:
    """Per course: how many active modules the person studied in their current version, and when
    the last of them was studied (one query; all courses unless `course_ids` is given)."""
    if course_ids is not None and not course_ids:
        return {}
    values = {"user_id": user_id} | ({"course_ids": list(course_ids)} if course_ids is not None else {})
    return {course_id: (count, last)
            for course_id, count, last in core_rows(_studied(course_ids is not None), values)}


@lru_cache(maxsize=None)
def _studied(some_courses: bool):
    """studied_by_course's statement, built once (it runs on every learner page)."""
    query = (current_study(Module.course_id, func.count(), func.max(ModuleProgress.completed_at))
             .where(ModuleProgress.user_id == bindparam("user_id")).group_by(Module.course_id))
    return query.where(Module.course_id.in_(bindparam("course_ids", expanding=True))) if some_courses else query


def module_totals() -> dict[int, int]:
    """Active modules per course (from the content catalogue)."""
    return dict(catalog().module_totals)


def course_progress(user_id: int, courses: list, studied: dict[int, tuple[int, datetime]] | None = None
                    ) -> dict[int, CourseProgress]:
    """Return the person's progress in each of the courses (`studied`: from studied_by_course, if at hand)."""
    if studied is None:
        studied = studied_by_course(user_id, [c.id for c in courses])
    totals = catalog().module_totals
    return {c.id: CourseProgress(studied.get(c.id, (0, None))[0], totals.get(c.id, 0)) for c in courses}


def study_of(user_id: int) -> tuple[dict[int, tuple[int, datetime]], dict[int, int]]:
    """What the person studied, in one query: per course what studied_by_course gives (modules
    studied in their current version, the last time), and the version of each module studied."""
    by_course: dict[int, tuple[int, datetime]] = {}
    versions: dict[int, int] = {}
    for module_id, version, course_id, current, completed_at in core_rows(_STUDY, {"user_id": user_id}):
        versions[module_id] = version
        if current:
            count, last = by_course.get(course_id, (0, None))
            by_course[course_id] = (count + 1, max(completed_at, last) if last is not None else completed_at)
    return by_course, versions


_STUDY = (select(ModuleProgress.module_id, ModuleProgress.version, Module.course_id, _current().label("is_current"),
                 ModuleProgress.completed_at).join(Module, Module.id == ModuleProgress.module_id)
          .where(ModuleProgress.user_id == bindparam("user_id")))


def next_module(course_id: int, versions: Mapping[int, int]) -> ModuleInfo | None:
    """The course's first active module not studied in its current version (`versions`: from
    study_of), else its first; None when it has none."""
    modules = catalog().modules.get(course_id, ())
    return next((m for m in modules if versions.get(m.id) != m.version), modules[0] if modules else None)


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
    if progress is not None:  # a newer version: of two taps at the same moment, the second finds it recorded
        progress = lock_row(ModuleProgress, progress.id)  # None if deleted meanwhile: recorded anew below
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
    events.module_completed.send(None, user_id=user_id, module=module)
    return progress, True


def complete_by_button(user_id: int, module: Module) -> bool:
    """「我已学习」 on a module page: a module that ends with a knowledge check is completed only by
    passing the check; an overdue notice may block it (lms/events.py). Return whether it was recorded now."""
    if module.course_id in catalog().courses_with_check:
        raise DomainError("本章以小测结束：通过小测才算学完。")
    events.ensure_may_start(user_id, module.id)
    return complete_module(user_id, module)[1]


def edit_module(module: Module, title: str, body: str, actor_id: int, origin: str = "browser") -> bool:
    """Save a browser edit as a new version (marked for export); return whether anything changed."""
    from .loader import ModuleSpec

    title, body = title.strip(), body.strip()
    if not title or not body:
        raise DomainError("标题和正文都不能为空。")
    if len(title) > 200:
        raise DomainError("标题太长（最多200字）。")
    if problem := markdown_problem(body):
        raise DomainError(f"正文{problem}。")
    text_hash = ModuleSpec(module.slug, module.sort_order, title, module.source, module.minutes, body, "").text_hash
    changed = record_edit(module, text_hash, lambda version: module.versions.append(
        ModuleVersion(version=version, title=title, body_md=body, origin=origin, created_by=actor_id)))
    if not changed:
        return False
    module.title, module.body_md, module.body_html = title, body, render_markdown(body)
    audit.record("module.edited", actor_id=actor_id, subject_id=None, object_type="module", object_id=module.id,
                 version=module.version, origin=origin)
    db.session.flush()
    return True


def restore_module(module: Module, version: int, actor_id: int) -> bool:
    """Bring back an earlier version's text, as a new version."""
    old = next((v for v in module.versions if v.version == version), None)
    if old is None:
        raise DomainError("没有这个版本。")
    return edit_module(module, old.title, old.body_md, actor_id, origin="restore")


def _catalog_part(session) -> dict:
    """The courses' part of the content catalogue: every course, and active modules per course."""
    rows = [CourseInfo(c.id, c.slug, c.title, c.summary, c.sort_order, tuple(c.positions or ()), c.active)
            for c in session.execute(select(Course.id, Course.slug, Course.title, Course.summary, Course.sort_order,
                                            Course.positions, Course.active).order_by(Course.sort_order, Course.slug))]
    modules: dict[int, list[ModuleInfo]] = {}
    for row in session.execute(select(Module.id, Module.course_id, Module.slug, Module.title, Module.version)
                               .where(Module.active.is_(True)).order_by(Module.course_id, Module.sort_order, Module.id)):
        modules.setdefault(row.course_id, []).append(ModuleInfo(*row))
    return {"courses": tuple(c for c in rows if c.active), "course_by_slug": MappingProxyType({c.slug: c for c in rows}),
            "module_totals": MappingProxyType({cid: len(ms) for cid, ms in modules.items()}),
            "modules": MappingProxyType({cid: tuple(ms) for cid, ms in modules.items()})}


contribute("courses", _catalog_part)
