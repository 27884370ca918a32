"""Role-play use cases: sync content, start a run, take a turn, finish, read history."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType


from flask import current_app
from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, events, rings
from ..accounts.models import User
from ..catalog import ItemInfo, contribute, version_cached
from ..clock import now
from ..errors import DomainError
from ..extensions import core_rows, db, loaded
from ..locks import lock_row
from ..versioning import Exporter, FileItem, SyncReport, changing_content, record_edit, sync_items, write_if_changed
from . import scenario as engine
from .models import Phrasebook, PhrasebookVersion, Run, Scenario, ScenarioVersion, Turn
from ..digest import text_hash
from .phrasebook import Phrasebook as CompiledPhrasebook
from .scoring import TurnRecord, score_run
from .validate import Simulations, parse_phrasebook, parse_scenario_text

MAX_REPLY = 500  # characters; a counter reply is a sentence or two
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")




def sync_simulations(sims: Simulations) -> list[SyncReport]:
    """Make the phrasebook and scenarios match the files (lms/versioning.py; the caller commits)."""
    if sims.problems:
        raise ValueError("refusing to sync simulations with problems")
    book_report, scenario_report = SyncReport("短语库"), SyncReport("情景")
    head = db.session.get(Phrasebook, 1)

    def create_book(item: FileItem) -> Phrasebook:
        row = Phrasebook(id=1)
        db.session.add(row)
        return row

    def apply_book(row: Phrasebook, item: FileItem, new_version: bool) -> None:
        if new_version:
            db.session.add(PhrasebookVersion(version=row.version, yaml_text=item.spec, source_hash=item.hash))

    sync_items(book_report, {Phrasebook.KEY: head} if head else {},
               [FileItem(Phrasebook.KEY, sims.phrasebook.source_hash, sims.phrasebook_text)], create_book, apply_book)

    def create_scenario(item: FileItem) -> Scenario:
        row = Scenario(slug=item.key)
        db.session.add(row)
        return row

    def apply_scenario(row: Scenario, item: FileItem, new_version: bool) -> None:
        _apply_scenario_fields(row, item.spec.scenario)
        if new_version:
            row.versions.append(ScenarioVersion(version=row.version, yaml_text=item.spec.text, source_hash=item.hash))

    sync_items(scenario_report, {s.slug: s for s in db.session.scalars(select(Scenario))},
               (FileItem(item.id, item.source_hash, item) for item in sims.scenarios), create_scenario, apply_scenario)
    db.session.flush()
    return [book_report, scenario_report]


def exporters(root: Path) -> list[Exporter]:
    """How `lms export` writes the phrasebook and scenarios edited in the browser back to `simulations/`."""
    def dirty_book() -> list[Phrasebook]:
        return list(db.session.scalars(select(Phrasebook).where(Phrasebook.dirty.is_(True))))

    def write_book(rows: list[Phrasebook]) -> list[str]:
        path = root / "phrasebook.yaml"
        return [str(path)] if write_if_changed(path, current_phrasebook_version().yaml_text) else []

    def dirty_scenarios() -> list[Scenario]:
        return list(db.session.scalars(select(Scenario).where(Scenario.dirty.is_(True)).order_by(Scenario.slug)))

    def write_scenarios(rows: list[Scenario]) -> list[str]:
        return [str(path) for row in rows
                if write_if_changed(path := root / "scenarios" / f"{row.slug}.yaml", current_version(row).yaml_text)]

    return [Exporter("短语库", dirty_book, write_book), Exporter("情景", dirty_scenarios, write_scenarios)]


def _apply_scenario_fields(row: Scenario, spec: engine.Scenario) -> None:
    row.title, row.category, row.positions = spec.title, spec.category, list(spec.positions)
    row.difficulty, row.summary, row.source = spec.difficulty, spec.summary, list(spec.source)


@lru_cache(maxsize=16)
def _phrasebook(version_id: int, text: str) -> CompiledPhrasebook:
    return parse_phrasebook(text)


@lru_cache(maxsize=256)
def _scenario(version_id: int, slug: str, text: str) -> engine.Scenario:
    return parse_scenario_text(text, slug)


def phrasebook_of(version: PhrasebookVersion) -> CompiledPhrasebook:
    """Return the compiled phrasebook of a stored version (cached per process)."""
    return _phrasebook(version.id, version.yaml_text)


def scenario_of(version: ScenarioVersion) -> engine.Scenario:
    """Return the parsed scenario of a stored version (cached per process)."""
    return _scenario(version.id, version.scenario.slug, version.yaml_text)


def version_spec(version_id: int, version: ScenarioVersion | None = None) -> engine.Scenario:
    """The parsed scenario of a version, by id (kept per process: versions never change); `version`:
    its row, where the caller has it in hand."""
    return version_cached("lms_scenario_specs", version_id,
                          lambda: scenario_of(version or db.session.get(ScenarioVersion, version_id)))


def run_scenario(run: Run) -> engine.Scenario:
    """The parsed scenario a run is played with."""
    return version_spec(run.scenario_version_id)


def run_phrasebook(run: Run) -> CompiledPhrasebook:
    """The compiled phrasebook a run is scored with, by version id (kept per process)."""
    return version_cached("lms_phrasebooks", run.phrasebook_version_id, lambda: phrasebook_of(run.phrasebook_version),
                          maxsize=16)


def phrasebook_head() -> Phrasebook | None:
    """The phrasebook's content row (version, whether a browser edit waits for export)."""
    return db.session.get(Phrasebook, 1)


