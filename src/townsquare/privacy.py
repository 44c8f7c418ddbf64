"""Personal data of one author: everything stored about them, and its erasure.

An author is found by e-mail address: comments whose address matches (any case) or whose author
key is the keyed hash of it, and their e-mail alert subscriptions. Erasure either deletes their
comments (the rows stay as placeholders, scrubbed like a deletion by the author, so replies keep
their place) or anonymises them (the words stay, everything that identifies the author goes);
their votes (by the voter ids they prove) and subscriptions are removed.

Two ways in, each one transaction here: staff with a moderator API key, and the author with a
signed link sent by e-mail (see townsquare.web.privacy_api). `export_author` and `erase_author`
run in the caller's transaction, for callers that do more in it (the moderators' web UI).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from townsquare.alerts import outbox
from townsquare.config import Settings
from townsquare.domain import status
from townsquare.domain.tokens import Signer
from townsquare.errors import NotFound, Unauthorized
from townsquare.live import events as live_events
from townsquare.moderation import audit, auth
from townsquare.sites import Publication, by_id, by_name
from townsquare.store import privacy as stored
from townsquare.store import readers
from townsquare.store import sites as site_store
from townsquare.store import threads
from townsquare.store.db import Connection, Engine, now, reading, writing

ErasureMode = Literal["delete", "anonymise"]
Action = Literal["export", "erase"]
DELETED_NAME = "[deleted]"  # as townsquare.services shows a deleted comment
ANONYMOUS_NAME = "Anonymous"
LINK_SECONDS = 2 * 86400  # how long an author's signed link works


def _normalize(email: str) -> str:
    return email.strip().lower()


# -- in the caller's transaction ------------------------------------------------------------------
def _exported_comment(found: stored.AuthorComment) -> dict[str, Any]:
    c = found.comment
    return {"site": found.site, "thread": {"uri": found.thread_uri, "title": found.thread_title}, "id": c.id,
            "parent_id": c.parent_id, "author": {"name": c.author_name, "email": c.author_email,
                                                 "website": c.author_website},
            "text": c.text, "quote": c.quote, "html": c.html, "status": c.status,
            "created": c.created, "edited": c.edited, "likes": c.likes, "dislikes": c.dislikes}


def export_author(conn: Connection, signer: Signer, email: str, site_id: int | None = None,
                  also: tuple[int, ...] = ()) -> dict[str, Any]:
    """All data stored about the author with this address (on one site, or every site), as JSON;
    `also`: identities the author proved are theirs besides (signed in by the publisher)."""
    address = _normalize(email)
    identity_ids = _identities(conn, signer, address, site_id, also)
    found = stored.author_comments(conn, signer.hash("email", address), address, site_id, identity_ids)
    subscriptions = stored.author_subscriptions(conn, address, site_id)
    account = stored.staff_account(conn, address)
    identities = [readers.identity(conn, i) for i in identity_ids]
    return {
        "email": address,
        "exported": now(),
        "comments": [
            _exported_comment(f) for f in found
        ],
        "subscriptions": [asdict(s) for s in subscriptions],
        "account": asdict(account) if account else None,
        # Signed in by a link to this address (or proven theirs): the identity and its sessions (never their tokens).
        "identities": [{"kind": i.kind, "name": i.name, "badges": list(i.badges), "created": i.created,
                        "sessions": [asdict(x) for x in readers.sessions_of(conn, i.id)]}
                       for i in identities if i is not None],
    }


def _identities(conn: Connection, signer: Signer, address: str, site_id: int | None,
                also: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The identities of readers signed in by e-mail links to this address, and `also` (those of
    the site that still exist)."""
    found = readers.identity_ids_by_subject(conn, "email", signer.hash("email", address), site_id)
    extra = [i for i in also if (x := readers.identity(conn, i)) is not None and site_id in (None, x.site_id)]
    return tuple(dict.fromkeys([*found, *extra]))


