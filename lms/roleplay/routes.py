"""Role-play pages: catalogue, scenario intro, the chat-style run, debrief and history."""

from __future__ import annotations

from operator import itemgetter
from typing import Callable

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select

from .. import rings
from ..accounts.constants import POSITIONS
from ..accounts.forms import ConfirmForm
from ..accounts.models import User
from ..accounts.scoping import Scope
from ..catalog import catalog
from ..errors import DomainError
from ..extensions import core_rows, db, get_by_id, loaded
from . import bp
from .feedback import highlight, mood
from .forms import TurnForm
from .models import Run, Scenario
from .phrasebook import once_each
from .scenario import CATEGORIES, OUTCOME_LABELS, STAGE_LABELS
from .service import (
    MAX_REPLY, best_scores, current_version, run_phrasebook, run_scenario, scenario_of, start_run,
    start_timer, take_turn,
)


_SCENARIO = Scenario.__table__
# an active scenario by its slug (`slug`): read on every start of a run, so one Core statement built once
_ACTIVE_SCENARIO = select(*_SCENARIO.c).where(_SCENARIO.c.slug == bindparam("slug"), _SCENARIO.c.active.is_(True))


def _scenario_or_404(slug: str) -> Scenario:
    row = core_rows(_ACTIVE_SCENARIO, {"slug": slug}).first()
    if row is None:
        abort(404)
    session = db.session()
    return session.identity_map.get(session.identity_key(Scenario, row.id)) or loaded(Scenario, row)


def _own_run_or_404(run_id: int) -> Run:
    run = get_by_id(Run, run_id)  # read on every turn: one Core statement
    if run is None or run.user_id != current_user.id:
        abort(404)
    return run


def _visible_run_or_404(run_id: int) -> Run:
    """The learner's own run, or one of a person in the viewer's scope (managers: their store)."""
    run = get_by_id(Run, run_id)
    if run is None:
        abort(404)
    Scope.of(current_user).person(run.user_id)  # one's own, or a person in one's scope; else 404
    return run


@bp.route("/practice")
@login_required
def catalogue():
    """List scenarios with the learner's best scores: first those their 上岗证 names (never filtered
    away), then the others, filtered by position and category."""
    position = request.args.get("position", current_user.position or "")
    category = request.args.get("category", "")
    rows = db.session.scalars(select(Scenario).where(Scenario.active.is_(True))
                              .order_by(Scenario.category, Scenario.difficulty, Scenario.slug)).all()
    certification = catalog().certification_for(current_user.position)
    minimums = certification.scenarios if certification else {}
    by_slug = {r.slug: r for r in rows}
    required = [(by_slug[slug], minimum) for slug, minimum in minimums.items() if slug in by_slug]
    rows = [r for r in rows if r.slug not in minimums]
    if position in POSITIONS:
        rows = [r for r in rows if r.open_to(position)]
    if category in CATEGORIES:
        rows = [r for r in rows if r.category == category]
    return render_template("roleplay/catalogue.html", scenarios=rows, required=required, certification=certification,
                           best=best_scores(current_user.id), position=position, category=category,
                           positions=POSITIONS, categories=CATEGORIES)


@bp.route("/practice/<slug>")
@login_required
def intro(slug: str):
    """Show who the customer is, what the scenario trains, and the learner's runs of it."""
    row = _scenario_or_404(slug)
    spec = scenario_of(current_version(row))
    runs = db.session.scalars(select(Run).where(Run.user_id == current_user.id, Run.scenario_id == row.id)
                              .order_by(Run.started_at.desc()).limit(20)).all()
    active = next((r for r in runs if r.status == "active"), None)
    return render_template("roleplay/intro.html", row=row, spec=spec, runs=runs, active=active,
                           form=ConfirmForm(), outcome_labels=OUTCOME_LABELS)


