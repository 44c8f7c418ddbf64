"""Newsroom tools: editors' picks, a pinned comment, scheduled closing (both databases)."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from townsquare.config import load_settings
from townsquare.moderation import audit
from townsquare.store.db import make_engine, migrate

from .moderation_support import PASSWORD, add_moderator, add_site, csrf_of, moderation_app, post


@pytest.fixture
def desk(engine, settings):
    add_site(engine, posts_per_minute=10_000)
    _, key = add_moderator(engine)
    with TestClient(moderation_app(settings, engine), base_url="http://testserver") as c:
        c.engine = engine
        c.key = {"Authorization": f"Bearer {key}"}
        yield c


def thread(client, **params) -> dict:
    resp = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def actions_of(engine, action: str) -> list:
    return audit.entries(engine, audit.Filters((1,), None, action, None, None, 50))


def test_a_moderator_features_a_comment_and_readers_list_the_picks(desk):
    first = post(desk, "First!")["comment"]["id"]
    good = post(desk, "A careful, sourced answer.")["comment"]["id"]
    reply = post(desk, "A reply worth reading.", parent_id=first)["comment"]["id"]
    assert all(c["featured"] is False for c in thread(desk)["comments"])

    for cid in (good, reply):
        resp = desk.post(f"/api/v1/moderation/comments/{cid}/feature", json={"reason": "well argued"}, headers=desk.key)
        assert resp.status_code == 200 and resp.json()["comment"]["featured"] is True
    shown = {c["id"]: c for c in thread(desk)["comments"]}
    assert shown[good]["featured"] is True and shown[first]["featured"] is False
    assert shown[first]["replies"][0]["featured"] is True

    picks = thread(desk, sort="picks")
    assert [c["id"] for c in picks["comments"]] == [reply, good]  # newest first, replies included
    assert all(c["replies"] == [] for c in picks["comments"])
    paged = thread(desk, sort="picks", limit=1)
    rest = thread(desk, sort="picks", limit=1, cursor=paged["next_cursor"])  # past the fast path
    assert [c["id"] for c in paged["comments"] + rest["comments"]] == [reply, good] and rest["next_cursor"] is None

    # Un-featuring, by DELETE or by `featured: false`; both audit-logged with the moderator's name.
    assert desk.delete(f"/api/v1/moderation/comments/{reply}/feature", headers=desk.key).json()["comment"]["featured"] is False
    assert [c["id"] for c in thread(desk, sort="picks")["comments"]] == [good]
    assert [e.target for e in actions_of(desk.engine, "feature")] == [f"comment:{reply}", f"comment:{good}"]
    assert actions_of(desk.engine, "unfeature")[0].actor == "mod@daily.example"


def test_only_moderators_feature_and_only_published_comments(desk):
    cid = post(desk, "Hello")["comment"]["id"]
    assert desk.post(f"/api/v1/moderation/comments/{cid}/feature", json={}).status_code == 401
    desk.post(f"/api/v1/moderation/comments/{cid}/reject", json={"reason": "no"}, headers=desk.key)
    refused = desk.post(f"/api/v1/moderation/comments/{cid}/feature", json={}, headers=desk.key)
    assert refused.status_code == 409 and "published" in refused.json()["detail"]
    assert desk.post("/api/v1/moderation/comments/99999/feature", json={}, headers=desk.key).status_code == 404


def test_one_pinned_comment_opens_the_thread_and_pinning_another_replaces_it(desk):
    ids = [post(desk, f"Comment {i}")["comment"]["id"] for i in range(4)]
    pin = lambda cid: desk.post(f"/api/v1/moderation/comments/{cid}/pin", json={}, headers=desk.key)
    assert pin(ids[2]).status_code == 200
    page = thread(desk)
    assert [c["id"] for c in page["comments"]] == [ids[2], ids[0], ids[1], ids[3]]
    assert [c["pinned"] for c in page["comments"]] == [True, False, False, False]
    assert thread(desk, sort="newest")["comments"][0]["id"] == ids[2]

    assert pin(ids[3]).status_code == 200
    page = thread(desk)
    assert [c["id"] for c in page["comments"]] == [ids[3], ids[0], ids[1], ids[2]]
    assert [c["id"] for c in page["comments"] if c["pinned"]] == [ids[3]]

    # Paged: the pinned comment is on the first page only, and every comment appears once.
    first = thread(desk, limit=2)
    rest = thread(desk, limit=2, cursor=first["next_cursor"])
    seen = [c["id"] for c in first["comments"] + rest["comments"]]
    while rest["next_cursor"]:
        rest = thread(desk, limit=2, cursor=rest["next_cursor"])
        seen += [c["id"] for c in rest["comments"]]
    assert seen[0] == ids[3] and sorted(seen) == sorted(ids)

    reply = post(desk, "a reply", parent_id=ids[0])["comment"]["id"]
    refused = pin(reply)
    assert refused.status_code == 422 and "top-level" in refused.json()["detail"]
    assert desk.delete(f"/api/v1/moderation/comments/{ids[3]}/pin", headers=desk.key).json()["pinned"] is False
    assert [c["id"] for c in thread(desk)["comments"]] == ids
    assert [e.action for e in actions_of(desk.engine, "pin")] == ["pin", "pin"]
    assert actions_of(desk.engine, "pin")[0].details["replaces"] == ids[2]


def test_the_plain_page_lists_picks_first_and_says_pinned_in_words(desk):
    ids = [post(desk, f"Plain comment {i}")["comment"]["id"] for i in range(3)]
    desk.post(f"/api/v1/moderation/comments/{ids[1]}/feature", json={}, headers=desk.key)
    desk.post(f"/api/v1/moderation/comments/{ids[2]}/pin", json={}, headers=desk.key)
    html = desk.get("/t/daily/a").text
    assert html.index('<h2 id="picks-heading">Editors\' picks</h2>') < html.index(f'id="c{ids[2]}"') < html.index(f'id="c{ids[0]}"')
    assert html.index(f'id="pick-c{ids[1]}"') < html.index(f'id="c{ids[1]}"')
    assert '<strong class="pinned">Pinned</strong>' in html and '<strong class="pick">Editor\'s pick</strong>' in html
    assert f'id="pick-c{ids[0]}"' not in html


def test_the_queue_features_and_pins_a_published_comment(tmp_path):
    url = f"sqlite:///{tmp_path}/admin.db"
    engine = make_engine(url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000)
    add_moderator(engine)
    with TestClient(moderation_app(load_settings(None, environ={}, db=url), engine), base_url="https://testserver",
                    follow_redirects=False) as web:
        cid = post(web, "Worth featuring")["comment"]["id"]
        form = web.get("/admin/login")
        web.post("/admin/login", data={"email": "mod@daily.example", "password": PASSWORD, "csrf": csrf_of(form.text)})
        page = web.get("/admin/queue/published").text
        assert "Feature as editor&#39;s pick" in page and "Pin to top of thread" in page
        for action in ("feature", "pin"):
            done = web.post(f"/admin/comments/{cid}/{action}",
                            data={"csrf": csrf_of(page), "back": "/admin/queue/published"})
            assert done.status_code == 303 and "Not+done" not in done.headers["location"]
        page = web.get("/admin/queue/published").text
        assert "editor's pick</span>" in page and ">pinned</span>" in page and "Unpin" in page
        shown = web.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()["comments"][0]
        assert shown["featured"] is True and shown["pinned"] is True
        refused = web.post(f"/admin/comments/{cid}/feature", data={"csrf": "forged", "back": "/admin/queue/published"})
        assert refused.status_code == 403
    engine.dispose()


def test_a_reader_reports_once_and_is_told_whether_it_counted(engine, settings):
    import time

    import jwt

    secret = "newsroom-sso-secret-0123456789abcdef"
    add_site(engine, posts_per_minute=10_000, sso_secret=secret)
    with TestClient(moderation_app(settings, engine), base_url="http://testserver") as c:
        cid = post(c, "Reported words")["comment"]["id"]
        now = int(time.time())
        token = jwt.encode({"sub": "r1", "name": "Rae", "aud": "daily", "iat": now, "exp": now + 300}, secret,
                           algorithm="HS256")
        session = c.post("/api/v1/auth/sso", json={"site": "daily", "token": token}).json()["session_token"]
        signed = {"X-Townsquare-Session": session}
        first = c.post(f"/api/v1/comments/{cid}/report", json={"reason": "harassment"}, headers=signed)
        assert first.status_code == 200 and first.json() == {"reported": True, "status": "published", "counted": True}
        again = c.post(f"/api/v1/comments/{cid}/report", json={"reason": "spam"}, headers=signed)
        assert again.json()["counted"] is False
        c.post("/api/v1/auth/signout", headers=signed)
        ended = c.post(f"/api/v1/comments/{cid}/report", json={"reason": "spam"}, headers=signed)
        assert ended.status_code == 401
        bad = c.post(f"/api/v1/comments/{cid}/report", json={"reason": "boring"})
        assert bad.status_code == 422


# -- scheduled closing ------------------------------------------------------------------------------
def started_days_ago(engine, days: float, uri: str = "/a") -> None:
    """The thread's first comment was `days` ago (times set in the past: no waiting)."""
    from sqlalchemy import update

    from townsquare.store.tables import threads

    with engine.begin() as conn:
        conn.execute(update(threads).where(threads.c.uri == uri).values(created=time.time() - days * 86400))


