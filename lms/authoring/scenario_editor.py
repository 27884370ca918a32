"""The scenario editor: a map and forms over the scenario's draft; the YAML text as an advanced view.

Every form saves into the scenario's draft (lms/authoring/drafts.py), problems and all, so nothing
typed is lost; the page then shows each problem beside its field. Live validation posts the form
to `check`, which applies it to a copy of the draft and answers with the validator's problems,
placed by field. 发布 makes the draft the next version, only when the validator passes it.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.constants import POSITIONS
from ..accounts.forms import ConfirmForm
from ..accounts.models import User
from ..errors import DomainError
from ..extensions import db
from ..roleplay.models import Scenario
from ..roleplay.scenario import CATEGORIES, OUTCOME_LABELS, OUTCOMES, STAGE_LABELS, STAGES
from ..roleplay.service import (current_phrasebook_version, current_version, phrasebook_of, save_scenario_text,
                                scenario_problems, start_run)
from ..yamlx import YamlError
from . import bp, drafts
from . import scenario_doc as sd
from . import scenario_forms as sf
from .graph import BOX_H, BOX_W, layout


def _scenario_or_404(slug: str) -> Scenario:
    row = db.session.scalar(select(Scenario).where(Scenario.slug == slug))
    if row is None or not (row.active or row.version == 0):
        abort(404)
    return row


def _csrf() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _book():
    version = current_phrasebook_version()
    return phrasebook_of(version)


def _doc_or_yaml_view(row: Scenario, text: str):
    """The draft as a document; a draft the forms cannot read (a YAML error) is fixed in the YAML view."""
    try:
        return sd.load(text)
    except YamlError:
        return None


def _posted_draft(slug: str):
    """A form post's scenario and its draft as a document (CSRF checked); 409 when the draft's YAML is broken
    (it is mended in the YAML view, where the form cannot lose it)."""
    row = _scenario_or_404(slug)
    _csrf()
    drafts.editing(row)  # read the draft after any save of it at the same moment
    doc = _doc_or_yaml_view(row, drafts.working_text(row))
    if doc is None:
        abort(409)
    return row, doc


def _context(row: Scenario, text: str, doc, problems: list[sf.Problem], node_id: str | None = None) -> dict:
    draft = drafts.draft_of(row)
    editor = db.session.get(User, draft.updated_by) if draft is not None and draft.updated_by else None
    table = sd.nodes(doc)
    titles = {str(nid): sd.title_of(str(nid), spec) for nid, spec in table.items()}
    book = _book()
    return {
        "row": row, "draft": draft, "draft_editor": editor, "form": ConfirmForm(), "problems": problems,
        "graph": layout(table, doc.get("start")), "box_w": BOX_W, "box_h": BOX_H, "titles": titles,
        "node_ids": list(titles), "current_node": node_id, "start": doc.get("start"),
        "problem_count": len(problems),
        "field_problems": _by_field(problems, node_id),
        "categories": [(c.id, c.label) for c in book.must_categories],
        "category_labels": book.labels,
        "stages": [(s, STAGE_LABELS[s]) for s in STAGES], "outcomes": [(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        "scenario_categories": CATEGORIES, "positions": POSITIONS, "sources": drafts.known_sources(),
        "variables": sf.variable_names(doc), "mood": (doc.get("persona") or {}).get("mood") if isinstance(doc.get("persona"), dict) else None,
        "branch_kinds": sd.BRANCH_KINDS, "comparisons": sd.COMPARISON_LABELS,
        "published": current_version(row) is not None,
    }


def _by_field(problems: list[sf.Problem], node_id: str | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in problems:
        if node_id is None and not p.node:
            found.setdefault(p.field or "top", []).append(p.message)
        elif node_id is not None and p.node == node_id:
            found.setdefault(p.field or "node", []).append(p.message)
    return found


def _problems(row: Scenario, text: str) -> list[sf.Problem]:
    return sf.problems_of(row.slug, text, _book())


@bp.route("/scenarios/<slug>")
def scenario(slug: str):
    """The editor's way in: the map, the list of nodes and the scenario's own form."""
    row = _scenario_or_404(slug)
    text = drafts.working_text(row)
    doc = _doc_or_yaml_view(row, text)
    if doc is None:
        flash("草稿的YAML有格式错误，表单无法读取：请在YAML视图中改正。", "error")
        return redirect(url_for("authoring.scenario_yaml", slug=slug))
    return render_template("authoring/scenario_editor.html", view=sf.scenario_view(doc), text=text,
                           **_context(row, text, doc, _problems(row, text)))


@bp.route("/scenarios/<slug>/nodes/<node_id>")
def scenario_node(slug: str, node_id: str):
    """One node's form beside the map."""
    row = _scenario_or_404(slug)
    text = drafts.working_text(row)
    doc = _doc_or_yaml_view(row, text)
    if doc is None:
        return redirect(url_for("authoring.scenario_yaml", slug=slug))
    if node_id not in sd.nodes(doc):
        flash(f"没有编号为「{node_id}」的节点。", "error")
        return redirect(url_for("authoring.scenario", slug=slug))
    return render_template("authoring/scenario_node.html", node=sf.node_view(doc, node_id),
                           referrers=sd.referrers(doc, node_id), **_context(row, text, doc, _problems(row, text), node_id))


