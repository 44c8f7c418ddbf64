"""Verified readers: sign-in by the publisher's single sign-on or by an e-mail link, sessions,
sign-out. A session is a random token the reader's browser keeps (header
`X-Townsquare-Session`); the server keeps only its sha256, so sessions can be revoked and a copy
of the database signs nobody in.

E-mail sign-in: the reader asks from the widget; the mail carries a link to the article page they
were on, with a signed, expiring code in the fragment (`#townsquare-sign-in=…`, which browsers
never send to the publisher's server). The widget on that page trades the code for a session once
(`POST /api/v1/auth/email/redeem`); a used code is marked and refused after. The page must be on
one of the site's origins, so a link never hands its code to another site.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from townsquare import sites
from townsquare.alerts import outbox
from townsquare.domain import sso, tree, validate
from townsquare.domain.tokens import TokenError, new_session_token, session_hash
from townsquare.errors import BadCursor, Forbidden, Invalid, TooMany, Unauthorized
from townsquare.sites import Publication
from townsquare.store import readers as stored
from townsquare.store.db import Connection, now, reading, writing
from townsquare.store.readers import Identity, Session

SESSION_SECONDS = 30 * 86400
LINK_SECONDS = 30 * 60
# Sign-in mails: per client address and per e-mail address, an hour.
LINKS_PER_ADDRESS = 10
LINKS_PER_EMAIL = 3
LINK_PERIOD = 3600
FRAGMENT = "townsquare-sign-in"
SIGN_INS_PER_MINUTE = 30  # sign-on tokens traded for sessions, per client address
MAX_NAME = 100


def identity_key(identity: Identity) -> str:
    """How trust, bans and author history name a verified reader (`Draft.identity`, trusted and
    ban kind "identity", the `author_key` of their comments). Made from who the reader is (site,
    kind, subject), not from a row id, so comments and trust carried to another installation by
    `export --all` keep naming the same reader there, and never another one."""
    digest = hashlib.sha256(f"{identity.site_id}\n{identity.kind}\n{identity.subject}".encode()).hexdigest()
    return "identity:" + digest[:32]


def user_json(identity: Identity) -> dict[str, Any]:
    return {"id": identity.id, "name": identity.name, "verified": True, "badges": list(identity.badges),
            "kind": identity.kind}


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires: float
    identity: Identity

    def as_json(self) -> dict[str, Any]:
        return {"session_token": self.token, "expires": self.expires, "user": user_json(self.identity)}


def _start_session(conn: Connection, identity: Identity, at: float) -> SignedIn:
    token, token_hash = new_session_token()
    stored.add_session(conn, token_hash=token_hash, identity_id=identity.id, created=at, expires=at + SESSION_SECONDS)
    return SignedIn(token, at + SESSION_SECONDS, identity)


# -- single sign-on ----------------------------------------------------------------------------
def sign_in_sso(core, site_name: str, token: str, ip: str) -> SignedIn:
    """A session for the reader a publisher-signed token vouches for. A refused token stores nothing."""
    site = sites.named(core.engine, core.settings, site_name)
    if core.settings.rate_limits == "on" and not core.limiter.allow(
            f"{site.id}:sso:{core.signer.hash('ip', ip)}", SIGN_INS_PER_MINUTE, 60):
        raise TooMany("Too many sign-ins from this address; try again in a minute.", retry_after=60)
    secret, key = site.rules.sso_secret, site.rules.sso_public_key
    if not secret and not key:
        raise Forbidden(f"Site '{site.name}' has no single sign-on (neither `sso_secret` nor `sso_public_key` is set).")
    try:
        claims = sso.verify(token, secret=secret, public_key_pem=key, site=site.name)
    except sso.SsoError as e:
        raise Unauthorized(str(e)) from None
    at = now()
    with writing(core.engine) as conn:
        identity = stored.save_identity(conn, site_id=site.id, kind="sso", subject=claims.subject, name=claims.name,
                                        badges=claims.badges, at=at)
        return _start_session(conn, identity, at)


# -- e-mail links ------------------------------------------------------------------------------
def request_email_link(core, *, site_name: str, email: str, name: str, page_url: str, ip: str) -> None:
    """Mail a sign-in link for `page_url` (a page of the site's) to `email`."""
    site = sites.named(core.engine, core.settings, site_name)
    if not site.rules.email_sign_in or site.rules.require_identity == "sso":
        raise Forbidden(f"Site '{site.name}' does not offer sign-in by e-mail.")
    address = validate.clean_email(email, site.rules)
    if not address:
        raise Invalid("Give the e-mail address to send the link to.", field="email")
    address = address.lower()
    name = _clean_name(name)
    page = _site_page(site, page_url)
    if core.settings.rate_limits == "on":
        if not core.limiter.allow(f"{site.id}:sign-in:{core.signer.hash('ip', ip)}", LINKS_PER_ADDRESS, LINK_PERIOD):
            raise TooMany("Too many sign-in links asked for from this address; try again later.", retry_after=LINK_PERIOD)
        if not core.limiter.allow(f"{site.id}:sign-in-mail:{core.signer.hash('email', address)}", LINKS_PER_EMAIL,
                                  LINK_PERIOD):
            raise TooMany("Several sign-in links were sent to this address already; use the newest, or try "
                          "again later.", retry_after=LINK_PERIOD)
    code, nonce = core.signer.sign_in_link(site.name, f"{address}\n{name}")
    url = page + "#" + FRAGMENT + "=" + code
    title = site.title or site.name
    text = (f"Someone (we hope you) asked to sign in to comment on {title} as {name}.\n\n"
            f"Open this link within {LINK_SECONDS // 60} minutes to sign in:\n{url}\n\n"
            "It works once. If you did not ask for it, ignore this mail: nothing happens.")
    with writing(core.engine) as conn:
        outbox.enqueue(conn, key=f"sign-in:{site.id}:{hashlib.sha256(nonce.encode()).hexdigest()[:32]}",
                       site_id=site.id, kind="sign_in", channel="email", target=address, now=now(),
                       payload={"subject": f"Sign in to comment on {title}", "url": url, "text": text})


def redeem_email_link(core, site_name: str, code: str) -> SignedIn:
    """A session for the address a sign-in code was mailed to; each code works once."""
    try:
        site_in_code, who, nonce = core.signer.check_sign_in_link(code, LINK_SECONDS)
    except TokenError as e:
        raise Unauthorized(str(e)) from None
    if site_in_code != site_name:
        raise Unauthorized("This sign-in link is for another site.")
    address, _, name = who.partition("\n")
    site = sites.named(core.engine, core.settings, site_name)
    at = now()
    with writing(core.engine) as conn:
        if not stored.use_link(conn, session_hash(nonce), at=at, expires=at + LINK_SECONDS):
            raise Unauthorized("This sign-in link was used already; ask for a new one.")
        identity = stored.save_identity(conn, site_id=site.id, kind="email", subject=core.signer.hash("email", address),
                                        name=name, badges=(), at=at)
        return _start_session(conn, identity, at)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise Invalid(f"Give the name to show with your comments (1 to {MAX_NAME} characters).", field="name")
    return name


def _site_page(site: Publication, page_url: str) -> str:
    """The page the link leads back to (without its fragment), if it is on one of the site's origins."""
    url = validate.http_url(page_url)
    if url is None:
        raise Invalid("The page to come back to must be an http(s) address.", field="url")
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin not in {o.rstrip("/").lower() for o in site.origins}:
        raise Forbidden(f"Sign-in links lead only to pages of site '{site.name}' ({', '.join(site.origins)}); "
                        f"list the page's origin in the site's origins.")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


# -- sessions ----------------------------------------------------------------------------------
def session(conn: Connection, token: str | None) -> Session | None:
    """The live session of a token (None without a token); Unauthorized for an ended one."""
    if not token:
        return None
    found = stored.live_session(conn, session_hash(token), now())
    if found is None:
        raise Unauthorized("Your session has ended (signed out or expired); sign in again.")
    return found


def session_or_none(conn: Connection, token: str | None) -> Session | None:
    """The live session of a token, or None (where an edit token may prove authorship instead)."""
    return stored.live_session(conn, session_hash(token), now()) if token else None


def whoami(core, token: str | None) -> dict[str, Any]:
    if not token:
        raise Unauthorized("Send the session token as the X-Townsquare-Session header.")
    with reading(core.engine) as conn:
        found = session(conn, token)
        site = sites.by_id(conn, core.settings, found.identity.site_id)
    return {"user": user_json(found.identity), "site": site.name, "expires": found.expires}


def sign_out(core, token: str | None, *, everywhere: bool = False) -> int:
    """End this session, or every session of its reader; answers how many ended."""
    if not token:
        raise Unauthorized("Send the session token as the X-Townsquare-Session header.")
    with writing(core.engine) as conn:
        found = session(conn, token)
        at = now()
        if everywhere:
            return stored.revoke_all(conn, found.identity.id, at)
        stored.revoke(conn, found.id, at)
        return 1


# -- the reader's own comments -------------------------------------------------------------------
# The widget's "My comments" asks for a link (`profile_link`) with the reader's session and the
# edit tokens this browser keeps; the link's code names the session (by its hash, checked live on
# every page, so signing out ends the link too) and the comments the tokens proved, for an hour.
PROFILE_SECONDS = 3600
PROFILE_PAGE = 20
MAX_PROVEN = 100  # edit tokens looked at per request (the newest, which the widget sends last)
OWN_TOKEN_SECONDS = 30 * 86400  # the widget keeps a comment's edit token this long


@dataclass(frozen=True)
class Profile:
    site: Publication
    name: str | None  # the signed-in reader's, None for a guest
    identity_id: int | None
    comments: list[stored.OwnComment]
    next_cursor: str | None


def profile_link(core, site_name: str, token: str | None, edit_tokens: list[str]) -> str:
    """The code of a link to the reader's own comments on the site; Unauthorized when neither a
    live session of the site nor a genuine edit token shows who they are."""
    site = sites.named(core.engine, core.settings, site_name)
    session_id = None
    if token:
        with reading(core.engine) as conn:
            found = session(conn, token)
        if found.identity.site_id != site.id:
            raise Unauthorized("Your session is for another site; sign in on this one.")
        session_id = found.id
    proven = {core.signer.edit_token_comment(t, OWN_TOKEN_SECONDS) for t in edit_tokens[-MAX_PROVEN:]}
    ids = sorted(i for i in proven if i is not None and 0 < i <= tree.INT_BOUND)
    if session_id is None and not ids:
        raise Unauthorized("Sign in, or post a comment from this browser, to see your comments.")
    return core.signer.profile_code(site.name, session_id, ids)


def _profile_code(core, site_name: str, code: str) -> tuple[str | None, tuple[int, ...]]:
    """The session hash and proven comment ids of a genuine profile code of this site; Unauthorized if not."""
    try:
        site_in_code, session_id, ids = core.signer.check_profile_code(code, PROFILE_SECONDS)
    except TokenError as e:
        raise Unauthorized(str(e)) from None
    if site_in_code != site_name:
        raise Unauthorized("This link to your comments is for another site.")
    return session_id, ids


def _profile_identity(conn: Connection, session_id: str | None) -> Identity | None:
    """The signed-in reader behind a profile code (None for a guest's); Unauthorized once the session has ended."""
    if session_id is None:
        return None
    found = stored.live_session(conn, session_id, now())
    if found is None:
        raise Unauthorized("Your session has ended (signed out or expired): sign in again, then open "
                           "“My comments” from the comments.")
    return found.identity


def profile(core, site_name: str, code: str, cursor: str | None) -> Profile:
    """A page of the reader's comments on the site, newest first (deleted ones left out)."""
    session_id, ids = _profile_code(core, site_name, code)
    try:
        before = tree.decode_cursor(cursor, 2) if cursor else None
    except tree.CursorError as e:
        raise BadCursor(str(e), field="cursor") from None
    site = sites.named(core.engine, core.settings, site_name)
    with reading(core.engine) as conn:
        identity = _profile_identity(conn, session_id)
        rows = stored.own_comments(conn, site.id, identity.id if identity else None, ids, PROFILE_PAGE + 1, before)
    more = len(rows) > PROFILE_PAGE
    rows = rows[:PROFILE_PAGE]
    return Profile(site, identity.name if identity else None, identity.id if identity else None, rows,
                   tree.encode_cursor((rows[-1].created, rows[-1].id)) if more else None)


def profile_identity(core, site_name: str, code: str) -> int | None:
    """The signed-in reader's identity behind a profile code (None for a guest's); refused like the page,
    without reading the page's comments."""
    session_id, _ = _profile_code(core, site_name, code)
    sites.named(core.engine, core.settings, site_name)  # an unknown site is refused as on the page
    with reading(core.engine) as conn:
        identity = _profile_identity(conn, session_id)
    return identity.id if identity else None