def comment(client, uri="/a", text="Still open?", **extra):
    return client.post("/api/v1/comments", json={"site": "daily", "uri": uri, "text": text, "author": {"name": "Bo"},
                                                 **extra}, headers={"Origin": "https://daily.example"})


@pytest.fixture
def closing_desk(engine, settings):
    add_site(engine, posts_per_minute=10_000, close_after_days=3)
    _, key = add_moderator(engine)
    with TestClient(moderation_app(settings, engine), base_url="http://testserver") as c:
        c.engine = engine
        c.key = {"Authorization": f"Bearer {key}"}
        yield c


def test_a_thread_closes_by_itself_days_after_its_first_comment(closing_desk):
    desk = closing_desk
    first = post(desk, "First comment")["comment"]["id"]
    started_days_ago(desk.engine, 2.9)
    assert thread(desk)["thread"]["closed"] is False and comment(desk).status_code == 201
    started_days_ago(desk.engine, 3.1)
    assert thread(desk)["thread"]["closed"] is True  # the cached page of a moment ago is not served
    listed = desk.get("/api/v1/threads", params={"site": "daily"}).json()["threads"]
    assert [(t["uri"], t["closed"]) for t in listed] == [("/a", True)]
    refused = comment(desk)
    problem = refused.json()
    assert refused.status_code == 403 and problem["closed"] is True
    assert problem["detail"].startswith("This discussion closed on ") and "no new comments" in problem["detail"]
    assert comment(desk, parent_id=first).status_code == 403
    assert thread(desk)["total"] == 2  # nothing stored

    # Reopening is refused while the site's rule closes it; a later close time of its own reopens it.
    tid = desk.get("/api/v1/moderation/queue", params={"tab": "all"}, headers=desk.key).json()["items"][0]["thread"]["id"]
    again = desk.post(f"/api/v1/moderation/threads/{tid}/close", json={"closed": False}, headers=desk.key)
    assert again.status_code == 409 and "later close time" in again.json()["detail"]
    later = desk.post(f"/api/v1/moderation/threads/{tid}/close-at", json={"at": time.time() + 3600}, headers=desk.key)
    assert later.status_code == 200 and thread(desk)["thread"]["closed"] is False
    assert comment(desk).status_code == 201
    assert actions_of(desk.engine, "close_at")[0].target == f"thread:{tid}"


