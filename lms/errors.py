"""Refusals (拒绝): the one exception a use case raises when it will not do what was asked.

A service raises `DomainError` with a Chinese message for the person who asked (and, where it
helps, the page where they can put it right). One handler (lms/web.py) rolls the request's
transaction back and shows the message: on a form post it is flashed on the page the person came
from (or on `url`); on a page it is the page's text. `AlreadyDone` is the refusal of something the
person's own earlier request did already (a second tap, or back and send again): it is shown as
information, on the page of what was done.
"""

from __future__ import annotations


class DomainError(Exception):
    """A use case refused; the message is shown to the user as it is."""

    level = "error"  # how the message is flashed

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.message, self.url = message, url
        from flask import g, has_request_context

        if has_request_context():  # the request's transaction is never committed, even if a view catches this
            g.refused = True

    def __str__(self) -> str:
        return self.message


class AlreadyDone(DomainError):
    """What was asked was done already, by the same person's request a moment before: nothing is
    done again, and the person lands on `url`, the page of what was done."""

    level = "info"

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message, url)
