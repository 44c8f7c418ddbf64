"""WhatsApp alerts through the WhatsApp Cloud API: `POST {base_url}/{phone_number_id}/messages`
with a Bearer token, sending an approved template message per alert kind.

Template body parameters, in order (create the templates with these placeholders):
confirm: site, link · reply/thread/moderator: author, article title, link ·
news: site, article title, link · digest: site, number of alerts, link to manage alerts.
"""

from __future__ import annotations

import httpx

from townsquare.alerts.channels import DeliveryError, Outgoing
from townsquare.alerts.settings import WhatsAppSettings


def parameters(message: Outgoing) -> list[str]:
    if message.kind == "confirm":
        return [message.site_title, message.confirm_url or ""]
    if message.kind == "digest":
        return [message.site_title, str(len(message.items)), message.manage_url or ""]
    item = message.items[0]
    if message.kind == "news":
        return [message.site_title, item.title, item.url]
    return [item.author, item.title, item.url]


def request_body(message: Outgoing, settings: WhatsAppSettings) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.target.removeprefix("+"),
        "type": "template",
        "template": {
            "name": settings.templates[message.kind],
            "language": {"code": settings.language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters(message)]}
            ],
        },
    }


class WhatsAppChannel:
    def __init__(self, settings: WhatsAppSettings):
        self.settings = settings
        self._client = httpx.AsyncClient(timeout=settings.timeout, follow_redirects=False)

    async def send(self, message: Outgoing) -> None:
        if not self.settings.enabled:
            raise DeliveryError("WhatsApp is not configured ([whatsapp] phone_number_id and token)")
        url = f"{self.settings.base_url.rstrip('/')}/{self.settings.phone_number_id}/messages"
        headers = {"Authorization": f"Bearer {self.settings.token.get_secret_value()}"}
        try:
            response = await self._client.post(url, json=request_body(message, self.settings), headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"WhatsApp API unreachable: {exc!r}") from exc
        if response.is_success:
            return
        # Not treated as permanent: the API answers 4xx for rate limits and expired tokens too,
        # which recover; a message that keeps failing stops after `max_attempts`.
        raise DeliveryError(f"WhatsApp API {response.status_code}: {response.text[:300]}")

    async def close(self) -> None:
        await self._client.aclose()
