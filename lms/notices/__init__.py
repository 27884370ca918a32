"""New-business notices (新业务通知) and the 48-hour rule."""

from flask import Blueprint

bp = Blueprint("notices", __name__)

from . import routes, subscribers  # noqa: E402,F401  (subscribers: its event receivers)
