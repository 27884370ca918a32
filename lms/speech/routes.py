"""Spoken-practice pages: the phrase sets, reading a passage aloud, the phone drill, one's progress."""

from __future__ import annotations

import re

from flask import abort, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.forms import ConfirmForm
from . import bp
from .measure import SpeechError, count_characters
from .service import chart, record_reading, record_ring, readings, attempts, settings
from .sets import phrase_set, phrase_sets, ring_greeting


UPLOAD_KEY = re.compile(r"[A-Za-z0-9-]{8,40}")


def _audio() -> tuple[bytes, str | None]:
    """The uploaded recording, and the page's name for it (speech.js: the same name when the upload
    is sent again), if it is one."""
    if not ConfirmForm().validate_on_submit():  # the CSRF token
        abort(400)
    upload = request.files.get("audio")
    key = request.form.get("recording", "")
    return (upload.read() if upload else b""), (key if UPLOAD_KEY.fullmatch(key) else None)


def _result(attempt=None, error: str = "", status: int = 200):
    return render_template("speech/_result.html", attempt=attempt, error=error, settings=settings()), status


@bp.route("/speech")
@login_required
def index():
    """List the phrase sets to read aloud, the phone drill, and the learner's pace over time."""
    s = settings()
    groups: dict[str, list] = {}
    for item in phrase_sets():
        groups.setdefault(item.group, []).append(item)
    rows = readings(current_user.id)
    return render_template("speech/index.html", groups=groups, settings=s, chart=chart(rows, s.band), rows=rows,
                           recent=attempts(current_user.id))


@bp.route("/speech/read/<key>")
@login_required
def read(key: str):
    """Show one passage of a phrase set with the record and stop buttons."""
    item = phrase_set(key)
    if item is None:
        abort(404)
    part = request.args.get("part", 1, type=int) - 1
    if not 0 <= part < len(item.passages):
        abort(404)
    passage = item.passages[part]
    return render_template("speech/read.html", item=item, part=part, passage=passage, settings=settings(),
                           characters=sum(count_characters(line.text) for line in passage), form=ConfirmForm(),
                           upload=url_for("speech.upload_reading", key=key, passage_id=part + 1))


@bp.route("/speech/read/<key>/<int:passage_id>", methods=["POST"])
@login_required
def upload_reading(key: str, passage_id: int):
    """Measure an uploaded reading of a passage (numbered from 1); answer with the figures (an HTML fragment)."""
    item = phrase_set(key)
    if item is None or not 1 <= passage_id <= len(item.passages):
        abort(404)
    data, key = _audio()
    try:
        attempt = record_reading(current_user.id, item, passage_id - 1, data, key)
    except SpeechError as exc:
        return _result(error=str(exc), status=422)
    return _result(attempt)


@bp.route("/speech/ring")
@login_required
def ring():
    """The phone drill: the phone rings, the learner answers by saying the greeting."""
    greeting = ring_greeting()
    if not greeting:
        abort(404)
    return render_template("speech/ring.html", greeting=greeting, settings=settings(), form=ConfirmForm(),
                           recent=[a for a in attempts(current_user.id, 50) if a.kind == "ring"][:10])


@bp.route("/speech/ring", methods=["POST"])
@login_required
def upload_ring():
    """Measure the drill's recording (it starts with the first ring); answer with the figures."""
    greeting = ring_greeting()
    if not greeting:
        abort(404)
    data, key = _audio()
    try:
        attempt = record_ring(current_user.id, greeting, data, key)
    except SpeechError as exc:
        return _result(error=str(exc), status=422)
    return _result(attempt)