def erase_author(
    conn: Connection,
    signer: Signer,
    email: str,
    *,
    mode: ErasureMode,
    site_id: int | None = None,
    voters: tuple[str, ...] = (),
    also: tuple[int, ...] = (),
) -> dict[str, int]:
    """Erase the author with this address (in the caller's transaction); returns what was done.

    `voters` are the author's voter ids (from voter tokens they hold): votes are anonymous, so
    only the author can show which are theirs.
    """
    address = _normalize(email)
    identity_ids = _identities(conn, signer, address, site_id, also)
    found = stored.authored(conn, signer.hash("email", address), address, site_id, identity_ids)
    ids = [c.id for c in found]
    at = now()
    if ids:
        if mode == "delete":
            for c in found:
                status.require("erasure", c.status, "deleted")
            stored.delete_comments(conn, ids, placeholder_name=DELETED_NAME, at=at)
        else:
            stored.anonymise_comments(conn, ids, name=ANONYMOUS_NAME, at=at)
    lost = Counter(c.thread_id for c in found if mode == "delete" and c.status == "published")
    for c in found:  # open streams drop them as on a reload (their earlier events went with the words)
        if mode == "delete" and c.status == "published":
            live_events.comment_deleted(conn, c.thread_id, c.id)
    for thread_id in {c.thread_id for c in found}:
        threads.touch(conn, thread_id, -lost.get(thread_id, 0))
    votes_removed = stored.remove_votes(conn, voters, site_id)
    subscriptions = stored.remove_email_alerts(conn, address, site_id)
    for identity_id in identity_ids:  # with its sessions: the reader is signed out everywhere
        readers.delete_identity(conn, identity_id)
    return {"comments": len(ids), "votes": votes_removed, "subscriptions": subscriptions,
            "identities": len(identity_ids)}


# -- staff, with a moderator API key ----------------------------------------------------------------
def staff_export(engine: Engine, settings: Settings, signer: Signer, *, api_key: str | None, site: str,
                 email: str) -> dict[str, Any]:
    """The author's data on the site, for the holder of a moderator API key of it; audited."""
    with writing(engine) as conn:
        found, actor = _staff_site(conn, settings, api_key, site)
        data = export_author(conn, signer, email, site_id=found.id)
        _audit(conn, signer, found, actor, "privacy_export", email,
               {"comments": len(data["comments"]), "subscriptions": len(data["subscriptions"])})
    return data


def staff_erase(engine: Engine, settings: Settings, signer: Signer, *, api_key: str | None, site: str, email: str,
                mode: ErasureMode | None, voters: tuple[str, ...]) -> dict[str, int]:
    """Erase the author on the site (`mode` None: the site's `erasure` setting); audited."""
    with writing(engine) as conn:
        found, actor = _staff_site(conn, settings, api_key, site)
        mode = mode or found.rules.erasure
        done = erase_author(conn, signer, email, mode=mode, site_id=found.id, voters=voters)
        _audit(conn, signer, found, actor, "privacy_erase", email, {"mode": mode, **done})
    return done


def _staff_site(conn: Connection, settings: Settings, api_key: str | None, site: str):
    actor = auth.api_key_actor(conn, api_key) if api_key and api_key.startswith(auth.API_KEY_PREFIX) else None
    if actor is None:
        raise Unauthorized("Send a moderator API key as 'Authorization: Bearer tsm_…'.")
    found = by_name(conn, settings, site)
    actor.require(found.id)
    return found, actor


def _audit(conn: Connection, signer: Signer, site: Publication, actor, action: str, email: str, details: dict) -> None:
    """Every staff export and erasure is logged; the target is the author's key, not the address."""
    audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action=action,
                 target="author:" + signer.hash("email", _normalize(email)),
                 reason="moderator API", details=details)


# -- the author, by signed link ---------------------------------------------------------------------
@dataclass(frozen=True)
class LinkClaim:
    """What a valid signed link says: whose data, on which site, for what."""

    site_id: int
    email: str
    action: Action
    identity_id: int | None = None  # asked from a signed-in reader's own page: their identity too


