"""Courses area: content loaded from `courses/`, learner pages and progress."""

from flask import Blueprint

bp = Blueprint("courses", __name__)

from . import routes  # noqa: E402,F401
