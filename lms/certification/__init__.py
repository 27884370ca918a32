"""Certification area: rules per position group, certificates, public verification."""

from flask import Blueprint

bp = Blueprint("certification", __name__)

from . import catalog_part, routes, standing, subscribers  # noqa: E402,F401  (its share of the catalogue; the kept
# standings' listeners; its event receivers)
