"""The news-alerts sign-up box (static/alerts.js) on a publisher's page, in a real Chromium,
talking cross-origin to a real Townsquare server."""

from __future__ import annotations

import dataclasses
from pathlib import Path
import threading
import time

import httpx
import orjson
import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from townsquare.alerts.settings import WhatsAppSettings
from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.store import sites as site_store
from townsquare.store.alerts import alert_outbox, alert_subscriptions

from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS, publisher, require_chromium  # noqa: F401
from tests.test_alerts_support import config, free_port, sqlite_engine

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def axe_violations(page) -> list[str]:
    """axe-core's findings on the box (the publisher's test page around it is not ours)."""
    found = Axe().run(page, context="[data-townsquare-alerts]").response["violations"]
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:4]}" for v in found]


@pytest.fixture
def servers(tmp_path, publisher):
    require_chromium()
    api_port = free_port()
    page_url = publisher(f"""<!doctype html><html><body><h1>Putin accuses US</h1>
        <div data-townsquare-alerts data-site="daily" data-channels="whatsapp email"
             data-title="Receive News Alerts on Whatsapp"></div>
        <script src="http://127.0.0.1:{api_port}/static/alerts.js"></script></body></html>""")
    engine = sqlite_engine(tmp_path)
    with engine.begin() as conn:
        site_store.create(conn, "daily", "Daily", [page_url], {})
    app = create_app(load_settings(None, environ={}, db=str(engine.url), rate_limits="off",
                                   alerts={"worker_in_serve": False}), engine)
    # A WhatsApp account is configured (the worker is off: nothing is sent), so the box offers it.
    app.state.alerts_config = dataclasses.replace(
        config(free_port()), whatsapp=WhatsAppSettings(phone_number_id="106540352242922", token="test-token"))
    api = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning"))
    thread = threading.Thread(target=api.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
    yield page_url, engine
    api.should_exit = True
    thread.join(15)
    engine.dispose()


def test_reader_signs_up_for_whatsapp_and_email_news_alerts(servers):
    page_url, engine = servers
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(15_000)
        page.goto(page_url)
        box = page.locator("form.ts-alerts")
        # The title names the channel chosen, whichever the publisher's title named.
        expect(box.get_by_role("heading")).to_have_text("Receive News Alerts on WhatsApp")
        assert box.evaluate("f => getComputedStyle(f.querySelector('button')).minHeight") >= "24px"
        assert axe_violations(page) == []

        box.get_by_label("Your WhatsApp number").fill("+234 813 637 0421")
        box.get_by_role("button", name="Sign up").click()  # the consent box is not ticked yet
        expect(box.get_by_role("status")).to_have_text("")
        box.get_by_label("I agree to receive news alerts on WhatsApp.").check()
        box.get_by_role("button", name="Sign up").click()
        expect(box.get_by_role("status")).to_contain_text("Check WhatsApp")

        box.get_by_label("Send alerts").select_option("email")
        expect(box.get_by_role("heading")).to_have_text("Receive News Alerts by email")
        expect(box.get_by_label("I agree to receive news alerts on WhatsApp.")).to_be_hidden()
        box.get_by_label("Your email address").fill("reader@mail")
        box.get_by_role("button", name="Sign up").click()
        # An error is announced at once and looks like one.
        expect(box.get_by_role("alert")).to_have_text("Enter a valid email address.")
        expect(box.get_by_label("Your email address")).to_have_attribute("aria-invalid", "true")
        assert box.get_by_role("alert").evaluate("e => getComputedStyle(e).fontWeight") == "600"
        ARTIFACTS.mkdir(exist_ok=True)
        for scheme, width in (("light", 1280), ("dark", 360)):
            page.emulate_media(color_scheme=scheme)
            page.set_viewport_size({"width": width, "height": 700})
            assert axe_violations(page) == [], (scheme, width)
            box.screenshot(path=str(ARTIFACTS / f"alert-box-{scheme}-{width}.png"))
        page.set_viewport_size({"width": 1280, "height": 700})
        box.get_by_label("Your email address").fill("reader@example.org")
        box.get_by_role("button", name="Sign up").click()
        expect(box.get_by_role("status")).to_contain_text("Check your inbox")
        browser.close()
    assert errors == []

    with engine.connect() as conn:
        subs = conn.execute(select(alert_subscriptions.c.channel, alert_subscriptions.c.target,
                                   alert_subscriptions.c.kind, alert_subscriptions.c.consent,
                                   alert_subscriptions.c.confirmed).order_by(alert_subscriptions.c.id)).all()
        confirmations = conn.execute(select(alert_outbox.c.channel, alert_outbox.c.target)
                                     .where(alert_outbox.c.kind == "confirm").order_by(alert_outbox.c.id)).all()
    assert [(s.channel, s.target, s.kind, s.confirmed) for s in subs] == [
        ("whatsapp", "+2348136370421", "news", None), ("email", "reader@example.org", "news", None)]
    assert orjson.loads(subs[0].consent)["text"] == "I agree to receive news alerts on WhatsApp."
    assert [tuple(c) for c in confirmations] == [("whatsapp", "+2348136370421"), ("email", "reader@example.org")]
