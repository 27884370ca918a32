"""Lists of people link each person with url_for_each (lms/web.py): one url_for for the whole list.
Every link it makes must be the one url_for makes."""

from __future__ import annotations

import pytest
from flask import url_for

from lms.web import url_for_each

IDS = (1, 7, 42, 2147483646, 2147483647)


@pytest.mark.parametrize("endpoint, key", [("reports.person", "user_id"), ("reports.archive", "user_id"),
                                           ("roleplay.run", "run_id"), ("notices.board_page", "notice_id")])
def test_each_link_is_the_one_url_for_makes(app, endpoint, key):
    with app.test_request_context("/"):
        link = url_for_each(endpoint, key)
        assert [link(n) for n in IDS] == [url_for(endpoint, **{key: n}) for n in IDS]


def test_other_values_and_a_prefix_are_kept(app):
    with app.test_request_context("/", base_url="http://lms.example.cn/training/"):
        link = url_for_each("notices.board_page", "notice_id", page=2)
        assert link(5) == url_for("notices.board_page", notice_id=5, page=2) == "/training/notices/5/board?page=2"


def test_where_the_stand_in_shows_up_elsewhere_each_link_is_built_by_url_for(app):
    with app.test_request_context("/"):
        link = url_for_each("notices.board_page", "notice_id", page=2147483647)
        assert link(9) == url_for("notices.board_page", notice_id=9, page=2147483647)


def test_only_whole_numbers(app):
    with app.test_request_context("/"):
        link = url_for_each("reports.person", "user_id")
        with pytest.raises(ValueError):
            link("1/../../admin")


def test_templates_build_the_headers_links_for_the_path_the_app_is_served_under(app):
    """Templates reuse the URL of a page without values and of a static file (lms/web.py); served
    under another path (SCRIPT_NAME), the same template gets that path's links."""
    source = "{{ url_for('home.index') }}|{{ url_for('static', filename='css/app.css') }}|{{ url_for('roleplay.run', run_id=3) }}"
    for root in ("", "/lms", "", "/lms"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            shown = app.jinja_env.from_string(source).render()
            assert shown == "|".join([url_for("home.index"), url_for("static", filename="css/app.css"),
                                      url_for("roleplay.run", run_id=3)])
            assert shown == f"{root}/|{root}/static/css/app.css|{root}/runs/3"
