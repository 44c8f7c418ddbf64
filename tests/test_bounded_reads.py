"""Thread answers are bounded: at most `tree.MAX_COMMENTS` comments whatever the parameters,
and paging with the cursors still reaches every comment exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.store_support import insert_comment
from townsquare.domain import tree
from townsquare.store import threads as thread_store

TOP, WIDE, DEEP = 620, 700, 120


@pytest.fixture
def big_thread(client):
    """620 top-level comments; the first has 700 direct replies, the second a 120-deep chain, and
    every tenth has a few replies with replies of their own; some held or deleted."""
    engine = client.app.state.core.engine
    visible, t = set(), 1_000_000.0
    with engine.begin() as conn:
        site_id = thread_store.head(conn, "daily", "/big").site_id
        thread = thread_store.get_or_create(conn, site_id, "/big", "Big", "")

        def add(parent, status="published"):
            nonlocal t
            t += 1
            cid = insert_comment(conn, {"thread_id": thread.id, "parent_id": parent, "author_name": "A",
                                        "text": f"c{t}", "status": status, "created": t})
            if status == "published":
                visible.add(cid)
            return cid

        tops = [add(None, "deleted" if i == 5 else "published") for i in range(TOP)]
        for _ in range(WIDE):
            add(tops[0])
        parent = tops[1]
        for _ in range(DEEP):
            parent = add(parent)
        for i in range(0, TOP, 10):
            for j in range(3):
                r = add(tops[i], "pending" if j == 2 else "published")
                add(r)  # a visible reply under a held one keeps it as a placeholder
        thread_store.touch(conn, thread.id, len(visible))
    return visible


def walk(client, **params):
    """Every answer a reader's client would fetch: top-level pages, then every 'more replies'."""
    seen, sizes, pending = [], [], []

    def visit(items):
        for item in items:
            seen.append(item["id"])
            visit(item["replies"])
            if item.get("more_replies"):
                pending.append((item["id"], item["replies_cursor"]))

    def fetch(**extra):
        resp = client.get("/api/v1/threads", params={"site": "daily", "uri": "/big", **params, **extra})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        sizes.append(count(body["comments"]))
        visit(body["comments"])
        return body

    body = fetch()
    total = body["total"]
    while body["next_cursor"]:
        body = fetch(cursor=body["next_cursor"])
    while pending:
        parent, cursor = pending.pop()
        while True:
            body = fetch(parent=parent, **({"cursor": cursor} if cursor else {}))
            cursor = body["next_cursor"]
            if not cursor:
                break
    return seen, sizes, total


def count(items):
    return sum(1 + count(i["replies"]) for i in items)


@pytest.mark.parametrize("params", [
    {"limit": 5000, "reply_limit": 5000},
    {"limit": 50, "reply_limit": 20, "sort": "top"},
    {"limit": 499, "reply_limit": 3, "sort": "replies"},
    {"limit": 7, "reply_limit": 0, "sort": "newest"},
])
def test_every_answer_is_bounded_and_paging_loses_nothing(client, big_thread, params):
    seen, sizes, total = walk(client, **params)
    assert max(sizes) <= tree.MAX_COMMENTS
    assert len(seen) == len(set(seen)), "a comment appeared twice"
    assert big_thread <= set(seen), "a visible comment was never reached"
    assert total == len(big_thread)


def test_largest_request_is_cut_to_the_budget(client, big_thread):
    resp = client.get("/api/v1/threads", params={"site": "daily", "uri": "/big", "limit": 5000, "reply_limit": 5000})
    body = resp.json()
    assert count(body["comments"]) == tree.MAX_COMMENTS
    assert body["next_cursor"]  # the rest of the top level is one cursor away
