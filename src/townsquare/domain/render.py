"""Comment text -> safe HTML. Rendered once, when a comment is written; reads never render.

The Markdown subset: paragraphs, emphasis, code, lists, block quotes and links. Raw HTML is
escaped by the parser and everything it produces is sanitized again by nh3, so no input can
carry a script, an event handler or a `javascript:` URL into a page.
"""

from __future__ import annotations

import html as htmllib

import nh3
from markdown_it import MarkdownIt

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
    .disable(["image", "heading", "lheading", "html_block", "html_inline", "hr", "table"], ignoreInvalid=True)
)

ALLOWED_TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "del", "cite"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "blockquote": {"class"}, "cite": set()}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"


# Built once: constructing a cleaner costs about as much as cleaning a comment.
_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel=LINK_REL,
    strip_comments=True,
)


def sanitize_html(fragment: str) -> str:
    """Clean any HTML fragment (also used for imported bodies) down to the allowed subset."""
    return _cleaner.clean(fragment)


def render_markdown(text: str, quote: str | None = None, quote_author: str | None = None) -> str:
    """Render a comment's Markdown and, for a quote-reply, the attributed passage above it."""
    body = _md.render(text)
    if quote:
        who = f"<cite>{htmllib.escape(quote_author)} wrote:</cite>" if quote_author else ""
        quoted = _md.render(quote)
        body = f'<blockquote class="quote">{who}{quoted}</blockquote>{body}'
    return sanitize_html(body)


def plain_text(fragment: str) -> str:
    """The text of an HTML fragment, for places that need no markup (feeds, e-mails, search)."""
    return htmllib.unescape(nh3.clean(fragment, tags=set())).strip()
