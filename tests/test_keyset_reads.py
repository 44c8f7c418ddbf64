"""A thread read reads only the page it answers (keyset pages, then replies level by level), and
answers exactly what shaping the whole thread's outline answered: same comments, order, counts,
cursors and `total`, page after page, for every sort (SQLite and PostgreSQL)."""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import update

from tests.conftest import add_site
from tests.store_support import insert_comment
from tests.test_import_support import FIXTURES, SETTINGS, SIGNER, sqlite_database, stored
from townsquare.importers.disqus import disqus_records
from townsquare.importers.loader import Loader
from townsquare.importers.records import CommentRecord, ThreadRecord
from townsquare import services
from townsquare.domain import tree
from townsquare.errors import BadCursor, NotFound
from townsquare.services import ThreadPage
from townsquare.store import comments as comment_store
from townsquare.store import privacy as privacy_store
from townsquare.store import threads as thread_store
from townsquare.store.db import make_engine, migrate, reading
from townsquare.store.tables import comments

STATUSES = ["published"] * 6 + ["pending", "deleted", "rejected"]


def whole_outline_answer(core, site: str, uri: str, **params) -> dict:
    """The answer as the read used to build it: every comment's outline, shaped by `domain.tree`."""
    page = ThreadPage(site, uri, **params)
    core.cached_thread_json(page)  # looks the thread's head up
    with reading(core.engine) as conn:
        keys = comment_store.thread_keys(conn, page.head.id)
        roots, nodes, total = tree.build(keys)
        pinned, reply_limit = None, page.reply_limit
        if page.parent is None and page.sort == "picks":
            siblings, key, reply_limit = tree.picks(nodes), tree.sort_key(page.sort), 0
        elif page.parent is None:
            siblings, key = roots, tree.sort_key(page.sort)
            found = nodes.get(page.head.pinned_id)
            pinned = found if found is not None and found.visible and found.row.parent_id is None else None
        else:
            siblings, key = nodes[page.parent].children, tree.conversation_key
        plan = tree.plan(siblings, key, page.limit, page.cursor, reply_limit, pinned=pinned)
        shown = comment_store.views(conn, plan.ids())
    return services._shape_thread(site, page.head, plan, shown, total)


def paged_answer(core, site: str, uri: str, **params) -> dict:
    page = ThreadPage(site, uri, **params)
    core.cached_thread_json(page)
    return orjson.loads(core.build_thread_json(page))


def walk_both(core, uri: str, **params) -> list[int]:
    """Every answer a reader's client fetches (pages, then every 'more replies'), each compared
    with the whole-outline answer; the ids seen, in order."""
    seen, pending = [], []

    def compare(**extra):
        args = {**params, **extra}
        old, new = whole_outline_answer(core, "daily", uri, **args), paged_answer(core, "daily", uri, **args)
        assert new == orjson.loads(orjson.dumps(old)), args
        stack = list(reversed(new["comments"]))
        while stack:
            item = stack.pop()
            seen.append(item["id"])
            if item.get("more_replies"):
                pending.append((item["id"], item["replies_cursor"]))
            stack.extend(reversed(item["replies"]))
        return new

    body = compare()
    while body["next_cursor"]:
        body = compare(cursor=body["next_cursor"])
    while pending:
        parent, cursor = pending.pop()
        while True:
            body = compare(parent=parent, **({"cursor": cursor} if cursor else {}))
            cursor = body["next_cursor"]
            if not cursor:
                break
    return seen


