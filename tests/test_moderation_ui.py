"""The moderation queue in a real browser (Debian's Chromium): sign in, approve and reject by
keyboard, ban an author, and read the audit log."""

from __future__ import annotations


import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from townsquare.config import load_settings
from townsquare.store.db import make_engine, migrate
from townsquare.store.moderation import bans
from townsquare.store.tables import comments, threads

from .browser_fixtures import chromium_browser, require_chromium, serving
from .moderation_support import PASSWORD, add_moderator, add_site, moderation_app

ORIGIN = {"Origin": "https://daily.example"}
MODERATOR = "mod@daily.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('ui')}/ui.db"
    engine = make_engine(url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000)
    add_moderator(engine, MODERATOR)
    app = moderation_app(load_settings(None, environ={}, db=url), engine)
    with serving(app) as base:
        yield base, engine
    engine.dispose()


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def post(base: str, text: str, name: str, email: str) -> int:
    body = {"site": "daily", "uri": "/story", "title": "A story", "text": text, "author": {"name": name, "email": email}}
    resp = httpx.post(base + "/api/v1/comments", json=body, headers=ORIGIN, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["comment"]["id"]


def status_of(engine, comment_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(comments.c.status).where(comments.c.id == comment_id)).scalar_one()


def test_queue_by_keyboard(server, chromium):
    base, engine = server
    # Personal data holds a comment whatever the model says, so the queue's content is known.
    first = post(base, "Text me on +2348136370421 for the full story", "Ada", "ada@readers.example")
    second = post(base, "My number is +2348136370421, call me", "Bob", "bob@readers.example")
    third = post(base, "Write to spammer@junk.example or +2348136370421", "Spammer", "spam@readers.example")

    page = chromium.new_page(base_url=base)
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/admin/queue/pending")
    assert "/admin/login" in page.url
    page.fill('input[name="email"]', MODERATOR)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/admin/queue/pending")
    ids = [int(x) for x in page.locator("article.item").evaluate_all("els => els.map(e => e.dataset.id)")]
    assert ids == [third, second, first]
    assert page.locator(f"#c{third} mark").first.inner_text() in ("spammer@junk.example", "+2348136370421")

    # The newest comment is selected; j moves down to the second, a approves it.
    page.keyboard.press("j")
    assert page.locator("article.item.selected").get_attribute("data-id") == str(second)
    page.keyboard.press("a")
    page.wait_for_selector(f".notice:has-text('Approved comment {second}.')")
    assert status_of(engine, second) == "published"

    # r focuses the reason; Enter rejects the selected (now the first) comment.
    assert page.locator("article.item.selected").get_attribute("data-id") == str(third)
    page.keyboard.press("r")
    page.keyboard.type("Spam with contact details")
    page.keyboard.press("Enter")
    page.wait_for_selector(f".notice:has-text('Rejected comment {third}.')")
    assert status_of(engine, third) == "rejected"

    # Ban the author of the remaining comment for good, by keyboard to the form.
    page.keyboard.press("b")
    page.keyboard.type("Posts phone numbers again and again")
    page.locator(f"#c{first} form.ban button").click()
    page.wait_for_selector(f".notice:has-text('Banned the author of comment {first}')")
    with engine.connect() as conn:
        assert conn.execute(select(bans.c.kind, bans.c.expires)).all() == [("ip", None)]
        assert conn.execute(select(threads.c.comment_count)).scalar_one() == 1

    page.click("text=Audit log")
    page.wait_for_url("**/admin/audit")
    rows = page.locator("tr.entry")
    assert rows.count() == 3
    assert [a.strip() for a in page.locator("tr.entry td:nth-child(4)").all_inner_texts()] == ["ban", "reject", "approve"]
    assert page.locator("tr.entry td:nth-child(3)").all_inner_texts() == [MODERATOR] * 3
    assert "Spam with contact details" in page.locator("tr.action-reject").inner_text()

    page.select_option('select[name="action"]', "approve")
    page.click("form.filters button")
    page.wait_for_url("**action=approve**")
    assert page.locator("tr.entry").count() == 1
    assert errors == []


def sign_in(page) -> None:
    page.goto("/admin/queue/pending")
    if "/admin/login" in page.url:
        page.fill('input[name="email"]', MODERATOR)
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"]')
        page.wait_for_url("**/admin/queue/pending")


def test_a_keyboard_decision_can_be_undone_and_shortcuts_turned_off(server, chromium):
    base, engine = server
    with engine.begin() as conn:  # the test above banned this machine's address
        conn.execute(bans.delete())
    held = post(base, "Call +2348136370421 about the story", "Cy", "cy@readers.example")
    page = chromium.new_page(base_url=base)
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page)
    page.locator(f"#c{held}").click()
    assert page.locator("article.item.selected").get_attribute("data-id") == str(held)
    # The selected item is marked by a solid outline, not by a shade of colour alone.
    outline = page.locator("article.item.selected").evaluate("e => getComputedStyle(e).outlineWidth")
    assert float(outline.removesuffix("px")) >= 2

    page.keyboard.press("a")
    page.wait_for_selector(f".notice:has-text('Approved comment {held}.') form.undo button")
    assert status_of(engine, held) == "published"
    page.keyboard.press("u")
    page.wait_for_selector(f".notice:has-text('Undone: comment {held} is back')")
    assert status_of(engine, held) == "pending"
    assert page.locator("form.undo").count() == 0  # an undo is not itself undone

    page.click("text=Audit log")
    page.wait_for_url("**/admin/audit")
    assert [a.strip() for a in page.locator("tr.entry td:nth-child(4)").all_inner_texts()][:2] == ["undo", "approve"]

    # Shortcuts off: a key press decides nothing; the help button says whether it is open.
    sign_in(page)
    toggle = page.locator("button.help-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.locator("#shortcuts-on").uncheck()
    page.locator(f"#c{held}").click()
    page.keyboard.press("a")
    page.reload()
    assert status_of(engine, held) == "pending"
    assert not page.locator("#shortcuts-on").is_checked()  # remembered in this browser
    assert errors == []


def test_the_queue_announces_comments_held_after_it_was_drawn(server, chromium):
    base, engine = server
    with engine.begin() as conn:  # an earlier test banned this machine's address
        conn.execute(bans.delete())
    page = chromium.new_page(base_url=base)
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with page.expect_response(lambda r: "/admin/queue-events" in r.url, timeout=30_000):
        sign_in(page)
    notice = page.locator(".queue-live")
    expect(notice).to_be_hidden()
    held = post(base, "Ring +2348136370421 for the rest of the story", "Di", "di@readers.example")
    expect(notice).to_have_text("1 new in queue — refresh", timeout=30_000)
    assert notice.get_attribute("role") == "status"
    expect(page.locator(f"#c{held}")).to_have_count(0)  # the page stays as the moderator left it
    notice.locator("a").click()
    expect(page.locator(f"#c{held}")).to_have_count(1)
    expect(notice).to_be_hidden()
    assert errors == []
