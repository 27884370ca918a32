"""Cross-cutting web pieces: one transaction per request, refusals, error pages, template filters,
security headers.

A request is one transaction: services flush, and the request commits once, here, when it
answers without an error (or rolls back when it does, or when a service refused with a
DomainError, whose message this module shows). GET, HEAD and OPTIONS requests never change data:
a flush during one is a bug and raises (`_no_writes_on_reads`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, flash, g, has_request_context, redirect, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException


from .accounts.constants import ROLE_LABELS
from .clock import LOCAL_TZ
from .errors import DomainError
from .extensions import READS, db, refuse_changes_on_reads
from .urls import configured, is_development

ERROR_TEXT = {
    400: ("请求无效", "提交的内容无法处理，请返回上一页重试。"),
    403: ("没有权限", "您的账号没有访问这个页面的权限。如需开通，请联系管理员。"),
    404: ("页面不存在", "您要找的页面不存在，或者您无权查看。"),
    405: ("请求方式不对", "这个地址不支持这种操作。"),
    409: ("无法完成", "这个操作现在无法完成。"),
    413: ("文件太大", "上传的文件超过了大小限制（5MB）。"),
    429: ("操作太频繁", "尝试次数过多，请稍等一分钟再试。"),
    500: ("系统出错了", "服务器处理时出错，已记录。请稍后再试；如一直出现，请联系管理员。"),
    503: ("暂时无法使用", "系统暂时无法使用，请稍后再试。"),
}


def local_time(value: datetime | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    """Show a UTC timestamp in the stores' time zone, e.g. 2026年11月21日 14:30."""
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime(fmt)


def local_date(value: date | datetime | None) -> str:
    """Show a date as 2026年11月21日."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return f"{value.year}年{value.month}月{value.day}日"


_STAND_IN = 2**31 - 1  # the largest id a URL takes (lms.BoundedInt): never a real row's in practice


def url_for_each(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """`url_for(endpoint, key=n, **values)` for each of many whole numbers n (ids), building the URL
    once: pages that list people link each of them, and one `url_for` in a template costs about 8 µs
    (a manager's 今天 lists a whole store). Flask builds the URL with a stand-in id, and each id takes
    the stand-in's place; where the stand-in's digits show up twice, every URL is built by url_for."""
    stand_in = str(_STAND_IN)
    head, found, tail = url_for(endpoint, **values, **{key: _STAND_IN}).partition(stand_in)
    if not found or stand_in in tail:
        return lambda number: url_for(endpoint, **values, **{key: number})
    return lambda number: f"{head}{int(number)}{tail}"


def _url_for_in_templates(app: Flask) -> Callable[..., str]:
    """`url_for` as the app's templates call it: the URL of a page without values (the header's
    links, on every page) or of a static file is built once per path the app is served under, then
    reused (about 6 µs each, 16 on every page); any other URL is built by Flask's `url_for`."""
    build = app.url_for

    @lru_cache(maxsize=256)
    def fixed(script_root: str, endpoint: str, filename: str | None) -> str:
        return build(endpoint) if filename is None else build(endpoint, filename=filename)

    def url_for_in_templates(endpoint: str, **values) -> str:
        fixed_url = not values or (endpoint == "static" and values.keys() == {"filename"})
        if fixed_url and endpoint[:1] != "." and has_request_context():  # ".x" depends on the page's blueprint
            return fixed(request.script_root, endpoint, values.get("filename"))
        return build(endpoint, **values)

    return url_for_in_templates


def _error_page(code: int, detail: str | None = None):
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


@event.listens_for(Session, "before_flush", insert=True)
def _no_writes_on_reads(session: Session, flush_context, instances) -> None:
    """Refuse to write while answering a GET: looking at a page never changes data. First of the
    flush hooks, before any of them writes (the content stamp, the notice counts): on PostgreSQL a
    read runs in autocommit mode (lms/extensions.py), where what they wrote would stay."""
    if session.new or session.dirty or session.deleted:
        refuse_changes_on_reads()


def _back_url() -> str:
    """Where a refused form post goes back to: the page it came from (same site only), else home.

    The answer is a path, never an absolute address: absolute links come from lms/urls.py only.
    """
    referrer = urlsplit(request.referrer or "")
    path = referrer.path
    if referrer.netloc == request.host and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path + (f"?{referrer.query}" if referrer.query else "")
    return "/"


def init_app(app: Flask) -> None:
    """Register error pages, filters and headers on the app."""
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(local_date, "localdate")
    app.add_template_global(ROLE_LABELS, "role_labels")
    app.add_template_global(url_for_each)
    app.add_template_global(_url_for_in_templates(app), "url_for")

    @app.errorhandler(DomainError)
    def refused(exc: DomainError):
        """A service refused: nothing of the request is kept, and the person reads why."""
        db.session.rollback()
        if request.method in READS and not exc.url:
            return _error_page(409, exc.message)
        flash(exc.message, exc.level)
        return redirect(exc.url or _back_url())

    @app.after_request
    def commit_once(response):
        """The request's one commit (or its rollback, when it answers with an error)."""
        if request.method not in READS:
            if response.status_code < 400 and not g.get("refused"):
                db.session.commit()
            else:
                db.session.rollback()
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _error_page(400, "页面已过期或表单校验失败，请刷新页面后重新提交。")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded):
        return _error_page(429)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        return _error_page(exc.code)

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _error_page(500)

    @app.before_request
    def refuse_bad_input():
        """Answer 400 to NUL characters anywhere in the request, and 503 without a secret key or, in
        production, without the public address (links would otherwise take the client's Host header)."""
        if not app.config.get("SECRET_KEY"):
            return _error_page(503, "系统尚未初始化（缺少密钥），请管理员先运行「make run」或「flask --app wsgi lms init」。")
        if not configured(app) and not is_development(app):
            return _error_page(503, "系统尚未配置公开地址，请管理员在「instance/config.py」中设置「PUBLIC_URL」"
                                    "（如「https://lms.example.com」，见「docs/deploy.md」）。")
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value
            for values in (request.args, request.form) for key, value in values.items(multi=True)
        ):
            return _error_page(400, "提交的内容含有无法处理的字符。")
        return None

    @app.context_processor
    def duties():
        """What the logged-in person must do first, for the page header: overdue notices (the
        blocking banner) and unread messages. Asked only when a page is rendered, so a save that
        answers with a redirect or 204 does not pay for them."""
        from flask_login import current_user

        if not has_request_context() or not current_user.is_authenticated:
            return {"overdue_notices": [], "unread_messages": 0}
        from .notices.service import header_duties, overdue_for, unread_count

        if "overdue_notices" not in g and "unread_messages" not in g:
            duties = header_duties(current_user.id)  # both in one statement
            return {"overdue_notices": duties.notices, "unread_messages": duties.unread}
        overdue = g.overdue_notices if "overdue_notices" in g else overdue_for(current_user.id)  # a page may know
        unread = g.unread_messages if "unread_messages" in g else unread_count(current_user.id)
        return {"overdue_notices": overdue, "unread_messages": unread}

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        return response