def _newest_book(*columns):
    """The newest phrasebook version (these of its columns)."""
    return select(*columns).order_by(PhrasebookVersion.version.desc()).limit(1)


_NEWEST_BOOK, _NEWEST_BOOK_ID = _newest_book(PhrasebookVersion), _newest_book(PhrasebookVersion.id)


def current_phrasebook_version() -> PhrasebookVersion | None:
    """Return the newest phrasebook version."""
    return db.session.scalar(_NEWEST_BOOK)


def start_timer(run: Run, node: engine.Node) -> bool:
    """Start a timed node's clock when the learner first sees it (not when the turn before ended).

    Only while the run still stands where it was read: a press that arrives after the reply was taken
    (another tab, a resend) would otherwise restart the clock of the node after it."""
    if not node.timed or run.timer_started or run.status != "active":
        return False
    at = now()
    if core_rows(_START_TIMER, {"run_id": run.id, "turn": run.turn_count, "at": at}).rowcount != 1:
        db.session.refresh(run)
        return False
    set_committed_value(run, "node_shown_at", at)
    set_committed_value(run, "timer_turn", run.turn_count + 1)
    return True


def _newest_published(*columns):
    """The newest published version of a scenario (`scenario_id`; a draft's test-play copy is none),
    these of its columns."""
    return (select(*columns).where(ScenarioVersion.scenario_id == bindparam("scenario_id"),
                                   ScenarioVersion.origin != "draft")
            .order_by(ScenarioVersion.version.desc()).limit(1))


# the row, and what a new run needs of it (read without its text)
_NEWEST_VERSION, _NEWEST_VERSION_REF = (_newest_published(ScenarioVersion),
                                        _newest_published(ScenarioVersion.id, ScenarioVersion.version))


def current_version(scenario: Scenario) -> ScenarioVersion:
    """Return the newest published version of a scenario (one row)."""
    return db.session.scalar(_NEWEST_VERSION, {"scenario_id": scenario.id})


def clean_reply(text: str) -> str:
    """Strip control, unassigned and private-use characters and surrounding space; refuse bad replies."""
    text = "".join(ch for ch in _CONTROL.sub("", text or "") if unicodedata.category(ch) not in ("Cn", "Co", "Cs"))
    text = text.strip()
    if not text:
        raise DomainError("请先输入您要对客户说的话。")
    if len(text) > MAX_REPLY:
        raise DomainError(f"回复太长（{len(text)}字），请控制在{MAX_REPLY}字以内。")
    return text


