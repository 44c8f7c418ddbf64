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

    # -- voter ids ---------------------------------------------------------------
    def new_voter(self) -> str:
        return self._voter.dumps(secrets.token_urlsafe(12))

    def voter_id(self, token: str) -> str:
        """The stable id inside a voter token (tokens do not expire)."""
        try:
            return self._voter.loads(token)
        except BadSignature:
            raise TokenError("The voter token is not valid.") from None

    # -- pseudonymous keys ---------------------------------------------------------
    def hash(self, kind: str, value: str) -> str:
        """A keyed hash, so stored IPs and emails cannot be reversed by a dictionary attack."""
        return hmac.digest(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hex()[:32]

    def reader_key(self, comment_id: int, address: str) -> str:
        """A reader's address as one comment's votes and reports see it: one per address, yet
        keyed by the comment, so a reader's votes on two comments (or their own comments'
        `ip_hash`) cannot be joined through it."""
        return self.hash("reader", f"{comment_id}:{address}")
