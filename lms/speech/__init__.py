"""Spoken practice (口语练习): read a known text aloud at the right pace, answer the phone within three rings."""

from flask import Blueprint

bp = Blueprint("speech", __name__)

from . import routes, turns  # noqa: E402,F401