def _save(row: Scenario, doc, message: str = "已保存草稿。") -> str:
    text = sd.dump(doc)
    drafts.save_draft(row, text, current_user.id)
    problems = _problems(row, text)
    if problems:
        flash(f"{message}还有{len(problems)}个问题，见各字段旁的提示；改好后才能试玩和发布。", "info")
    else:
        flash(f"{message}检查通过，可以试玩或发布。", "success")
    return text


@bp.route("/scenarios/<slug>/settings", methods=["POST"])
def scenario_settings(slug: str):
    row, doc = _posted_draft(slug)
    sf.apply_scenario_form(doc, request.form)
    try:
        _save(row, doc)
    except (YamlError, DomainError) as exc:
        flash(str(exc), "error")
    return redirect(url_for("authoring.scenario", slug=slug))


@bp.route("/scenarios/<slug>/nodes/<node_id>", methods=["POST"])
def scenario_node_save(slug: str, node_id: str):
    row, doc = _posted_draft(slug)
    if node_id not in sd.nodes(doc):
        abort(409)
    sf.apply_node_form(doc, node_id, request.form)
    try:
        _save(row, doc)
    except (YamlError, DomainError) as exc:
        flash(str(exc), "error")
    return redirect(url_for("authoring.scenario_node", slug=slug, node_id=node_id))


@bp.route("/scenarios/<slug>/check", methods=["POST"])
def scenario_check(slug: str):
    """Live validation: the posted form applied to a copy of the draft, checked, nothing saved."""
    row = _scenario_or_404(slug)
    _csrf()
    doc = _doc_or_yaml_view(row, drafts.working_text(row))
    if doc is None:
        return jsonify(problems=[{"field": "yaml", "node": "", "where": "", "message": "草稿的YAML有格式错误"}])
    node_id = request.form.get("node_id") or None
    order: dict[str, list[int]] = {}
    if node_id:
        if node_id not in sd.nodes(doc):
            abort(404)
        order = sf.apply_node_form(doc, node_id, request.form)
    else:
        sf.apply_scenario_form(doc, request.form)
    try:
        text = sd.dump(doc)
    except YamlError as exc:
        return jsonify(problems=[{"field": "", "node": "", "where": "", "message": str(exc)}])
    problems = sf.rows_to_fields(_problems(row, text), order)
    titles = {str(nid): sd.title_of(str(nid), spec) for nid, spec in sd.nodes(doc).items()}
    return jsonify(problems=[{
        "field": p.field if (p.node == (node_id or "")) else "",
        "node": p.node, "where": titles.get(p.node, p.node) if p.node else "情景设置",
        "href": url_for("authoring.scenario_node", slug=slug, node_id=p.node) if p.node in titles
        else url_for("authoring.scenario", slug=slug),
        "message": p.message} for p in problems])


@bp.route("/scenarios/<slug>/nodes", methods=["POST"])
def scenario_node_add(slug: str):
    row, doc = _posted_draft(slug)
    try:
        node_id = sd.add_node(doc, request.form.get("new_id", ""), request.form.get("new_title", ""),
                              request.form.get("kind", "text"), request.form.get("after") or None)
        _save(row, doc, f"已添加节点「{request.form.get('new_title') or request.form.get('new_id')}」。")
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(request.form.get("back") or url_for("authoring.scenario", slug=slug))
    return redirect(url_for("authoring.scenario_node", slug=slug, node_id=node_id))


@bp.route("/scenarios/<slug>/nodes/<node_id>/rename", methods=["POST"])
def scenario_node_rename(slug: str, node_id: str):
    row, doc = _posted_draft(slug)
    new = (request.form.get("new_id") or "").strip()
    try:
        sd.rename_node(doc, node_id, new)
        _save(row, doc, f"节点编号已改为「{new}」，指向它的分支和测试都已跟着改。")
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("authoring.scenario_node", slug=slug, node_id=node_id))
    return redirect(url_for("authoring.scenario_node", slug=slug, node_id=new))


@bp.route("/scenarios/<slug>/nodes/<node_id>/delete", methods=["POST"])
def scenario_node_delete(slug: str, node_id: str):
    row, doc = _posted_draft(slug)
    try:
        title = sd.title_of(node_id, sd.nodes(doc).get(node_id))
        sd.delete_node(doc, node_id)
        _save(row, doc, f"已删除节点「{title}」。")
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("authoring.scenario_node", slug=slug, node_id=node_id))
    return redirect(url_for("authoring.scenario", slug=slug))


