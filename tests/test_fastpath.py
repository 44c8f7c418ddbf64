"""Plain thread reads are answered before the framework; everything else still gets the full API."""

from __future__ import annotations

from townsquare.web.fastpath import _page

from tests.test_api import ORIGIN, created, post, problem


def test_plain_reads_match_the_service(client):
    root = created(post(client, "root"))["comment"]["id"]
    created(post(client, "reply", parent_id=root))
    core = client.app.state.core
    for params in ({}, {"sort": "newest", "limit": "1"}, {"reply_limit": "0"}):
        r = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", **params})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        expected = core.read_thread_json("daily", "/a", **{k: (v if k == "sort" else int(v)) for k, v in params.items()})
        assert r.content == expected
    # A write by any path moves readers to the new version at once.
    created(post(client, "later"))
    assert client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()["total"] == 3


def test_everything_else_reaches_the_api(client):
    created(post(client, "x"))
    problem(client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "sort": "loudest"}), 422)
    problem(client.get("/api/v1/threads", params={"site": "daily", "uri": "/a", "limit": "0"}), 422)
    problem(client.get("/api/v1/threads", params={"site": "nope", "uri": "/a"}), 404)
    listing = client.get("/api/v1/threads", params={"site": "daily"}).json()
    assert [t["uri"] for t in listing["threads"]] == ["/a"]
    r = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}, headers=ORIGIN)
    assert r.headers["access-control-allow-origin"] == ORIGIN["Origin"]
    assert 'route="/api/v1/threads",status="200"' in client.get("/metrics").text


def test_which_requests_take_the_fast_path():
    assert _page(b"site=daily&uri=%2Fa&sort=top&limit=10&reply_limit=0").sort == "top"
    for query in (b"site=daily", b"uri=/a", b"site=daily&uri=/a&cursor=abc", b"site=daily&uri=/a&parent=3",
                  b"site=daily&uri=/a&limit=x", b"site=daily&uri=/a&limit=5001", b"site=daily&uri=/a&extra=1",
                  b"site=daily&uri=/a&sort=loudest", b"\xff"):
        assert _page(query) is None, query


def test_counts_fast_and_slow_paths_agree(client):
    created(post(client, "one", uri="/x"))
    r = client.post("/api/v1/counts", json={"site": "daily", "uris": ["/x", "/none"]})
    assert r.status_code == 200 and r.json() == {"counts": {"/x": 1, "/none": 0}}
    assert r.headers["content-type"] == "application/json"
    problem(client.post("/api/v1/counts", content=b"{nope", headers={"content-type": "application/json"}), 400)
    problem(client.post("/api/v1/counts", json={"site": "daily", "uris": ["/x"], "extra": 1}), 422)
    problem(client.post("/api/v1/counts", json={"site": "daily", "uris": "/x"}), 422)
    problem(client.post("/api/v1/counts", json={"site": "nope", "uris": ["/x"]}), 404)
    problem(client.post("/api/v1/counts", json={"site": "daily", "uris": ["/u"] * 501}), 422)
    problem(client.post("/api/v1/counts", content=b"x" * 270_000, headers={"content-type": "application/json"}), 413)
    assert 'route="/api/v1/counts",status="200"' in client.get("/metrics").text


def test_counts_of_awkward_uri_lists(client):
    """The URI list reaches the database as one parameter; any string must come back as sent."""
    odd = ["/x", "/é?q=1&b='2'", '/"quoted"', "/a b", "/%41", "/" + "z" * 1999]
    for uri in odd[:3]:
        created(post(client, f"on {uri}", uri=uri))
    created(post(client, "again", uri="/x"))
    r = client.post("/api/v1/counts", json={"site": "daily", "uris": odd + ["/x"]}).json()
    assert r == {"counts": {"/x": 2, "/é?q=1&b='2'": 1, '/"quoted"': 1, "/a b": 0, "/%41": 0, "/" + "z" * 1999: 0}}
    assert client.post("/api/v1/counts", json={"site": "daily", "uris": []}).json() == {"counts": {}}
    problem(client.post("/api/v1/counts", json={"site": "nope", "uris": []}), 404)
    # The slow path (the framework's validation) gives the same answer as the fast one.
    assert client.app.state.core.counts("daily", ["/x", "/none"]) == {"counts": {"/x": 2, "/none": 0}}


def test_posting_on_the_fast_path_answers_as_the_api(client):
    r = post(client, "Fast *and* checked.")
    body = created(r)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["access-control-allow-origin"] == ORIGIN["Origin"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert body["comment"]["html"].strip() == "<p>Fast <em>and</em> checked.</p>" and body["edit_token"]
    # What the schema refuses reaches the app, which names the field; nothing is stored.
    bad = problem(client.post("/api/v1/comments", json={"site": "daily", "uri": "/a", "text": 5,
                                                          "author": {"name": "A"}}, headers=ORIGIN), 422)
    assert bad["errors"][0]["field"] == "text"
    problem(client.post("/api/v1/comments", json={"site": "daily", "uri": "/a", "text": "x", "author": {"name": "A"},
                                                  "extra": 1}, headers=ORIGIN), 422)
    problem(client.post("/api/v1/comments", content=b"{nope", headers={**ORIGIN, "content-type": "application/json"}),
            400)
    problem(client.post("/api/v1/comments", content=b'{"site": "daily"}', headers={**ORIGIN, "content-type": "text/plain"}),
            422)
    # What the service refuses is answered as the app answers it.
    problem(post(client, "x", parent_id=999_999), 404)
    problem(client.post("/api/v1/comments", json={"site": "nope", "uri": "/a", "text": "x", "author": {"name": "A"}},
                        headers=ORIGIN), 404)
    problem(post(client, "word " * 40_000), 422)  # longer than the site allows, within the body limit
    assert client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}).json()["total"] == 1
    assert 'route="/api/v1/comments",status="201"' in client.get("/metrics").text
