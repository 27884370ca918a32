"""Admin pages: people, stores, regions, leave and roster import."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..clock import today
from ..errors import DomainError
from ..extensions import db
from .access import role_required
from .constants import POSITIONS, ROLE_LABELS
from .forms import ConfirmForm, choices, LeaveForm, PersonForm, RegionForm, RosterConfirmForm, RosterUploadForm, StoreForm
from .models import Leave, Region, Store, User
from .roster import RosterFileError, check_roster, read_table, store_lookup
from .service import (
    PersonData, add_leave, apply_roster, create_person, plan_roster, remove_leave, reset_password,
    roster_already_imported, save_region, save_store, set_active, set_store_active, update_person,
)

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


@admin_bp.before_request
@role_required("admin")
def _admins_only():
    """Every admin page is for admins only."""


@admin_bp.after_request
def _no_store(response):
    """Admin pages (one-time passwords among them) are never kept in the browser's cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _store_choices(include_closed: bool = False) -> list[tuple]:
    stmt = select(Store).order_by(Store.code)
    if not include_closed:
        stmt = stmt.where(Store.active.is_(True))
    return choices([("", "（无）")] + [(s.id, f"{s.code} {s.name}" + ("" if s.active else "（已关闭）"))
                                     for s in db.session.scalars(stmt)])


@admin_bp.route("/")
def index():
    """Send admins to the people list."""
    return redirect(url_for("admin.people"))


@admin_bp.route("/people")
def people():
    """List people, searchable by 工号 or 姓名 and filterable by store, role and status."""
    q = request.args.get("q", "").strip()
    store_id = request.args.get("store", type=int)
    store_id = store_id if store_id is not None and 0 < store_id < 2**31 else None
    role = request.args.get("role", "")
    status = request.args.get("status", "active")
    page = max(request.args.get("page", 1, type=int), 1)
    stmt = select(User)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.emp_no.ilike(like), User.name.like(like)))
    if store_id:
        stmt = stmt.where(User.store_id == store_id)
    if role in ROLE_LABELS:
        stmt = stmt.where(User.role == role)
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = min(page, 10**6)
    rows = db.session.scalars(
        stmt.order_by(User.emp_no).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        .options(selectinload(User.store), selectinload(User.leaves))
    ).all()
    stores = db.session.scalars(select(Store).order_by(Store.code)).all()
    return render_template(
        "admin/people.html", people=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        q=q, store_id=store_id, role=role, status=status, stores=stores, roles=ROLE_LABELS,
        today=today(),
    )


def _person_data(form: PersonForm) -> PersonData:
    return PersonData(form.emp_no.data, form.name.data, form.role.data, form.position.data or None,
                      form.store_id.data, form.hire_date.data, form.email.data or "")


def _refused_at(form: PersonForm, exc: DomainError) -> None:
    """Show a refusal beside the field it is about (`FieldRefused.field`), else beside the 工号."""
    getattr(form, getattr(exc, "field", "emp_no")).errors.append(str(exc))


@admin_bp.route("/people/new", methods=["GET", "POST"])
def person_new():
    """Create a person and show their initial password once."""
    form = PersonForm()
    form.store_id.choices = _store_choices()
    if form.validate_on_submit():
        try:
            user, password = create_person(_person_data(form), current_user)
        except DomainError as exc:
            _refused_at(form, exc)
        else:
            return render_template("admin/password_once.html", people=[(user, password)],
                                   title="已创建账号")
    return render_template("admin/person_form.html", form=form, person=None)


@admin_bp.route("/people/<int:user_id>", methods=["GET", "POST"])
def person_edit(user_id: int):
    """Edit a person; list and add their leave periods."""
    person = db.get_or_404(User, user_id)
    form = PersonForm(obj=person)
    form.store_id.choices = _store_choices(include_closed=True)
    if form.validate_on_submit():
        try:
            changed = update_person(person, _person_data(form), current_user)
        except DomainError as exc:
            _refused_at(form, exc)
        else:
            flash("已保存。" if changed else "没有改动。", "success" if changed else "info")
            return redirect(url_for("admin.person_edit", user_id=person.id))
    return render_template("admin/person_form.html", form=form, person=person, leave_form=LeaveForm(),
                           action=ConfirmForm(), today=today())


