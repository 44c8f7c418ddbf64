"""The write path's two steps: input is bounded before the model runs, and the model never runs
while the database's writer lock is held."""

from __future__ import annotations

import threading

import pytest

from townsquare.moderation import service
from townsquare.moderation.toxicity import ToxicityResult
from townsquare.store import threads
from townsquare.store.db import writing

from .moderation_support import ORIGIN
from .store_support import insert_comment


class Watching:
    """A stand-in model that records each call and whether a writer could get in meanwhile."""

    def __init__(self, engine):
        self.engine, self.calls, self.writer_waited = engine, 0, False

    def score(self, text, limits=None):
        self.calls += 1
        done = threading.Event()

        def write():
            with writing(self.engine):
                done.set()

        t = threading.Thread(target=write, daemon=True)
        t.start()
        # Another writer gets in at once: nobody holds the writer lock while the model runs.
        self.writer_waited |= not done.wait(timeout=5)
        return ToxicityResult({"toxicity": 0.01, "insult": 0.01, "identity_attack": 0.01, "threat": 0.01,
                               "profanity": 0.01}, [])

    def score_many(self, texts, spans=True, limits=None):
        return [self.score(t) for t in texts]


@pytest.fixture
def model(monkeypatch, engine):
    watching = Watching(engine)
    monkeypatch.setattr(service, "default_scorer", lambda: watching)
    return watching


def _count(client):
    return client.get("/api/v1/threads", params={"site": "daily", "uri": "/w"}).json()["total"]


def test_a_huge_comment_is_refused_before_the_model_and_stores_nothing(client, model):
    huge = "word " * (250 * 1024 // 5)
    resp = client.post("/api/v1/comments", headers=ORIGIN,
                       json={"site": "daily", "uri": "/w", "text": huge, "author": {"name": "Big"}})
    assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"
    assert "this site allows" in resp.json()["detail"]
    check = client.post("/api/v1/moderation/check", json={"site": "daily", "text": "word " * 20_000})
    assert check.status_code == 422
    assert model.calls == 0 and _count(client) == 0


def test_the_model_runs_with_no_writer_lock_held(client, model):
    first = client.post("/api/v1/comments", headers=ORIGIN,
                        json={"site": "daily", "uri": "/w", "text": "A first remark.", "author": {"name": "Ann"}})
    assert first.status_code == 201, first.text
    reply = client.post("/api/v1/comments", headers=ORIGIN, json={
        "site": "daily", "uri": "/w", "text": "A reply.", "author": {"name": "Bob"},
        "parent_id": first.json()["comment"]["id"]})
    assert reply.status_code == 201, reply.text
    assert model.calls >= 2 and not model.writer_waited


def test_a_stored_comment_without_scores_is_scored_once(client, model, engine):
    """Imported comments carry no scores; the first reply under one pays for them, once."""
    with writing(engine) as conn:
        thread = threads.get_or_create(conn, 1, "/w", "", "")
        imported = insert_comment(conn, {"thread_id": thread.id, "author_name": "Old", "text": "An imported remark."})
        threads.touch(conn, thread.id, 1)

    def reply(text):
        resp = client.post("/api/v1/comments", headers=ORIGIN, json={
            "site": "daily", "uri": "/w", "text": text, "author": {"name": "Bob"}, "parent_id": imported})
        assert resp.status_code == 201, resp.text

    reply("A first reply.")
    assert model.calls == 2  # the reply and the imported comment above it
    reply("A second reply.")
    assert model.calls == 3  # only the new reply: the imported comment's scores were kept


def test_no_alert_row_when_nobody_is_subscribed(client, engine):
    from sqlalchemy import select

    from townsquare.store.alerts import alert_outbox

    resp = client.post("/api/v1/comments", headers=ORIGIN,
                       json={"site": "daily", "uri": "/w", "text": "Nobody follows this yet.", "author": {"name": "A"}})
    assert resp.status_code == 201
    with engine.connect() as conn:
        assert conn.execute(select(alert_outbox.c.id)).all() == []


def test_anyone_to_alert_matches_only_active_confirmed_subscriptions_of_the_asked_pairs(engine):
    from townsquare.store import subscriptions

    from .conftest import add_site

    site_id, other_id = add_site(engine, name="alerting"), add_site(engine, name="elsewhere")

    def sub(on, kind, scope, target, confirmed=1.0):
        with writing(engine) as conn:
            return subscriptions.ensure(conn, site_id=on, kind=kind, channel="email", target=target, scope=scope,
                                        delivery="instant", consent="test", now=1.0, confirmed=confirmed)

    def anyone(*match, site_id=site_id):
        with writing(engine) as conn:
            return subscriptions.any_confirmed(conn, site_id=site_id, match=list(match))

    sub(site_id, "thread", "thread:1", "unconfirmed@example.org", confirmed=None)
    sub(other_id, "thread", "thread:1", "other-site@example.org")
    ended = sub(site_id, "reply", "comment:7", "ended@example.org")
    with writing(engine) as conn:
        subscriptions.end(conn, ended.id, now=2.0)
    assert not anyone(("reply", "comment:7"), ("thread", "thread:1"), ("thread", ""))
    assert not anyone()

    sub(site_id, "thread", "", "everything@example.org")
    assert anyone(("thread", "thread:1"), ("thread", ""))  # the second of two pairs
    assert anyone(("reply", "comment:7"), ("thread", "thread:1"), ("thread", ""))  # the third of three
    assert not anyone(("thread", "thread:1"))
    assert not anyone(("thread", ""), site_id=other_id)
    sub(site_id, "moderator", "", "mod@example.org")
    assert anyone(("a", "1"), ("b", "2"), ("c", "3"), ("moderator", ""))  # more pairs than the built statement
