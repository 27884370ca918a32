"""Role-play rows: phrasebook and scenario versions, runs (一次演练) and turns (一轮对话).

The YAML text of every version is kept, so a run is always replayed and shown against the
exact scenario and phrasebook it was played with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..versioning import VersionedContent


class Phrasebook(VersionedContent, db.Model):
    """The phrasebook (短语库): one content row; its texts live in `PhrasebookVersion`."""

    KEY = "phrasebook"

    id: Mapped[int] = mapped_column(primary_key=True)


class PhrasebookVersion(db.Model):
    """One version of `simulations/phrasebook.yaml`."""

    __tablename__ = "phrasebook_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    origin: Mapped[str] = mapped_column(String(10), default="file")  # file | browser


class Scenario(VersionedContent, db.Model):
    """A role-play scenario; its text lives in versions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    positions: Mapped[list[str]] = mapped_column(JSON, default=list)
    difficulty: Mapped[int] = mapped_column(default=1)
    summary: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[list[str]] = mapped_column(JSON, default=list)

    versions: Mapped[list["ScenarioVersion"]] = relationship(back_populates="scenario", order_by="ScenarioVersion.version")

    def open_to(self, position: str | None) -> bool:
        """Tell whether a person in this position practises the scenario."""
        return not self.positions or position in self.positions



class ScenarioVersion(db.Model):
    """The YAML text of one version of a scenario."""

    __tablename__ = "scenario_version"
    __table_args__ = (UniqueConstraint("scenario_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id"), index=True)
    version: Mapped[int] = mapped_column()
    yaml_text: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    origin: Mapped[str] = mapped_column(String(10), default="file")  # file | browser

    scenario: Mapped[Scenario] = relationship(back_populates="versions")


class ScenarioDraft(db.Model):
    """The editor's unpublished text of a scenario: one per scenario, shared by its trainers.

    Kept across closed tabs and restarts; publishing makes it the scenario's next version and
    removes it. One draft per scenario (not per trainer): a scenario has one text, and two private
    drafts would silently undo each other on publish; the page says who changed it last.
    """

    __tablename__ = "scenario_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id"), unique=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int] = mapped_column(default=0)  # the version it was started from (0: a new scenario)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Run(db.Model):
    """One play-through of a scenario by a person."""

    __table_args__ = ()

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id"), index=True)
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_version.id"))
    phrasebook_version_id: Mapped[int] = mapped_column(ForeignKey("phrasebook_version.id"))
    mode: Mapped[str] = mapped_column(String(10), default="text")  # text | beginner
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | finished | abandoned
    node: Mapped[str] = mapped_column(String(64))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    turn_count: Mapped[int] = mapped_column(default=0)
    node_shown_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    timer_turn: Mapped[int | None] = mapped_column()  # the turn whose timed node's clock was started
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column()
    passed: Mapped[bool | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(10))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    scenario: Mapped[Scenario] = relationship()
    scenario_version: Mapped[ScenarioVersion] = relationship()
    phrasebook_version: Mapped[PhrasebookVersion] = relationship()
    turns: Mapped[list["Turn"]] = relationship(back_populates="run", order_by="Turn.seq")

    FINISHED = "finished"

    @hybrid_property
    def finished(self) -> bool:
        """Played to an ending and scored (Python and SQL)."""
        return self.status == Run.FINISHED

    @hybrid_property
    def is_training(self) -> bool:
        """A learner's run, a learning record; a trainer's test-play (mode test) is not (Python and SQL)."""
        return self.mode != "test"

    @hybrid_property
    def typed(self) -> bool:
        """Played by typing (not 新手模式's picked replies): what certification and analytics count (Python and SQL)."""
        return self.mode == "text"

    @property
    def timer_started(self) -> bool:
        """Whether the clock of the node now shown has been started (timed nodes: the phone is ringing)."""
        return self.timer_turn == self.turn_count + 1


class Turn(db.Model):
    """One exchange: the customer's line, the reply, and how it scored."""

    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), index=True)
    seq: Mapped[int] = mapped_column()
    node: Mapped[str] = mapped_column(String(64))
    customer_text: Mapped[str] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text)
    option_id: Mapped[str | None] = mapped_column(String(64))
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON)
    points: Mapped[float] = mapped_column()
    max_points: Mapped[float] = mapped_column()
    fraction: Mapped[float] = mapped_column()
    forbidden: Mapped[bool] = mapped_column(default=False)
    critical: Mapped[bool] = mapped_column(default=False)
    stage: Mapped[str | None] = mapped_column(String(12))
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    patterns_missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_node: Mapped[str] = mapped_column(String(64))
    elapsed: Mapped[float] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    run: Mapped[Run] = relationship(back_populates="turns")