def build_thread(engine, uri: str, rng: random.Random, n: int, ties: bool = True) -> set[int]:
    """A thread of n comments at several depths: some held, rejected or deleted (with published
    replies below some of them), votes, equal times; then statuses moved the ways the product
    moves them (moderation, author deletes, erasure), so the kept reply counts are exercised."""
    with engine.begin() as conn:
        site_id = thread_store.head(conn, "daily", uri).site_id
        thread = thread_store.get_or_create(conn, site_id, uri, "T", "")
        ids, t = [], 1_000_000.0
        for i in range(n):
            r = rng.random()
            parent = None if not ids or r < 0.25 else (ids[-1] if r < 0.55 else rng.choice(ids))
            t += 0 if ties and rng.random() < 0.2 else 1  # equal times: the id breaks ties
            ids.append(insert_comment(conn, {"thread_id": thread.id, "parent_id": parent, "author_name": f"a{i}",
                                             "text": f"c{i}", "status": rng.choice(STATUSES), "created": t}))
        for cid in ids:
            likes, dislikes = rng.randrange(4), rng.randrange(3)
            if likes or dislikes:
                conn.execute(update(comments).where(comments.c.id == cid).values(likes=likes, dislikes=dislikes))
        for cid in rng.sample(ids, n // 5):
            comment_store.update_comment(conn, cid, status=rng.choice(["published", "pending", "rejected"]))
        for cid in rng.sample(ids, n // 10):
            comment_store.scrub(conn, cid, name="[deleted]")
        privacy_store.delete_comments(conn, rng.sample(ids, n // 20), placeholder_name="[deleted]", at=t)
        for cid in rng.sample(ids, n // 8):  # editors' picks, some of them not published
            comment_store.set_featured(conn, cid, True)
        views = comment_store.views(conn, ids)
        visible = {c for c, v in views.items() if v.status == "published"}
        tops = sorted(c for c in visible if views[c].parent_id is None)
        if tops:
            thread_store.set_pinned(conn, thread.id, rng.choice(tops))
        thread_store.touch(conn, thread.id, len(visible))
    return visible


@pytest.mark.parametrize("params", [
    {"sort": "oldest", "limit": 7, "reply_limit": 3},
    {"sort": "newest", "limit": 5, "reply_limit": 2},
    {"sort": "top", "limit": 4, "reply_limit": 5},
    {"sort": "replies", "limit": 6, "reply_limit": 1},
    {"sort": "oldest", "limit": 50, "reply_limit": 0},
    {"sort": "top", "limit": 5000, "reply_limit": 5000},
    {"sort": "picks", "limit": 3, "reply_limit": 2},
])
def test_page_walk_matches_the_whole_outline_read(client, params):
    core = client.app.state.core
    visible = build_thread(core.engine, "/walk", random.Random(7), 400)
    seen = walk_both(core, "/walk", **params)
    if params["sort"] != "picks":  # picks at any depth: a pick may also be a reply a reader opens
        assert len(seen) == len(set(seen)), "a comment appeared twice"
        assert visible <= set(seen), "a published comment was never reached"


def test_deep_chains_stop_at_the_depth_limit_as_before(client):
    core = client.app.state.core
    with core.engine.begin() as conn:
        site_id = thread_store.head(conn, "daily", "/deep").site_id
        thread = thread_store.get_or_create(conn, site_id, "/deep", "T", "")
        parent, published = None, 0
        for i in range(tree.MAX_DEPTH + 30):
            published += i % 7 != 3
            parent = insert_comment(conn, {"thread_id": thread.id, "parent_id": parent, "author_name": "a",
                                           "text": f"c{i}", "status": "deleted" if i % 7 == 3 else "published",
                                           "created": 1000.0 + i})
        thread_store.touch(conn, thread.id, published)
    seen = walk_both(core, "/deep", sort="oldest", limit=10, reply_limit=10)
    assert len(seen) == tree.MAX_DEPTH + 30


def test_bad_cursors_and_missing_parents_answer_as_before(client):
    core = client.app.state.core
    visible = build_thread(core.engine, "/odd", random.Random(3), 60)
    with pytest.raises(BadCursor):
        paged_answer(core, "daily", "/odd", sort="top", cursor=tree.encode_cursor((1, 2)))
    with pytest.raises(tree.CursorError):
        whole_outline_answer(core, "daily", "/odd", sort="top", cursor=tree.encode_cursor((1, 2)))
    with pytest.raises(NotFound):
        paged_answer(core, "daily", "/odd", parent=10_000_000)
    # A comment without replies: nothing to page, so no cursor is wrong.
    leaf = max(visible)
    assert whole_outline_answer(core, "daily", "/odd", parent=leaf, cursor="x")["comments"] == []
    assert paged_answer(core, "daily", "/odd", parent=leaf, cursor="x")["comments"] == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 80), sort=st.sampled_from(tree.SORTS),
       limit=st.integers(1, 12), reply_limit=st.integers(0, 6))
def test_any_thread_reads_the_same_page_by_page(client, seed, n, sort, limit, reply_limit):
    core = client.app.state.core
    uri = f"/h{seed}-{n}-{sort}-{limit}-{reply_limit}"
    build_thread(core.engine, uri, random.Random(seed), n)
    walk_both(core, uri, sort=sort, limit=limit, reply_limit=reply_limit)


@pytest.fixture
def wide_thread(client):
    """More than the budget at every level: 600 top-level comments, 600 replies to the first,
    and 30 replies under each of the next 30."""
    core = client.app.state.core
    with core.engine.begin() as conn:
        site_id = thread_store.head(conn, "daily", "/wide").site_id
        thread = thread_store.get_or_create(conn, site_id, "/wide", "T", "")
        t = 0.0

        def add(parent):
            nonlocal t
            t += 1
            return insert_comment(conn, {"thread_id": thread.id, "parent_id": parent, "author_name": "a",
                                         "text": "c", "status": "published", "created": t})

        tops = [add(None) for _ in range(600)]
        firsts = [add(tops[0]) for _ in range(600)]
        for top in tops[1:31]:
            for _ in range(30):
                add(top)
        add(firsts[0])
        # Every comment an editor's pick, so the picks listing is as wide as the rest.
        conn.execute(update(comments).where(comments.c.thread_id == thread.id).values(featured=True))
        thread_store.touch(conn, thread.id, 600 + 600 + 900 + 1)
    return core


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 5000), reply_limit=st.integers(0, 5000), sort=st.sampled_from(tree.SORTS),
       parent=st.booleans())
def test_no_answer_carries_more_than_the_budget(client, wide_thread, limit, reply_limit, sort, parent):
    params = {"site": "daily", "uri": "/wide", "limit": limit, "reply_limit": reply_limit, "sort": sort}
    if parent:
        params["parent"] = client.get("/api/v1/threads", params={"site": "daily", "uri": "/wide",
                                                                   "limit": 1}).json()["comments"][0]["id"]
    body = client.get("/api/v1/threads", params=params).json()
    stack, shown = list(body["comments"]), 0
    while stack:
        item = stack.pop()
        shown += 1
        stack.extend(item["replies"])
    assert min(limit, tree.MAX_COMMENTS) <= shown <= tree.MAX_COMMENTS


def expected_reply_counts(rows) -> dict[int, int]:
    return comment_store.published_below([(r["id"], r["parent_id"], r["status"]) for r in rows])


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_imports_keep_reply_counts(tmp_path, batch_size):
    """Batches answering comments of earlier batches, and replies arriving before their parents."""
    engine = sqlite_database(tmp_path)
    try:
        Loader(engine, site="news", source="disqus", signer=SIGNER, site_defaults=SETTINGS.site_defaults,
               batch_size=batch_size).run(disqus_records(FIXTURES / "disqus.xml"), fingerprint="d")

        def records():
            yield ThreadRecord(old_id="t", uri="/t")
            for i in range(6, 0, -1):  # the deepest reply first
                yield CommentRecord(old_id=f"c{i}", thread_old_id="t", parent_old_id=f"c{i - 1}" if i > 1 else None,
                                    author_name=f"level {i}", text="x", created=float(i))

        Loader(engine, site="news", source="test", signer=SIGNER, site_defaults=SETTINGS.site_defaults,
               batch_size=batch_size).run(records(), fingerprint="t")
        rows = stored(engine)
        assert any(r["reply_count"] for r in rows)
        assert {r["id"]: r["reply_count"] for r in rows} == expected_reply_counts(rows)
    finally:
        engine.dispose()


def test_the_migration_counts_the_replies_already_stored(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0010_newsroom_tools")  # the revision before reply counts
        add_site(engine, "daily")
        with engine.begin() as conn:
            thread_id = thread_store.get_or_create(conn, 1, "/a", "", "").id
            ids = []
            for i, status in enumerate(["published", "deleted", "published", "pending", "published"]):
                parent = ids[i // 2] if ids else None
                ids.append(conn.execute(comments.insert().values(
                    thread_id=thread_id, parent_id=parent, author_name="a", text="t", html="t", status=status,
                    created=float(i), likes=0, dislikes=0)).inserted_primary_key[0])
        migrate(engine)
        rows = stored(engine)
        assert {r["id"]: r["reply_count"] for r in rows} == expected_reply_counts(rows)
        assert rows[0]["reply_count"] == 2
    finally:
        engine.dispose()


def test_posting_and_deleting_through_the_api_keep_reply_counts(client):
    core, rng, ids, tokens = client.app.state.core, random.Random(11), [], {}
    for i in range(40):
        parent = rng.choice(ids) if ids and rng.random() < 0.7 else None
        body = {"site": "daily", "uri": "/api", "text": f"Comment number {i}", "author": {"name": "Ann"}}
        if parent is not None:
            body["parent_id"] = parent
        resp = client.post("/api/v1/comments", json=body, headers={"Origin": "https://daily.example"})
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["comment"]["id"])
        tokens[ids[-1]] = resp.json()["edit_token"]
    for cid in rng.sample(ids, 12):
        resp = client.delete(f"/api/v1/comments/{cid}", headers={"Authorization": f"Bearer {tokens[cid]}",
                                                                 "Origin": "https://daily.example"})
        assert resp.status_code == 204, resp.text
    for sort in tree.SORTS:
        walk_both(core, "/api", sort=sort, limit=3, reply_limit=2)
    with reading(core.engine) as conn:
        rows = [{"id": k.id, "parent_id": k.parent_id, "status": k.status, "reply_count": k.reply_count}
                for k in comment_store.thread_keys(conn, thread_store.head(conn, "daily", "/api").id)]
    assert {r["id"]: r["reply_count"] for r in rows} == expected_reply_counts(rows)
    assert sum(r["status"] == "published" for r in rows) == 28
