"""Newsroom tools in a real Chromium: the pinned comment and editors' picks in the widget, and a
reader's report from the widget reaching the moderators' Reported tab."""

from __future__ import annotations

import time

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser_fixtures import *  # noqa: F403 - the fixtures
from tests.browser_fixtures import DemoServer
from townsquare import accounts
from townsquare.moderation import actions
from townsquare.moderation.auth import Actor
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine

QUICK = {"min_submit_seconds": 0, "author_rate": 1000, "ip_rate": 1000, "repeat_window": 0}
PASSWORD = "correct horse battery"
ITEMS = "#townsquare [role=treeitem]"


def article(ts: str, site: str) -> str:
    return f"""<!doctype html><html lang="en"><head><title>Story</title></head><body><h1>A story</h1>
        <div id="townsquare"></div>
        <script src="{ts}/embed.js" data-site="{site}" data-uri="/story" data-lang="en"></script></body></html>"""


def editor(demo_server: DemoServer, site: str) -> tuple[object, Actor, str]:
    engine = make_engine(demo_server.db_url)
    email = f"editor@{site}.example.org"
    user_id = accounts.create_user(engine, email=email, password=PASSWORD, role="admin")
    with engine.begin() as conn:
        site_ids = frozenset({site_store.by_name(conn, site).id})
    return engine, Actor(user_id, email, "admin", site_ids), email


def post(api, site: str, text: str) -> int:
    resp = api.post("/api/v1/comments", json={"site": site, "uri": "/story", "text": text, "author": {"name": "Reader"}})
    assert resp.status_code == 201 and resp.json()["comment"]["status"] == "published", resp.text
    return resp.json()["comment"]["id"]


def test_pinned_first_picks_listed_and_a_report_reaches_the_reported_tab(new_page, demo_server: DemoServer, publisher):
    page_url = publisher(article(demo_server.url, "gazette"))
    demo_server.add_site("gazette", [page_url], {"moderation_rules": QUICK})
    with demo_server.api() as api:
        ids = [post(api, "gazette", text) for text in (
            "The council vote was on Tuesday.", "Here is the budget document, page 12.", "Thanks for covering this.")]
    engine, actor, email = editor(demo_server, "gazette")
    actions.pin(engine, actor, ids[2], True, "")
    actions.feature(engine, actor, ids[1], True, "sourced")
    engine.dispose()

    page = new_page()
    page.goto(page_url + "/story")
    items = page.locator(ITEMS)
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Thanks for covering this.")
    expect(items.first.locator(".ts-meta")).to_contain_text("Pinned")
    expect(items.nth(2).locator(".ts-meta")).to_contain_text("Editor’s pick")

    # The same in the plain page readers without JavaScript get: picks first, the pinned comment on top.
    plain = new_page()
    plain.goto(demo_server.url + "/t/gazette/story")
    expect(plain.get_by_role("region", name="Editors' picks")).to_contain_text("Here is the budget document")
    expect(plain.locator(f"#c{ids[2]}")).to_contain_text("Pinned")
    expect(plain.locator(f"#c{ids[1]}")).to_contain_text("Editor's pick")
    assert plain.locator(f"#c{ids[2]}").bounding_box()["y"] < plain.locator(f"#c{ids[0]}").bounding_box()["y"]
    assert plain.errors == []

    page.locator("#ts-sort").select_option(label="Editors’ picks")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("budget document")
    page.locator("#ts-sort").select_option(label="Oldest")
    expect(items).to_have_count(3)

    reported = items.filter(has_text="The council vote")
    reported.get_by_role("button", name="Report").click()
    form = reported.get_by_role("form", name="Report")
    expect(form.get_by_label("Why?")).to_be_focused()
    # The pinned and picked marks and the open report form: no axe-core violations in the widget.
    found = Axe().run(page, context="#townsquare").response["violations"]
    assert [f"{v['id']}: {v['help']}" for v in found] == []
    form.get_by_label("Why?").select_option(label="Harassment")
    form.get_by_role("button", name="Send report").click()
    expect(reported.get_by_role("status")).to_have_text("Thank you: the moderators will look at this comment.")
    assert page.errors == []

    admin = new_page()
    admin.goto(demo_server.url + "/admin/login?next=/admin/queue/reported")
    admin.fill('input[name="email"]', email)
    admin.fill('input[name="password"]', PASSWORD)
    admin.click('button[type="submit"]')
    admin.wait_for_url("**/admin/queue/reported")
    item = admin.locator(f"article#c{ids[0]}")
    expect(item).to_contain_text("The council vote was on Tuesday.")
    expect(item.locator(".report-list")).to_contain_text("harassment")
    expect(admin.locator("article.item")).to_have_count(1)


