"""The dashboard (and the admins' site settings page) in a real browser (Debian's Chromium): a moderator signs in, lands on it, and its
tables show the numbers the stats API gives; no axe-core violations, in light and in dark at 360 px
(screenshots kept in test-artifacts/)."""

from __future__ import annotations


import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from townsquare.config import load_settings
from townsquare.store.db import make_engine, migrate

from .browser_fixtures import ARTIFACTS, chromium_browser, require_chromium, serving
from .dashboard_support import generate
from .moderation_support import PASSWORD, add_moderator, add_site, moderation_app

MODERATOR = "mod@daily.example"
ADMIN = "admin@daily.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('dash')}/dash.db"
    engine = make_engine(url)
    migrate(engine)
    site_id = add_site(engine)
    add_site(engine, "weekly")
    generate(engine, site_id, days=30)
    _, key = add_moderator(engine, MODERATOR, sites=("daily", "weekly"))
    add_moderator(engine, ADMIN, role="admin")
    app = moderation_app(load_settings(None, environ={}, db=url), engine)
    with serving(app) as base:
        yield base, key
    engine.dispose()


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def table_rows(page, name: str) -> list[list[str]]:
    return page.eval_on_selector_all(f"#table-{name} tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")


@pytest.mark.parametrize("viewport, scheme", [({"width": 1280, "height": 900}, "light"),
                                              ({"width": 360, "height": 740}, "dark")], ids=["desktop-light", "phone-dark"])
def test_dashboard_shows_the_api_figures(server, chromium, viewport, scheme):
    base, key = server
    api = httpx.get(base + "/api/v1/moderation/stats", params={"site": "daily", "days": 30},
                    headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    context = chromium.new_context(base_url=base, viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.goto("/admin/")
    page.fill('input[name="email"]', MODERATOR)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/admin/dashboard")
    assert page.locator("h1").inner_text() == "Dashboard · daily"
    assert table_rows(page, "days") == [[str(d[k]) for k in ("date", "published", "held", "rejected", "deleted", "reports",
                                                            "votes", "commenters")] for d in api["per_day"]]
    assert table_rows(page, "reasons") == [[r["phase"], str(r["comments"])] for r in api["held_reasons"]]
    assert [int(r[2]) for r in table_rows(page, "toxicity")] == [b["comments"] for b in api["toxicity"]]
    assert table_rows(page, "threads") == [[t["uri"], t["title"], str(t["comments"])] for t in api["top_threads"]]
    assert page.locator("#queue-pending").inner_text() == str(api["queue"]["pending"])
    # Drawn: one rectangle per non-zero figure of the stacked days chart, and the page fits the screen.
    drawn = page.locator("svg.chart-days rect").count()
    assert drawn == sum(1 for d in api["per_day"] for k in ("published", "held", "rejected", "deleted") if d[k])
    page.locator("details.figures summary").first.click()  # the widest table open
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    if scheme == "dark":
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(20, 23, 29)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{scheme}-{viewport['width']}.png"), full_page=True)
    found = Axe().run(page).response["violations"]
    assert [f"{v['id']}: {[n['target'] for n in v['nodes']][:4]}" for v in found] == []
    # Another site and period from the selector.
    page.select_option('select[name="site"]', "weekly")
    page.select_option('select[name="days"]', "7")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/admin/dashboard?site=weekly&days=7")
    assert len(table_rows(page, "days")) == 7
    context.close()


def test_site_settings_page_shows_errors_accessibly(server, chromium):
    base, _ = server
    context = chromium.new_context(base_url=base, viewport={"width": 360, "height": 740}, color_scheme="dark")
    page = context.new_page()
    page.goto("/admin/settings")
    page.fill('input[name="email"]', ADMIN)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/admin/settings")
    page.fill('input[name="edit_window"]', "-3")
    page.fill('input[name="max_length"]', "many")
    page.click("form.settings button[type=submit]")
    assert page.locator("#err-max_length").inner_text() == "Type a whole number."
    assert page.locator("#err-edit_window").is_visible()
    assert page.get_attribute('input[name="edit_window"]', "aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # every field fits a phone
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "site-settings-errors-360.png"), full_page=True)
    found = Axe().run(page).response["violations"]
    assert [f"{v['id']}: {[n['target'] for n in v['nodes']][:4]}" for v in found] == []
    page.fill('input[name="edit_window"]', "600")
    page.fill('input[name="max_length"]', "5000")
    page.click("form.settings button[type=submit]")
    assert page.locator(".notice").inner_text().startswith("Saved 2 settings of daily.")
    assert page.input_value('input[name="edit_window"]') == "600"
    context.close()


@pytest.mark.parametrize("viewport, scheme", [({"width": 1280, "height": 900}, "light"),
                                              ({"width": 360, "height": 740}, "dark")], ids=["desktop-light", "phone-dark"])
def test_a_threads_view_shows_the_api_figures_for_that_thread(server, chromium, viewport, scheme):
    base, key = server
    site = httpx.get(base + "/api/v1/moderation/stats", params={"site": "daily", "days": 30},
                     headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    busiest = site["top_threads"][0]
    api = httpx.get(base + "/api/v1/moderation/stats", params={"site": "daily", "days": 30, "thread": busiest["uri"]},
                    headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    context = chromium.new_context(base_url=base, viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.goto("/admin/dashboard")
    page.fill('input[name="email"]', MODERATOR)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/admin/dashboard")
    # From the busiest threads' list, by the thread's title.
    page.click(f"ol.threads a:text-is('{busiest['title']}')")
    page.wait_for_url("**/admin/dashboard?*thread=*")
    assert page.locator("h1").inner_text() == f"Thread · {busiest['title']}"
    assert table_rows(page, "days") == [[str(d[k]) for k in ("date", "published", "held", "rejected", "deleted", "reports",
                                                            "votes", "commenters")] for d in api["per_day"]]
    assert table_rows(page, "reasons") == [[r["phase"], str(r["comments"])] for r in api["held_reasons"]]
    assert [int(r[2]) for r in table_rows(page, "toxicity")] == [b["comments"] for b in api["toxicity"]]
    assert page.locator("#table-threads").count() == 0
    assert page.locator("#queue-pending").inner_text() == str(api["queue"]["pending"])
    assert sum(d["published"] for d in api["per_day"]) < sum(d["published"] for d in site["per_day"])
    drawn = page.locator("svg.chart-days rect").count()
    assert drawn == sum(1 for d in api["per_day"] for k in ("published", "held", "rejected", "deleted") if d[k])
    page.locator("details.figures summary").first.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-thread-{scheme}-{viewport['width']}.png"), full_page=True)
    found = Axe().run(page).response["violations"]
    assert [f"{v['id']}: {[n['target'] for n in v['nodes']][:4]}" for v in found] == []

    # The chart's link to the held comments: the queue, filtered to this thread.
    page.click("text=The held comments in the queue")
    page.wait_for_url("**/admin/queue/pending?*thread=*")
    items = page.locator("article.item")
    assert items.count() == min(api["queue"]["pending"], 25)
    for title in page.locator("article.item .where a.thread-figures").all_inner_texts():
        assert title == busiest["title"]
    # ... and back to the thread's figures from a queue item's thread title.
    if items.count():
        page.locator("article.item .where a.thread-figures").first.click()
        page.wait_for_url("**/admin/dashboard?*thread=*")
        assert page.locator("h1").inner_text() == f"Thread · {busiest['title']}"
    context.close()
