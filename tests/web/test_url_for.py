"""Every URL the app builds is the one Flask builds: the app's quicker `url_for` (lms.App) against
Flask's own, for every route of the app, with the extra values pages pass (a query string, a value
left out as None, Chinese text)."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from werkzeug.routing import BuildError


def _values(rule) -> dict:
    """A value for each of the rule's parts: 7 for numbers, a Chinese slug for text."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 7 if type(converter).__name__ in ("BoundedInt", "IntegerConverter") else "礼仪 a/b"
    return values


def test_every_route_builds_the_url_flask_builds(app, monkeypatch):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert len(rules) > 50  # the whole app, not a few routes
    cases = [(rule, {**_values(rule), **extra}) for rule in rules
             for extra in ({}, {"page": 2, "q": "投诉 处理&x=1"}, {"page": None})]
    with app.test_request_context("/"):
        expected = [Flask.url_for(app, rule.endpoint, **values) for rule, values in cases]

        def flask_way(*args, **kwargs):
            raise AssertionError("the common URL took Flask's slower way")

        monkeypatch.setattr(Flask, "url_for", flask_way)
        for (rule, values), flasks in zip(cases, expected):
            quick = url_for(rule.endpoint, **values)
            assert quick == flasks, rule.rule
            assert quick.startswith("/") and "None" not in quick


def test_the_rarer_forms_still_work(app):
    with app.test_request_context("/", base_url="https://lms.example.cn"):
        assert url_for("home.index", _anchor="reply") == "/#reply"
        assert url_for("home.index", _external=True) == "https://lms.example.cn/"
        assert url_for("roleplay.run", run_id=3, _external=True, _scheme="https") == "https://lms.example.cn/runs/3"
    with app.test_request_context("/practice"):
        app.preprocess_request()
        assert url_for(".catalogue") == Flask.url_for(app, ".catalogue")


def test_a_url_that_cannot_be_built_is_an_error(app):
    with app.test_request_context("/"):
        with pytest.raises(BuildError):
            url_for("roleplay.run")  # its run_id missing
        with pytest.raises(BuildError):
            url_for("no.such_page")
