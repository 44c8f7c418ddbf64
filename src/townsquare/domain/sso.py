"""The publisher's single sign-on token: a JWT signed with the site's shared secret (HS256), or,
when the site has a public key, with the publisher's RSA private key (RS256). One algorithm per
site, never the one a token names for itself: a site with a key takes RS256 only, so a token
signed with HS256 using the public key as its secret (algorithm confusion) is refused.

A token vouches for one reader on one site: `aud` is the site's name, `sub` the publisher's user
id, `exp` when the token stops being accepted, `iat` when it was made. `name`, an optional
`email` and `badges` (a short list from `BADGES`) say how the reader is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

ALGORITHMS = ["HS256"]  # with a shared secret: never "none", never one the token names for itself
KEY_ALGORITHMS = ["RS256"]  # with a public key: only this
MIN_RSA_BITS = 2048
MAX_KEY = 10_000  # characters of PEM
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


def public_key(pem: str) -> RSAPublicKey:
    """The RSA public key of a PEM text (`-----BEGIN PUBLIC KEY-----`), or ValueError saying why not."""
    if not isinstance(pem, str) or len(pem) > MAX_KEY:
        raise ValueError(f"must be a PEM public key of at most {MAX_KEY} characters")
    try:
        key = load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError):
        raise ValueError("is not a PEM public key (-----BEGIN PUBLIC KEY----- …)") from None
    if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise ValueError(f"must be an RSA public key of at least {MIN_RSA_BITS} bits (tokens are RS256)")
    return key


def verify(token: str, *, secret: str | None = None, public_key_pem: str | None = None, site: str) -> Claims:
    """The claims of a token for `site` signed with `secret` (HS256) or, when the site has one,
    verified with its public key (RS256 only); SsoError saying why not."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise SsoError("The sign-on token is missing or too long.")
    if public_key_pem:
        # A key object, never the PEM text: nothing can use the text as an HMAC secret.
        key, algorithms = public_key(public_key_pem), KEY_ALGORITHMS
    elif secret:
        key, algorithms = secret, ALGORITHMS
    else:
        raise SsoError("This site has no single sign-on.")
    try:
        claims = jwt.decode(token, key, algorithms=algorithms, audience=site, leeway=LEEWAY,
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
        raise SsoError(f"The sign-on token must be signed with {algorithms[0]}.") from None
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
