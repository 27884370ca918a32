"""New-business notices (新业务通知) and the 48-hour rule."""

from flask import Blueprint

bp = Blueprint("notices", __name__)

# subscribers: its event receivers; tally: its flush listeners
from . import routes, subscribers, tally  # noqa: E402,F401
