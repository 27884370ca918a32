"""Notice pages: publish, learn and attest, the compliance board, exports, withdrawal, messages."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from ..accounts.access import role_required
from ..accounts.forms import ConfirmForm, choices
from ..accounts.models import Store
from ..accounts.scoping import Scope
from ..clock import LOCAL_TZ, now
from ..courses.models import Course, Module
from ..errors import AlreadyDone, DomainError
from ..extensions import db
from ..sanitize import preview_markdown
from . import bp
from .forms import NoticeForm
from ..exports import download
from .board import board, sign_in_rows, sign_in_table
from .deadlines import OPEN_STATES
from .models import Message, Notice, NoticeAssignment
from .service import (NoticeData, NoticeRefusal, assignment_for, attest, audience, check_categories,
                      check_passed, mark_read, may_see_notice, module_done, publish, start_check, visible_notices,
                      withdraw)

TRAINERS = ("trainer", "admin")


def _fill_choices(form: NoticeForm) -> dict:
    """Offer modules (grouped by course), check categories and stores by their titles, never by ids;
    return the stores grouped by region for the picker."""
    from ..exams.definitions import in_check
    from ..exams.service import category_title

    categories = check_categories()
    modules = db.session.execute(select(Module.id, Module.title, Module.check_categories, Course.title,
                                        Course.positions).join(Course).where(
        Module.active.is_(True), Course.active.is_(True)).order_by(Course.sort_order, Module.sort_order)).all()
    module_choices = [SelectChoice("", "（无）")]
    for module_id, title, module_checks, course, positions in modules:
        label = title + (f"（仅{'、'.join(positions)}）" if positions else "")
        check = next((c for c, _ in categories if module_checks and in_check(c, module_checks)), "")
        module_choices.append(SelectChoice(str(module_id), label, {"data-check": check} if check else {}, course))
    form.module_id.choices = module_choices
    form.check_category.choices = choices([("", "（无小测）")] + [
        (c, f"{category_title(c)}（{n}题）") for c, n in categories])
    stores = db.session.scalars(select(Store).options(joinedload(Store.region)).where(Store.active.is_(True))
                                .order_by(Store.code)).all()
    form.stores.choices = choices((s.id, f"{s.name}（{s.code}）") for s in stores)
    regions: dict[str, list[tuple[int, str]]] = {}
    for store, choice in zip(stores, form.stores.choices):
        regions.setdefault(store.region.name, []).append((choice.value, choice.label))
    store_groups = sorted(regions.items()) if len(regions) > 1 else [(None, [c for r in regions.values() for c in r])]
    positions = [(None, [(c.value, c.label) for c in form.positions.choices])]
    return {"store_groups": store_groups, "position_groups": positions}


def _visible_store_ids() -> list[int] | None:
    """Stores whose figures the viewer may see (None: all)."""
    return Scope.of(current_user).store_ids


def _notice_or_404(notice_id: int) -> tuple[Notice, NoticeAssignment | None]:
    """The notice and the viewer's own assignment of it, if the viewer may see it (service.may_see_notice:
    a scheduled notice is its authors' alone until its issue time), else 404."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        abort(404)
    assignment = assignment_for(notice, current_user.id)
    if not may_see_notice(notice, Scope.of(current_user), assigned=assignment is not None):
        abort(404)
    return notice, assignment


@bp.route("/notices")
@login_required
def index():
    """Trainers: every notice; managers: their store's; staff: their own, pending first."""
    if current_user.role in TRAINERS or current_user.role == "manager":
        stmt = visible_notices(Scope.of(current_user)).order_by(Notice.issued_at.desc()).limit(100)
        return render_template("notices/index.html", notices=db.session.scalars(stmt).all(), mine=None,
                               can_publish=current_user.role in TRAINERS)
    at = now()
    mine = db.session.scalars(select(NoticeAssignment).join(Notice).where(
        NoticeAssignment.user_id == current_user.id, Notice.out_at(at)).order_by(
        ~NoticeAssignment.in_state(at, *OPEN_STATES), NoticeAssignment.due_at)).all()  # still to learn first
    return render_template("notices/index.html", notices=None, mine=[(a, a.standing(at)) for a in mine],
                           can_publish=False)


@bp.route("/notices/new", methods=["GET", "POST"])
@role_required(*TRAINERS)
def new():
    """Write and publish a notice (with a preview as learners will see it); everyone in scope gets it at once."""
    form = NoticeForm()
    pickers = _fill_choices(form)
    if request.method == "GET":
        form.issued_at.data = now().astimezone(LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)
    elif request.form.get("action") == "preview":  # the preview button (without JavaScript): show, publish nothing
        pass
    elif form.validate_on_submit():
        issued = form.issued_at.data.replace(tzinfo=LOCAL_TZ) if form.issued_at.data else None
        store_ids, positions = form.scope()
        data = NoticeData(form.title.data, form.body.data, int(form.module_id.data) if form.module_id.data else None,
                          form.check_category.data or None, store_ids, positions, issued)
        try:
            notice, assigned = publish(data, current_user.id)
        except AlreadyDone:  # the first tap published it: the app shows that one (lms/web.py)
            raise
        except NoticeRefusal as exc:  # shown beside the field it concerns, with what was typed
            form[exc.field].errors = [*form[exc.field].errors, str(exc)]
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(f"已发布，{assigned}人须在48小时内完成学习。", "success")
            return redirect(url_for("notices.board_page", notice_id=notice.id))
    return render_template("notices/new.html", form=form, **pickers, reach=_reach_text(*form.scope()),
                           preview_html=preview_markdown(form.body.data or ""))