@bp.route("/practice/<slug>/start", methods=["POST"])
@login_required
def start(slug: str):
    """Start a new run in typing or beginner mode."""
    row = _scenario_or_404(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    mode = request.form.get("mode", "text")
    run = start_run(current_user.id, row, mode if mode in ("text", "beginner") else "text")
    return redirect(url_for("roleplay.run", run_id=run.id))


# Other areas add to each turn's view: a function (run, views) that may set keys of a view and add
# template names to its "parts", shown under the turn's feedback. Registered when the area is
# imported (spoken practice: the pace of the reply said aloud, lms/speech/turns.py).
TURN_PARTS: list[Callable[[Run, list[dict]], None]] = []


def _labels(run: Run) -> dict[str, str]:
    return run_phrasebook(run).labels


def _turn_views(run: Run) -> list[dict]:
    labels = _labels(run)
    spec = run_scenario(run)
    views = []
    for turn in run.turns:
        node = spec.nodes.get(turn.node)
        views.append({
            "turn": turn,
            "segments": highlight(turn.reply, turn.analysis, labels),
            "missing": [labels.get(c, c) for c in turn.missing],
            "patterns_missing": [p.label for p in node.expect.patterns if p.id in turn.patterns_missing] if node else [],
            "model": node.expect.model if node else "",
            "cite": node.cite if node else "",
            "stage": STAGE_LABELS.get(turn.stage or "", ""),
            "notes": turn.analysis.get("notes", []),
            "forbidden": once_each(turn.analysis.get("forbidden", []), itemgetter("phrase")),
            "parts": [],
        })
    for add in TURN_PARTS:
        add(run, views)
    return views


@bp.route("/runs/<int:run_id>", methods=["GET"])
@login_required
def run(run_id: int):
    """Show the conversation so far and the customer's current line, with a reply box."""
    run = _own_run_or_404(run_id)
    if run.finished:
        return redirect(url_for("roleplay.debrief", run_id=run.id))
    if run.status == "abandoned":
        flash("这次演练已被新的演练取代。", "info")
        return redirect(url_for("roleplay.intro", slug=run.scenario.slug))
    return _render_run(run, TurnForm(seq=run.turn_count + 1))


@bp.route("/runs/<int:run_id>/timer", methods=["POST"])
@login_required
def timer(run_id: int):
    """Start a timed node's clock (the phone rings) when the learner says they are ready."""
    run = _own_run_or_404(run_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    start_timer(run, run_scenario(run).nodes[run.node])
    return redirect(url_for("roleplay.run", run_id=run.id) + "#reply")


def _render_run(run: Run, form: TurnForm, status: int = 200):
    spec = run_scenario(run)
    node = spec.nodes[run.node]
    var = spec.variables.get(spec.mood) if spec.mood else None
    return render_template(
        "roleplay/run.html", run=run, spec=spec, node=node, form=form, turns=_turn_views(run),
        customer_line=node.customer_line(run.variables), max_reply=MAX_REPLY,
        mood=mood(spec.mood, run.variables.get(spec.mood), var.minimum, var.maximum) if var else None,
        show_options=node.mode == "choice" or run.mode == "beginner", waiting=node.timed and not run.timer_started,
        start_form=ConfirmForm(), ring_period=rings.from_config(current_app.config).period,
    ), status


@bp.route("/runs/<int:run_id>/turns", methods=["POST"])
@login_required
def turn(run_id: int):
    """Save the reply as the next turn (once), then show where the conversation went."""
    run = _own_run_or_404(run_id)
    form = TurnForm()
    if not form.validate_on_submit():
        abort(400)
    if run.status == "abandoned":
        flash("这次演练已被新的演练取代。", "info")
        return redirect(url_for("roleplay.intro", slug=run.scenario.slug))
    try:
        take_turn(run, form.seq.data, form.reply.data or "", form.option.data or None)
    except DomainError as exc:  # shown beside the reply box, which keeps what was typed
        db.session.rollback()
        flash(str(exc), "error")
        form.seq.data = run.turn_count + 1
        return _render_run(run, form, 422)
    if run.finished:
        return redirect(url_for("roleplay.debrief", run_id=run_id))
    return redirect(url_for("roleplay.run", run_id=run_id) + "#reply")


@bp.route("/runs/<int:run_id>/debrief")
@login_required
def debrief(run_id: int):
    """Show the transcript with highlights, per-turn scores and citations, and the result."""
    run = _visible_run_or_404(run_id)
    spec = run_scenario(run)
    ending = spec.nodes.get(run.node) if run.finished else None
    learner = db.session.get(User, run.user_id)
    return render_template("roleplay/debrief.html", run=run, spec=spec, ending=ending, turns=_turn_views(run),
                           learner=learner, outcome_labels=OUTCOME_LABELS,
                           stages_reached=[STAGE_LABELS[s] for s in run.result.get("stages", [])])


@bp.route("/practice/history")
@login_required
def history():
    """List the learner's runs, newest first, with the best score per scenario."""
    runs = db.session.scalars(select(Run).where(Run.user_id == current_user.id, Run.status != "abandoned",
                                                Run.is_training)
                              .order_by(Run.started_at.desc()).limit(200)).all()
    rows = {r.id: r for r in db.session.scalars(select(Scenario))}
    best = best_scores(current_user.id)
    return render_template("roleplay/history.html", runs=runs, best=best, scenarios=rows,
                           outcome_labels=OUTCOME_LABELS)
