"""Authoring in the browser: modules, scenarios and the phrasebook, with versions."""

from flask import Blueprint

bp = Blueprint("authoring", __name__, url_prefix="/author")

from . import routes, scenario_editor, suggest  # noqa: E402,F401
