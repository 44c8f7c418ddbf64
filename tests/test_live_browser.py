"""The embed follows its thread live in a real Chromium: a comment posted elsewhere is announced
behind a polite "1 new comment — show" button, without a reload, and votes update in place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import *  # noqa: F403 - the fixtures
from tests.browser_fixtures import DemoServer

SEED = "/articles/putin-accuses-us-of-direct-contacts-with-north-caucasus-militants"
ITEMS = "#townsquare [role=treeitem]"


@pytest.fixture(scope="module", autouse=True)
def quick_posts_accepted(demo_server: DemoServer):
    demo_server.site_settings("demo", {"moderation_rules": {
        "min_submit_seconds": 0, "author_rate": 1000, "ip_rate": 1000, "repeat_window": 0,
        "hold_thresholds": {"toxicity": 1.0, "insult": 1.0, "identity_attack": 1.0, "threat": 1.0, "profanity": 1.0}}})


def test_new_comment_is_announced_then_shown_and_votes_update(new_page, demo_server: DemoServer):
    page = new_page()
    page.goto(SEED)
    page.wait_for_function(f"document.querySelectorAll('{ITEMS}').length >= 1")
    before = page.locator(ITEMS).count()
    fresh = page.locator("#townsquare div[aria-live=polite] > button")
    expect(fresh).to_be_hidden()
    # The stream is open once the server has sent its first event; post only then.
    with demo_server.api() as api:
        for _ in range(60):
            page.wait_for_timeout(250)
            if page.evaluate("performance.getEntriesByType('resource').some(e => e.name.includes('/threads/events'))"):
                break
        resp = api.post("/api/v1/comments", json={"site": "demo", "uri": SEED, "text": "Thanks for the clear reporting, a useful read",
                                                  "author": {"name": "Elsewhere"}})
        assert resp.status_code == 201, resp.text
        assert resp.json()["comment"]["status"] == "published", resp.json()["moderation"]

        expect(fresh).to_have_text("1 new comment — show", timeout=30_000)
        assert fresh.evaluate("b => b.parentElement.getAttribute('aria-live')") == "polite"
        assert page.locator(ITEMS).count() == before  # nothing inserted until the reader asks
        fresh.click()
        expect(fresh).to_be_hidden()
        new = page.locator(ITEMS).filter(has_text="Thanks for the clear reporting, a useful read")
        expect(new).to_have_count(1)

        comment_id = resp.json()["comment"]["id"]
        voted = api.post(f"/api/v1/comments/{comment_id}/vote", json={"value": 1})
        assert voted.status_code == 200 and voted.json()["counted"], voted.text
        expect(new.locator(".ts-score")).to_have_text(re.compile(r"^1$"), timeout=30_000)
    assert page.errors == []


def open_following(page, path: str) -> None:
    """Open the page and wait until its stream has answered (the server then sends `ready` first)."""
    with page.expect_response(lambda r: "/threads/events" in r.url, timeout=30_000):
        page.goto(path)


def test_votes_edits_and_removals_made_elsewhere_apply_in_place(new_page, demo_server: DemoServer):
    with demo_server.api() as api:
        resp = api.post("/api/v1/comments", json={"site": "demo", "uri": SEED, "text": "A calm and measured first take",
                                                  "author": {"name": "Earlier"}})
        assert resp.status_code == 201 and resp.json()["comment"]["status"] == "published", resp.text
        comment_id = resp.json()["comment"]["id"]
        page = new_page()
        open_following(page, SEED)
        mine = page.locator(f"#ts-c{comment_id}")
        expect(mine).to_have_count(1)

        # The reader is on this comment's up-vote button when a vote made elsewhere arrives: the
        # score changes and the focus stays on the button.
        up = mine.locator(":scope > .ts-c .ts-v1")
        up.focus()
        voted = api.post(f"/api/v1/comments/{comment_id}/vote", json={"value": 1})
        assert voted.status_code == 200 and voted.json()["counted"], voted.text
        expect(mine.locator(":scope > .ts-c .ts-score")).to_have_text("1", timeout=30_000)
        assert up.evaluate("b => b === document.activeElement")
        # A screen reader hears the new score in the buttons' names too.
        expect(up).to_have_attribute("aria-label", re.compile(r"Score 1$"))
        expect(mine.locator(":scope > .ts-c .ts-v-1")).to_have_attribute("aria-label", re.compile(r"Score 1$"))

    # A moderator's edit shows its words; a moderator's removal takes the comment away, as a reload would.
    demo_server.moderate(comment_id, edit="A calm and measured first take, fixed by a moderator")
    expect(mine.locator(":scope > .ts-c .ts-body")).to_have_text("A calm and measured first take, fixed by a moderator",
                                                                 timeout=30_000)
    demo_server.reject(comment_id, "off topic")
    expect(mine).to_have_count(0, timeout=30_000)
    page.reload()
    page.wait_for_function(f"document.querySelectorAll('{ITEMS}').length >= 1")
    expect(page.locator(f"#ts-c{comment_id}")).to_have_count(0)
    assert page.errors == []


def test_without_a_stream_the_embed_polls_for_new_comments(new_page, demo_server: DemoServer):
    """A proxy that blocks the event stream: the embed asks for the thread every 30 s instead."""
    page = new_page()
    page.clock.install()
    blocked = []
    page.route("**/threads/events?*", lambda route: (blocked.append(route.request.url), route.abort()))
    with page.expect_event("requestfailed", lambda r: "/threads/events" in r.url, timeout=30_000):
        page.goto(SEED)
    expect(page.locator(ITEMS).first).to_be_visible()
    with demo_server.api() as api:
        resp = api.post("/api/v1/comments", json={"site": "demo", "uri": SEED, "text": "Posted while the stream was blocked",
                                                  "author": {"name": "Elsewhere"}})
        assert resp.status_code == 201 and resp.json()["comment"]["status"] == "published", resp.text
    fresh = page.locator("#townsquare div[aria-live=polite] > button")
    expect(fresh).to_be_hidden()
    page.clock.run_for(31_000)
    expect(fresh).to_have_text("1 new comment — show", timeout=30_000)
    fresh.click()
    expect(page.locator(ITEMS).filter(has_text="Posted while the stream was blocked")).to_have_count(1)
    assert blocked and page.errors == []


def test_a_thread_closed_elsewhere_hides_its_forms_until_reopened(new_page, demo_server: DemoServer):
    page = new_page()
    open_following(page, SEED)
    expect(page.locator("#townsquare .ts-top form")).to_be_visible()
    try:
        demo_server.close_thread("demo", SEED, True)
        expect(page.locator("#townsquare .ts-note")).to_have_text("Comments are closed.", timeout=30_000)
        expect(page.locator("#townsquare .ts-top")).to_be_hidden()
        expect(page.locator("#townsquare .ts-reply")).to_have_count(0)
    finally:
        demo_server.close_thread("demo", SEED, False)
    expect(page.locator("#townsquare .ts-top form")).to_be_visible(timeout=30_000)
    assert page.errors == []
