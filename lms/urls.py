"""Absolute links: the one place that puts the app's public address in front of a path.

The public address is the setting PUBLIC_URL (lms/config.py), never the request's Host header:
a client chooses that header, and what it says must not end up in a certificate's QR code, an
xAPI id or a reminder e-mail. Production requires the setting (`lms/web.py` answers 503 without it,
`lms init` warns); in tests, in debug mode and on Werkzeug's development server (`make run`)
DEVELOPMENT_URL stands in.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request, url_for

DEVELOPMENT_URL = "http://127.0.0.1:5000"  # where `make run` serves
MISSING = "未配置网站的公开地址「PUBLIC_URL」，无法生成链接"


class PublicUrlMissing(RuntimeError):
    """PUBLIC_URL is not configured and this is not development."""


def url_problem(value: object) -> str | None:
    """Tell what is wrong with a PUBLIC_URL value (None: nothing)."""
    text = value if isinstance(value, str) else ""
    parts = urlsplit(text)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None
            or parts.query or parts.fragment or any(c.isspace() for c in text)):
        return (f"「PUBLIC_URL」应为网站的公开地址，如「https://lms.example.com」，"
                f"不能带用户名、「?」或「#」：{value!r}")
    return None


def configured(app: Flask) -> str | None:
    """The configured public address without a trailing slash (None: not set)."""
    value = app.config.get("PUBLIC_URL")
    return value.rstrip("/") if value else None


def is_development(app: Flask) -> bool:
    """Tests, debug mode, or a request served by Werkzeug's development server (`make run`).

    SERVER_SOFTWARE is set by the server, not sent by the client (headers arrive as HTTP_*).
    """
    if app.testing or app.debug:
        return True
    return has_request_context() and request.environ.get("SERVER_SOFTWARE", "").startswith("Werkzeug/")


def public_base(app: Flask | None = None) -> str:
    """The app's public address; raise PublicUrlMissing in production when it is not set."""
    app = app or current_app
    base = configured(app)
    if base:
        return base
    if is_development(app):
        return DEVELOPMENT_URL
    raise PublicUrlMissing(MISSING)


def absolute_url(path: str) -> str:
    """The public address of one of the app's paths: "/verify/X" → "https://lms.example.com/verify/X"."""
    return public_base() + "/" + path.lstrip("/")


def external_url_for(endpoint: str, **values) -> str:
    """url_for(..., _external=True), but on the public address instead of the request's Host."""
    path = url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    if root and path.startswith(root + "/"):  # PUBLIC_URL already names the path the app is served under
        path = path[len(root):]
    return absolute_url(path)
