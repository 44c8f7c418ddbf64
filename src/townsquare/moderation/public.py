"""What readers may ask of moderation: the pre-submit check of a draft, and reporting a comment.
Both are rate-limited per (hashed) address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from townsquare.domain import validate
from townsquare.domain.tokens import TokenError
from townsquare.errors import NotFound, TooMany, Unauthorized
from townsquare import readers, sites
from townsquare.moderation import reports, service
from townsquare.store import comments, threads
from townsquare.store.db import reading, writing

if TYPE_CHECKING:
    from townsquare.services import Core

CHECKS_PER_MINUTE = 30
REPORTS_PER_MINUTE = 10


def _limit(core: Core, what: str, ip: str, per_minute: int) -> None:
    if core.settings.rate_limits == "off":
        return
    if not core.limiter.allow(f"moderation:{what}:{core.signer.hash('ip', ip)}", per_minute, 60):
        raise TooMany(f"Too many {what} requests from this address; try again in a minute.", retry_after=60)


def check(core: Core, site_name: str, text: str, ip: str) -> dict[str, Any]:
    """What moderation would decide for this text from a new author on the site; stores nothing
    (but the rate-limit count)."""
    with reading(core.engine) as conn:
        site = sites.by_name(conn, core.settings, site_name)
    # Bounded before the model sees a word: a text the site would refuse is not scored.
    text = validate.clean_text(text, site.rules)
    _limit(core, "check", ip, CHECKS_PER_MINUTE)
    # Score outside any transaction: the model must never run while holding the write lock.
    return service.check(site, text, signer=core.signer)


def report(core: Core, comment_id: int, *, ip: str, voter_token: str | None, reason: str, note: str,
           session: str | None = None) -> dict[str, Any]:
    """One reader's report on a comment: `{reports, status, counted}` (see `reports.report`). The
    reader is the signed-in reader of the session if one is sent, else their voter token if they
    send one, else their address; either way one address reports a comment once, so tokens minted
    for the purpose add nothing."""
    address = core.signer.reader_key(comment_id, ip)
    reporter = address
    if session:
        with reading(core.engine) as conn:
            signed_in = readers.session(conn, session)
        reporter = core.signer.hash("reader", readers.identity_key(signed_in.identity))
    elif voter_token:
        try:
            reporter = core.signer.hash("voter", core.signer.voter_id(voter_token))
        except TokenError as e:
            raise Unauthorized(str(e)) from None
    _limit(core, "report", ip, REPORTS_PER_MINUTE)
    with writing(core.engine) as conn:
        comment = comments.by_id(conn, comment_id)
        if comment is None:
            raise NotFound(f"There is no comment {comment_id}.")
        site = sites.by_id(conn, core.settings, threads.by_id(conn, comment.thread_id).site_id)
        return reports.report(conn, site=site, comment_id=comment_id, reporter=reporter, address=address,
                              reason=reason, note=note)