def start_run(user_id: int, scenario: Scenario, mode: str, version: ScenarioVersion | None = None) -> Run:
    """Start a new run at the scenario's start; earlier unfinished runs of it are abandoned.

    `version` plays another text than the current one: a draft's test-play copy (mode test only).
    What the run is played with is read first; the person's row is locked only for the writes, so
    on SQLite the one write lock is not held while the scenario is looked up.
    """
    if mode != "test":  # a trainer's test-play is not training
        events.ensure_may_start(user_id)
        version = None
    book_id = core_rows(_NEWEST_BOOK_ID).scalar()  # what the run is played with, read without the texts
    if book_id is None:
        raise DomainError("短语库尚未加载，请联系培训岗。")
    if version is not None:
        version_id, number = version.id, version.version
    else:
        newest = core_rows(_NEWEST_VERSION_REF, {"scenario_id": scenario.id}).first()
        if newest is None:
            raise DomainError("这个情景还没有发布，暂时不能练习。")
        version_id, number = newest
    spec = version_spec(version_id, version)
    lock_row(User, user_id)  # a double tap on 开始 starts one run: the second abandons the first
    core_rows(_ABANDON, {"person": user_id, "played": scenario.id})
    for held in list(db.session.identity_map.values()):  # runs in hand: as the database now holds them
        if (isinstance(held, Run) and held.__dict__.get("status") == "active" and held.user_id == user_id
                and held.scenario_id == scenario.id):
            set_committed_value(held, "status", "abandoned")
    at = now()
    run = loaded(Run, core_rows(_INSERT_RUN, {
        "user_id": user_id, "scenario_id": scenario.id, "scenario_version_id": version_id,
        "phrasebook_version_id": book_id, "mode": mode if mode in ("beginner", "test") else "text",
        "status": "active", "node": spec.start, "variables": spec.initial_variables(), "turn_count": 0,
        "node_shown_at": at, "started_at": at}).one())
    if run.is_training:  # a trainer's test-play is not a learning record
        audit.record("scenario.attempted", actor_id=user_id, object_type="scenario", object_id=scenario.slug,
                     run=run.id, version=number, mode=run.mode)
    return run


_RUN = Run.__table__
_TURN = Turn.__table__
# Claim turn `seq` of a run: the conditional UPDATE lets one of two racing submits through (the
# second waits for the first's lock, the row's on PostgreSQL, the database's on SQLite, then finds
# turn_count moved on); the run was read before, without a lock. Built once, run on the session's
# connection: a turn is the most frequent write of all (bench/floor.py).
_CLAIM = (update(_RUN).where(_RUN.c.id == bindparam("run_id"), _RUN.c.turn_count == bindparam("previous"),
                            _RUN.c.status == "active")  # not replaced by a new run since it was read
          .values(turn_count=bindparam("seq"), node=bindparam("next_node"),
                  variables=bindparam("new_variables", type_=_RUN.c.variables.type), node_shown_at=bindparam("at")))
# Start the clock of the node shown after turn `turn`, if the run is still there (start_timer)
_START_TIMER = (update(_RUN).where(_RUN.c.id == bindparam("run_id"), _RUN.c.turn_count == bindparam("turn"),
                                  _RUN.c.status == "active",
                                  _RUN.c.timer_turn.is_distinct_from(_RUN.c.turn_count + 1))  # not started yet
                .values(node_shown_at=bindparam("at"), timer_turn=_RUN.c.turn_count + 1))
_INSERT_TURN = insert(_TURN)
# Starting a run (start_run): the person's unfinished runs of the scenario are abandoned, and the new
# one is inserted and read back whole, without the unit of work (one start follows every ending).
_ABANDON = (update(_RUN).where(_RUN.c.user_id == bindparam("person"), _RUN.c.scenario_id == bindparam("played"),
                               _RUN.c.status == "active").values(status="abandoned"))
