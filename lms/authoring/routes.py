"""Authoring pages for trainers: edit with live preview or validation, versions, restore, test-play."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import role_required
from ..accounts.forms import ConfirmForm
from ..courses.models import Course, Module
from ..courses.service import edit_module, restore_module
from ..errors import DomainError
from ..extensions import db
from ..roleplay.models import Scenario
from ..roleplay.service import current_phrasebook_version, phrasebook_head, phrasebook_of, save_phrasebook_text
from ..roleplay.validate import parse_phrasebook
from ..sanitize import preview_markdown
from . import bp

TRAINERS = ("trainer", "admin")


@bp.before_request
@role_required(*TRAINERS)
def _trainers_only():
    """Authoring is for trainers and admins."""


@bp.route("/")
def index():
    """Everything that can be edited, with what was changed in the browser and not yet exported."""
    courses = db.session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.sort_order)).all()
    scenarios = db.session.scalars(select(Scenario).where(Scenario.active.is_(True) | (Scenario.version == 0))
                                   .order_by(Scenario.slug)).all()
    return render_template("authoring/index.html", courses=courses, scenarios=scenarios,
                           phrasebook=phrasebook_head())


@bp.route("/preview", methods=["POST"])
def preview():
    """Render Markdown as learners will see it (sanitised), for the live preview; over the limits, say why."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return preview_markdown(request.form.get("body", ""))


@bp.route("/modules/<int:module_id>", methods=["GET", "POST"])
def module(module_id: int):
    """Edit a module's title and Markdown; saving makes a new version."""
    module = db.get_or_404(Module, module_id)
    form = ConfirmForm()
    title, body = module.title, module.body_md
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        title, body = request.form.get("title", ""), request.form.get("body", "")
        if request.form.get("action") != "preview":
            try:
                changed = edit_module(module, title, body, current_user.id)
            except DomainError as exc:  # the page is shown again with what was typed
                flash(str(exc), "error")
            else:
                flash(f"已保存为第{module.version}版，已生效。" if changed else "内容没有变化。",
                      "success" if changed else "info")
                return redirect(url_for("authoring.module", module_id=module.id))
    return render_template("authoring/module.html", module=module, title=title, body=body, form=form,
                           preview_html=preview_markdown(body))


@bp.route("/modules/<int:module_id>/restore/<int:version>", methods=["POST"])
def module_restore(module_id: int, version: int):
    """Bring back an earlier version of a module (as a new version)."""
    module = db.get_or_404(Module, module_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    restore_module(module, version, current_user.id)
    flash(f"已恢复第{version}版的内容，保存为第{module.version}版。", "success")
    return redirect(url_for("authoring.module", module_id=module.id))


@bp.route("/phrasebook", methods=["GET", "POST"])
def phrasebook():
    """Edit the phrasebook; saved only when it is valid and every scenario's tests still pass."""
    form = ConfirmForm()
    current = current_phrasebook_version()
    text, problems = (current.yaml_text if current else ""), []
    head = phrasebook_head()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        text = request.form.get("yaml_text", "").replace("\r\n", "\n")
        problems = save_phrasebook_text(text, current_user.id)
        if not problems:
            flash("已保存短语库的新版本，已生效。", "success")
            return redirect(url_for("authoring.phrasebook"))
    return render_template("authoring/phrasebook.html", text=text, problems=problems, form=form, current=current, head=head)


@bp.route("/phrasebook/test", methods=["POST"])
def phrasebook_test():
    """Analyse a reply against the phrasebook being edited (or the current one): as `lms phrases check`."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    text = request.form.get("yaml_text")
    try:
        book = parse_phrasebook(text) if text else phrasebook_of(current_phrasebook_version())
    except Exception as exc:  # a half-typed phrasebook: say why instead of failing
        return jsonify(error=f"短语库有错误：{exc}"), 422
    return jsonify(book.analyze(request.form.get("reply", "")[:500]).to_json())