def _reach_text(store_ids: list[int], positions: list[str]) -> str:
    people = audience(store_ids, positions)
    return f"按现在的人员，将通知到{people}人。" if people else "按现在的人员，这个范围里没有人。"


@bp.route("/notices/audience")
@role_required(*TRAINERS)
def audience_view():
    """How many people the scope being picked would reach (the form's live count; reads only)."""
    form = NoticeForm(formdata=request.args, meta={"csrf": False})
    _fill_choices(form)
    return jsonify(text=_reach_text(*form.scope()))


@bp.route("/notices/<int:notice_id>")
@login_required
def view(notice_id: int):
    """Show the notice; for a person who has to learn it, the steps and the 「已学习并掌握」 button."""
    notice, assignment = _notice_or_404(notice_id)
    return render_template("notices/view.html", notice=notice, assignment=assignment, form=ConfirmForm(),
                           standing=assignment.standing(now()) if assignment else None,
                           module_ok=module_done(assignment) if assignment else False,
                           check_ok=check_passed(assignment) if assignment else False)


def _own_assignment(notice_id: int) -> NoticeAssignment:
    _, assignment = _notice_or_404(notice_id)
    if assignment is None or not ConfirmForm().validate_on_submit():
        abort(404 if assignment is None else 400)
    return assignment


@bp.route("/notices/<int:notice_id>/read", methods=["POST"])
@login_required
def read(notice_id: int):
    """Record the first step: the person has read the notice's text."""
    mark_read(_own_assignment(notice_id))
    return redirect(url_for("notices.view", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>/check", methods=["POST"])
@login_required
def check(notice_id: int):
    """Start the notice's short check."""
    attempt = start_check(_own_assignment(notice_id))
    if attempt is None:
        abort(404)
    return redirect(url_for("exams.question", attempt_id=attempt.id, position=1))


@bp.route("/notices/<int:notice_id>/attest", methods=["POST"])
@login_required
def attest_view(notice_id: int):
    """Record 「已学习并掌握」 (once; the time never changes)."""
    assignment = _own_assignment(notice_id)
    try:
        recorded = attest(assignment)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        if recorded:
            late = assignment.state(now()) == "done_late"
            flash("已确认「已学习并掌握」" + ("（已逾期完成）" if late else "，按时完成。"), "info" if late else "success")
    return redirect(url_for("notices.view", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>/board")
@role_required("trainer", "admin", "manager")
def board_page(notice_id: int):
    """The compliance board: per store, who is done, pending, overdue, on leave, and who blocks 100 %."""
    notice, _ = _notice_or_404(notice_id)
    data = board(notice, _visible_store_ids(), request.args.get("page", 1, type=int))
    return render_template("notices/board.html", board=data, notice=notice, form=ConfirmForm(),
                           can_withdraw=current_user.role in TRAINERS)


@bp.route("/notices/<int:notice_id>/signin.<fmt>")
@role_required("trainer", "admin", "manager")
def export(notice_id: int, fmt: str):
    """Download the sign-in sheet (参培签到表) as CSV or XLSX."""
    notice, _ = _notice_or_404(notice_id)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = sign_in_rows(notice, _visible_store_ids())
    return download(sign_in_table(notice, rows), f"notice-{notice.id}-signin.{fmt}", fmt)


@bp.route("/notices/<int:notice_id>/withdraw", methods=["POST"])
@role_required(*TRAINERS)
def withdraw_view(notice_id: int):
    """Withdraw a notice with a reason (it stays on record)."""
    notice, _ = _notice_or_404(notice_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        withdraw(notice, request.form.get("reason", ""), current_user.id)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash("已撤回该通知。", "success")
    return redirect(url_for("notices.board_page", notice_id=notice_id))


@bp.route("/messages")
@login_required
def messages():
    """The person's in-app messages, newest first, the unread ones marked 新."""
    rows = db.session.scalars(select(Message).where(Message.user_id == current_user.id)
                              .order_by(Message.created_at.desc()).limit(100)).all()
    return render_template("notices/messages.html", messages=rows, unread={m.id for m in rows if m.read_at is None},
                           form=ConfirmForm())


@bp.route("/messages/read", methods=["POST"])
@login_required
def messages_read():
    """Mark all of the person's messages read (the button on the messages page)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.execute(update(Message).where(Message.user_id == current_user.id, Message.read_at.is_(None))
                       .values(read_at=now()))
    return redirect(url_for("notices.messages"))

