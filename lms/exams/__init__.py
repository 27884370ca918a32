"""Exams area: question bank, knowledge checks, exams, attempts, trainer pages."""

from flask import Blueprint

bp = Blueprint("exams", __name__)

from . import routes, trainer  # noqa: E402,F401
