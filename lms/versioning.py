"""Versioned content (版本化内容): the one mechanism for content that lives both in files and in the browser.

Courses, modules, scenarios, the phrasebook, questions and exams are each a *content row* (the
`VersionedContent` columns) whose text is versioned. Files under `courses/` and `simulations/` are
read by `lms sync`; trainers also edit (and import) content in the browser; `lms export` writes
those edits back to the files. The rules, in one place:

- Identity is a key that never comes from the text: a slug, or a question's `::name::`.
- A version goes up only when the text's hash changes (`source_hash`); `file_hash` remembers the
  file's hash at the last sync, so a sync can tell "the file moved" from "the browser moved".
- A browser edit or import makes a new version and marks the row `dirty` (not yet in a file).
  A sync never overwrites a dirty row: while its file says something else, the browser's version
  is kept and the row is reported as a conflict at every sync (saying whether the file moved since
  the last sync too), until `lms export` writes it. When the file already holds the edit, the row
  is clean again.
- A row that is not in the files is retired (inactive, never deleted) only if it came from a file
  (`origin == "file"`) and is not dirty: what people created in the browser is never lost to a sync.
- `lms export` writes every dirty row to its file and marks it clean and file-born.

Each area supplies what differs (how to read its files, create a row, apply a version, write the
file); `sync_items`, `record_edit` and `mark_exported` are the shared steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Generic, Iterable, Mapping, TypeVar

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .clock import now
from .dbtypes import UTCDateTime
from .extensions import db
from .locks import lock_row

ORIGINS = ("file", "browser")


class CatalogContent:
    """Marker of content rows: a change to one moves the content stamp (lms/catalog.py)."""


class ContentStamp(db.Model):
    """One row whose value goes up with every change of content (lms/catalog.py moves it)."""

    __tablename__ = "content_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=1)


def changing_content() -> None:
    """Lock the stamp row now, at the start of a change to content: the stamp row is always locked
    before any content row (lms/catalog.py), so two changes queue instead of deadlocking on
    PostgreSQL, and one that checks something first (a new scenario's or exam's slug, a question's
    name) checks after any other change at the same moment has committed, instead of failing on
    the unique constraint. The flush would lock it anyway, but only after the checks."""
    lock_row(ContentStamp, 1)


class VersionedContent(CatalogContent):
    """Columns every content row has (mixed into the area's model)."""

    version: Mapped[int] = mapped_column(default=1)
    source_hash: Mapped[str] = mapped_column(String(64), default="")  # hash of the current text
    file_hash: Mapped[str] = mapped_column(String(64), default="")  # hash of the file's text at the last sync
    origin: Mapped[str] = mapped_column(String(10), default="file")  # file: came from a file | browser: not yet
    active: Mapped[bool] = mapped_column(default=True)
    dirty: Mapped[bool] = mapped_column(default=False)  # changed in the browser, not yet exported to its file
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def origin_label(self) -> str:
        """Where the current text came from, in the words the authoring pages use (a trainer's edit
        is simply in effect: writing it back to the files is the operator's `lms export`, never theirs)."""
        if not self.dirty:
            return "系统自带"
        return "网页修改" if self.origin == "file" else "网页新建"


@dataclass(frozen=True)
class FileItem:
    """One item as read from the files: its key, the hash of its text, and what the area parsed."""

    key: str
    hash: str
    spec: Any


@dataclass
class SyncReport:
    """What a sync did to one kind of content."""

    kind: str  # 课程 / 章节 / 情景 / 短语库 / 试题 / 考试
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # a new version (or brought back from retirement)
    unchanged: int = 0
    retired: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # browser edits kept although the file says otherwise
    file_moved: set[str] = field(default_factory=set)  # conflicts whose file changed since the last sync
    kept_new: list[str] = field(default_factory=list)  # created in the browser, not in any file: kept

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)

    def lines(self) -> list[str]:
        """The report in words, for `lms sync`."""
        out = [f"{self.kind}：新增{len(self.created)}，更新{len(self.updated)}，未变{self.unchanged}，"
               f"下线{len(self.retired)}" + (f"，网页新建{len(self.kept_new)}" if self.kept_new else "")
               + (f"，冲突{len(self.conflicts)}" if self.conflicts else "") + "。"]
        out += [f"  更新（版本+1）：{key}" for key in self.updated]
        out += [f"  下线：{key}" for key in self.retired]
        for key in self.conflicts:
            moved = "文件自上次同步后也改了，文件的修改未载入" if key in self.file_moved else "文件还是旧的内容"
            out.append(f"  冲突，已跳过：「{key}」在网页上改过且尚未导出（网页上的版本已保留；{moved}）。"
                       f"请先「lms export」写出网页上的修改，再合并文件。")
        return out


