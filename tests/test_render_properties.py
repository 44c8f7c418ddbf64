"""Property tests: no input survives sanitizing with a script, an event handler or a javascript: URL."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import example, given, settings
from hypothesis import strategies as st

from townsquare.domain.render import render_markdown, sanitize_html

FRAGMENTS = st.sampled_from([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[a](javascript:alert(1))", "<a href='javascript:x'>",
    "<svg onload=alert(1)>", "<iframe src=//evil>", "\"><script>", "<style>*{}</style>", "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))", "<a href=\"&#106;avascript:alert(1)\">x</a>", "**bold**", "`code`", "> quote",
    "<div onclick='x'>", "<<script>script>", "![i](javascript:alert(1))", "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "\n\n", " ", "é🙂",
])
TEXT = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=12).map("".join)

FORBIDDEN_TAGS = {"script", "iframe", "svg", "style", "img", "object", "embed", "math", "form", "input"}


class Tags(HTMLParser):
    """What a browser would see: real tags and their attributes (escaped text is not a tag)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def assert_safe(html: str) -> None:
    parser = Tags()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in attrs:
            assert not name.startswith("on"), name
            if name in ("href", "src"):
                scheme = re.sub(r"[\x00-\x20]", "", value or "").lower().split(":", 1)[0]
                assert scheme in ("http", "https", "mailto") or ":" not in (value or ""), value


@settings(max_examples=500, deadline=None)
@given(TEXT, st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT))
@example("<script>alert(1)</script>", None, None)
def test_rendered_markdown_is_safe(text, quote, author):
    assert_safe(render_markdown(text, quote, author))


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_sanitized_html_is_safe(fragment):
    assert_safe(sanitize_html(fragment))


def test_links_are_nofollow():
    assert 'rel="nofollow ugc noopener"' in render_markdown("[site](https://example.org)")
