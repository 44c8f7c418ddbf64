"""The deployment of docs/deploy.md, run for real: Debian's nginx, configured from the document's
own block (a loopback port instead of TLS), in front of two `townsquare serve` processes on one
fresh PostgreSQL database, with a real SMTP server for the alert mails.

Readers are told apart by their loopback source address (127.0.0.2, 127.0.0.3); nginx reaches
the servers from 127.0.0.1, the one trusted proxy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, LENIENT
from tests.test_alerts_support import SmtpSink, free_port
from tests.test_serve_cli import child_env, kill_all, run, stop, townsquare_cmd, wait_healthy

DOC = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"
PUBLIC_URL = "https://comments.daily.test"
ORIGIN = {"Origin": "https://daily.example"}
START_SECONDS = 30
MAIL_SECONDS = 30


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        if IN_CI:
            pytest.fail("nginx is required in CI (`make system-deps` installs Debian's nginx)")
        pytest.skip("nginx is not installed (`make system-deps` installs it); set CI=true to make this a failure")
    return found


def documented_site() -> str:
    """The nginx block of docs/deploy.md, exactly as an operator copies it."""
    blocks = re.findall(r"```nginx\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    [site] = [b for b in blocks if "upstream townsquare" in b]
    return site


def proxy_config(site: str, *, listen: int, upstreams: list[int], tmp: Path) -> str:
    """The documented site with the test's ports, plain HTTP on loopback, and every path in tmp."""
    servers = site.split("\nserver {")
    assert len(servers) == 3, "expected the upstream, the HTTP redirect and the HTTPS server"
    upstream, https = servers[0], "server {" + servers[2]
    documented = re.findall(r"server 127\.0\.0\.1:(\d+)", upstream)
    assert len(documented) == len(upstreams)
    for old, new in zip(documented, upstreams):
        upstream = upstream.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
    https = re.sub(r"\n\s*listen [^\n]*;", "", https)
    https = re.sub(r"\n\s*ssl_[^\n]*;", "", https)
    https = https.replace("server {", f"server {{\n    listen 127.0.0.1:{listen};", 1)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the temp dirs below
    temp = "\n".join(f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
            f"events {{ worker_connections 256; }}\nhttp {{\n    access_log {tmp}/access.log;\n{temp}\n"
            f"{upstream}\n{https}\n}}\n")


def start_server(cfg: Path, tmp: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(townsquare_cmd("serve", "--config", str(cfg), "--port", str(port)), cwd=tmp,
                            env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"nginx exited with {proc.returncode}: {proc.stderr.read()}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"nginx did not answer {url} within {START_SECONDS}s")


def reader(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=20)


def post(client: httpx.Client, base: str, n: int, name: str, **headers: str) -> httpx.Response:
    body = {"site": "daily", "uri": "/proxy", "text": f"Remark number {n} about the bridge. " * 8, "author": {"name": name}}
    return client.post(base + "/api/v1/comments", json=body, headers=ORIGIN | headers)


@pytest.fixture
def deployment(tmp_path, pg_url):
    nginx = nginx_binary()
    smtp = SmtpSink().start()
    cfg = tmp_path / "ts.toml"
    cfg.write_text("\n".join([
        f'db = "{pg_url}"', f'public_url = "{PUBLIC_URL}"',
        # nginx connects from loopback, as docs/deploy.md sets it up.
        'trusted_proxies = ["127.0.0.1"]',
        "[email]", 'smtp_host = "127.0.0.1"', f"smtp_port = {smtp.port}", 'sender = "Daily <alerts@daily.example>"',
        "timeout = 5"]) + "\n")
    assert run(tmp_path, "migrate", "--config", str(cfg)).returncode == 0
    rules = json.dumps({"posts_per_minute": 2, "moderation_rules": LENIENT})
    added = run(tmp_path, "site", "add", "daily", "--origin", "https://daily.example", "--settings", rules, "--config", str(cfg))
    assert added.returncode == 0, added.stderr
    ports = [free_port(), free_port()]
    servers = [start_server(cfg, tmp_path, port) for port in ports]
    proxy = None
    try:
        for port, server in zip(ports, servers):
            wait_healthy(f"http://127.0.0.1:{port}", server)
        listen = free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(proxy_config(documented_site(), listen=listen, upstreams=ports, tmp=tmp_path))
        tested = subprocess.run([nginx, "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)],
                                capture_output=True, text=True, timeout=30)
        assert tested.returncode == 0, tested.stderr
        proxy = subprocess.Popen([nginx, "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{listen}"
        wait_for(base + "/healthz", proxy)
        yield base, smtp, ports
        for server in servers:
            stop(server)
    finally:
        if proxy is not None:
            proxy.terminate()  # SIGTERM: nginx's fast shutdown
            proxy.wait(timeout=20)
        for server in servers:
            kill_all(server, [])
        smtp.stop()


def test_nginx_in_front_of_two_servers(deployment):
    base, smtp, ports = deployment

    # Rate limits count the address nginx saw, never the one a client claims.
    with reader("127.0.0.2") as ann, reader("127.0.0.3") as bob:
        assert post(ann, base, 1, "Ann").status_code == 201
        assert post(ann, base, 2, "Ann", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 201
        refused = post(ann, base, 3, "Ann", **{"X-Forwarded-For": "198.51.100.8"})
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert post(bob, base, 4, "Bob").status_code == 201

        # Both servers answered through nginx, and both see the comments of the other.
        for port in ports:
            thread = httpx.get(f"http://127.0.0.1:{port}/api/v1/threads", params={"site": "daily", "uri": "/proxy"}).json()
            assert thread["total"] == 3

        # Thread reads leave the servers as they are and nginx compresses them.
        read = ann.get(base + "/api/v1/threads", params={"site": "daily", "uri": "/proxy"}, headers={"Accept-Encoding": "gzip"})
        assert read.headers["content-encoding"] == "gzip" and read.json()["total"] == 3

        # A live stream passes through nginx as it is written: the comment posted after it opened
        # arrives while the stream stays open.
        with httpx.Client(timeout=httpx.Timeout(10, read=30)) as watcher, watcher.stream(
                "GET", base + "/api/v1/threads/events", params={"site": "daily", "uri": "/proxy"}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: ready"
            with reader("127.0.0.4") as cy:
                assert post(cy, base, 5, "Cy").status_code == 201
            assert next(line for line in lines if line.startswith("event:")) == "event: comment"

        # Monitoring figures stay private.
        assert ann.get(base + "/metrics").status_code == 403

    # Links in mails start with public_url, not with the address the servers listen on.
    r = httpx.post(base + "/api/v1/subscriptions", json={"site": "daily", "kind": "news", "address": "reader@example.org"})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + MAIL_SECONDS
    while not smtp.to("reader@example.org") and time.monotonic() < deadline:
        time.sleep(0.2)
    [mail] = smtp.to("reader@example.org")
    assert f"{PUBLIC_URL}/alerts/confirm?token=" in mail.get_body(("plain",)).get_content()

    # The embed arrives compressed through the proxy, and decodes to the same bytes.
    plain = httpx.get(base + "/embed.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    for coding in ("br", "gzip"):
        packed = httpx.get(base + "/embed.js", headers={"Accept-Encoding": coding})
        assert packed.headers["content-encoding"] == coding
        assert int(packed.headers["content-length"]) < len(plain.content) / 2
        assert packed.content == plain.content
        again = httpx.get(base + "/embed.js", headers={"Accept-Encoding": coding, "If-None-Match": packed.headers["etag"]})
        assert again.status_code == 304
