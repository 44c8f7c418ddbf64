"""Fixtures for browser tests: a real `townsquare demo` server and Debian's Chromium via playwright.

Import the fixtures into a test module with `from tests.browser_fixtures import *`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import httpx
import pytest

from townsquare.store import sites as site_store
from townsquare.store.db import make_engine

__all__ = ["ARTIFACTS", "DemoServer", "browser", "demo_server", "new_page", "publisher", "require_chromium",
           "serving", "chromium_browser"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT = 60.0  # seconds for the server to answer /healthz


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is required in CI (Debian package 'chromium')")
    pytest.skip(f"{CHROMIUM} is missing: install Debian's 'chromium' package to run the browser tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app) -> Iterator[str]:
    """An ASGI app served by uvicorn on a loopback port in this process: its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class DemoServer:
    url: str
    db_url: str
    log: Path

    def site_settings(self, site: str, settings: dict[str, Any]) -> None:
        """Change a site's stored settings; the server reads them on every request."""
        engine = make_engine(self.db_url)
        with engine.begin() as conn:
            row = site_store.by_name(conn, site)
            site_store.update_site(conn, row.id, settings={**row.settings, **settings})
        engine.dispose()

    def add_site(self, name: str, origins: list[str], settings: dict[str, Any]) -> None:
        engine = make_engine(self.db_url)
        with engine.begin() as conn:
            site_store.create(conn, name, name, origins, settings)
        engine.dispose()

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def approve_held(self, site: str) -> None:
        """A moderator approves every comment waiting in the site's queue, as from the queue page."""
        from townsquare import accounts
        from townsquare.moderation import actions, queue
        from townsquare.moderation.auth import Actor

        engine = make_engine(self.db_url)
        email = f"approver@{site}.example.org"
        user_id = accounts.create_user(engine, email=email, password="correct horse battery", role="admin")
        with engine.begin() as conn:
            site_ids = frozenset({site_store.by_name(conn, site).id})
            held = [item["id"] for item in queue.page(conn, site_ids, "pending", limit=100).items]
        actions.review_many(engine, Actor(user_id, email, "admin", site_ids), "approve", held, "reviewed")
        engine.dispose()

    def moderate(self, comment_id: int, *, edit: str) -> None:
        """A moderator of every site edits the comment's words, as from the queue."""
        from townsquare import accounts
        from townsquare.moderation import actions
        from townsquare.moderation.auth import Actor

        engine = make_engine(self.db_url)
        email = f"editor{comment_id}@example.org"
        user_id = accounts.create_user(engine, email=email, password="correct horse battery", role="admin")
        with engine.begin() as conn:
            every = frozenset(s.id for s in site_store.every(conn))
        actions.edit(engine, Actor(user_id, email, "admin", every), comment_id, edit, "typo")
        engine.dispose()

    def close_thread(self, site: str, uri: str, closed: bool) -> None:
        """A moderator of every site closes (or reopens) the thread, as from the queue."""
        from townsquare import accounts
        from townsquare.moderation import actions
        from townsquare.moderation.auth import Actor
        from townsquare.store import threads

        engine = make_engine(self.db_url)
        email = f"closer-{int(time.time() * 1000)}@example.org"
        user_id = accounts.create_user(engine, email=email, password="correct horse battery", role="admin")
        with engine.begin() as conn:
            every = frozenset(s.id for s in site_store.every(conn))
            thread_id = threads.head(conn, site, uri).id
        actions.close_thread(engine, Actor(user_id, email, "admin", every), thread_id, closed, "test")
        engine.dispose()

    def reject(self, comment_id: int, reason: str) -> None:
        """A moderator of every site rejects the comment, as from the queue."""
        from townsquare import accounts
        from townsquare.moderation import actions
        from townsquare.moderation.auth import Actor

        engine = make_engine(self.db_url)
        user_id = accounts.create_user(engine, email=f"mod{comment_id}@example.org", password="correct horse battery",
                                       role="admin")
        with engine.begin() as conn:
            every = frozenset(s.id for s in site_store.every(conn))
        actions.reject(engine, Actor(user_id, f"mod{comment_id}@example.org", "admin", every), comment_id, reason)
        engine.dispose()


def _townsquare_command() -> list[str]:
    exe = shutil.which("townsquare", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "townsquare.cli"]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory) -> Iterator[DemoServer]:
    """`townsquare demo` on a free loopback port with a fresh SQLite database."""
    require_chromium()
    tmp = tmp_path_factory.mktemp("demo")
    port = free_port()
    db_url = f"sqlite:///{tmp / 'demo.db'}"
    log = tmp / "server.log"
    # The browser tests post many comments from one address within a minute.
    env = {**os.environ, "TOWNSQUARE_RATE_LIMITS": "off"}
    env.pop("TOWNSQUARE_CONFIG", None)
    with log.open("wb") as out:
        proc = subprocess.Popen([*_townsquare_command(), "demo", "--port", str(port), "--db", db_url],
                                cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log)
        yield DemoServer(url=url, db_url=db_url, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"townsquare demo exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"townsquare demo did not answer within {START_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def browser(demo_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, demo_server):
    """A factory for pages in fresh browser contexts (own storage), watching for dialogs and errors.

    Every page records `page.dialogs` (any alert/confirm/prompt that opened) and `page.errors`
    (uncaught script errors); a test can assert on both.

    Pages ignore Content-Security-Policy unless a test asks for `bypass_csp=False`: playwright's
    `wait_for_function` evaluates its string, which the pages' strict policy forbids. The policy
    itself is tested in tests/test_xss_browser.py.
    """
    contexts = []

    def make(**context_options):
        context_options.setdefault("bypass_csp", True)
        context = browser.new_context(base_url=demo_server.url, **context_options)
        contexts.append(context)
        page = context.new_page()
        page.dialogs, page.errors = [], []

        def on_dialog(dialog):
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def publisher() -> Iterator[Any]:
    """A publisher's web server on another loopback origin: `publisher(html)` serves `html` at every
    path (with any extra `headers`) and returns the server's URL, so the embed runs cross-origin as
    it does in production."""
    servers = []

    def serve(html: str, headers: dict[str, str] | None = None) -> str:
        body = html.encode()

        class Page(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
