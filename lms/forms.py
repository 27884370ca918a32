"""The base of every form: Flask-WTF (CSRF) with WTForms' own Chinese messages."""

from __future__ import annotations

from flask_wtf import FlaskForm


class LmsForm(FlaskForm):
    """A form whose built-in validation messages are in Simplified Chinese."""

    class Meta:
        locales = ("zh",)


def whole_number(text: str | None, digits: int = 12) -> int | None:
    """A form's or a key's non-negative whole number written in ASCII digits (at most `digits` of
    them), or None: `str.isdigit` also takes "²" and "①", which `int` refuses."""
    text = text or ""
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= digits else None
