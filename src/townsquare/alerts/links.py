"""Signed links in alerts: confirm a subscription, unsubscribe in one click, manage subscriptions.

Links are signed (itsdangerous), so they work without an account or a cookie and cannot be
forged to act on someone else's subscriptions. Unsubscribe and management links never expire:
a reader must be able to leave from a years-old message.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CONFIRM_MAX_AGE = 7 * 24 * 3600


class InvalidLink(Exception):
    """The link was altered, belongs to another purpose, or has expired."""


@dataclass(frozen=True)
class Links:
    public_url: str
    secret: str

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=f"townsquare.alerts.{purpose}")

    def _url(self, path: str, token: str) -> str:
        return f"{self.public_url.rstrip('/')}{path}?{urlencode({'token': token})}"

    def confirm_url(self, subscription_id: int) -> str:
        return self._url("/alerts/confirm", self._serializer("confirm").dumps(subscription_id))

    def unsubscribe_url(self, subscription_id: int) -> str:
        return self._url("/alerts/unsubscribe", self._serializer("unsubscribe").dumps(subscription_id))

    def manage_url(self, site_id: int, channel: str, target: str) -> str:
        token = self._serializer("manage").dumps([site_id, channel, target])
        return self._url("/alerts/manage", token)

    def read_confirm(self, token: str) -> int:
        return int(self._load("confirm", token, CONFIRM_MAX_AGE))

    def read_unsubscribe(self, token: str) -> int:
        return int(self._load("unsubscribe", token, None))

    def read_manage(self, token: str) -> tuple[int, str, str]:
        site_id, channel, target = self._load("manage", token, None)
        return int(site_id), str(channel), str(target)

    def _load(self, purpose: str, token: str, max_age: int | None):
        try:
            return self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise InvalidLink("This link has expired.") from exc
        except (BadSignature, ValueError, TypeError) as exc:
            raise InvalidLink("This link is not valid.") from exc
