"""Log-in, log-out and one's own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from .. import events
from ..extensions import db, limiter, login_manager
from ..forms import whole_number
from . import bp
from .forms import LoginForm, PasswordForm
from .models import User
from .service import PasswordRefused, authenticate, change_own_password, log_out, person_for_request

login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the logged-in person from the session; a changed token (new password) logs them out."""
    user_id, _, token = session_id.partition(":")
    number = whole_number(user_id)
    return person_for_request(number, token) if number is not None else None


def home_url_for(user: User) -> str:
    """Return where a person lands after log-in."""
    if user.role == "admin":
        return url_for("admin.people")
    if user.role == "manager":
        return url_for("reports.store_home")
    return url_for("home.index")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_key() -> str:
    """Rate-limit key: the client address and the 工号 tried."""
    return f"{get_remote_address()}|{(request.form.get('emp_no') or '').strip().upper()[:32]}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_login_key)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"], methods=["POST"])
def login():
    """Show the log-in form and log a person in."""
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.emp_no.data, form.password.data)
        if user is None:
            flash("工号或密码不正确，或账号已停用。", "error")
        else:
            login_user(user, remember=form.remember.data)
            if user.must_change_password:
                flash(f"{user.name}，欢迎。首次登录请先把初始密码改成您自己的密码。", "info")
                return redirect(url_for("accounts.password"))
            flash(f"{user.name}，您好。", "success")  # no 「欢迎回来」: it may be the first log-in
            landing = events.ask(events.landing_requested, user_id=user.id)  # e.g. new-business notices first
            return redirect(landing[0] if landing else _safe_next(request.args.get("next")) or home_url_for(user))
    return render_template("accounts/login.html", form=form)


# While a person still has a generated password, these are all they can open.
OPEN_BEFORE_PASSWORD_CHANGE = frozenset({"accounts.password", "accounts.logout", "static"})


@bp.before_app_request
def _password_change_first():
    """Send a person who must change a generated password to the change form, from every page.

    One rule for the whole app: only the change form, log-out and static files stay open, so the
    change cannot be skipped by opening another page or posting to another address.
    """
    if request.endpoint in OPEN_BEFORE_PASSWORD_CHANGE:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("accounts.password"))  # the form says why (no flash piling up per request)
    return None


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out on the server (the old session and 「保持登录」 cookies stop working) and return to log-in."""
    if current_user.is_authenticated:
        log_out(current_user._get_current_object())
    logout_user()
    flash("已退出登录。", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Let a person change their own password."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_own_password(current_user, form.current.data, form.new.data)
        except PasswordRefused as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            login_user(current_user._get_current_object())  # the token changed: renew this session
            flash("密码已修改，其他设备上的登录已退出。", "success")
            return redirect(home_url_for(current_user))
    return render_template("accounts/password.html", form=form)