@admin_bp.route("/people/<int:user_id>/active", methods=["POST"])
def person_active(user_id: int):
    """Deactivate or reactivate a person (their history stays)."""
    person = db.get_or_404(User, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        set_active(person, active, current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已{'启用' if active else '停用'}{person.name}（{person.emp_no}），培训记录均保留。", "success")
    return redirect(url_for("admin.person_edit", user_id=person.id))


@admin_bp.route("/people/<int:user_id>/password", methods=["POST"])
def person_password(user_id: int):
    """Give a person a new random password and show it once."""
    person = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    password = reset_password(person, current_user)
    return render_template("admin/password_once.html", people=[(person, password)], title="已重置密码")


@admin_bp.route("/people/<int:user_id>/leave", methods=["POST"])
def person_leave(user_id: int):
    """Record a leave period for a person."""
    person = db.get_or_404(User, user_id)
    form = LeaveForm()
    if form.validate_on_submit():
        try:
            add_leave(person, form.start_date.data, form.end_date.data, form.reason.data or "", current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash("已登记假期。", "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
    return redirect(url_for("admin.person_edit", user_id=person.id) + "#leave")


@admin_bp.route("/people/<int:user_id>/leave/<int:leave_id>/delete", methods=["POST"])
def person_leave_delete(user_id: int, leave_id: int):
    """Delete a leave period entered by mistake."""
    leave = db.get_or_404(Leave, leave_id)
    if leave.user_id != user_id or not ConfirmForm().validate_on_submit():
        abort(404)
    remove_leave(leave, current_user)
    flash("已删除该假期。", "success")
    return redirect(url_for("admin.person_edit", user_id=user_id) + "#leave")


@admin_bp.route("/stores")
def stores():
    """List stores with their region and head count."""
    counts = dict(db.session.execute(
        select(User.store_id, func.count()).where(User.active.is_(True)).group_by(User.store_id)).all())
    rows = db.session.scalars(select(Store).order_by(Store.code)).all()
    return render_template("admin/stores.html", stores=rows, counts=counts, action=ConfirmForm())


def _region_choices() -> list[tuple]:
    return choices((r.id, f"{r.code} {r.name}") for r in db.session.scalars(select(Region).order_by(Region.code)))


@admin_bp.route("/stores/new", methods=["GET", "POST"])
@admin_bp.route("/stores/<int:store_id>", methods=["GET", "POST"])
def store_edit(store_id: int | None = None):
    """Create or edit a store."""
    store = db.get_or_404(Store, store_id) if store_id else None
    form = StoreForm(obj=store)
    form.region_id.choices = _region_choices()
    if not form.region_id.choices:
        flash("请先新增一个地市公司。", "info")
        return redirect(url_for("admin.regions"))
    if form.validate_on_submit():
        try:
            store = save_store(store, form.code.data, form.name.data, form.region_id.data,
                               form.address.data or "", current_user, form.webhook_url.data or "")
        except DomainError as exc:
            form.code.errors.append(str(exc))
        else:
            flash(f"已保存营业厅「{store.name}」。", "success")
            return redirect(url_for("admin.stores"))
    return render_template("admin/store_form.html", form=form, store=store)


@admin_bp.route("/stores/<int:store_id>/active", methods=["POST"])
def store_active(store_id: int):
    """Close or reopen a store."""
    store = db.get_or_404(Store, store_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        set_store_active(store, active, current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已{'恢复' if active else '关闭'}营业厅「{store.name}」。", "success")
    return redirect(url_for("admin.stores"))


@admin_bp.route("/regions", methods=["GET", "POST"])
def regions():
    """List regions and add one."""
    form = RegionForm()
    if form.validate_on_submit():
        try:
            region = save_region(form.code.data, form.name.data, current_user)
        except DomainError as exc:
            form.code.errors.append(str(exc))
        else:
            flash(f"已新增地市公司「{region.name}」。", "success")
            return redirect(url_for("admin.regions"))
    rows = db.session.scalars(select(Region).order_by(Region.code)).all()
    return render_template("admin/regions.html", regions=rows, form=form)


ROSTER_PREVIEW_SECONDS = 3600  # a preview can be confirmed within an hour, and only once


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="roster-import")


def _check(table: list[list[str]]):
    stores = store_lookup((s.code, s.name) for s in db.session.scalars(select(Store).where(Store.active.is_(True))))
    return check_roster(table, stores, max_rows=current_app.config["ROSTER_MAX_ROWS"], today=today())


@admin_bp.route("/roster", methods=["GET", "POST"])
def roster():
    """Upload a roster file and preview what importing it would do."""
    form = RosterUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            table = read_table(upload.filename or "", upload.read(), max_rows=current_app.config["ROSTER_MAX_ROWS"])
            check = _check(table)
        except RosterFileError as exc:
            form.file.errors.append(str(exc))
        else:
            confirm = RosterConfirmForm(payload=_serializer().dumps({"table": table, "nonce": secrets.token_hex(8)}))
            plan = plan_roster(check) if check.ok else None
            return render_template("admin/roster_preview.html", check=check, plan=plan, confirm=confirm,
                                   filename=upload.filename, stores=_store_names())
    return render_template("admin/roster.html", form=form, positions=POSITIONS)


def _store_names() -> dict[str, str]:
    return {s.code: s.name for s in db.session.scalars(select(Store))}


@admin_bp.route("/roster/confirm", methods=["POST"])
def roster_confirm():
    """Import a previewed roster: all rows or, if any row is now invalid, none."""
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        flash("导入请求无效，请重新上传文件。", "error")
        return redirect(url_for("admin.roster"))
    try:
        payload = _serializer().loads(form.payload.data, max_age=ROSTER_PREVIEW_SECONDS)
    except SignatureExpired:
        flash("预览已超过一小时，请重新上传文件。", "error")
        return redirect(url_for("admin.roster"))
    except BadSignature:
        flash("导入数据已被改动，请重新上传文件。", "error")
        return redirect(url_for("admin.roster"))
    table, nonce = payload["table"], payload["nonce"]
    if roster_already_imported(nonce):
        flash("这份名单已经导入过了（可能是重复点击或后退后重新提交）。", "info")
        return redirect(url_for("admin.people"))
    try:
        check = _check(table)
    except RosterFileError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.roster"))
    if not check.ok:  # the database changed since the preview
        flash("名单有错误，未写入任何数据。", "error")
        return render_template("admin/roster_preview.html", check=check, plan=None, confirm=form,
                               filename="", stores=_store_names())
    plan, created = apply_roster(check, current_user, nonce)  # a second click waits, then is told (AlreadyDone)
    flash(f"导入完成：新增{len(plan.new)}人，更新{len(plan.changed)}人，未变{len(plan.unchanged)}人。", "success")
    if created:
        return render_template("admin/password_once.html", people=created, title="导入完成：新账号的初始密码")
    return redirect(url_for("admin.people"))
