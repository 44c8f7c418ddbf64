"""Where the alerts part may connect: webhooks and article feeds are URLs publishers give us, so
they must not reach the machine itself or the private network behind it (the admin UI, Redis,
cloud metadata services) unless the operator allows it (`[alerts] allow_private_targets`).

A URL is checked when it is registered, and again at every request, after DNS: the transport
resolves the name once, checks every address, and connects to the address it checked, so a
name that changes its answer between the check and the connection (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HINT = "set [alerts] allow_private_targets = true to allow it"


class RefusedTarget(httpx.ConnectError):
    """The URL's host is, or resolves to, an address alerts may not connect to."""


def refusal(address: Address) -> str | None:
    """Why alerts may not connect to this address, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind, test in (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
                       ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                       ("reserved", address.is_reserved), ("private", address.is_private)):
        if test:
            return f"a {kind} address"
    return None if address.is_global else "not a public address"


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _addresses(infos: list) -> list[Address]:
    found: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])  # no IPv6 zone index
        if address not in found:
            found.append(address)
    return found


def _refused(host: str, addresses: list[Address]) -> str | None:
    for address in addresses:
        reason = refusal(address)
        if reason:
            what = host if _literal(host) is not None else f"{host} resolves to {address}, which"
            return f"{what} is {reason}; {ALLOW_HINT}"
    return None


def check_url(url: str, *, allow_private: bool) -> str | None:
    """At registration (no transaction open: this may look up DNS): why the URL is refused, or
    None. A name that does not resolve yet passes; every request checks it again."""
    parts = urlsplit(url)
    if allow_private or parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    literal = _literal(host)
    if literal is not None:
        return _refused(host, [literal])
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    return _refused(host, _addresses(infos))


class PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that resolves each request's host once, refuses private addresses
    (unless allowed), and connects to the checked address, with the original name kept for the
    Host header and for TLS (SNI and certificate check). Redirects come through here too."""

    def __init__(self, *, allow_private: bool):
        self.allow_private = allow_private
        # One pool per host name: a pooled TLS connection was verified for its own name only.
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        pool = self._pools.get(host)
        if pool is None:
            pool = self._pools[host] = httpx.AsyncHTTPTransport()
        failure: httpx.TransportError | None = None
        # Each checked address in the resolver's order, as a plain client would (an AAAA record
        # on a machine without IPv6 falls back to IPv4); nothing is sent before a connection.
        for address in await self._checked_addresses(host, request):
            pinned = httpx.Request(request.method, request.url.copy_with(host=str(address)), headers=request.headers,
                                   stream=request.stream, extensions={**request.extensions, "sni_hostname": host})
            try:
                return await pool.handle_async_request(pinned)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def _checked_addresses(self, host: str, request: httpx.Request) -> list[Address]:
        literal = _literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, request.url.port or (443 if request.url.scheme == "https" else 80), type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise httpx.ConnectError(f"{host} does not resolve ({exc})", request=request) from exc
            addresses = _addresses(infos)
            if not addresses:
                raise httpx.ConnectError(f"{host} has no address", request=request)
        reason = None if self.allow_private else _refused(host, addresses)
        if reason:
            raise RefusedTarget(reason, request=request)
        return addresses

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
