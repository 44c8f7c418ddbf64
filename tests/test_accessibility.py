"""axe-core (through Playwright, in Debian's Chromium), its experimental rules included, finds no violations on
the moderation pages, the no-JS thread page and the alert pages, in light and dark, at desktop width and at 360 px
(the widget's own runs are in test_widget_browser.py)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from townsquare.alerts.runtime import config_from
from townsquare.config import load_settings
from townsquare.store import sites as site_store
from townsquare.store.db import reading, writing

from .browser_fixtures import ARTIFACTS
from .test_alerts_support import follower
from .test_moderation_ui import chromium, post, server, sign_in  # noqa: F401  (fixtures)

ADMIN_PAGES = ["/admin/queue/pending", "/admin/queue/reported", "/admin/queue/published", "/admin/audit",
               "/admin/bans", "/admin/privacy", "/admin/words", "/admin/dashboard"]
VIEWS = [pytest.param({"width": 1280, "height": 900}, "light", id="desktop-light"),
         pytest.param({"width": 360, "height": 740}, "dark", id="phone-dark")]
axe = Axe()
# axe's experimental rules (label-content-name-mismatch among them) are off unless asked for: all on.
EXPERIMENTAL = ["css-orientation-lock", "focus-order-semantics", "hidden-content", "label-content-name-mismatch",
                "p-as-heading", "table-fake-caption", "td-has-header"]
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {rule: {"enabled": True} for rule in EXPERIMENTAL}}


def violations(page, options: dict = AXE_OPTIONS) -> list[str]:
    found = axe.run(page, options=options).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:4]}" for v in found]


@pytest.fixture(scope="module")
def with_content(server):  # noqa: F811
    base, engine = server
    post(base, "Call +2348136370421 about the story", "Dee", "dee@readers.example")  # held: the queue has an item
    post(base, "The council should publish the budget figures.", "Eve", "eve@readers.example")  # published
    with reading(engine) as conn:
        site_id = site_store.by_name(conn, "daily").id
    subscription = follower(engine, site_id, "reader@readers.example")
    return base, engine, subscription


@pytest.mark.parametrize("viewport, scheme", VIEWS)
def test_moderation_pages_have_no_violations(with_content, chromium, viewport, scheme):  # noqa: F811
    base, _, _ = with_content
    context = chromium.new_context(base_url=base, viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.goto("/admin/login")
    assert violations(page) == [], "/admin/login"
    sign_in(page)
    found = {}
    for path in ADMIN_PAGES:
        page.goto(path)
        found[path] = violations(page)
    page.goto("/t/daily/story")  # the thread without JavaScript
    assert "publish the budget figures" in page.content()
    found["no-JS thread"] = violations(page)
    page.goto(ADMIN_PAGES[0])
    page.click("button.help-toggle")  # the keyboard help open
    found["queue with help"] = violations(page)
    context.close()
    assert found == {k: [] for k in found}


@pytest.mark.parametrize("viewport, scheme", VIEWS)
def test_alert_pages_have_no_violations(with_content, chromium, viewport, scheme):  # noqa: F811
    base, engine, subscription = with_content
    links = config_from(load_settings(None, environ={}, db=engine.url.render_as_string(hide_password=False)),
                        engine).links
    with reading(engine) as conn:
        site_id = site_store.by_name(conn, "daily").id
    pages = {"confirm": links.confirm_url(subscription), "unsubscribe": links.unsubscribe_url(subscription),
             "manage": links.manage_url(site_id, "email", "reader@readers.example"),
             "a broken link": links.confirm_url(subscription)[:-3]}
    context = chromium.new_context(base_url=base, viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    found = {}
    for name, url in pages.items():
        page.goto(url.split("/alerts/", 1)[1].join(["/alerts/", ""]))
        found[name] = violations(page)
    context.close()
    assert found == {k: [] for k in found}


BRAND = {"accent": "#b00020", "accent_dark": "#ff8a80"}  # a red the site chose, and its dark-mode partner


@pytest.mark.parametrize("viewport, scheme", VIEWS)
def test_alert_pages_wear_the_sites_name_and_colours(with_content, chromium, viewport, scheme):  # noqa: F811
    base, engine, _ = with_content
    links = config_from(load_settings(None, environ={}, db=engine.url.render_as_string(hide_password=False)),
                        engine).links
    with writing(engine) as conn:
        site = site_store.by_name(conn, "daily")
        site_store.update_site(conn, site.id, settings={**site.settings, **BRAND})
    subscription = follower(engine, site.id, f"{scheme}@readers.example")
    accent = BRAND["accent_dark" if scheme == "dark" else "accent"]
    context = chromium.new_context(base_url=base, viewport=viewport, color_scheme=scheme)
    page = context.new_page()

    def branded(name: str) -> None:
        assert page.locator("header.site .site-name").inner_text() == site.title, name
        shown = page.evaluate("""() => [...document.querySelectorAll('main button, main select, main a')]
            .map(e => { const r = e.getBoundingClientRect(); return [e.tagName, r.width, r.height,
                        getComputedStyle(e)[e.tagName === 'BUTTON' ? 'backgroundColor' : 'color']]; })""")
        assert shown, name
        for tag, width, height, colour in shown:
            assert width >= 24 and height >= 24, (name, tag, width, height)  # WCAG 2.5.8 target size
            if tag != "SELECT":
                assert colour == rgb(accent), (name, tag, colour)
        assert violations(page) == [], name
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), name  # nothing off the side
        page.screenshot(path=str(ARTIFACTS / f"alerts-{name}-{viewport['width']}-{scheme}.png"), full_page=True)

    try:
        for name, url in {"confirm": links.confirm_url(subscription),
                          "manage": links.manage_url(site.id, "email", f"{scheme}@readers.example"),
                          "unsubscribe": links.unsubscribe_url(subscription)}.items():
            page.goto(url.split("/alerts/", 1)[1].join(["/alerts/", ""]))
            branded(name)
            if name == "unsubscribe":
                page.get_by_role("button", name="Unsubscribe").click()
                expect(page.get_by_role("heading", name="Unsubscribed")).to_be_visible()
                branded("unsubscribed")
        # The colours' stylesheet takes colours only.
        assert page.request.get("/alerts/theme.css?light=b00020&dark=ff8a80").headers["content-type"].startswith(
            "text/css")
        assert page.request.get("/alerts/theme.css?light=red;}body{&dark=000000").status == 422
    finally:
        context.close()
        with writing(engine) as conn:  # the other tests see the default colours
            site_store.update_site(conn, site.id, settings={k: v for k, v in site.settings.items() if k not in BRAND})


def rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
