"""Input rules for comments, independent of storage and transport."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from townsquare.config import SiteSettings
from townsquare.errors import Invalid

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,}$")
NOT_IN_URLS = re.compile(r'[\s<>"\x00-\x1f\x7f]')  # a browser's address bar encodes these
URI_MAX = 1000


def normalize_text(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()


def clean_text(text: str, site: SiteSettings, field: str = "text") -> str:
    text = normalize_text(text)
    if len(text) < site.min_length:
        raise Invalid("The comment is empty." if not text else f"The comment is shorter than {site.min_length} characters.", field=field)
    if len(text) > site.max_length:
        raise Invalid(f"The comment is {len(text)} characters long; this site allows {site.max_length}.", field=field)
    return text


def clean_name(name: str, site: SiteSettings) -> str:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        raise Invalid("Please give a name to post under.", field="author.name")
    if len(name) > site.max_name_length:
        raise Invalid(f"The name is longer than {site.max_name_length} characters.", field="author.name")
    return name


def clean_email(email: str | None, site: SiteSettings) -> str | None:
    email = (email or "").strip()
    if not email:
        if site.require_email:
            raise Invalid("This site asks for an e-mail address.", field="author.email")
        return None
    if not EMAIL.match(email) or len(email) > 320:
        raise Invalid(f"'{email}' is not an e-mail address.", field="author.email")
    return email


def http_url(url: str | None) -> str | None:
    """`url` stripped, if it is an absolute http(s) address with a host; else None.

    The one rule for every URL Townsquare stores (page, website, article and feed addresses), so
    no stored link can carry `javascript:`, `data:` or any other scheme into a page or a feed.
    """
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000 or NOT_IN_URLS.search(url):
        return None
    return url


def link_target(url: str | None) -> str | None:
    """`url` if following it can only load a page: an http(s) address, or a reference relative to
    the page (`/path`, `?query`, `#fragment`); None for any other scheme (`javascript:`, `data:`…).

    The rule for rendering links, which also covers URLs stored before input was checked.
    Browsers drop tabs and newlines anywhere in a URL and control characters at its ends before
    reading the scheme; `urlsplit` does the same, so both see the same scheme.
    """
    url = (url or "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme:
        return url if parts.scheme in ("http", "https") and parts.hostname else None
    # No scheme, but a colon before any slash may still be read as one by some browser.
    head = re.split(r"[/?#]", url.replace("\\", "/"), maxsplit=1)[0]
    return None if ":" in head else url


def clean_website(url: str | None) -> str | None:
    url = (url or "").strip()
    if not url:
        return None
    if "://" not in url:
        url = "https://" + url
    if http_url(url) is None:
        raise Invalid("The website must be an http:// or https:// address.", field="author.website")
    return url


def clean_page_url(url: str | None) -> str:
    """The article's address, shown as a link in the admin and in feeds: http(s) only."""
    url = (url or "").strip()
    if not url:
        return ""
    if http_url(url) is None:
        raise Invalid("The page URL must be an http:// or https:// address.", field="url")
    return url


def clean_uri(uri: str) -> str:
    uri = uri.strip()
    if not uri or len(uri) > URI_MAX:
        raise Invalid(f"The page URI must be 1 to {URI_MAX} characters.", field="uri")
    return uri


def clean_quote(quote: str | None, parent_text: str) -> str | None:
    """A quote must be a passage of the comment it answers (whitespace-insensitive)."""
    quote = " ".join((quote or "").split())
    if not quote:
        return None
    if quote not in " ".join(parent_text.split()):
        raise Invalid("The quote is not a passage of the comment being answered.", field="quote")
    return quote


# -- input limits ---------------------------------------------------------------------------------
# Ids are INTEGER columns, 32 bits on PostgreSQL: a larger number names nothing and must not reach
# the driver, which would fail on it.
MAX_ID = 2**31 - 1
# Control characters belong in no name, address, key or query; PostgreSQL refuses NUL in text
# outright. Comment-like text keeps tab, line feed and carriage return. (Also the JSON Schema
# `pattern` of those fields, so clients see the rule in the OpenAPI document.)
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_LINE = re.compile(LINE_PATTERN)
_TEXT = re.compile(TEXT_PATTERN)


def has_control_characters(value: str, *, text: bool = False) -> bool:
    return (_TEXT if text else _LINE).match(value) is None


def refuse_control_characters(value: str, field: str, *, text: bool = False) -> str:
    if has_control_characters(value, text=text):
        raise Invalid("The value contains a control character (such as NUL), which is not allowed here.", field=field)
    return value


def is_id(value: int) -> bool:
    return 1 <= value <= MAX_ID
