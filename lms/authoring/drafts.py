"""Scenario drafts: what the editor saves, test-play of a draft, publishing, new scenarios from templates.

A draft is one per scenario (`ScenarioDraft`), kept in the database until it is published (the
scenario's next version, through `save_scenario_text`, the one save rule) or thrown away. Test-play
plays a copy of the draft stored as a version with origin `draft` and a negative number: never the
scenario's current version (`current_version` skips it) and played in mode `test`, which is never
a learning record.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from .. import audit, yamlx
from ..clock import now
from ..digest import text_hash
from ..errors import DomainError
from ..extensions import db
from ..locks import lock_row
from ..versioning import changing_content
from ..roleplay.models import Scenario, ScenarioDraft, ScenarioVersion
from ..roleplay.scenario import ID_RE
from ..roleplay.service import current_version, save_scenario_text
from . import scenario_doc as sd

TEMPLATE_DIR = Path(__file__).with_name("scenario_templates")
TEMPLATES = {  # key: (name shown, what it is for)
    "counter": ("柜台受理", "客户到柜台办理业务：问候、核验证件、讲清资费、唱收唱付、道别。"),
    "complaint": ("四阶段投诉", "投诉接待按「接受投诉 → 解释澄清 → 提出解决 → 跟踪总结」四个阶段处理，三种结局。"),
    "phone": ("电话服务", "电话铃响三声内接听、规范问候、记录并复述确认、结束前征询。"),
}


def template_text(key: str) -> str:
    if key not in TEMPLATES:
        raise DomainError("请选择一个模板。")
    return (TEMPLATE_DIR / f"{key}.yaml").read_text(encoding="utf-8")


def editing(row: Scenario) -> None:
    """Changes to a scenario's draft take turns, each on the draft as the one before left it (the
    stamp first, then the scenario, as every change to content: lms/versioning.py). Two saves at the
    same moment, of different nodes, then keep both; a double tap on the first save or on 试玩 makes
    one draft or test copy, not a 500 from the unique constraint."""
    changing_content()
    lock_row(Scenario, row.id)


def draft_of(row: Scenario) -> ScenarioDraft | None:
    return db.session.scalar(select(ScenarioDraft).where(ScenarioDraft.scenario_id == row.id))


def working_text(row: Scenario) -> str:
    """The text the editor shows: the draft, or the current version when there is none."""
    draft = draft_of(row)
    if draft is not None:
        return draft.yaml_text
    version = current_version(row)
    return version.yaml_text if version is not None else ""


def save_draft(row: Scenario, text: str, actor_id: int) -> ScenarioDraft:
    """Keep the editor's text as the scenario's draft (problems and all; it must be YAML people may write)."""
    yamlx.load(text)  # no aliases, depth, size: the draft is what will be published
    editing(row)
    draft = draft_of(row)
    if draft is None:
        version = current_version(row)
        draft = ScenarioDraft(scenario_id=row.id, base_version=version.version if version else 0, yaml_text=text)
        db.session.add(draft)
    draft.yaml_text, draft.updated_at, draft.updated_by = text, now(), actor_id
    db.session.flush()
    return draft


def discard_draft(row: Scenario) -> None:
    editing(row)
    draft = draft_of(row)
    if draft is not None:
        db.session.delete(draft)
        db.session.flush()


def publish(row: Scenario, actor_id: int) -> tuple[list[str], bool]:
    """Make the draft the scenario's next version if it is valid: (problems, whether a version was made)."""
    editing(row)
    draft = draft_of(row)
    if draft is None:
        return [], False
    before = row.version
    problems = save_scenario_text(row, draft.yaml_text, actor_id)
    if problems:
        return problems, False
    db.session.delete(draft)
    db.session.flush()
    return [], row.version != before


def test_copy(row: Scenario, text: str, actor_id: int) -> ScenarioVersion:
    """The draft as a playable version (origin `draft`, numbered below zero; one per distinct text)."""
    editing(row)
    digest = text_hash(text)
    copy = db.session.scalar(select(ScenarioVersion).where(
        ScenarioVersion.scenario_id == row.id, ScenarioVersion.origin == "draft", ScenarioVersion.source_hash == digest))
    if copy is None:
        lowest = db.session.scalar(select(func.min(ScenarioVersion.version)).where(
            ScenarioVersion.scenario_id == row.id)) or 0
        copy = ScenarioVersion(scenario_id=row.id, version=min(lowest, 0) - 1, yaml_text=text, source_hash=digest,
                               origin="draft", created_by=actor_id)
        db.session.add(copy)
        db.session.flush()
    return copy


def create_from_template(slug: str, title: str, key: str, actor_id: int) -> Scenario:
    """A new scenario (not yet published: learners do not see it) whose draft is the chosen template."""
    slug, title = (slug or "").strip(), (title or "").strip()
    if not ID_RE.match(slug) or len(slug) > 64:
        raise DomainError("编号只能用小写英文字母、数字和「-」，以字母或数字开头，最多64个字符，例如「refund-complaint」。")
    changing_content()
    if slug == "new" or db.session.scalar(select(Scenario.id).where(Scenario.slug == slug)) is not None:
        raise DomainError(f"编号「{slug}」已被别的情景使用，请换一个。")
    if not title:
        raise DomainError("请填写情景标题。")
    if len(title) > 200:
        raise DomainError("情景标题最多200字。")
    doc = sd.load(template_text(key))
    doc["id"] = slug
    doc["title"] = title
    text = sd.dump(doc)
    row = Scenario(slug=slug, title=title, category=str(doc.get("category", "")), positions=list(doc.get("positions") or []),
                   difficulty=int(doc.get("difficulty", 1)), summary=str(doc.get("summary", "")),
                   source=[str(s) for s in doc.get("source") or []], version=0, source_hash="", origin="browser",
                   active=False, dirty=False)
    db.session.add(row)
    db.session.flush()
    save_draft(row, text, actor_id)
    audit.record("scenario.created", actor_id=actor_id, subject_id=None, object_type="scenario", object_id=slug,
                 template=key)
    return row


def known_sources() -> list[str]:
    """The rulebook sections the content already cites (courses, modules, scenarios): the citation picker."""
    from ..courses.models import Course, Module

    found: set[str] = set()
    for value in db.session.scalars(select(Module.source)):
        if value:
            found.add(str(value))
    for value in db.session.scalars(select(Course.source)):
        if value:
            found.add(str(value))
    for values in db.session.scalars(select(Scenario.source)):
        found.update(str(v) for v in values or [])
    return sorted({_section(s) for s in found if _section(s)}, key=_chapter_order)


_CHAPTERS = "一二三四五六七八九十"


def _section(text: str) -> str:
    return re.split(r"[（(；;]", text.strip())[0].strip() if text.strip().startswith("第") else text.strip()


def _chapter_order(text: str) -> tuple:
    match = re.match(r"第([一二三四五六七八九十])章", text)
    return (_CHAPTERS.index(match.group(1)) if match else 99, text)
