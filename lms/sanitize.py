"""Render Markdown to HTML that is safe to put in a page.

All content that users or files supply goes through `render_markdown`: the `markdown` package
renders it and nh3 (Ammonia) keeps only a whitelist of tags, attributes and URL schemes, so
`<script>`, event handlers and `javascript:` links never reach the browser.
"""

from __future__ import annotations

import markdown
import nh3

_EXTENSIONS = ["tables", "sane_lists", "fenced_code", "attr_list"]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre",
    "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "abbr": {"title"},
    "ol": {"start"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


def clean_html(html: str) -> str:
    """Strip everything from HTML but the whitelisted tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Render Markdown text to sanitised HTML."""
    html = markdown.markdown(text, extensions=_EXTENSIONS, output_format="html")
    return clean_html(html)
