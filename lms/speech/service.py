"""Spoken-practice use cases: measure an upload, keep the figures (and the audio only if the
organisation says so), and the views of progress for the learner and the manager."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import rings
from ..extensions import db
from .measure import Measurement, first_voice_outside, measure, pace
from .models import SpeechAttempt, SpeechAudio
from .sets import PhraseSet

CHART_POINTS = 30  # the learner's chart shows this many latest readings


@dataclass(frozen=True)
class Settings:
    band: tuple[int, int]
    keep_audio: bool
    max_seconds: float
    rings: rings.Rings  # the phone's cadence and the three-ring rule (lms/rings.py)


def settings() -> Settings:
    """The organisation's spoken-practice settings (lms/config.py)."""
    c = current_app.config
    low, high = c["SPEECH_RATE_BAND"]
    return Settings((int(low), int(high)), bool(c["SPEECH_KEEP_AUDIO"]), float(c["SPEECH_MAX_SECONDS"]),
                    rings.from_config(c))


def earlier_upload(user_id: int, key: str | None) -> SpeechAttempt | None:
    """The attempt this person's recording `key` (the page's name for it) was already kept as: an
    upload sent again after its first answer was lost. None for a new recording, or without a key."""
    if not key:
        return None
    return db.session.scalar(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id,
                                                         SpeechAttempt.upload_key == key))


def _store(user_id: int, kind: str, key: str, title: str, text: str, m: Measurement, data: bytes, s: Settings,
           first_voice: float | None, upload_key: str | None, **ring) -> SpeechAttempt:
    p = pace(m, text, s.band)
    attempt = SpeechAttempt(
        user_id=user_id, kind=kind, set_key=key, title=title[:200], characters=p.characters,
        total_seconds=m.total_seconds, voiced_seconds=m.voiced_seconds, first_voice_at=first_voice,
        pauses=[[x.start, x.length] for x in m.pauses], syllables=m.syllables, rate=p.rate,
        band_low=s.band[0], band_high=s.band[1], in_band=p.in_band, too_short=p.too_short,
        upload_key=upload_key or None, **ring)
    try:
        with db.session.begin_nested():  # the same recording sent twice at once: the first one is kept
            db.session.add(attempt)
    except IntegrityError:
        found = earlier_upload(user_id, upload_key)
        if found is None:
            raise
        return found
    if s.keep_audio:
        db.session.add(SpeechAudio(attempt_id=attempt.id, wav=data))
        db.session.flush()
    return attempt


def record_reading(user_id: int, phrase_set: PhraseSet, part: int, data: bytes,
                   upload_key: str | None = None) -> SpeechAttempt:
    """Measure a reading of one passage and keep its figures; a bad file raises SpeechError and keeps
    nothing; a recording kept already (`upload_key`, sent again) is answered as it was kept."""
    if (found := earlier_upload(user_id, upload_key)) is not None:
        return found
    s = settings()
    m = measure(data, s.max_seconds)
    text = "".join(line.text for line in phrase_set.passages[part])
    title = phrase_set.title + (f"（第{part + 1}段）" if len(phrase_set.passages) > 1 else "")
    return _store(user_id, "read", f"{phrase_set.key}/{part + 1}", title, text, m, data, s, m.first_voice_at,
                  upload_key)


def record_ring(user_id: int, greeting: str, data: bytes, upload_key: str | None = None) -> SpeechAttempt:
    """Measure the phone drill: first ring (the recording's start) to the first word, and the greeting's pace."""
    if (found := earlier_upload(user_id, upload_key)) is not None:
        return found
    s = settings()
    m = measure(data, s.max_seconds)
    first = first_voice_outside(m, s.rings.windows(m.total_seconds))
    return _store(user_id, "ring", "ring", "三声内接听", greeting, m, data, s, first, upload_key,
                  rings=None if first is None else s.rings.started(first), ring_limit=s.rings.limit,
                  answered_in_time=s.rings.in_time(first))


def record_turn(user_id: int, turn_id: int, title: str, reply: str, data: bytes,
                upload_key: str | None = None) -> SpeechAttempt:
    """Measure a typed role-play reply said aloud; keep its pace for the debrief."""
    if (found := earlier_upload(user_id, upload_key)) is not None:
        return found
    s = settings()
    m = measure(data, s.max_seconds)
    return _store(user_id, "turn", f"turn-{turn_id}", title, reply, m, data, s, m.first_voice_at, upload_key)


