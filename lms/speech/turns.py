"""Say-it mode in role-play: a reply the learner typed may be said aloud; its pace shows under the
turn, on the run page and in the debrief (registered into roleplay.routes.TURN_PARTS)."""

from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..roleplay.models import Run, Turn
from ..roleplay.routes import TURN_PARTS
from . import bp
from .measure import SpeechError
from .routes import _audio, _result
from .service import record_turn, settings, spoken_turns


def _turn_parts(run: Run, views: list[dict]) -> None:
    """Add the pace of each typed reply said aloud, and (for the run's own learner) a recorder."""
    typed = [v for v in views if not v["turn"].option_id and v["turn"].reply.strip()]
    if not typed:
        return
    spoken = spoken_turns([v["turn"].id for v in typed])
    mine = current_user.is_authenticated and current_user.id == run.user_id
    options = settings() if mine else None
    for v in typed:
        v["speech"] = spoken.get(v["turn"].id)
        v["speech_upload"] = url_for("speech.upload_turn", turn_id=v["turn"].id) if mine else None
        v["speech_settings"] = options
        if v["speech"] or mine:
            v["parts"].append("speech/_turn.html")


TURN_PARTS.append(_turn_parts)


@bp.route("/speech/turn/<int:turn_id>", methods=["POST"])
@login_required
def upload_turn(turn_id: int):
    """Measure a role-play reply said aloud (the learner's own turn only); answer with the figures."""
    turn = db.session.get(Turn, turn_id)
    if turn is None or turn.run.user_id != current_user.id or turn.option_id or not turn.reply.strip():
        abort(404)
    data, key = _audio()
    try:
        attempt = record_turn(current_user.id, turn.id, f"{turn.run.scenario.title}（第{turn.seq}轮）", turn.reply,
                              data, key)
    except SpeechError as exc:
        return _result(error=str(exc), status=422)
    return _result(attempt)
