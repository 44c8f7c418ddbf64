"""Who is connecting: the client's address, derived in one place for every part of the app.

The TCP peer is the client unless it is one of the operator's trusted proxies. Each trusted
proxy appends the address it saw to X-Forwarded-For, so the list is read from the RIGHT: while
the current hop is a trusted proxy, step one entry to the left; the first hop that is not a
trusted proxy is the client. Entries further left were written by the client itself and are
never believed (taking the leftmost entry would let anyone choose their own address, and with
it dodge rate limits and bans).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from townsquare.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# What `trust_proxy_headers = true` has always meant: one proxy on this machine.
LOOPBACK_PROXY = ("127.0.0.1", "::1")


def proxy_networks(settings: Settings) -> tuple[Network, ...]:
    """The networks whose hops are trusted to report the address they saw."""
    listed = tuple(settings.trusted_proxies) + (LOOPBACK_PROXY if settings.trust_proxy_headers else ())
    return _networks(listed)


@lru_cache(maxsize=16)
def _networks(listed: tuple[str, ...]) -> tuple[Network, ...]:
    # Validated at start by Settings; parsed once per distinct list.
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in listed)


def _address(text: str) -> Address | None:
    """An address as a peer or an X-Forwarded-For entry gives it ("[::1]:80", "1.2.3.4:5" too)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped:
        return found.ipv4_mapped
    return found


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def _peer_and_headers(scope_or_request: Any) -> tuple[Any, list[tuple[bytes, bytes]]]:
    scope = getattr(scope_or_request, "scope", scope_or_request)
    return scope.get("client"), scope.get("headers") or []


def client_address(scope_or_request: Any, settings: Settings) -> str:
    """The client's address for a request (a Starlette Request or an ASGI scope): "" if unknown."""
    peer, headers = _peer_and_headers(scope_or_request)
    peer_text = peer[0] if peer else ""
    networks = proxy_networks(settings)
    current = _address(peer_text) if peer_text else None
    if current is None or not networks or not _trusted(current, networks):
        return str(current) if current is not None else peer_text
    forwarded = b",".join(value for name, value in headers if name == b"x-forwarded-for").decode("latin-1")
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    while hops and _trusted(current, networks):
        hop = _address(hops.pop())
        if hop is None:
            # Unreadable: the last hop a trusted proxy vouched for is the best we know.
            break
        current = hop
    return str(current)


def forwarded_scheme(scope: dict, settings: Settings) -> str | None:
    """The scheme the client used, as a trusted proxy in front reports it (X-Forwarded-Proto)."""
    peer, headers = _peer_and_headers(scope)
    networks = proxy_networks(settings)
    current = _address(peer[0]) if peer else None
    if current is None or not networks or not _trusted(current, networks):
        return None
    proto = dict(headers).get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
    return proto if proto in ("http", "https") else None


class ForwardedScheme:
    """Behind a trusted proxy that ends TLS, requests arrive as http: take the scheme the proxy
    reports, so secure cookies and absolute links say https. (Addresses are not rewritten here:
    `client_address` derives them.)"""

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scheme = forwarded_scheme(scope, self.settings)
            if scheme:
                scope["scheme"] = scheme
        await self.app(scope, receive, send)
