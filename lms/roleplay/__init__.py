"""Role-play area (情景演练): phrasebook, scenarios, runs and turns."""

from flask import Blueprint

bp = Blueprint("roleplay", __name__)

from . import routes  # noqa: E402,F401