Row = TypeVar("Row", bound=VersionedContent)


def sync_items(report: SyncReport, rows: Mapping[str, Row], items: Iterable[FileItem],
               create: Callable[[FileItem], Row], apply: Callable[[Row, FileItem, bool], None],
               label: Callable[[str], str] = str) -> None:
    """Make the rows match the file items by the rules of this module (the caller flushes).

    `create(item)` makes and adds a new row; `apply(row, item, new_version)` writes the item's
    fields onto the row and, when `new_version`, adds the version record for `row.version`.
    """
    seen: set[str] = set()
    for item in items:
        seen.add(item.key)
        row = rows.get(item.key)
        if row is not None and row.dirty:
            if item.hash == row.source_hash:  # the file now holds the browser's text
                row.dirty, row.origin, row.file_hash = False, "file", item.hash
            else:
                report.conflicts.append(label(item.key))
                if item.hash != row.file_hash:
                    report.file_moved.add(label(item.key))
                    row.file_hash = item.hash
                continue
        if row is None:
            row = create(item)
            row.version, row.source_hash = 0, ""
            report.created.append(label(item.key))
        elif row.source_hash != item.hash or not row.active:
            report.updated.append(label(item.key))
        else:
            report.unchanged += 1
        new_version = row.source_hash != item.hash
        if new_version:
            row.version += 1
            row.source_hash = item.hash
            row.updated_at = now()
        row.file_hash, row.origin, row.active = item.hash, "file", True
        apply(row, item, new_version)
    for key, row in rows.items():
        if key in seen or not row.active:
            continue
        if row.dirty and row.origin == "file":  # edited in the browser, its file is gone: keep it
            report.conflicts.append(label(key))
        elif row.dirty:
            report.kept_new.append(label(key))
        elif row.origin == "file":
            row.active = False
            report.retired.append(label(key))


def record_edit(row: VersionedContent, new_hash: str, add_version: Callable[[int], None]) -> bool:
    """Make a browser edit (or import) the row's new version; return False when the text is unchanged.

    `add_version(version)` adds the version record; the row is marked dirty until `lms export`. A
    saved row is locked (after the stamp) and read again first: of two edits at the same moment,
    the second then numbers its version after the first's.
    """
    with db.session.no_autoflush:  # a new row may still lack fields its caller sets after this
        changing_content()
        if row.id is not None:
            lock_row(type(row), row.id)
    if new_hash == row.source_hash and row.active:
        return False
    if new_hash != row.source_hash:
        row.version = (row.version or 0) + 1
        add_version(row.version)
    row.source_hash, row.updated_at, row.dirty, row.active = new_hash, now(), True, True
    return True


def mark_exported(row: VersionedContent) -> None:
    """The row's text is now in its file."""
    row.dirty, row.origin, row.file_hash = False, "file", row.source_hash


@dataclass
class ExportReport:
    """What `lms export` wrote."""

    files: list[str] = field(default_factory=list)
    rows: int = 0


class Exporter(Generic[Row]):
    """How one kind of content goes back to its files: which rows, and the write."""

    def __init__(self, kind: str, dirty_rows: Callable[[], list[Row]],
                 write: Callable[[list[Row]], list[str]]) -> None:
        self.kind, self.dirty_rows, self.write = kind, dirty_rows, write

    def run(self, report: ExportReport) -> None:
        """Write the dirty rows and mark them exported."""
        rows = self.dirty_rows()
        if not rows:
            return
        report.files += self.write(rows)
        for row in rows:
            mark_exported(row)
        report.rows += len(rows)


def write_if_changed(path, text: str) -> bool:
    """Write a text file unless it already holds exactly that text; return whether it was written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
