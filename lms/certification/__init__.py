"""Certification area: rules per position group, certificates, public verification."""

from flask import Blueprint

bp = Blueprint("certification", __name__)

from . import routes  # noqa: E402,F401
