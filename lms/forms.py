"""The base of every form: Flask-WTF (CSRF) with WTForms' own Chinese messages."""

from __future__ import annotations

from flask_wtf import FlaskForm


class LmsForm(FlaskForm):
    """A form whose built-in validation messages are in Simplified Chinese."""

    class Meta:
        locales = ("zh",)
