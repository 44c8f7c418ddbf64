"""Errors the services raise; the web layer turns each into an RFC 9457 problem answer."""

from __future__ import annotations


class Problem(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type(self) -> str:
        return "https://townsquare.invalid/problems/" + self.title.lower().replace(" ", "-")


class Invalid(Problem):
    status = 422
    title = "Invalid input"


class BadCursor(Invalid):
    """A paging cursor the server did not hand out (or one for another sort order)."""

    status = 400
    title = "Bad request"


class NotFound(Problem):
    status = 404
    title = "Not found"


class Unauthorized(Problem):
    status = 401
    title = "Not authorized"


class Forbidden(Problem):
    status = 403
    title = "Forbidden"


class Conflict(Problem):
    status = 409
    title = "Conflict"


class TooMany(Problem):
    status = 429
    title = "Too many requests"


class TooLarge(Problem):
    status = 413
    title = "Request too large"


class Unavailable(Problem):
    """The server is at a limit of its own (e.g. open live streams); another try may succeed."""

    status = 503
    title = "Service unavailable"
