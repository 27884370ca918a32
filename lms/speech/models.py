"""Spoken-practice rows: one measured recording (口语练习记录) per attempt, and the audio only if kept.

An attempt is a reading of a known text (`kind="read"`: a phrase set's passage; `kind="turn"`: a
reply the learner typed in a role-play run, said aloud) or the phone drill (`kind="ring"`: the
greeting after the first ring). The figures are stored as measured, with the
target band and the ring rule of that moment, so a later change of the settings does not rewrite
history. The recording itself is discarded after measuring unless the organisation keeps it
(`SPEECH_KEEP_AUDIO`); then it lies in `SpeechAudio`, apart, so lists never load it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db

KIND_LABELS = {"read": "朗读练习", "ring": "三声内接听", "turn": "说出回复"}


class SpeechAttempt(db.Model):
    __tablename__ = "speech_attempt"
    # a recording sent again (its first answer lost on the way) is kept once: the page names each
    # recording (`upload_key`); rows from before it, without one, are all distinct
    __table_args__ = (Index("ix_speech_attempt_upload", "user_id", "upload_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # read | turn | ring
    set_key: Mapped[str] = mapped_column(String(100))  # e.g. book-service/1, scenario-phone-call/2, turn-17, ring
    title: Mapped[str] = mapped_column(String(200))
    characters: Mapped[int] = mapped_column(default=0)
    total_seconds: Mapped[float] = mapped_column(Float)
    voiced_seconds: Mapped[float] = mapped_column(Float)
    first_voice_at: Mapped[float | None] = mapped_column(Float)
    pauses: Mapped[list] = mapped_column(JSON, default=list)  # [[start, length], …] in seconds
    syllables: Mapped[int] = mapped_column(default=0)
    rate: Mapped[float | None] = mapped_column(Float)  # 字/分 over voiced time
    band_low: Mapped[int] = mapped_column()
    band_high: Mapped[int] = mapped_column()
    in_band: Mapped[bool | None] = mapped_column()
    too_short: Mapped[bool] = mapped_column(default=False)
    rings: Mapped[int | None] = mapped_column()  # ring drill: rings begun before the first word
    ring_limit: Mapped[int | None] = mapped_column()
    answered_in_time: Mapped[bool | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    upload_key: Mapped[str | None] = mapped_column(String(40))  # the page's name for the recording

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def pace_label(self) -> str:
        """适中, 偏快 or 偏慢 against the band of the moment; empty when nothing was heard."""
        if self.rate is None:
            return ""
        if self.in_band:
            return "适中"
        return "偏快" if self.rate > self.band_high else "偏慢"

    @property
    def ring_label(self) -> str:
        """The phone drill's result: 三声内接听, 超过三声才接听, or 未接听 (nothing said)."""
        if self.kind != "ring":
            return ""
        if self.first_voice_at is None:
            return "未接听"
        return "三声内接听" if self.answered_in_time else "超过三声才接听"


class SpeechAudio(db.Model):
    """A kept recording (only when SPEECH_KEEP_AUDIO is on)."""

    __tablename__ = "speech_audio"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("speech_attempt.id", ondelete="CASCADE"), primary_key=True)
    wav: Mapped[bytes] = mapped_column(LargeBinary)