@bp.route("/scenarios/<slug>/nodes/<node_id>/move", methods=["POST"])
def scenario_node_move(slug: str, node_id: str):
    row, doc = _posted_draft(slug)
    try:
        sd.move_node(doc, node_id, -1 if request.form.get("direction") == "up" else 1)
        _save(row, doc, "已调整节点顺序。")
    except DomainError as exc:
        flash(str(exc), "error")
    return redirect(url_for("authoring.scenario_node", slug=slug, node_id=node_id))


@bp.route("/scenarios/<slug>/publish", methods=["POST"])
def scenario_publish(slug: str):
    """Make the draft the scenario's next version (only when the validator passes it)."""
    row = _scenario_or_404(slug)
    _csrf()
    problems, made = drafts.publish(row, current_user.id)
    if problems:
        db.session.rollback()
        flash(f"草稿还有{len(problems)}个问题，没有发布。请先改好（见各字段旁的提示）。", "error")
        return redirect(url_for("authoring.scenario", slug=slug))
    flash(f"已发布为第{row.version}版，已生效。" if made else "草稿与当前版本相同，无需发布。", "success")
    return redirect(url_for("authoring.scenario", slug=slug))


@bp.route("/scenarios/<slug>/discard", methods=["POST"])
def scenario_discard(slug: str):
    row = _scenario_or_404(slug)
    _csrf()
    if current_version(row) is None:
        flash("这个情景还没有发布过，草稿就是它的全部内容，不能放弃。", "error")
        return redirect(url_for("authoring.scenario", slug=slug))
    drafts.discard_draft(row)
    flash(f"已放弃草稿，回到第{row.version}版。", "info")
    return redirect(url_for("authoring.scenario", slug=slug))


@bp.route("/scenarios/<slug>/test", methods=["POST"])
def scenario_test(slug: str):
    """Test-play the draft (or the current version) as a learner would; the run is not a learning record."""
    row = _scenario_or_404(slug)
    _csrf()
    draft = drafts.draft_of(row)
    version = None
    if draft is not None:
        problems = _problems(row, draft.yaml_text)
        if problems:
            flash(f"草稿还有{len(problems)}个问题，改好后才能试玩。", "error")
            return redirect(url_for("authoring.scenario", slug=slug))
        version = drafts.test_copy(row, draft.yaml_text, current_user.id)
    try:
        run = start_run(current_user.id, row, "test", version)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("authoring.scenario", slug=slug))
    return redirect(url_for("roleplay.run", run_id=run.id))


@bp.route("/scenarios/<slug>/yaml", methods=["GET", "POST"])
def scenario_yaml(slug: str):
    """The advanced view: the draft's YAML text; 保存草稿 keeps it, 检查并发布 saves it as the next version."""
    row = _scenario_or_404(slug)
    form = ConfirmForm()
    text, problems = drafts.working_text(row), []
    if request.method == "POST":
        _csrf()
        text = request.form.get("yaml_text", "").replace("\r\n", "\n")
        if request.form.get("action") == "draft":
            try:
                drafts.save_draft(row, text, current_user.id)
            except YamlError as exc:
                problems = [f"{exc.line or ''}: {exc}"]
            else:
                flash("已保存草稿。", "success")
                return redirect(url_for("authoring.scenario_yaml", slug=slug))
        else:
            problems = save_scenario_text(row, text, current_user.id)
            if not problems:
                drafts.discard_draft(row)
                flash(f"已保存为第{row.version}版，已生效。", "success")
                return redirect(url_for("authoring.scenario_yaml", slug=slug))
    return render_template("authoring/scenario.html", row=row, text=text, problems=problems, form=form,
                           draft=drafts.draft_of(row))


@bp.route("/scenarios/<slug>/validate", methods=["POST"])
def scenario_validate(slug: str):
    """Check YAML text without saving it (for the YAML view's live validation)."""
    row = _scenario_or_404(slug)
    _csrf()
    return jsonify(problems=scenario_problems(row.slug, request.form.get("yaml_text", "").replace("\r\n", "\n")))


@bp.route("/scenarios/new", methods=["GET", "POST"])
def scenario_new():
    """新建情景 from a template (counter service, four-stage complaint, phone call)."""
    form = ConfirmForm()
    values = {"slug": "", "title": "", "template": "complaint"}
    if request.method == "POST":
        _csrf()
        values = {k: request.form.get(k, "") for k in values}
        try:
            row = drafts.create_from_template(values["slug"], values["title"], values["template"], current_user.id)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash("已按模板建好草稿：点地图上的节点逐个修改，检查通过后试玩、发布。", "success")
            return redirect(url_for("authoring.scenario", slug=row.slug))
    return render_template("authoring/scenario_new.html", form=form, values=values, templates=drafts.TEMPLATES)
