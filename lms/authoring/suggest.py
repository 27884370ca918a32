"""Phrasebook suggestions for trainers: learners' replies the analyser found wanting, a proposal, its preview, save.

The list and the preview are GET pages that read only; saving is one POST that makes a new
phrasebook version (or shows why it was refused). See lms/roleplay/suggestions.py.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.forms import ConfirmForm
from ..errors import DomainError
from ..extensions import db
from ..roleplay.feedback import highlight
from ..roleplay.models import Scenario
from ..roleplay.suggestions import (KINDS, PAGE, WINDOW, current_book, default_target, propose, save_proposal,
                                    suggestion_groups, target_choices)
from . import bp

KIND_LABELS = {"": "漏说或忌语", "missed": "漏说必说类别", "flagged": "说了服务忌语"}


@bp.route("/phrasebook/suggestions")
def suggestions():
    """Learners' typed replies that missed an expected category or hold a 服务忌语, grouped, most frequent first."""
    version, _, book = current_book()
    scenario = request.args.get("scenario") or None
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    page = max(1, request.args.get("page", 1, type=int))
    groups, window = suggestion_groups(book, scenario, kind)
    pages = max(1, -(-len(groups) // PAGE))
    shown = groups[(page - 1) * PAGE:page * PAGE]
    labels = book.labels
    rows = [{"group": g, "segments": highlight(g.reply, g.analysis.to_json(), labels),
             "target": default_target(book, g)} for g in shown]
    scenarios = db.session.scalars(select(Scenario).where(Scenario.active.is_(True)).order_by(Scenario.slug)).all()
    return render_template("authoring/suggest.html", rows=rows, total=len(groups), page=page, pages=pages,
                           window=window, limit=WINDOW, scenario=scenario or "", kind=kind or "",
                           kinds=KIND_LABELS, scenarios=scenarios, labels=labels, version=version)


@bp.route("/phrasebook/suggestions/propose")
def suggestion_propose():
    """Propose part of a reply as a new phrasing or an exception context; with `preview`, show what
    it would change among past replies (reads only)."""
    version, _, book = current_book()
    reply = request.args.get("reply", "")[:500]
    entry = request.args.get("entry", reply)[:500]
    key = request.args.get("target", "")
    proposal, error = None, None
    if request.args.get("preview") and key:
        try:
            proposal = propose(key, entry)
        except DomainError as exc:
            error = str(exc)
    return _propose_page(book, version, reply, entry, key, proposal, error, [])


@bp.route("/phrasebook/suggestions/save", methods=["POST"])
def suggestion_save():
    """Save the phrasebook with the proposed entry as a new version, if it and every scenario's tests hold."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    reply, entry, key = request.form.get("reply", "")[:500], request.form.get("entry", "")[:500], request.form.get("target", "")
    base = request.form.get("base", type=int) or 0
    try:
        problems = save_proposal(key, entry, base, current_user.id)
    except DomainError as exc:
        version, _, book = current_book()
        return _propose_page(book, version, reply, entry, key, None, str(exc), []), 409
    if problems:  # nothing was written: the page says why, with what was proposed
        version, _, book = current_book()
        return _propose_page(book, version, reply, entry, key, None, None, problems), 422
    version, _, _ = current_book()
    flash(f"已保存为短语库第{version}版，已生效。", "success")
    return redirect(url_for("authoring.suggestions"))


def _propose_page(book, version, reply, entry, key, proposal, error, problems):
    labels = book.labels
    choices = target_choices(book)
    segments = highlight(reply, book.analyze(reply).to_json(), labels) if reply else []
    return render_template("authoring/suggest_propose.html", reply=reply, entry=entry, target=key,
                           choices=choices, target_label=dict(choices).get(key, key), proposal=proposal, error=error, problems=problems,
                           version=version, labels=labels, segments=segments, form=ConfirmForm(), limit=WINDOW)
