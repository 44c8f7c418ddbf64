"""Delivery channels. Each takes a composed `Outgoing` message and delivers it, or raises
`DeliveryError`. A channel object is used by one sender at a time and may keep a connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Item:
    """One thing the recipient is told about (a digest has several)."""

    kind: str  # reply | thread | news | moderator
    title: str
    url: str
    author: str
    text: str
    event: dict[str, Any]  # the public event, as webhooks receive it


@dataclass(frozen=True)
class Outgoing:
    key: str  # idempotency key, sent as Message-ID / Idempotency-Key
    kind: str  # reply | thread | news | moderator | confirm | digest
    channel: str
    target: str  # email address, E.164 number, or webhook URL
    site_title: str
    subject: str
    items: tuple[Item, ...] = ()
    unsubscribe_url: str | None = None
    manage_url: str | None = None
    confirm_url: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)  # webhook signing secrets


class DeliveryError(Exception):
    """Delivery failed. `permanent` failures are not retried (e.g. the mailbox does not exist)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...
