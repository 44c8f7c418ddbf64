"""`serve` warns at start when links in mails would point at the server's own address."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.test_alerts_support import free_port
from tests.test_serve_cli import START_SECONDS, STOP_SECONDS, child_env, townsquare_cmd
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
    # The server binds its port first, then says where it runs and warns; stop it once it has.
    args = ("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--workers", "1", "--db", f"sqlite:///{tmp_path}/t.db")
    proc = subprocess.Popen(townsquare_cmd(*args), cwd=tmp_path, env=child_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    said = []
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and not any("Warning:" in line for line in said):
            line = proc.stderr.readline()
            if not line:
                break
            said.append(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=STOP_SECONDS)
    text = "".join(said)
    assert "Townsquare on http://0.0.0.0:" in text, text
    assert "Warning: public_url is not set" in text, text
