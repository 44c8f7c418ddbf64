"""Reading single fields the way every source writes them: times, booleans, names, URIs, ids."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

from .records import ImportFormatError

ANONYMOUS = "Anonymous"
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: str | None, where: str = "", *, naive_utc: bool = True) -> float | None:
    """An ISO 8601 / RFC 3339 or `YYYY-MM-DD HH:MM:SS` time as UTC epoch seconds; None when empty."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if "." in text:
        text = _FRACTION.sub(r"\1", text)  # Go writes nanoseconds; Python reads microseconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ImportFormatError(f"{value.strip()!r} is not a date and time", where) from None
    if moment.tzinfo is None and naive_utc:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def parse_bool(value: str | None, where: str = "", default: bool = False) -> bool:
    if value is None:
        return default
    found = _BOOLEANS.get(value)
    if found is not None:
        return found
    text = value.strip().lower()
    if not text:
        return default
    if text not in _BOOLEANS:
        raise ImportFormatError(f"{value.strip()!r} is not true or false", where)
    return _BOOLEANS[text]


def text_or_none(value: str | None) -> str | None:
    """Trimmed text, or None for a missing or blank field (an author with no email, say)."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def author_name(*candidates: str | None) -> str:
    return next((c.strip() for c in candidates if c and c.strip()), ANONYMOUS)


def uri_of(link: str) -> str:
    """The thread URI for a page link: its path and query, as the embed sends it."""
    parts = urlsplit(link.strip())
    uri = parts.path or "/"
    return f"{uri}?{parts.query}" if parts.query else uri


def content_id(*parts: str | None) -> str:
    """A stable id for a record its source left without one, so re-imports still recognise it."""
    digest = hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def votes_from_score(score: int) -> tuple[int, int]:
    """(likes, dislikes) for a source that keeps only a net score."""
    return (score, 0) if score >= 0 else (0, -score)
