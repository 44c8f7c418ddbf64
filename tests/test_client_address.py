"""The client's address behind proxies: X-Forwarded-For is read from the right, and only the
hops of trusted proxies are believed, so a reader cannot choose their own address."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from townsquare.app import create_app
from townsquare.config import ConfigError, load_settings
from townsquare.web.client import client_address

from .conftest import LENIENT, add_site


def scope(peer: str, *forwarded: str) -> dict:
    return {"type": "http", "client": (peer, 40000),
            "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


def settings(**values):
    return load_settings(None, environ={}, **values)


LOCAL_PROXY = settings(trust_proxy_headers=True)
BALANCED = settings(trusted_proxies=["10.0.0.0/8", "192.0.2.7"])


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_address(scope("198.51.100.4", "203.0.113.9"), settings()) == "198.51.100.4"
    assert client_address(scope("127.0.0.1", "203.0.113.9"), settings()) == "127.0.0.1"


def test_a_spoofed_leftmost_entry_is_not_the_client():
    # The client sent "X-Forwarded-For: 1.2.3.4"; nginx appended the address it saw.
    assert client_address(scope("127.0.0.1", "1.2.3.4, 203.0.113.9"), LOCAL_PROXY) == "203.0.113.9"
    assert client_address(scope("::1", "1.2.3.4", "203.0.113.9"), LOCAL_PROXY) == "203.0.113.9"
    assert client_address(scope("::ffff:127.0.0.1", "203.0.113.9"), LOCAL_PROXY) == "203.0.113.9"


def test_a_header_from_an_untrusted_peer_is_ignored():
    assert client_address(scope("198.51.100.4", "203.0.113.9"), LOCAL_PROXY) == "198.51.100.4"
    assert client_address(scope("10.1.2.3", "203.0.113.9"), LOCAL_PROXY) == "10.1.2.3"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right():
    # client -> load balancer 192.0.2.7 -> nginx 10.0.0.5 -> app
    assert client_address(scope("10.0.0.5", "6.6.6.6, 203.0.113.9, 192.0.2.7"), BALANCED) == "203.0.113.9"
    # an untrusted hop in the middle is the client, whatever it claims before it
    assert client_address(scope("10.0.0.5", "6.6.6.6, 198.51.100.1"), BALANCED) == "198.51.100.1"
    # every hop trusted: the leftmost is the best known
    assert client_address(scope("10.0.0.5", "10.9.9.9, 192.0.2.7"), BALANCED) == "10.9.9.9"
    # no header: the proxy itself
    assert client_address(scope("10.0.0.5"), BALANCED) == "10.0.0.5"
    # ports and brackets as some proxies write them
    assert client_address(scope("10.0.0.5", "[2001:db8::1]:5000"), BALANCED) == "2001:db8::1"
    assert client_address(scope("10.0.0.5", "203.0.113.9:5000"), BALANCED) == "203.0.113.9"


def test_an_unreadable_hop_stops_the_walk_at_the_last_trusted_one():
    assert client_address(scope("10.0.0.5", "203.0.113.9, garbage, 10.0.0.9"), BALANCED) == "10.0.0.9"


def test_trusted_proxies_are_checked_at_start():
    with pytest.raises(ConfigError) as e:
        settings(trusted_proxies=["10.0.0.0/33"])
    assert "trusted_proxies" in str(e.value) and "10.0.0.0/33" in str(e.value)
    with pytest.raises(ConfigError, match="host bits"):
        settings(trusted_proxies=["10.0.0.1/8"])
    with pytest.raises(ConfigError, match="nginx.internal"):
        settings(trusted_proxies=["nginx.internal"])
    env = load_settings(None, environ={"TOWNSQUARE_TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert env.trusted_proxies == ["10.0.0.0/8", "::1"]


@pytest.fixture
def behind_nginx(engine, db_url):
    add_site(engine, posts_per_minute=2, moderation_rules=LENIENT)
    app = create_app(load_settings(None, environ={}, db=db_url, trust_proxy_headers=True,
                                   alerts={"worker_in_serve": False}), engine)
    with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as c:
        yield c


def _post(client, forwarded: str):
    return client.post("/api/v1/comments", headers={"x-forwarded-for": forwarded, "Origin": "https://daily.example"},
                       json={"site": "daily", "uri": "/a", "text": f"A remark via {forwarded}.",
                             "author": {"name": "Ann"}})


def test_a_reader_cannot_dodge_the_rate_limit_by_inventing_addresses(behind_nginx):
    answers = [_post(behind_nginx, f"10.{n}.0.1, 203.0.113.9").status_code for n in range(4)]
    assert answers == [201, 201, 429, 429]
    # Another reader behind the same proxy has a limit of their own.
    assert _post(behind_nginx, "203.0.113.10").status_code == 201


def test_alert_sign_ups_are_limited_per_client_not_per_proxy(behind_nginx):
    def sign_up(n: int, forwarded: str):
        return behind_nginx.post("/api/v1/subscriptions", headers={"x-forwarded-for": forwarded},
                                 json={"site": "daily", "kind": "news", "address": f"r{n}@example.org"}).status_code

    assert [sign_up(n, f"{n}.1.1.1, 203.0.113.9") for n in range(11)][-1] == 429
    # The proxy's other clients are not limited with the one who went over.
    assert sign_up(99, "203.0.113.10") == 202


def test_the_scheme_comes_from_a_trusted_proxy_only():
    from townsquare.web.client import forwarded_scheme

    https = [(b"x-forwarded-proto", b"https")]
    assert forwarded_scheme({"client": ("127.0.0.1", 1), "headers": https}, LOCAL_PROXY) == "https"
    assert forwarded_scheme({"client": ("198.51.100.4", 1), "headers": https}, LOCAL_PROXY) is None


def test_a_trusted_proxy_that_ends_tls_gets_secure_cookies(behind_nginx):
    https = {"x-forwarded-proto": "https"}
    assert "Secure" in behind_nginx.get("/admin/login", headers=https).headers["set-cookie"]
    direct = TestClient(behind_nginx.app, base_url="http://testserver", client=("198.51.100.4", 50000))
    assert "Secure" not in direct.get("/admin/login", headers=https).headers["set-cookie"]
