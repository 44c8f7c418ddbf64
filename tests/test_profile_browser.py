"""A reader's own comments in a real Chromium: signed in by the publisher's JWT, the reader posts
two comments (one held by pre-moderation, one a moderator then publishes), opens "My comments"
from the widget, and the page lists both with their statuses."""

from __future__ import annotations

import time

import jwt
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser_fixtures import *  # noqa: F403 - the fixtures
from tests.browser_fixtures import DemoServer
from tests.test_identity_browser import QUICK, SECRET, article
from tests.test_newsroom_browser import editor
from townsquare.moderation import actions


def test_a_signed_in_reader_opens_my_comments_and_sees_both_with_their_statuses(new_page, demo_server: DemoServer,
                                                                                publisher):
    now = int(time.time())
    signed = jwt.encode({"sub": "reader-9", "name": "Rosa Reader", "aud": "ledger", "iat": now, "exp": now + 600},
                        SECRET, algorithm="HS256")
    page_url = publisher(article(demo_server.url, signed, site="ledger"))
    demo_server.add_site("ledger", [page_url], {"moderation": "pre", "sso_secret": SECRET,
                                                "moderation_rules": QUICK})
    page = new_page()
    page.goto(page_url + "/story")
    account = page.locator("#townsquare .ts-account")
    expect(account).to_contain_text("Signed in as Rosa Reader")
    form = page.locator(".ts-top form")
    ids = []
    for text in ("The first of my two comments.", "The second, still <waiting>."):
        def posting(r):
            return r.url.endswith("/api/v1/comments") and r.request.method == "POST"

        with page.expect_response(posting) as posted:
            form.get_by_label("Your comment").fill(text)
            form.get_by_role("button", name="Post comment").click()
        ids.append(posted.value.json()["comment"]["id"])
        expect(page.locator("#townsquare [role=treeitem]", has_text=text)).to_contain_text("Awaiting moderation")
    engine, actor, _ = editor(demo_server, "ledger")
    actions.approve(engine, actor, ids[0], "fine")
    engine.dispose()

    with page.expect_popup() as opened:
        account.get_by_role("button", name="My comments").click()
    mine = opened.value
    mine.wait_for_load_state()
    assert mine.url.startswith(demo_server.url + "/profile?site=ledger&code=")
    expect(mine.get_by_role("heading", level=1)).to_have_text("My comments on ledger")
    expect(mine.locator("main")).to_contain_text("Signed in as Rosa Reader.")
    items = mine.locator("ol.mine > li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("The second, still <waiting>.")  # newest first, as text
    expect(items.nth(0).locator("strong")).to_have_text("Awaiting moderation")
    expect(items.nth(1)).to_contain_text("The first of my two comments.")
    expect(items.nth(1).locator("strong")).to_have_text("Published")
    # The title leads back to the comment on the article.
    expect(items.nth(1).get_by_role("link", name="Story")).to_have_attribute("href", f"{page_url}/story#ts-c{ids[0]}")
    expect(mine.get_by_role("button", name="Send me an erasure link")).to_be_visible()
    expect(mine.get_by_label("Your e-mail address")).to_be_visible()
    found = Axe().run(mine).response["violations"]
    assert [f"{v['id']}: {v['help']}" for v in found] == []
    response = mine.request.get(mine.url)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"

    # Signed out in the widget: the page's link no longer shows anything, and says why.
    account.get_by_role("button", name="Sign out").click()
    expect(account.get_by_role("button", name="Sign in by email")).to_be_visible()
    mine.reload()
    expect(mine.get_by_role("heading", level=1)).to_have_text("Not authorized")
    expect(mine.locator("main")).to_contain_text("session has ended")
    # As a guest now, the edit tokens this browser keeps still prove both comments.
    with page.expect_popup() as opened_again:
        account.get_by_role("button", name="My comments").click()
    guest = opened_again.value
    expect(guest.locator("main")).to_contain_text("The comments this browser posted.")
    expect(guest.locator("ol.mine > li")).to_have_count(2)
    assert page.errors == []


def test_a_guests_first_comment_brings_my_comments_without_a_reload(new_page, demo_server: DemoServer, publisher):
    page_url = publisher(article(demo_server.url, None, site="gazette"))
    demo_server.add_site("gazette", [page_url], {"moderation": "post", "moderation_rules": QUICK})
    page = new_page()
    page.goto(page_url + "/story")
    account = page.locator("#townsquare .ts-account")
    expect(account.get_by_role("button", name="Sign in by email")).to_be_visible()
    expect(account.get_by_role("button", name="My comments")).to_have_count(0)  # nothing of theirs yet
    form = page.locator(".ts-top form")
    form.get_by_label("Name", exact=True).fill("Guest Gail")
    form.get_by_label("Your comment").fill("A guest's first words on this story.")
    form.get_by_role("button", name="Post comment").click()
    expect(page.locator("#townsquare [role=treeitem]", has_text="A guest's first words")).to_have_count(1)
    with page.expect_popup() as opened:
        account.get_by_role("button", name="My comments").click()
    mine = opened.value
    mine.wait_for_load_state()
    expect(mine.locator("ol.mine > li")).to_have_count(1)
    expect(mine.locator("ol.mine > li")).to_contain_text("A guest's first words on this story.")
