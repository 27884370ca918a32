"""Reports area: the store manager's view of their store (and the admin's of every store)."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/store")

from . import routes  # noqa: E402,F401