def test_a_moderator_sets_a_thread_close_time(desk):
    post(desk, "Open thread")
    tid = desk.get("/api/v1/moderation/queue", params={"tab": "all"}, headers=desk.key).json()["items"][0]["thread"]["id"]
    close_at = lambda body: desk.post(f"/api/v1/moderation/threads/{tid}/close-at", json=body, headers=desk.key)
    assert close_at({"at": time.time() + 3600}).status_code == 200
    assert thread(desk)["thread"]["closed"] is False and comment(desk).status_code == 201
    assert close_at({"at": time.time() - 1}).status_code == 200
    assert thread(desk)["thread"]["closed"] is True and comment(desk).status_code == 403
    # Reopening drops the close time already past.
    assert desk.post(f"/api/v1/moderation/threads/{tid}/close", json={"closed": False}, headers=desk.key).status_code == 200
    assert thread(desk)["thread"]["closed"] is False and comment(desk).status_code == 201
    assert close_at({"at": None}).status_code == 200 and close_at({}).status_code == 422
    assert close_at({"at": -5}).status_code == 422
    assert close_at({"at": 1.0}).status_code == 200 and comment(desk).status_code == 403
    assert desk.post("/api/v1/moderation/threads/999/close-at", json={"at": None}, headers=desk.key).status_code == 404
    assert desk.post(f"/api/v1/moderation/threads/{tid}/close-at", json={"at": None}).status_code == 401


def test_close_at_from_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from townsquare.cli import app

    url = f"sqlite:///{tmp_path}/cli.db"
    engine = make_engine(url)
    migrate(engine)
    add_site(engine)
    add_moderator(engine)
    with TestClient(moderation_app(load_settings(None, environ={}, db=url), engine)) as c:
        post(c, "A comment", uri="/story")
        run = lambda *args: CliRunner().invoke(app, ["moderation", "close-at", *args, "--db", url])
        done = run("daily", "/story", "2020-01-01T00:00", "--by", "mod@daily.example", "--reason", "old story")
        assert done.exit_code == 0 and "closes 2020-01-01 00:00 UTC" in done.output
        assert comment(c, uri="/story").json()["detail"] == (
            "This discussion closed on 2020-01-01 00:00 UTC; it takes no new comments.")
        assert run("daily", "/story", "none", "--by", "mod@daily.example").exit_code == 0
        assert comment(c, uri="/story").status_code == 201
        assert run("daily", "/nope", "now", "--by", "mod@daily.example").exit_code == 1
        assert run("daily", "/story", "soon", "--by", "mod@daily.example").exit_code == 2
        assert run("daily", "/story", "now", "--by", "nobody@daily.example").exit_code == 1
    engine.dispose()
