"""Refusals (拒绝): the one exception a use case raises when it will not do what was asked.

A service raises `DomainError` with a Chinese message for the person who asked (and, where it
helps, the page where they can put it right). One handler (lms/web.py) rolls the request's
transaction back and shows the message: on a form post it is flashed on the page the person came
from (or on `url`); on a page it is the page's text.
"""

from __future__ import annotations


class DomainError(Exception):
    """A use case refused; the message is shown to the user as it is."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.message, self.url = message, url
        from flask import g, has_request_context

        if has_request_context():  # the request's transaction is never committed, even if a view catches this
            g.refused = True

    def __str__(self) -> str:
        return self.message
