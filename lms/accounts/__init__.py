"""Accounts area: log-in, people, stores, regions, leave, roster import."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from . import routes  # noqa: E402,F401  (registers the views on bp)
