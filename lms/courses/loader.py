"""Read course content from `courses/` (pure: no Flask, no database).

A course is a folder `courses/<slug>/` with `course.yaml` and numbered Markdown modules
`NN-<slug>.md` that start with YAML front matter (see `courses/FORMAT.md`). `load_courses`
returns every course it could read and every problem it found, each with file and line, so the
caller can refuse to change anything when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from .. import yamlx
from ..accounts.constants import POSITIONS
from ..digest import text_hash
from ..sanitize import markdown_problem

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MODULE_FILE_RE = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)\.md$")
RESERVED_DIRS = frozenset({"exams"})  # exam definitions live there, not courses

COURSE_KEYS = {"title", "summary", "order", "positions", "source"}
MODULE_KEYS = {"title", "source", "minutes", "check"}


@dataclass(frozen=True)
class LoadError:
    """A problem in a content file: where it is and what is wrong."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ModuleSpec:
    """A module as read from its file."""

    slug: str
    order: int
    title: str
    source: str
    minutes: int | None
    body: str
    path: str
    check: tuple[str, ...] = ()  # question categories its knowledge check draws from

    @property
    def text_hash(self) -> str:
        """Hash of the text a learner reads (title and body); its change bumps the version."""
        return text_hash(self.title, self.body)


@dataclass(frozen=True)
class CourseSpec:
    """A course as read from its folder."""

    slug: str
    title: str
    summary: str
    order: int
    positions: tuple[str, ...]
    source: str
    path: str
    modules: tuple[ModuleSpec, ...] = ()

    @property
    def text_hash(self) -> str:
        """Hash of the course's own fields (not its modules)."""
        return text_hash(self.title, self.summary, str(self.order), ",".join(self.positions), self.source)


@dataclass
class Content:
    """Everything read from a content folder."""

    courses: list[CourseSpec] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)

    @property
    def module_count(self) -> int:
        return sum(len(c.modules) for c in self.courses)


def load_courses(root: Path, positions: Iterable[str] = POSITIONS) -> Content:
    """Read every course folder under root; return the courses and all problems found."""
    content = Content()
    known_positions = tuple(positions)
    if not root.is_dir():
        content.errors.append(LoadError(str(root), None, "内容目录不存在"))
        return content
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name in RESERVED_DIRS or folder.name.startswith("."):
            continue
        course = _load_course(root, folder, known_positions, content.errors)
        if course is not None:
            content.courses.append(course)
    content.courses.sort(key=lambda c: (c.order, c.slug))
    return content


def _rel(root: Path, path: Path) -> str:
    return str(Path(root.name) / path.relative_to(root))


def _load_course(
    root: Path, folder: Path, known_positions: tuple[str, ...], errors: list[LoadError]
) -> CourseSpec | None:
    rel_folder = _rel(root, folder)
    if not SLUG_RE.match(folder.name) or len(folder.name) > 64:
        errors.append(LoadError(rel_folder, None, "课程目录名只能用小写字母、数字和「-」"))
        return None
    meta_path = folder / "course.yaml"
    rel_meta = _rel(root, meta_path)
    if not meta_path.is_file():
        errors.append(LoadError(rel_folder, None, "缺少「course.yaml」"))
        return None
    first_error = len(errors)
    meta, lines = _parse_yaml(meta_path.read_text(encoding="utf-8"), rel_meta, 0, errors)
    if meta is None:
        return None
    _check_keys(meta, lines, COURSE_KEYS, rel_meta, errors)
    title = _required_text(meta, "title", "标题", lines, rel_meta, errors, limit=200)
    summary = _required_text(meta, "summary", "简介", lines, rel_meta, errors, limit=500)
    source = _required_text(meta, "source", "出处（制度章节）", lines, rel_meta, errors, limit=300)
    order = _int_field(meta, "order", 100, lines, rel_meta, errors)
    course_positions = _positions(meta, lines, known_positions, rel_meta, errors)

    modules = _load_modules(root, folder, errors)
    if not modules and len(errors) == first_error:
        errors.append(LoadError(rel_folder, None, "课程没有任何章节（NN-slug.md）"))
    if len(errors) > first_error:
        return None
    return CourseSpec(
        slug=folder.name,
        title=title,
        summary=summary,
        order=order,
        positions=course_positions,
        source=source,
        path=rel_folder,
        modules=tuple(modules),
    )


def _load_modules(root: Path, folder: Path, errors: list[LoadError]) -> list[ModuleSpec]:
    modules: list[ModuleSpec] = []
    seen_slugs: dict[str, str] = {}
    seen_orders: dict[int, str] = {}
    for path in sorted(folder.glob("*.md")):
        rel = _rel(root, path)
        match = MODULE_FILE_RE.match(path.name)
        if not match:
            errors.append(LoadError(rel, None, "章节文件名应为「NN-slug.md」（序号-小写字母数字）"))
            continue
        order, slug = int(match.group(1)), match.group(2)
        if len(slug) > 64:
            errors.append(LoadError(rel, None, "章节slug太长（最多64个字符）"))
            continue
        if slug in seen_slugs:
            errors.append(LoadError(rel, None, f"章节slug「{slug}」重复（另见「{seen_slugs[slug]}」）"))
            continue
        if order in seen_orders:
            errors.append(LoadError(rel, None, f"章节序号{order}重复（另见「{seen_orders[order]}」）"))
            continue
        seen_slugs[slug], seen_orders[order] = rel, rel
        module = _load_module(path, rel, slug, order, errors)
        if module is not None:
            modules.append(module)
    return modules


