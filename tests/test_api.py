"""The public JSON API against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import time

from sqlalchemy import event, select

from townsquare.store.tables import comments, threads

ORIGIN = {"Origin": "https://daily.example"}


def post(client, text="Hello", uri="/a", parent_id=None, name="Ann", **extra):
    body = {"site": "daily", "uri": uri, "text": text, "author": {"name": name}, **extra}
    if parent_id is not None:
        body["parent_id"] = parent_id
    return client.post("/api/v1/comments", json=body, headers=ORIGIN)


def created(resp):
    assert resp.status_code == 201, resp.text
    return resp.json()


def problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status and body["detail"]
    return body


def stored_count(client):
    with client.app.state.core.engine.connect() as conn:
        return len(conn.execute(select(comments.c.id)).all())


def test_post_reply_read_tree(client):
    a = created(post(client, "First **comment**", title="Article A"))
    assert a["comment"]["html"] == "<p>First <strong>comment</strong></p>\n"
    assert a["edit_token"]
    b = created(post(client, "A reply", parent_id=a["comment"]["id"], name="Bob"))
    c = created(post(client, "Deeper", parent_id=b["comment"]["id"], name="Cy"))
    thread = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()
    assert thread["thread"] == {"site": "daily", "uri": "/a", "title": "Article A", "url": "", "closed": False}
    assert thread["total"] == 3
    [top] = thread["comments"]
    assert top["id"] == a["comment"]["id"]
    assert top["replies"][0]["id"] == b["comment"]["id"]
    assert top["replies"][0]["replies"][0]["id"] == c["comment"]["id"]
    assert set(top) >= {"id", "parent_id", "author", "html", "created", "edited", "votes", "status", "replies"}


def test_quote_reply_is_attributed_blockquote(client):
    a = created(post(client, "if the Russian people believe this, they are wrong", name="oberts mail"))
    r = created(post(client, "I disagree", parent_id=a["comment"]["id"], quote="if the Russian people", name="Marcus"))
    html = r["comment"]["html"]
    assert html.startswith('<blockquote class="quote"><cite>oberts mail wrote:</cite>')
    assert "if the Russian people" in html
    problem(post(client, "x", parent_id=a["comment"]["id"], quote="words never written"), 422)


def test_markdown_is_sanitized_and_links_are_nofollow(client):
    html = created(post(client, "<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://e.org) ![i](https://e.org/i.png)"))["comment"]["html"]
    assert "<script" not in html and "href=\"javascript" not in html and "<img" not in html
    assert 'rel="nofollow ugc noopener"' in html


def test_bad_input_gets_problem_and_stores_nothing(client):
    problem(post(client, ""), 422)
    problem(post(client, "x" * 10_001), 422)
    problem(post(client, "hi", name=""), 422)
    problem(post(client, "hi", parent_id=999), 404)
    problem(client.post("/api/v1/comments", content=b"{not json", headers={"content-type": "application/json", **ORIGIN}), 400)
    problem(client.post("/api/v1/comments", json={"site": "daily"}, headers=ORIGIN), 422)
    problem(client.post("/api/v1/comments", json={"site": "nope", "uri": "/a", "text": "x", "author": {"name": "A"}}), 404)
    problem(client.post("/api/v1/comments", content=b"x" * 270_000, headers={"content-type": "application/json"}), 413)
    problem(client.post("/api/v1/comments", json={"site": "daily", "uri": "/a", "text": "x", "author": {"name": "A"}},
                        headers={"Origin": "https://evil.example"}), 403)
    assert stored_count(client) == 0


def test_parent_in_another_thread_is_refused(client):
    a = created(post(client, "on A", uri="/a"))
    problem(post(client, "on B", uri="/b", parent_id=a["comment"]["id"]), 422)
    assert stored_count(client) == 1


def test_edit_and_delete_with_token(client):
    a = created(post(client, "Original"))
    cid, token = a["comment"]["id"], a["edit_token"]
    problem(client.patch(f"/api/v1/comments/{cid}", json={"text": "x"}), 401)
    problem(client.patch(f"/api/v1/comments/{cid}", json={"text": "x"}, headers={"Authorization": "Bearer forged"}), 401)
    other = created(post(client, "Other"))
    problem(client.patch(f"/api/v1/comments/{cid}", json={"text": "x"},
                         headers={"Authorization": f"Bearer {other['edit_token']}"}), 401)
    r = client.patch(f"/api/v1/comments/{cid}", json={"text": "Edited *now*"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["comment"]["html"] == "<p>Edited <em>now</em></p>\n" and r.json()["comment"]["edited"]
    reply = created(post(client, "reply", parent_id=cid))
    assert client.delete(f"/api/v1/comments/{cid}", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    thread = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()
    placeholder = next(c for c in thread["comments"] if c["id"] == cid)
    assert placeholder["status"] == "deleted" and placeholder["html"] == "<p>[deleted]</p>"
    assert placeholder["author"]["name"] == "[deleted]" and "Edited" not in str(placeholder)
    assert placeholder["replies"][0]["id"] == reply["comment"]["id"]
    assert thread["total"] == 2  # "Other" and the reply
    counts = client.post("/api/v1/counts", json={"site": "daily", "uris": ["/a"]}).json()
    assert counts == {"counts": {"/a": 2}}


def test_expired_edit_token(engine, settings):
    from starlette.testclient import TestClient

    from townsquare.app import create_app
    from tests.conftest import add_site

    add_site(engine, edit_window=1)
    with TestClient(create_app(settings, engine)) as client:
        a = created(post(client, "soon frozen"))
        time.sleep(2.1)
        body = problem(client.patch(f"/api/v1/comments/{a['comment']['id']}", json={"text": "late"},
                                    headers={"Authorization": f"Bearer {a['edit_token']}"}), 401)
        assert "edit window" in body["detail"]


def test_votes_one_per_voter_and_changeable(client):
    cid = created(post(client, "Vote on me"))["comment"]["id"]
    r = client.post(f"/api/v1/comments/{cid}/vote", json={"value": 1})
    assert r.status_code == 200 and r.json()["votes"] == 1
    voter = r.json()["voter_token"]
    same = {"X-Townsquare-Voter": voter}
    assert client.post(f"/api/v1/comments/{cid}/vote", json={"value": 1}, headers=same).json()["votes"] == 1
    assert client.post(f"/api/v1/comments/{cid}/vote", json={"value": -1}, headers=same).json()["votes"] == -1
    # Without the token, the same address is the same reader (tests/test_anonymous_readers.py).
    assert client.post(f"/api/v1/comments/{cid}/vote", json={"value": 1}).json()["votes"] == -1
    assert client.post(f"/api/v1/comments/{cid}/vote", json={"value": 0}, headers=same).json()["votes"] == 0
    problem(client.post(f"/api/v1/comments/{cid}/vote", json={"value": 5}), 422)
    problem(client.post(f"/api/v1/comments/{cid}/vote", json={"value": 1}, headers={"X-Townsquare-Voter": "forged"}), 401)


def test_sorts_and_paging(client):
    ids = [created(post(client, f"c{i}"))["comment"]["id"] for i in range(5)]
    client.post(f"/api/v1/comments/{ids[3]}/vote", json={"value": 1})
    for _ in range(2):
        created(post(client, "r", parent_id=ids[1]))

    def order(sort):
        return [c["id"] for c in client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "sort": sort}).json()["comments"]]

    assert order("oldest") == ids
    assert order("newest") == ids[::-1]
    assert order("top")[0] == ids[3]
    assert order("replies")[0] == ids[1]
    seen, cursor = [], None
    while True:
        params = {"site": "daily", "uri": "/a", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/threads", params=params).json()
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    problem(client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "cursor": "garbage!"}), 400)


def test_load_more_replies(client):
    root = created(post(client, "root"))["comment"]["id"]
    replies = [created(post(client, f"r{i}", parent_id=root))["comment"]["id"] for i in range(5)]
    page = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "reply_limit": 2}).json()
    [top] = page["comments"]
    assert [r["id"] for r in top["replies"]] == replies[:2]
    assert top["more_replies"] == 3
    rest = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "parent": root,
                                                 "cursor": top["replies_cursor"], "limit": 10}).json()
    assert [r["id"] for r in rest["comments"]] == replies[2:]


def test_thread_list_and_counts(client):
    for uri in ("/x", "/y", "/z"):
        created(post(client, "hi", uri=uri, title=f"T{uri}"))
    created(post(client, "again", uri="/y"))
    listing = client.get("/api/v1/threads", params={"site": "daily", "limit": 2}).json()
    assert [t["uri"] for t in listing["threads"]] == ["/z", "/y"]
    assert listing["threads"][1] == {"uri": "/y", "title": "T/y", "url": "", "count": 2, "closed": False}
    rest = client.get("/api/v1/threads", params={"site": "daily", "cursor": listing["next_cursor"]}).json()
    assert [t["uri"] for t in rest["threads"]] == ["/x"] and rest["next_cursor"] is None
    counts = client.post("/api/v1/counts", json={"site": "daily", "uris": ["/x", "/y", "/nope"]}).json()
    assert counts == {"counts": {"/x": 1, "/y": 2, "/nope": 0}}


def test_unknown_thread_reads_empty(client):
    body = client.get("/api/v1/threads", params={"site": "daily", "uri": "/never"}).json()
    assert body["total"] == 0 and body["comments"] == []
    problem(client.get("/api/v1/threads", params={"site": "nope", "uri": "/a"}), 404)


def test_rate_limit_per_client(engine, settings):
    from starlette.testclient import TestClient

    from townsquare.app import create_app
    from tests.conftest import add_site

    add_site(engine, posts_per_minute=3)
    with TestClient(create_app(settings, engine)) as client:
        for i in range(3):
            created(post(client, f"ok {i}"))
        body = problem(post(client, "one too many"), 429)
        assert "Too many" in body["detail"]
    assert stored_count_engine(engine) == 3


def stored_count_engine(engine):
    with engine.connect() as conn:
        return len(conn.execute(select(comments.c.id)).all())


def test_thread_read_is_constant_queries(client):
    """No N+1: reading a thread costs the same number of queries at 3 and at 60 comments."""
    engine = client.app.state.core.engine
    statements = []

    def count(conn, cursor, statement, *args):
        # The live-stream poll shares the engine and may run meanwhile: it is not the read's cost.
        if statement.lstrip().upper().startswith("SELECT") and "thread_events" not in statement:
            statements.append(statement)

    def read_cost(n_more, uri):
        for i in range(n_more):
            created(post(client, f"c{i}", uri=uri))
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            client.get("/api/v1/threads", params={"site": "daily", "uri": uri, "limit": 500, "reply_limit": 500, "sort": "top"})
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    small = read_cost(3, "/small")
    big = read_cost(60, "/big")
    assert small == big <= 3  # the thread row, its outline, the shown comments


def test_cors_preflight_and_read(client):
    r = client.options("/api/v1/comments", headers={"Origin": "https://daily.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "https://daily.example"
    r = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}, headers={"Origin": "https://other.example"})
    assert r.headers["access-control-allow-origin"] == "https://other.example"


def test_health_metrics_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    created(post(client, "count me"))
    metrics = client.get("/metrics").text
    assert "townsquare_request_seconds" in metrics and 'townsquare_comments_created_total{status="published"}' in metrics
    spec = client.get("/api/openapi.json").json()
    assert {"/api/v1/comments", "/api/v1/threads", "/api/v1/counts", "/api/v1/comments/{comment_id}/vote"} <= set(spec["paths"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/v1/comments" in docs.text and "edit token" in docs.text
    home = client.get("/")
    assert home.status_code == 200 and 'src="http://testserver/embed.js"' in home.text


def test_closed_thread_refuses_posts(client):
    created(post(client, "first"))
    engine = client.app.state.core.engine
    with engine.begin() as conn:
        conn.execute(threads.update().values(closed=True))
    problem(post(client, "late"), 403)
