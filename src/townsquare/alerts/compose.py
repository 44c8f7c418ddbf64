"""Turn outbox rows into messages: subject, items and links. Pure: no I/O."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from townsquare.alerts.channels import Item, Outgoing
from townsquare.alerts.links import Links

# Keys kept out of what receivers see: routing data of the fan-out.
_INTERNAL = ("match", "exclude")


def public_event(payload: dict[str, Any], key: str) -> dict[str, Any]:
    event = {k: v for k, v in payload.items() if k not in _INTERNAL}
    event["site"] = {k: v for k, v in payload["site"].items() if k != "id"}
    return {"id": key, **event}


def comment_url(thread: dict[str, Any], comment_id: int) -> str:
    base = thread.get("url") or thread.get("uri") or ""
    return f"{base.split('#')[0]}#comment-{comment_id}"


def item_for(kind: str, payload: dict[str, Any], key: str, queue_url: str) -> Item:
    """`queue_url`: the moderation queue's page, where moderator alerts link to."""
    event = public_event(payload, key)
    if "article" in payload:
        a = payload["article"]
        return Item(kind=kind, title=a["title"], url=a["url"], author="", text=a["summary"], event=event)
    t, c = payload["thread"], payload["comment"]
    url = f"{queue_url}?{urlencode({'site': payload['site']['name']})}" if kind == "moderator" else comment_url(t, c["id"])
    return Item(kind=kind, title=t["title"], url=url, author=c["author"], text=c["text"], event=event)


def subject_for(kind: str, site_title: str, items: list[Item]) -> str:
    if len(items) > 1:
        return f"{len(items)} new alerts from {site_title}"
    item = items[0]
    if kind == "reply":
        return f"{item.author} replied to your comment on “{item.title}”"
    if kind == "thread":
        return f"New comment by {item.author} on “{item.title}”"
    if kind == "moderator":
        return f"Comment by {item.author} waiting for review on “{item.title}”"
    return f"{site_title}: {item.title}"


def alert(
    *,
    key: str,
    kind: str,
    channel: str,
    target: str,
    site_id: int,
    site_title: str,
    subscription_id: int,
    items: list[Item],
    links: Links,
    digest: bool,
    address: str | None = None,
    secrets: tuple[str, ...] = (),
) -> Outgoing:
    return Outgoing(
        key=key,
        kind="digest" if digest else kind,
        channel=channel,
        target=address or target,
        site_title=site_title,
        subject=subject_for(kind, site_title, items),
        items=tuple(items),
        unsubscribe_url=links.unsubscribe_url(subscription_id),
        manage_url=links.manage_url(site_id, channel, target),
        secrets=secrets,
    )


def confirmation(
    *, key: str, channel: str, target: str, site_title: str, about: str, subscription_id: int, links: Links
) -> Outgoing:
    return Outgoing(
        key=key,
        kind="confirm",
        channel=channel,
        target=target,
        site_title=site_title,
        subject=f"Confirm your alerts from {site_title}",
        items=(Item(kind="confirm", title=about, url="", author="", text="", event={}),),
        confirm_url=links.confirm_url(subscription_id),
    )


def is_notice(channel: str, payload: dict[str, Any] | None) -> bool:
    """A direct message written by another part (e.g. a personal-data link): email only."""
    return channel == "email" and bool(payload) and {"subject", "text"} <= payload.keys()


def notice(*, key: str, target: str, site_title: str, payload: dict[str, Any]) -> Outgoing:
    return Outgoing(
        key=key,
        kind="notice",
        channel="email",
        target=target,
        site_title=site_title,
        subject=payload["subject"],
        items=(Item(kind="notice", title=payload["subject"], url=payload.get("url", ""), author="",
                    text=payload["text"], event={}),),
    )