_INSERT_RUN = insert(_RUN).returning(*_RUN.c)
_SCORED_TURNS = (select(_TURN.c.points, _TURN.c.max_points, _TURN.c.fraction, _TURN.c.critical, _TURN.c.stage)
                 .where(_TURN.c.run_id == bindparam("run_id")).order_by(_TURN.c.seq))


def take_turn(run: Run, seq: int, reply: str = "", option_id: str | None = None) -> bool:
    """Record the learner's reply as turn `seq` of the run, once; tell whether it was recorded.

    `seq` is the turn number the page was showing; a second submission of the same number (a
    double click, a resend after a lost connection) records nothing and returns False. The turn's
    row is written with Core (lms/extensions.py: core_rows), not added to the session: nothing
    reads it back as an object in the request that takes it.
    """
    if run.status != "active":
        return False
    if seq != run.turn_count + 1:
        return False
    spec = run_scenario(run)
    node = spec.nodes[run.node]
    if node.end:
        return False
    if option_id:
        if node.option(option_id) is None or not (node.mode == "choice" or run.mode == "beginner"):
            raise DomainError("请选择一个选项。" if node.mode == "choice" else "请输入您要对客户说的话。")
        reply = node.option(option_id).text
    else:
        if node.mode == "choice":
            raise DomainError("请选择一个选项。")
        reply = clean_reply(reply)
    at = now()
    elapsed = max(0.0, (at - run.node_shown_at).total_seconds())
    result = engine.step(spec, node, run.variables, reply, run_phrasebook(run),
                         option_id=option_id, elapsed=elapsed, turns=seq, rings=rings.from_config(current_app.config))
    customer_text = node.customer_line(run.variables)  # as the customer said it, before this turn's effects
    values = {"turn_count": seq, "node": result.next_node, "variables": dict(result.variables), "node_shown_at": at}
    claimed = core_rows(_CLAIM, {"run_id": run.id, "previous": seq - 1, "seq": seq, "next_node": result.next_node,
                                 "new_variables": values["variables"], "at": at}).rowcount
    if claimed != 1:
        db.session.refresh(run)
        return False
    for key, value in values.items():  # the row now holds these; no need to read it back
        set_committed_value(run, key, value)
    core_rows(_INSERT_TURN, {
        "run_id": run.id, "seq": seq, "node": node.id, "customer_text": customer_text, "reply": reply,
        "option_id": option_id, "analysis": result.analysis.to_json(), "points": result.turn.points,
        "max_points": result.turn.max_points, "fraction": result.turn.fraction, "forbidden": result.forbidden,
        "critical": result.analysis.critical, "stage": node.expect.stage, "missing": list(result.turn.missing),
        "patterns_missing": list(result.turn.patterns_missing), "next_node": result.next_node, "elapsed": elapsed,
        "created_at": at})
    if "turns" in run.__dict__:  # a list loaded earlier in this request no longer holds every turn
        db.session.expire(run, ["turns"])
    if spec.nodes[result.next_node].end:
        finish_run(run, spec)
    return True


# A scenario version's number (`version_id`), for the record of a finished run: not its row, whole text and all.
_VERSION_NUMBER = select(ScenarioVersion.version).where(ScenarioVersion.id == bindparam("version_id"))


def finish_run(run: Run, spec: engine.Scenario) -> None:
    """Score a run that reached an ending and record the result in the archive."""
    ending = spec.nodes[run.node]
    turns = core_rows(_SCORED_TURNS, {"run_id": run.id})
    result = score_run([TurnRecord(*t) for t in turns], spec.pass_score, ending.outcome, spec.require_stages)
    run.status, run.finished_at, run.score, run.passed = Run.FINISHED, now(), result.score, result.passed
    run.outcome = ending.outcome
    run.result = {"reasons": list(result.reasons), "stages": list(result.stages_reached)}
    if not run.is_training:
        db.session.flush()
        return
    number = core_rows(_VERSION_NUMBER, {"version_id": run.scenario_version_id}).scalar_one()
    audit.record("scenario.passed" if result.passed else "scenario.failed", actor_id=run.user_id,
                 object_type="scenario", object_id=spec.id, run=run.id, score=result.score,
                 outcome=ending.outcome, version=number, mode=run.mode)
    db.session.flush()
    events.run_finished.send(None, run=run, passed=result.passed)