def read_link(links: URLSafeTimedSerializer, token: str, action: Action) -> LinkClaim:
    """The claim of a link's token, if it is genuine, fresh and for this action."""
    try:
        claim = links.loads(token, max_age=LINK_SECONDS)
    except SignatureExpired:
        raise Unauthorized("This link has expired; ask for a new one.") from None
    except BadSignature:
        raise Unauthorized("This link is not valid.") from None
    if claim.get("a") != action:
        raise Unauthorized("This link is for another request.")
    return LinkClaim(site_id=claim["s"], email=claim["e"], action=action, identity_id=claim.get("i"))


def request_link(engine: Engine, settings: Settings, links: URLSafeTimedSerializer, *, site: str, email: str,
                 action: Action, base_url: str, identity_id: int | None = None) -> None:
    """Mail the author a link to export or erase their data on the site (at most one an hour).
    `identity_id`: a signed-in reader asking from their own comments page, whose link also
    covers what they posted signed in (a publisher's sign-on knows no address)."""
    address = _normalize(email)
    with writing(engine) as conn:
        found = by_name(conn, settings, site)
        claim = {"s": found.id, "e": address, "a": action} | ({"i": identity_id} if identity_id is not None else {})
        token = links.dumps(claim)
        path = "export" if action == "export" else "erase"
        url = f"{base_url}/api/v1/privacy/{path}?token={token}"
        hour = int(now() // 3600)
        digest = hashlib.sha256(address.encode()).hexdigest()[:20]
        title = found.title or found.name
        outbox.enqueue(
            conn, key=f"privacy:{found.id}:{action}:{digest}:{identity_id or ''}:{hour}", site_id=found.id,
            kind="privacy",
            channel="email", target=address, now=now(),
            payload={"subject": _subject(action, title), "url": url, "text": _mail_text(action, title, url)},
        )


def check_link(engine: Engine, claim: LinkClaim) -> None:
    """Refuse a link whose site is gone."""
    with reading(engine) as conn:
        _require_site(conn, claim)


def export_by_link(engine: Engine, signer: Signer, claim: LinkClaim) -> dict[str, Any]:
    with reading(engine) as conn:
        _require_site(conn, claim)
        return export_author(conn, signer, claim.email, site_id=claim.site_id, also=_also(claim))


def erase_by_link(engine: Engine, settings: Settings, signer: Signer, claim: LinkClaim,
                  voters: tuple[str, ...]) -> tuple[ErasureMode, dict[str, int]]:
    """Erase as the site's `erasure` setting says; answers the mode and what was done."""
    with writing(engine) as conn:
        _require_site(conn, claim)
        mode = by_id(conn, settings, claim.site_id).rules.erasure
        done = erase_author(conn, signer, claim.email, mode=mode, site_id=claim.site_id, voters=voters,
                            also=_also(claim))
        # The author's own request changes comment statuses too: the log keeps it, by author key.
        audit.record(conn, site_id=claim.site_id, user_id=None, actor="author", action="privacy_erase",
                     target="author:" + signer.hash("email", _normalize(claim.email)),
                     reason="the author's own request (signed link)", details={"mode": mode, **done})
        return mode, done


def _also(claim: LinkClaim) -> tuple[int, ...]:
    return (claim.identity_id,) if isinstance(claim.identity_id, int) else ()


def _require_site(conn: Connection, claim: LinkClaim) -> None:
    if site_store.by_id(conn, claim.site_id) is None:
        raise NotFound("The site of this link no longer exists.")


def _subject(action: Action, site_title: str) -> str:
    return f"Your data on {site_title}" if action == "export" else f"Erase your data on {site_title}"


def _mail_text(action: Action, site_title: str, url: str) -> str:
    what = "download everything stored about you" if action == "export" else "erase your comments and alerts"
    return (f"Someone (we hope you) asked to {what} on {site_title}.\n\nFollow this link within two days:\n{url}\n\n"
            "If you did not ask for this, ignore this message: nothing happens without the link.")