def _load_module(path: Path, rel: str, slug: str, order: int, errors: list[LoadError]) -> ModuleSpec | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        errors.append(LoadError(rel, None, "文件不是UTF-8编码"))
        return None
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    file_lines = text.split("\n")
    if not file_lines or file_lines[0].strip() != "---":
        errors.append(LoadError(rel, 1, "文件应以「---」开头的YAML头部（front matter）开始"))
        return None
    try:
        end = next(i for i in range(1, len(file_lines)) if file_lines[i].strip() == "---")
    except StopIteration:
        errors.append(LoadError(rel, 1, "YAML头部没有以「---」结束"))
        return None
    first_error = len(errors)
    meta, lines = _parse_yaml("\n".join(file_lines[1:end]), rel, 1, errors)
    if meta is None:
        return None
    _check_keys(meta, lines, MODULE_KEYS, rel, errors)
    title = _required_text(meta, "title", "标题", lines, rel, errors, default_line=1, limit=200)
    source = _required_text(meta, "source", "出处（制度章节）", lines, rel, errors, default_line=1, limit=300)
    minutes = _int_field(meta, "minutes", None, lines, rel, errors)
    if minutes is not None and minutes <= 0:
        errors.append(LoadError(rel, lines.get("minutes"), "「minutes」应为正整数"))
    check = meta.get("check") or []
    if isinstance(check, str):
        check = [check]
    if not isinstance(check, list) or not all(isinstance(c, str) and c.strip() for c in check):
        errors.append(LoadError(rel, lines.get("check"), "「check」应为题目类别（$CATEGORY）列表"))
        check = []
    raw_body = "\n".join(file_lines[end + 1 :])
    body = raw_body.strip()
    if not body:
        errors.append(LoadError(rel, end + 2, "正文为空"))
    elif problem := markdown_problem(body):  # the body's first line is the file's line end + 2 + blank lines
        first = end + 2 + raw_body[: len(raw_body) - len(raw_body.lstrip())].count("\n")
        errors.append(LoadError(rel, first + problem.line - 1, f"正文{problem.message}"))
    if len(errors) > first_error:
        return None
    return ModuleSpec(slug=slug, order=order, title=title, source=source, minutes=minutes, body=body, path=rel,
                      check=tuple(c.strip() for c in check))


def _parse_yaml(
    text: str, rel: str, line_offset: int, errors: list[LoadError]
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """Parse a YAML mapping; return it with the line of each key (and of each list item)."""
    try:
        node, data = yamlx.compose(text), yamlx.load(text)
    except yamlx.YamlError as exc:
        errors.append(LoadError(rel, exc.line + line_offset if exc.line is not None else None, str(exc)))
        return None, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        errors.append(LoadError(rel, 1 + line_offset, "YAML内容应为键值对（mapping）"))
        return None, {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in lines:
            errors.append(LoadError(rel, key_node.start_mark.line + 1 + line_offset,
                                    f"字段「{key}」重复（第{lines[key]}行已有）"))
            return None, {}
        lines[key] = key_node.start_mark.line + 1 + line_offset
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                lines[f"{key}[{i}]"] = item.start_mark.line + 1 + line_offset
    return data, lines


def _check_keys(meta: dict, lines: dict[str, int], allowed: set[str], rel: str, errors: list[LoadError]) -> None:
    for key in meta:
        if key not in allowed:
            known = "、".join(sorted(allowed))
            errors.append(LoadError(rel, lines.get(str(key)), f"未知字段「{key}」（可用：{known}）"))


def _required_text(
    meta: dict, key: str, label: str, lines: dict[str, int], rel: str, errors: list[LoadError],
    default_line: int = 1, limit: int = 200,
) -> str:
    value = meta.get(key)
    if value is None or not str(value).strip():
        errors.append(LoadError(rel, lines.get(key, default_line), f"缺少{label}（{key}）"))
        return ""
    if not isinstance(value, (str, int, float)):
        errors.append(LoadError(rel, lines.get(key, default_line), f"「{key}」应为文字"))
        return ""
    if len(str(value).strip()) > limit:
        errors.append(LoadError(rel, lines.get(key, default_line), f"「{key}」太长（最多{limit}字）"))
        return ""
    return str(value).strip()


def _int_field(meta: dict, key: str, default: int | None, lines: dict[str, int], rel: str, errors: list[LoadError]) -> Any:
    value = meta.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(LoadError(rel, lines.get(key), f"「{key}」应为整数"))
        return default
    return value


def _positions(
    meta: dict, lines: dict[str, int], known: tuple[str, ...], rel: str, errors: list[LoadError]
) -> tuple[str, ...]:
    value = meta.get("positions") or []
    if not isinstance(value, list):
        errors.append(LoadError(rel, lines.get("positions"), "「positions」应为岗位名称列表"))
        return ()
    result = []
    for i, item in enumerate(value):
        name = str(item).strip()
        if name not in known:
            errors.append(
                LoadError(rel, lines.get(f"positions[{i}]"), f"未知岗位「{name}」（可用：{'、'.join(known)}）")
            )
        else:
            result.append(name)
    return tuple(result)


def module_file_text(title: str, source: str, minutes: int | None, check: Iterable[str], body: str) -> str:
    """A module as its Markdown file (what `_load_module` reads back): YAML front matter, then the body."""
    meta: dict[str, Any] = {"title": title, "source": source}
    if minutes:
        meta["minutes"] = minutes
    if check:
        meta["check"] = list(check)
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None).strip()
    return f"---\n{head}\n---\n\n{body.strip()}\n"
