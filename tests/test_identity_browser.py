"""Verified readers in a real Chromium: a publisher's page signs its reader in with a JWT (the
`data-sso` attribute, or `Townsquare.signIn(jwt)`), the reader posts as a verified staff member
with a badge, edits from another device, and signs out."""

from __future__ import annotations

import time

import jwt
from playwright.sync_api import expect

from tests.browser_fixtures import *  # noqa: F403 - the fixtures
from tests.browser_fixtures import DemoServer

SECRET = "paper-sso-secret-0123456789abcdefghij"
QUICK = {"min_submit_seconds": 0, "author_rate": 1000, "ip_rate": 1000, "repeat_window": 0}


def token(sub="staff-7", name="Mia Editor", badges=("staff",)) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "name": name, "aud": "paper", "iat": now, "exp": now + 600,
                       "badges": list(badges)}, SECRET, algorithm="HS256")


def article(ts: str, sso: str | None, site: str = "paper") -> str:
    attr = f' data-sso="{sso}"' if sso else ""
    return f"""<!doctype html><html><head><title>Story</title></head><body><h1>A story</h1>
        <div id="townsquare"></div>
        <script src="{ts}/embed.js" data-site="{site}" data-uri="/story"{attr}></script></body></html>"""


def test_a_publisher_signed_reader_posts_as_verified_staff_edits_elsewhere_and_signs_out(
        new_page, demo_server: DemoServer, publisher):
    ts = demo_server.url
    signed_page = publisher(article(ts, token()))
    plain_page = publisher(article(ts, None))
    # Pre-moderated, but the publisher lets its staff skip moderation.
    demo_server.add_site("paper", [signed_page, plain_page], {
        "moderation": "pre", "sso_secret": SECRET, "staff_skip_moderation": True, "moderation_rules": QUICK})

    page = new_page()
    page.goto(signed_page + "/story")
    expect(page.locator("#townsquare .ts-account")).to_contain_text("Signed in as Mia Editor")
    form = page.locator(".ts-top form")
    expect(form.get_by_label("Name", exact=True)).to_have_count(0)  # the name comes from the sign-on
    form.get_by_label("Your comment").fill("Editor's note: the figures were updated.")
    form.get_by_role("button", name="Post comment").click()
    posted = page.locator("#townsquare [role=treeitem]", has_text="figures were updated")
    expect(posted.locator(".ts-name")).to_have_text("Mia Editor")
    # Published at once (staff badge), with the mark in words and the badge as text.
    expect(posted).not_to_contain_text("Awaiting moderation")
    expect(posted.locator(".ts-verified")).to_contain_text("verified reader")
    expect(posted.locator(".ts-role")).to_have_text("staff")

    # Another device: no edit token there, signed in by the page's script call instead.
    other = new_page()
    other.goto(plain_page + "/story")
    item = other.locator("#townsquare [role=treeitem]", has_text="figures were updated")
    expect(item.locator(".ts-role")).to_have_text("staff")  # read back from the server
    expect(item.get_by_role("button", name="Edit", exact=True)).to_have_count(0)
    other.evaluate("jwt => window.Townsquare.signIn(jwt)", token())
    expect(other.locator("#townsquare .ts-account")).to_contain_text("Signed in as Mia Editor")
    item.get_by_role("button", name="Edit", exact=True).click()
    area = item.locator("textarea")
    area.fill("Editor's note: the figures were updated twice.")
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".ts-body")).to_contain_text("updated twice")

    other.locator("#townsquare").get_by_role("button", name="Sign out").click()
    expect(other.locator("#townsquare").get_by_role("button", name="Sign in by email")).to_be_visible()
    expect(item.get_by_role("button", name="Edit", exact=True)).to_have_count(0)

    # Signed out everywhere (here through the API, as a reader's account page would): the first
    # device learns it on its next post, falls back to a guest and keeps what was typed.
    stored = page.evaluate("""() => Object.keys(localStorage).filter((k) => k.endsWith(':paper:session'))
        .map((k) => JSON.parse(localStorage.getItem(k)).token)""")
    with demo_server.api() as api:
        ended = api.post("/api/v1/auth/signout/everywhere", headers={"X-Townsquare-Session": stored[0]})
    assert ended.status_code == 200 and ended.json()["signed_out"] >= 1
    form.get_by_label("Your comment").fill("A second note.")
    form.get_by_role("button", name="Post comment").click()
    expect(page.locator("#townsquare").get_by_role("button", name="Sign in by email")).to_be_visible()
    expect(page.locator(".ts-top form").get_by_label("Your comment")).to_have_value("A second note.")
    expect(page.locator("#townsquare [role=treeitem]", has_text="A second note")).to_have_count(0)
    assert page.errors == [] and other.errors == []