def spoken_turns(turn_ids: list[int]) -> dict[int, SpeechAttempt]:
    """The latest saying-aloud of each of these role-play turns: {turn id: attempt}."""
    if not turn_ids:
        return {}
    keys = {f"turn-{t}": t for t in turn_ids}
    rows = db.session.scalars(select(SpeechAttempt).where(SpeechAttempt.kind == "turn", SpeechAttempt.set_key.in_(keys))
                              .order_by(SpeechAttempt.id))
    return {keys[row.set_key]: row for row in rows}  # the newest wins


def readings(user_id: int, limit: int = CHART_POINTS) -> list[SpeechAttempt]:
    """The person's latest measured readings (passages and role-play replies said aloud), oldest first."""
    rows = db.session.scalars(select(SpeechAttempt).where(
        SpeechAttempt.user_id == user_id, SpeechAttempt.kind.in_(("read", "turn")), SpeechAttempt.rate.is_not(None))
        .order_by(SpeechAttempt.created_at.desc(), SpeechAttempt.id.desc()).limit(limit)).all()
    return rows[::-1]


def attempts(user_id: int, limit: int = 20) -> list[SpeechAttempt]:
    """The person's latest attempts of every kind, newest first."""
    return db.session.scalars(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id)
                              .order_by(SpeechAttempt.created_at.desc(), SpeechAttempt.id.desc()).limit(limit)).all()


def latest(user_ids: list[int]) -> dict[int, dict[str, SpeechAttempt]]:
    """Each person's latest pace (a reading or a reply said aloud) and latest phone drill:
    {user id: {"read": …, "ring": …}}."""
    if not user_ids:
        return {}
    paced = SpeechAttempt.kind.in_(("read", "turn")) & SpeechAttempt.rate.is_not(None)
    out: dict[int, dict[str, SpeechAttempt]] = {}
    for name, where in (("read", paced), ("ring", SpeechAttempt.kind == "ring")):
        newest = (select(func.max(SpeechAttempt.id)).where(SpeechAttempt.user_id.in_(user_ids), where)
                  .group_by(SpeechAttempt.user_id))
        for row in db.session.scalars(select(SpeechAttempt).where(SpeechAttempt.id.in_(newest))):
            out.setdefault(row.user_id, {})[name] = row
    return out


@dataclass(frozen=True)
class Chart:
    """An inline SVG line chart of paces: the points, the target band and the axis labels."""

    width: int
    height: int
    points: str  # "x,y x,y …" for <polyline>
    dots: tuple[tuple[float, float, float, bool], ...]  # x, y, rate, in band
    band: tuple[float, float]  # y of the band's top and bottom edges
    ticks: tuple[tuple[float, int], ...]  # y, 字/分


def chart(rows: list[SpeechAttempt], band: tuple[int, int], width: int = 320, height: int = 140) -> Chart | None:
    """Lay out the paces of `rows` (oldest first) over the target band; None without two points."""
    rates = [r.rate for r in rows if r.rate is not None]
    if len(rates) < 2:
        return None
    top = max(rates + [band[1]]) * 1.1
    left, pad = 34, 8

    def y(v: float) -> float:
        return round(pad + (height - 2 * pad) * (1 - v / top), 1)

    step = (width - left - pad) / (len(rates) - 1)
    dots = tuple((round(left + i * step, 1), y(v), v, band[0] <= v <= band[1]) for i, v in enumerate(rates))
    ticks = tuple((y(v), v) for v in sorted({0, band[0], band[1]}))
    return Chart(width, height, " ".join(f"{x},{yy}" for x, yy, _, _ in dots), dots, (y(band[1]), y(band[0])), ticks)


def summary(attempt: SpeechAttempt) -> str:
    """One line for the archive: the pace, and the phone drill's result."""
    parts = []
    if attempt.kind == "ring":
        parts.append(attempt.ring_label + (f"（铃响后{attempt.first_voice_at:.1f}秒，第{attempt.rings}声）"
                                           if attempt.first_voice_at is not None else ""))
    if attempt.rate is not None:
        parts.append(f"{attempt.rate:.0f}字/分（{attempt.pace_label}）" + ("，可能漏读" if attempt.too_short else ""))
    elif attempt.kind == "read":
        parts.append("没有听到说话")
    return "；".join(parts)


def archive_entries(user_id: int) -> list[tuple]:
    """The person's spoken practice for the training archive: (time, title, result, passed, ref)."""
    rows = db.session.scalars(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id)
                              .order_by(SpeechAttempt.created_at, SpeechAttempt.id)).all()
    return [(a.created_at, a.title, summary(a), a.answered_in_time if a.kind == "ring" else None,
             f"speech/{a.set_key}/{a.id}") for a in rows]