def test_a_thread_past_its_close_time_refuses_in_words_and_says_it_is_closed(new_page, demo_server: DemoServer,
                                                                               publisher):
    page_url = publisher(article(demo_server.url, "chronicle"))
    demo_server.add_site("chronicle", [page_url], {"moderation_rules": QUICK})
    with demo_server.api() as api:
        post(api, "chronicle", "An early comment.")
    page = new_page()
    # A page that does not follow the thread live (a proxy blocks the stream): its form stays
    # open after the close, and the refusal says why in words.
    page.route("**/threads/events*", lambda route: route.abort())
    page.goto(page_url + "/story")
    expect(page.locator(ITEMS)).to_have_count(1)
    form = page.locator(".ts-top form")
    form.get_by_label("Your comment").fill("A late comment.")
    form.get_by_label("Name", exact=True).fill("Late Reader")

    engine, actor, _ = editor(demo_server, "chronicle")
    actions.close_at(engine, actor, actions.thread_at(engine, actor, "chronicle", "/story"), 1_700_000_000.0, "")
    engine.dispose()
    form.get_by_role("button", name="Post comment").click()
    expect(form.get_by_role("alert")).to_have_text(
        "This discussion closed on 2023-11-14 22:13 UTC; it takes no new comments.")

    page.reload()
    expect(page.locator(ITEMS)).to_have_count(1)
    expect(page.locator("#townsquare .ts-note")).to_have_text("Comments are closed.")
    expect(page.locator("#townsquare textarea")).to_have_count(0)
    expect(page.locator(ITEMS).first.get_by_role("button", name="Reply")).to_have_count(0)
    assert page.errors == []


def test_picks_pins_and_a_close_time_reached_arrive_live(new_page, demo_server: DemoServer, publisher):
    """A moderator's feature, pin and close time apply in an open widget without a reload: the
    pick's mark, the pinned comment moved to the top (one at a time), and the forms gone when
    the thread's close time comes (closing by the clock writes nothing: the stream notices)."""
    page_url = publisher(article(demo_server.url, "herald"))
    demo_server.add_site("herald", [page_url], {"moderation_rules": QUICK})
    with demo_server.api() as api:
        ids = [post(api, "herald", text) for text in (
            "First: the bridge opens in May.", "Second: the tender documents are online.", "Third: good news.")]
    page = new_page()
    with page.expect_response(lambda r: "/threads/events" in r.url, timeout=30_000):
        page.goto(page_url + "/story")
    items = page.locator(ITEMS)
    expect(items).to_have_count(3)
    expect(page.locator(".ts-top form")).to_be_visible()

    engine, actor, _ = editor(demo_server, "herald")
    try:
        actions.feature(engine, actor, ids[1], True, "sourced")
        expect(page.locator(f"#ts-c{ids[1]} .ts-meta")).to_contain_text("Editor’s pick", timeout=30_000)
        actions.pin(engine, actor, ids[2], True, "")
        expect(items.first).to_contain_text("Third: good news.", timeout=30_000)
        expect(items.first.locator(".ts-meta")).to_contain_text("Pinned")
        # Pinning another replaces it: one pinned comment, at the top.
        actions.pin(engine, actor, ids[1], True, "")
        expect(items.first).to_contain_text("Second: the tender documents", timeout=30_000)
        expect(page.locator("#townsquare .ts-meta", has_text="Pinned")).to_have_count(1)
        actions.feature(engine, actor, ids[1], False, "")
        expect(page.locator(f"#ts-c{ids[1]} .ts-meta")).not_to_contain_text("Editor’s pick", timeout=30_000)
        expect(items).to_have_count(3)

        # A close time a few seconds ahead: nothing is written when it comes; the open stream says so.
        thread_id = actions.thread_at(engine, actor, "herald", "/story")
        actions.close_at(engine, actor, thread_id, time.time() + 3, "")
    finally:
        engine.dispose()
    expect(page.locator("#townsquare .ts-note")).to_have_text("Comments are closed.", timeout=30_000)
    expect(page.locator("#townsquare .ts-top")).to_be_hidden()
    expect(page.locator("#townsquare .ts-reply")).to_have_count(0)
    assert page.errors == []
