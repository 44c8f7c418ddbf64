"""Webhooks: a JSON POST signed with HMAC-SHA256 over "<timestamp>.<body>" (see docs/webhooks.md).

During a secret rotation the header carries one `v1=` signature per valid secret, so a receiver
that still has the old secret keeps verifying until it switches.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import orjson

from townsquare.alerts.channels import DeliveryError, Outgoing
from townsquare.alerts.targets import PinnedTransport, RefusedTarget

SIGNATURE_HEADER = "Townsquare-Signature"


def signature_header(secrets: tuple[str, ...], timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join(parts)


def verify(header: str, body: bytes, secret: str, *, tolerance: float = 300, now: float | None = None) -> bool:
    """Receiver side check (used by the tests, and the reference for docs/webhooks.md)."""
    fields = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in fields if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in fields if k == "v1")


class WebhookChannel:
    def __init__(self, *, timeout: float, allow_private: bool):
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                         transport=PinnedTransport(allow_private=allow_private))

    async def send(self, message: Outgoing) -> None:
        event = message.items[0].event
        body = orjson.dumps(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Townsquare-Webhooks/1",
            "Idempotency-Key": message.key,
            "Townsquare-Event": event.get("event", ""),
            SIGNATURE_HEADER: signature_header(message.secrets, int(time.time()), body),
        }
        try:
            response = await self._client.post(message.target, content=body, headers=headers)
        except RefusedTarget as exc:
            # Not sent, and not retried: the address will not become allowed by waiting.
            raise DeliveryError(f"webhook refused: {exc}", permanent=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {exc!r}") from exc
        if response.is_success:
            return
        # 410 Gone is the receiver's way to say "stop"; everything else may recover.
        raise DeliveryError(f"webhook answered {response.status_code}", permanent=response.status_code == 410)

    async def close(self) -> None:
        await self._client.aclose()