def test_an_e_mail_link_signs_the_reader_in_on_the_article_page(new_page, demo_server: DemoServer, publisher):
    """The link in the mail (tests/test_identity_email.py sends one through real SMTP) opens the
    article with a one-time code in its fragment; the widget trades it for a session."""
    from townsquare.config import load_settings
    from townsquare.domain.tokens import Signer
    from townsquare.instance_secret import instance_secret
    from townsquare.store.db import make_engine

    ts = demo_server.url
    origin = publisher(article(ts, None, site="mailpaper"))
    demo_server.add_site("mailpaper", [origin], {"moderation_rules": QUICK})
    engine = make_engine(demo_server.db_url)
    signer = Signer(instance_secret(load_settings(None, environ={}, db=demo_server.db_url), engine))
    engine.dispose()
    # Asking for a link from the widget's form.
    asking = new_page()
    asking.goto(origin + "/story")
    open_form = asking.locator("#townsquare").get_by_role("button", name="Sign in by email")
    open_form.click()
    expect(open_form).to_have_attribute("aria-expanded", "true")
    asking.locator(".ts-signin").get_by_label("Name").fill("Rita Reader")
    asking.locator(".ts-signin").get_by_label("Email").fill("rita@mail.example")
    asking.locator(".ts-signin").get_by_role("button", name="Send me a link").click()
    expect(asking.locator(".ts-signin [role=status]")).to_contain_text("Check your inbox")

    code, _nonce = signer.sign_in_link("mailpaper", "rita@mail.example\nRita Reader")
    page = new_page()
    page.goto(origin + "/story#townsquare-sign-in=" + code)
    expect(page.locator("#townsquare .ts-account")).to_contain_text("Signed in as Rita Reader")
    assert "townsquare-sign-in" not in page.url  # the code is gone from the address bar
    form = page.locator(".ts-top form")
    form.get_by_label("Your comment").fill("Signed in with a link from my inbox.")
    form.get_by_role("button", name="Post comment").click()
    posted = page.locator("#townsquare [role=treeitem]", has_text="link from my inbox")
    expect(posted.locator(".ts-verified")).to_contain_text("verified reader")
    expect(posted.locator(".ts-role")).to_have_count(0)
    # The same link a second time signs nobody in.
    again = new_page()
    again.goto(origin + "/story#townsquare-sign-in=" + code)
    expect(again.locator("#townsquare").get_by_role("button", name="Sign in by email")).to_be_visible()
    expect(again.locator("#townsquare .ts-account")).not_to_contain_text("Signed in")