def best_scores(user_id: int) -> dict[int, tuple[int, bool]]:
    """Return each scenario's best finished score and whether a typed (not beginner) run passed."""
    rows = db.session.execute(
        select(Run.scenario_id, func.max(Run.score),
               func.max(case((Run.passed.is_(True) & Run.typed, 1), else_=0)))
        .where(Run.user_id == user_id, Run.finished, Run.is_training)
        .group_by(Run.scenario_id)
    ).all()
    return {sid: (best, bool(passed)) for sid, best, passed in rows}


def save_scenario_text(row: Scenario, text: str, actor_id: int) -> list[str]:
    """Save a browser edit of a scenario if it is valid; return the problems (empty: saved)."""
    changing_content()  # checked against the phrasebook as it stands: none is saved meanwhile
    problems = scenario_problems(row.slug, text)
    if problems:
        return problems
    digest = text_hash(text)
    if record_edit(row, digest, lambda version: row.versions.append(ScenarioVersion(
            version=version, yaml_text=text, source_hash=digest, origin="browser", created_by=actor_id))):
        _apply_scenario_fields(row, parse_scenario_text(text, row.slug))
        audit.record("scenario.edited", actor_id=actor_id, subject_id=None, object_type="scenario",
                     object_id=row.slug, version=row.version)
        db.session.flush()
    return []


def scenario_problems(slug: str, text: str, book: CompiledPhrasebook | None = None) -> list[str]:
    """Everything `lms check` would say about this scenario text (「第N行：节点「…」：…」)."""
    from .validate import scenario_text_problems

    return scenario_text_problems(text, slug, book if book is not None else (
        lambda: phrasebook_of(current_phrasebook_version())))


def save_phrasebook_text(text: str, actor_id: int) -> list[str]:
    """Save a browser edit of the phrasebook if it and every scenario's tests still hold."""
    from ..yamlx import YamlError, at_line, yaml_error_message
    from .phrasebook_load import PhrasebookError

    try:
        book = parse_phrasebook(text)
    except YamlError as exc:
        return [yaml_error_message(exc)]
    except PhrasebookError as exc:
        return [at_line(line) + message for line, message in exc.problems]
    changing_content()  # every scenario checked as it stands: none is published meanwhile
    problems = []
    for row in db.session.scalars(select(Scenario).where(Scenario.active.is_(True)).order_by(Scenario.slug)):
        problems += [f"情景「{row.title}」{p}" for p in scenario_problems(row.slug, current_version(row).yaml_text, book)]
    if problems:
        return problems
    head = db.session.get(Phrasebook, 1)
    if head is None:
        head = Phrasebook(id=1, version=0, source_hash="", origin="browser")
        db.session.add(head)
    if record_edit(head, book.source_hash, lambda version: db.session.add(PhrasebookVersion(
            version=version, yaml_text=text, source_hash=book.source_hash, origin="browser", created_by=actor_id))):
        audit.record("phrasebook.edited", actor_id=actor_id, subject_id=None, object_type="phrasebook",
                     object_id=head.version)
        db.session.flush()
    return []


def _catalog_part(session) -> dict:
    """The scenarios' part of the content catalogue: each scenario's id, title and whether it is active."""
    return {"scenario_by_slug": MappingProxyType({s.slug: ItemInfo(s.id, s.slug, s.title, s.active) for s in session.execute(
        select(Scenario.id, Scenario.slug, Scenario.title, Scenario.active))})}


contribute("roleplay", _catalog_part)
