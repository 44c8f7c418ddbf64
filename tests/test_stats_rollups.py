"""The dashboard's per-day rollups, kept by the database's triggers, agree with a count made again
from the rows after every kind of change: posts, held posts, votes and withdrawn votes, reports
that hold a comment, moderators' decisions and their undo, authors' edits and deletes, an import
and an erasure. On SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest
from starlette.testclient import TestClient

from townsquare import privacy
from townsquare.moderation import actions
from townsquare.moderation import stats as stats_service
from townsquare.moderation.auth import key_actor
from townsquare.store import stats as rollups

from .moderation_support import add_moderator, add_site, moderation_app, post
from .store_support import insert_comment
from .test_import_support import FIXTURES, SIGNER, run_import

REMARKS = ("The council should publish the budget earlier.", "Bus lanes on the high street worked well in May.",
           "Our library needs longer opening hours.", "Who audits the harbour accounts?",
           "Street lights on Mill Road have been out for weeks.", "Thanks for covering the school closures.")
HELD_TEXT = "Call +2348136370421 for the story"  # held by the personal-data phase


def recounted(engine) -> tuple[dict, dict]:
    """The rollups as the triggers left them, and as a count from the rows gives them."""
    with engine.begin() as conn:
        kept = rollups.snapshot(conn)
        rollups.rebuild(conn)
        return kept, rollups.snapshot(conn)


def test_rollups_agree_with_a_recount_after_every_kind_of_change(engine, settings):
    site_id = add_site(engine, posts_per_minute=10_000, moderation_rules={"min_submit_seconds": 0})
    settings = settings.model_copy(update={"trust_proxy_headers": True})
    _, key = add_moderator(engine)
    actor = key_actor(engine, key)
    with TestClient(moderation_app(settings, engine), base_url="http://testserver", client=("127.0.0.1", 50000)) as c:
        posted = [post(c, REMARKS[n], uri=f"/story-{n % 2}", name=f"Reader {n}",
                       email=f"reader{n % 3}@readers.example") for n in range(6)]
        ids = [p["comment"]["id"] for p in posted]
        assert [p["comment"]["status"] for p in posted] == ["published"] * 6, [p["moderation"]["reasons"] for p in posted if p["moderation"]]
        token = {"Authorization": f"Bearer {posted[0]['edit_token']}"}
        held = post(c, HELD_TEXT, uri="/story-1", name="Caller", email="caller@readers.example")["comment"]["id"]
        held_too = post(c, HELD_TEXT + " today", name="Caller")["comment"]["id"]

        for n, cid in enumerate(ids[:4]):
            for ip in ("10.0.0.1", "10.0.0.2")[: n % 2 + 1]:
                c.post(f"/api/v1/comments/{cid}/vote", json={"value": 1}, headers={"x-forwarded-for": ip}).raise_for_status()
        withdrawn = c.post(f"/api/v1/comments/{ids[1]}/vote", json={"value": 1}, headers={"x-forwarded-for": "10.0.0.9"})
        c.post(f"/api/v1/comments/{ids[1]}/vote", json={"value": 0},
               headers={"x-forwarded-for": "10.0.0.9", "X-Townsquare-Voter": withdrawn.json()["voter_token"]}).raise_for_status()
        for ip in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):  # enough reports to hold it
            c.post(f"/api/v1/comments/{ids[2]}/report", json={"reason": "abuse"},
                   headers={"x-forwarded-for": ip}).raise_for_status()

        actions.approve(engine, actor, held)
        actions.reject(engine, actor, ids[3], "Off topic")
        actions.undo(engine, actor, [ids[3]])
        actions.review_many(engine, actor, "reject", [held_too, ids[4]], "Spam")
        edit = c.patch(f"/api/v1/comments/{ids[0]}", json={"text": "Call me on +2348136370421 about it."}, headers=token)
        assert edit.json()["comment"]["status"] == "pending"
        assert c.delete(f"/api/v1/comments/{ids[0]}", headers=token).status_code == 204

    kept, counted = recounted(engine)
    assert kept == counted
    days = kept["stats_days"]
    assert sum(d[2] + d[3] + d[4] + d[5] for d in days) == 8  # every comment once, by its status now
    assert sum(d[7] for d in days) == 6 and sum(d[8] for d in days) == 3  # votes left, reports
    assert {row[2] for row in kept["stats_held_reasons"]} >= {"reports"}

    # A bulk import and an erasure write rows past the services: the rollups follow them too.
    report = run_import(engine, "disqus", FIXTURES / "disqus.xml", site="daily")
    assert report.comments_imported > 0
    with engine.begin() as conn:
        assert privacy.erase_author(conn, SIGNER, "mirm@example.org", mode="delete")["comments"] == 1
        assert privacy.erase_author(conn, SIGNER, "reader1@readers.example", mode="anonymise")["comments"] >= 1
    kept, counted = recounted(engine)
    assert kept == counted
    assert_threads_add_up_to_their_site(kept)

    figures = stats_service.compute(engine, site_id, "daily", 365, __import__("time").time())
    assert sum(d.held for d in figures.per_day) == figures.held_read


def assert_threads_add_up_to_their_site(kept: dict) -> None:
    """Every per-thread rollup, added up over a site's threads, gives the site's (one site here)."""
    site_days: dict = {}
    for r in kept["stats_days"]:  # site, day, published, pending, rejected, deleted, commenters, votes, reports
        site_days[r[1]] = (*r[2:6], r[7], r[8])
    thread_days: dict = {}
    for r in kept["stats_thread_days"]:  # thread, day, site, comments, statuses…, commenters, votes, reports
        old = thread_days.get(r[1], (0,) * 6)
        thread_days[r[1]] = tuple(a + b for a, b in zip(old, (*r[4:8], r[9], r[10])))
    assert {d: v for d, v in thread_days.items() if any(v)} == {d: v for d, v in site_days.items() if any(v)}
    for site_table, thread_table in (("stats_toxicity", "stats_thread_toxicity"),
                                     ("stats_held_reasons", "stats_thread_held_reasons")):
        summed: dict = {}
        for _thread, day, key, n in kept[thread_table]:
            summed[(day, key)] = summed.get((day, key), 0) + n
        assert {k: n for k, n in summed.items() if n} == {(day, key): n for _site, day, key, n in kept[site_table] if n}


def test_migrating_counts_the_thread_rollups_of_existing_comments(db_url):
    """A database with comments from before per-thread rollups gets them counted by the migration
    (0012), and the triggers keep them from there."""
    from townsquare.store import threads as thread_store
    from townsquare.store.db import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine, "0011_thread_keyset")
    site_id = add_site(engine)
    with engine.begin() as conn:
        thread = thread_store.get_or_create(conn, site_id, "/a", "A", "").id
        for n, status in enumerate(("published", "pending", "deleted", "published")):
            insert_comment(conn, {"thread_id": thread, "author_name": "A", "author_key": f"k{n % 2}", "text": "t",
                                  "status": status,
                                  "moderation": orjson.dumps({"scores": {"toxicity": 0.25}, "reasons": []}).decode()})
    migrate(engine)
    with engine.begin() as conn:
        counted_then = rollups.snapshot(conn)
        insert_comment(conn, {"thread_id": thread, "author_name": "B", "author_key": "k9", "text": "t"})
    (row,) = counted_then["stats_thread_days"]
    assert row[4:11] == (2, 1, 0, 1, 2, 0, 0)  # published, pending, rejected, deleted, commenters, votes, reports
    assert [(r[2], r[3]) for r in counted_then["stats_thread_toxicity"]] == [(2, 3)]
    assert [(r[2], r[3]) for r in counted_then["stats_thread_held_reasons"]] == [("none", 1)]
    kept, counted = recounted(engine)
    assert kept == counted and kept["stats_thread_days"][0][4] == 3
    engine.dispose()


@pytest.mark.parametrize("path", ["row by row", "bulk"])
def test_a_malformed_stored_decision_counts_as_unscored_and_held_for_no_reason(engine, path):
    from townsquare.store import threads as thread_store

    site_id = add_site(engine)
    decisions = ("not json", "[1, 2]", orjson.dumps({"scores": {"toxicity": True}, "reasons": {"phase": "x"}}).decode(),
                 orjson.dumps({"scores": {"toxicity": 1}, "reasons": [{"phase": "links"}, {"phase": "links"}]}).decode())
    with engine.begin() as conn:
        thread = thread_store.get_or_create(conn, site_id, "/a", "A", "").id

        def store_all():
            return [insert_comment(conn, {"thread_id": thread, "author_name": "A", "author_key": "k", "text": "t",
                                          "status": "pending", "moderation": d}) for d in decisions]
        if path == "bulk":
            with rollups.bulk(conn):
                rollups.add_comments(conn, store_all())
        else:
            store_all()
    kept, counted = recounted(engine)
    assert kept == counted
    assert [(r[2], r[3]) for r in kept["stats_held_reasons"]] == [("links", 1), ("none", 3)]
    assert [(r[2], r[3]) for r in kept["stats_toxicity"]] == [(9, 1)]
    assert [r[6] for r in kept["stats_days"]] == [1]  # one commenter


def test_the_busiest_threads_of_any_period_add_up_days_and_whole_blocks(engine):
    from townsquare.store import threads as thread_store

    site_id = add_site(engine)
    today = int(__import__("time").time() // rollups.DAY)
    posted: list[tuple[str, int]] = []
    with engine.begin() as conn:
        uris = [f"/t{i}" for i in range(5)]
        ids = {u: thread_store.get_or_create(conn, site_id, u, u, "").id for u in uris}
        for k in range(0, 200, 3):  # across several 32-day blocks
            for i, uri in enumerate(uris):
                if (k + i) % (i + 2) == 0:
                    status = "deleted" if k % 9 == 0 else "published"
                    insert_comment(conn, {"thread_id": ids[uri], "author_name": "A", "text": "t", "status": status,
                                          "created": (today - k) * rollups.DAY + 600})
                    if status != "deleted":
                        posted.append((uri, today - k))
    with engine.connect() as conn:
        for days in (1, 7, 30, 31, 32, 33, 64, 90, 200):
            first = today - days + 1
            expected = {}
            for uri, day in posted:
                if day >= first:
                    expected[uri] = expected.get(uri, 0) + 1
            got = rollups.top_threads(conn, site_id, first, 10)
            assert {t.uri: t.comments for t in got} == expected, days


def test_a_post_and_a_decision_on_two_threads_do_not_deadlock_on_postgresql(pg_url):
    """A moderator's action on an older comment of thread X and then on today's comment of
    thread Y, while a reader posts on X: the post waits for X before it touches today's counts,
    so the action can finish (were the counts locked first, each would wait for the other)."""
    import threading
    import time

    from sqlalchemy import text

    from townsquare.store import comments as comment_store
    from townsquare.store import threads as thread_store
    from townsquare.store.db import make_engine, migrate

    engine = make_engine(pg_url)
    migrate(engine)
    site_id = add_site(engine)
    now = time.time()
    with engine.begin() as conn:
        x = thread_store.get_or_create(conn, site_id, "/x", "X", "").id
        y = thread_store.get_or_create(conn, site_id, "/y", "Y", "").id
        older = insert_comment(conn, {"thread_id": x, "author_name": "A", "text": "t", "status": "pending",
                                      "created": now - 3 * rollups.DAY})
        today = insert_comment(conn, {"thread_id": y, "author_name": "B", "text": "t", "status": "pending", "created": now})
    failures = []

    def reader_posts():
        try:
            with engine.begin() as conn:
                insert_comment(conn, {"thread_id": x, "author_name": "C", "text": "t", "created": now})
                thread_store.touch(conn, x, 1)
        except Exception as e:  # noqa: BLE001 - the test reports it
            failures.append(e)

    with engine.connect() as moderator:
        with moderator.begin():
            comment_store.update_comment(moderator, older, status="published")
            thread_store.touch(moderator, x, 1)
            post = threading.Thread(target=reader_posts)
            post.start()
            with engine.connect() as watch:  # until the post waits for a lock (bounded)
                for _ in range(200):
                    if watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND datname = current_database()")).scalar():
                        break
                    time.sleep(0.05)
                    watch.rollback()
            comment_store.update_comment(moderator, today, status="published")
            thread_store.touch(moderator, y, 1)
        post.join(30)
    assert not post.is_alive() and failures == []
    kept, counted = recounted(engine)
    assert kept == counted and sum(d[2] for d in kept["stats_days"]) == 3
    engine.dispose()