def test_the_link_mailed_through_real_smtp_signs_the_reader_in_in_chromium(new_page, publisher, tmp_path):
    """End to end: the widget's "Sign in by email" form, the mail through a real SMTP server
    (aiosmtpd) with the link read from it, and that link opened in Chromium signs the reader in."""
    import asyncio
    import threading

    from tests.test_alerts_support import SmtpSink, config, deliver_all
    from tests.browser_fixtures import serving
    from townsquare.app import create_app
    from townsquare.config import load_settings
    from townsquare.store import sites as site_store
    from townsquare.store.db import make_engine, migrate

    db_url = f"sqlite:///{tmp_path / 'mail.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    sink = SmtpSink().start()
    app = create_app(load_settings(None, environ={}, db=db_url, rate_limits="off", alerts={"worker_in_serve": False}),
                     engine)
    try:
        with serving(app) as ts:
            origin = publisher(article(ts, None, site="inbox"))
            with engine.begin() as conn:
                site_store.create(conn, "inbox", "Inbox Daily", [origin], {"moderation_rules": QUICK})
            page = new_page()
            page.goto(origin + "/story")
            page.locator("#townsquare").get_by_role("button", name="Sign in by email").click()
            page.locator(".ts-signin").get_by_label("Name").fill("Ines Inbox")
            page.locator(".ts-signin").get_by_label("Email").fill("ines@mail.example")
            page.locator(".ts-signin").get_by_role("button", name="Send me a link").click()
            expect(page.locator(".ts-signin [role=status]")).to_contain_text("Check your inbox")

            # The outbox's worker delivers it (on its own event loop, beside playwright's).
            failed: list[BaseException] = []
            worker = threading.Thread(target=lambda: _run(asyncio.run, deliver_all(engine, config(sink.port)), failed))
            worker.start()
            worker.join(60)
            assert not failed and not worker.is_alive()
            [message] = sink.to("ines@mail.example")
            text = message.get_body(("plain",)).get_content()
            link = next(w for w in text.split() if "#townsquare-sign-in=" in w)
            assert link.startswith(origin + "/story#townsquare-sign-in=")

            reader = new_page()
            reader.goto(link)
            expect(reader.locator("#townsquare .ts-account")).to_contain_text("Signed in as Ines Inbox")
            assert "townsquare-sign-in" not in reader.url
            form = reader.locator(".ts-top form")
            form.get_by_label("Your comment").fill("Signed in from the mail itself.")
            form.get_by_role("button", name="Post comment").click()
            posted = reader.locator("#townsquare [role=treeitem]", has_text="from the mail itself")
            expect(posted.locator(".ts-verified")).to_contain_text("verified reader")
            assert page.errors == [] and reader.errors == []
    finally:
        sink.stop()
        engine.dispose()


def _run(run, coroutine, failed: list) -> None:
    try:
        run(coroutine)
    except BaseException as e:  # noqa: BLE001 - handed to the test's thread
        failed.append(e)


def test_forged_expired_and_other_site_tokens_leave_the_reader_a_guest(new_page, demo_server: DemoServer, publisher):
    """A page whose `data-sso` token is forged, expired or made for another site: the widget says
    the sign-in failed, stays a guest's, and nothing is stored."""
    import re

    from sqlalchemy import func, select

    from townsquare.store.db import make_engine
    from townsquare.store.tables import identities, reader_sessions, sites

    now = int(time.time())
    claims = {"sub": "intruder", "name": "Not Staff", "aud": "gate", "iat": now, "exp": now + 600, "badges": ["staff"]}
    refused = {
        "forged": jwt.encode(claims, "a-secret-the-site-does-not-have-0123456789", algorithm="HS256"),
        "expired": jwt.encode({**claims, "iat": now - 900, "exp": now - 300}, SECRET, algorithm="HS256"),
        "other site": jwt.encode({**claims, "aud": "paper"}, SECRET, algorithm="HS256"),
    }
    origins = {name: publisher(article(demo_server.url, tok, site="gate")) for name, tok in refused.items()}
    demo_server.add_site("gate", list(origins.values()), {"sso_secret": SECRET, "moderation_rules": QUICK})
    for name, origin in origins.items():
        page = new_page()
        with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/sso")) as answered:
            page.goto(origin + "/story")
        assert answered.value.status == 401, name
        root = page.locator("#townsquare")
        expect(root.locator(".ts-sr[role=status]")).to_have_text(re.compile(r"\w"))  # the reason, read out
        expect(root.get_by_role("button", name="Sign in by email")).to_be_visible()
        expect(root.locator(".ts-account")).not_to_contain_text("Signed in")
        expect(root.locator(".ts-top form").get_by_label("Name", exact=True)).to_be_visible()  # a guest's form
        assert page.errors == [], name
    engine = make_engine(demo_server.db_url)
    with engine.connect() as conn:
        gate = conn.execute(select(sites.c.id).where(sites.c.name == "gate")).scalar_one()
        stored = conn.execute(select(func.count()).select_from(identities).where(identities.c.site_id == gate)).scalar()
        sessions = conn.execute(select(func.count()).select_from(reader_sessions.join(identities))
                                .where(identities.c.site_id == gate)).scalar()
    engine.dispose()
    assert stored == 0 and sessions == 0
