"""`serve` warns at start when links in mails would point at the server's own address."""

from __future__ import annotations

import socket

import pytest

from tests.test_serve_cli import run
from townsquare.cli import public_url_warning
from townsquare.config import load_settings


@pytest.mark.parametrize("host, public_url, warns", [
    ("127.0.0.1", "", False),
    ("localhost", "", False),
    ("::1", "", False),
    ("0.0.0.0", "", True),
    ("::", "", True),
    ("10.1.2.3", "", True),
    ("comments.internal", "", True),
    ("0.0.0.0", "https://comments.example.org", False),
])
def test_warning(host, public_url, warns):
    settings = load_settings(None, environ={}, host=host, public_url=public_url)
    warning = public_url_warning(settings)
    assert bool(warning) == warns
    if warns:
        assert "public_url" in warning and f"http://{host}:8000/" in warning


def test_serve_prints_it(tmp_path):
    # A port already taken: the server stops right after its start-up messages.
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run(tmp_path, "serve", "--host", "0.0.0.0", "--port", str(port), "--db", f"sqlite:///{tmp_path}/t.db")
    assert r.returncode != 0
    assert "Warning: public_url is not set" in r.stderr, r.stderr
