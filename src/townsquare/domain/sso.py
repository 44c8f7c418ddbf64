"""The publisher's single sign-on token: a JWT signed with the site's shared secret (HS256 only).

A token vouches for one reader on one site: `aud` is the site's name, `sub` the publisher's user
id, `exp` when the token stops being accepted, `iat` when it was made. `name`, an optional
`email` and `badges` (a short list from `BADGES`) say how the reader is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jwt

ALGORITHMS = ["HS256"]  # the only one accepted: never "none", never one the token names for itself
LEEWAY = 60  # seconds of clock difference allowed between the publisher's server and this one
MAX_TOKEN = 4096  # characters
MAX_SUBJECT = 200
MAX_NAME = 100
MAX_BADGES = 5
BADGES = frozenset({"staff", "editor", "subscriber", "moderator", "author", "expert"})
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class SsoError(Exception):
    """Why a token is refused (shown to the caller)."""


@dataclass(frozen=True)
class Claims:
    subject: str
    name: str
    email: str | None
    badges: tuple[str, ...]


def verify(token: str, *, secret: str, site: str) -> Claims:
    """The claims of a token signed with `secret` for `site`, or SsoError saying why not."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise SsoError("The sign-on token is missing or too long.")
    try:
        claims = jwt.decode(token, secret, algorithms=ALGORITHMS, audience=site, leeway=LEEWAY,
                            options={"require": ["exp", "iat", "sub", "aud"], "verify_iat": True})
    except jwt.ExpiredSignatureError:
        raise SsoError("The sign-on token has expired.") from None
    except jwt.InvalidAudienceError:
        raise SsoError("The sign-on token is for another site.") from None
    except jwt.ImmatureSignatureError:
        raise SsoError("The sign-on token was issued in the future (check the publisher's clock).") from None
    except jwt.MissingRequiredClaimError as e:
        raise SsoError(f"The sign-on token has no '{e.claim}' claim.") from None
    except jwt.InvalidAlgorithmError:
        raise SsoError("The sign-on token must be signed with HS256.") from None
    except jwt.InvalidTokenError:
        raise SsoError("The sign-on token is not valid (bad signature or not a JWT).") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT:
        raise SsoError(f"'sub' must be the reader's id, a string of 1 to {MAX_SUBJECT} characters.")
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or not name.isprintable():
        raise SsoError(f"'name' must be the reader's name, 1 to {MAX_NAME} printable characters.")
    email = claims.get("email")
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
        raise SsoError("'email' must be an e-mail address when given.")
    return Claims(subject.strip(), name.strip(), email.lower() if email else None, badges(claims.get("badges")))


def badges(value: object) -> tuple[str, ...]:
    """The badges a token grants: a list of at most MAX_BADGES names from BADGES."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_BADGES or not all(isinstance(b, str) for b in value):
        raise SsoError(f"'badges' must be a list of at most {MAX_BADGES} of: {', '.join(sorted(BADGES))}.")
    unknown = [b for b in value if b not in BADGES]
    if unknown:
        raise SsoError(f"Unknown badge '{unknown[0][:30]}'; badges are: {', '.join(sorted(BADGES))}.")
    return tuple(dict.fromkeys(value))
