"""Signed tokens: edit tokens prove authorship, voter ids make votes one per reader.

Anonymous authorship rests on a signed token (like Isso's signed cookie), never on name + IP.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenError(Exception):
    pass


class Signer:
    def __init__(self, secret: str):
        self._secret = secret.encode()
        self._edit = URLSafeTimedSerializer(secret, salt="townsquare.edit")
        self._voter = URLSafeTimedSerializer(secret, salt="townsquare.voter")
        self._sign_in = URLSafeTimedSerializer(secret, salt="townsquare.sign-in")
        self._profile = URLSafeTimedSerializer(secret, salt="townsquare.profile")

    # -- edit tokens -------------------------------------------------------------
    def edit_token(self, comment_id: int) -> str:
        return self._edit.dumps({"c": comment_id})

    def check_edit_token(self, token: str, comment_id: int, max_age: int) -> None:
        try:
            data = self._edit.loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenError("The edit window for this comment has closed.") from None
        except BadSignature:
            raise TokenError("The edit token is not valid.") from None
        if data.get("c") != comment_id:
            raise TokenError("The edit token belongs to another comment.")

    def edit_token_comment(self, token: str, max_age: int) -> int | None:
        """The comment a genuine edit token younger than `max_age` was issued for, else None."""
        try:
            data = self._edit.loads(token, max_age=max_age)
        except BadSignature:  # expired ones too
            return None
        comment = data.get("c") if isinstance(data, dict) else None
        return comment if isinstance(comment, int) and not isinstance(comment, bool) else None

    # -- a reader's profile page -------------------------------------------------------
    def profile_code(self, site: str, session: str | None, comments: list[int]) -> str:
        """The code of a link to a reader's own comments: the site, their session's hash (the
        page checks it is still live) and the comments their edit tokens proved."""
        return self._profile.dumps({"s": site, "h": session, "c": comments})

    def check_profile_code(self, code: str, max_age: int) -> tuple[str, str | None, tuple[int, ...]]:
        try:
            data = self._profile.loads(code, max_age=max_age)
        except SignatureExpired:
            raise TokenError("This link to your comments has expired.") from None
        except BadSignature:
            raise TokenError("This link to your comments is not valid.") from None
        return data["s"], data["h"], tuple(data["c"])

    # -- voter ids ---------------------------------------------------------------
    def new_voter(self) -> str:
        return self._voter.dumps(secrets.token_urlsafe(12))

    def voter_id(self, token: str) -> str:
        """The stable id inside a voter token (tokens do not expire)."""
        try:
            return self._voter.loads(token)
        except BadSignature:
            raise TokenError("The voter token is not valid.") from None

    # -- e-mail sign-in links ----------------------------------------------------
    def sign_in_link(self, site: str, email: str) -> tuple[str, str]:
        """A signed sign-in code for (site, address) and its nonce; the nonce is marked used when
        the code is redeemed, so each code signs in once."""
        nonce = secrets.token_urlsafe(16)
        return self._sign_in.dumps({"s": site, "e": email, "n": nonce}), nonce

    def check_sign_in_link(self, code: str, max_age: int) -> tuple[str, str, str]:
        """(site, address, nonce) of a sign-in code that is genuine and younger than `max_age`."""
        try:
            data = self._sign_in.loads(code, max_age=max_age)
        except SignatureExpired:
            raise TokenError("This sign-in link has expired; ask for a new one.") from None
        except BadSignature:
            raise TokenError("This sign-in link is not valid.") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "sen"):
            raise TokenError("This sign-in link is not valid.")
        return data["s"], data["e"], data["n"]

    # -- pseudonymous keys ---------------------------------------------------------
    def hash(self, kind: str, value: str) -> str:
        """A keyed hash, so stored IPs and emails cannot be reversed by a dictionary attack."""
        return hmac.digest(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hex()[:32]

    def reader_key(self, comment_id: int, address: str) -> str:
        """A reader's address as one comment's votes and reports see it: one per address, yet
        keyed by the comment, so a reader's votes on two comments (or their own comments'
        `ip_hash`) cannot be joined through it."""
        return self.hash("reader", f"{comment_id}:{address}")


def new_session_token() -> tuple[str, str]:
    """A reader session token and the sha256 under which it is stored (never the token itself)."""
    token = "tsr_" + secrets.token_urlsafe(32)
    return token, session_hash(token)


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
