"""A reader's own comments page on real databases: the link the widget asks for (signed in, or
with this browser's edit tokens), the page's statuses, keyset pages, refusals as clear pages
(never a 5xx), sign-out ending the link, and the privacy link it mails covering the signed-in
reader's comments."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from sqlalchemy import select, update

from townsquare.store.alerts import alert_outbox
from townsquare.store.tables import comments

from .test_identity import ORIGIN, app, post, session_of, sign_in, sso_token  # noqa: F401 - the app fixture

PAGE = "/profile"


def link(app, *, session=None, tokens=(), site="daily"):
    headers = {**ORIGIN, **({"X-Townsquare-Session": session} if session else {})}
    return app.post("/api/v1/auth/profile", json={"site": site, "edit_tokens": list(tokens)}, headers=headers)


def path_of(resp) -> str:
    assert resp.status_code == 200, resp.text
    url = urlsplit(resp.json()["url"])
    return url.path + "?" + url.query


def listed(html: str) -> list[tuple[str, str]]:
    """(status words, excerpt) of each comment on the page, in order."""
    return re.findall(r'<strong class="status-\w+">([^<]+)</strong>\s*</header>\s*<p>([^<]*)</p>', html)


def test_a_signed_in_reader_sees_their_comments_with_their_statuses(app, engine):
    session = session_of(app)
    post(app, "My published comment", session=session)
    other = session_of(app, site="pre")
    post(app, "Held for a look", session=other, site="pre")  # another site: not listed here
    rejected = post(app, "Later declined", session=session)["comment"]["id"]
    gone = post(app, "Deleted by me", session=session)["comment"]["id"]
    deleted = app.delete(f"/api/v1/comments/{gone}", headers={**ORIGIN, "X-Townsquare-Session": session})
    assert deleted.status_code == 204
    post(app, "Someone else's", name="Bob")
    with engine.begin() as conn:
        conn.execute(update(comments).where(comments.c.id == rejected).values(status="rejected"))
    resp = app.get(path_of(link(app, session=session)))
    assert resp.status_code == 200
    assert resp.headers["content-security-policy"].startswith("default-src 'self'")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store" and resp.headers["referrer-policy"] == "no-referrer"
    assert "Signed in as Mia Editor" in resp.text
    assert listed(resp.text) == [("Not published", "Later declined"), ("Published", "My published comment")]
    # The same reader on the pre-moderated site sees only that site's comment, awaiting moderation.
    assert listed(app.get(path_of(link(app, session=other, site="pre"))).text) == [
        ("Awaiting moderation", "Held for a look")]


def test_pages_are_keyset_pages_newest_first(app):
    session = session_of(app)
    for i in range(45):
        post(app, f"Comment number {i:02d}", session=session)
    path = path_of(link(app, session=session))
    seen = []
    while path:
        html = app.get(path).text
        seen += [text for _, text in listed(html)]
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert seen == [f"Comment number {i:02d}" for i in reversed(range(45))]


def test_a_guest_sees_the_comments_their_edit_tokens_prove(app):
    mine = [post(app, f"Guest words {i}", name="Gus") for i in range(2)]
    post(app, "Another guest", name="Gus")  # same name, no token here: not listed
    resp = link(app, tokens=[m["edit_token"] for m in mine] + ["forged.token.value"])
    html = app.get(path_of(resp)).text
    assert "The comments this browser posted." in html
    assert [text for _, text in listed(html)] == ["Guest words 1", "Guest words 0"]
    # Nothing that proves anything: a 401 problem.
    refused = link(app, tokens=["forged.token.value"])
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("query", [
    "", "?site=daily", "?site=daily&code=nonsense", "?site=daily&code=a.b.c&cursor=zzz",
    "?site=" + "x" * 65 + "&code=abc", "?site=daily&code=" + "y" * 5000, "?site=daily&code=%00%ff",
])
def test_no_code_or_a_bad_one_gets_a_clear_page_not_an_error(app, query):
    resp = app.get(PAGE + query)
    assert 400 <= resp.status_code < 500
    if resp.headers["content-type"].startswith("text/html"):
        assert "<h1>" in resp.text and resp.headers["x-content-type-options"] == "nosniff"


def test_another_sites_code_a_bad_cursor_and_signing_out_are_refused_in_words(app):
    session = session_of(app)
    post(app, "Before signing out", session=session)
    path = path_of(link(app, session=session))
    code = parse_qs(urlsplit(path).query)["code"][0]
    other_site = app.get(PAGE, params={"site": "other", "code": code})
    assert other_site.status_code == 401 and "for another site" in other_site.text
    bad_cursor = app.get(PAGE, params={"site": "daily", "code": code, "cursor": "bm90IGEgY3Vyc29y"})
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.text
    assert app.post("/api/v1/auth/signout", headers={"X-Townsquare-Session": session}).status_code == 200
    ended = app.get(path)
    assert ended.status_code == 401 and "session has ended" in ended.text
    # An ended session asks the widget to sign in again.
    assert link(app, session=session).status_code == 401


def test_names_and_words_are_escaped(app):
    session = session_of(app, name="<script>alert(1)</script>")
    post(app, "<img src=x onerror=alert(1)> and **bold**", session=session)
    html = app.get(path_of(link(app, session=session))).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_privacy_link_it_mails_covers_what_the_reader_posted_signed_in(app, engine):
    session = session_of(app)
    post(app, "Signed in, no e-mail given", session=session)
    path = path_of(link(app, session=session))
    code = parse_qs(urlsplit(path).query)["code"][0]
    asked = app.post("/profile/privacy", data={"site": "daily", "code": code, "email": "mia@mail.example",
                                               "action": "export"})
    assert asked.status_code == 202 and "Check your inbox" in asked.text
    with engine.connect() as conn:
        mail = conn.execute(select(alert_outbox.c.payload).where(alert_outbox.c.kind == "privacy")).scalar_one()
    url = urlsplit(orjson.loads(mail)["url"])
    data = app.get(url.path + "?" + url.query).json()
    assert [c["text"] for c in data["comments"]] == ["Signed in, no e-mail given"]
    assert [i["name"] for i in data["identities"]] == ["Mia Editor"]
    # A forged code mails nothing.
    refused = app.post("/profile/privacy", data={"site": "daily", "code": "forged", "email": "x@mail.example",
                                                 "action": "erase"})
    assert refused.status_code == 401


def test_the_erasure_link_asked_from_the_page_erases_what_the_reader_posted_signed_in(app, engine):
    session = session_of(app)
    post(app, "Signed in, to be erased", session=session)
    kept = post(app, "A guest's, kept", name="Bob")["comment"]["id"]
    code = parse_qs(urlsplit(path_of(link(app, session=session))).query)["code"][0]
    asked = app.post("/profile/privacy", data={"site": "daily", "code": code, "email": "mia@mail.example",
                                               "action": "erase"})
    assert asked.status_code == 202
    with engine.connect() as conn:
        mail = conn.execute(select(alert_outbox.c.payload).where(alert_outbox.c.kind == "privacy")).scalar_one()
    token = parse_qs(urlsplit(orjson.loads(mail)["url"]).query)["token"][0]
    assert "Erase my data" in app.get("/api/v1/privacy/erase", params={"token": token}).text  # asks first
    erased = app.post("/api/v1/privacy/erase", data={"token": token})
    assert erased.status_code == 200 and "1 comment(s) deleted" in erased.text
    with engine.connect() as conn:
        left = dict(conn.execute(select(comments.c.id, comments.c.status)).all())
    assert left[kept] == "published" and sorted(left.values()) == ["deleted", "published"]
    # The identity went with its sessions: the reader is signed out everywhere.
    assert app.get("/api/v1/auth/session", headers={"X-Townsquare-Session": session}).status_code == 401
