"""A moderator takes back their own decision: the comment returns to where it was, the audit log
keeps both entries, and nobody else's decision (or an old one) can be undone. Real databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from townsquare.errors import Conflict
from townsquare.moderation import actions
from townsquare.moderation.auth import key_actor
from townsquare.moderation.audit import Filters, entries
from townsquare.store.tables import comments, threads

from .moderation_support import add_moderator, post
from .test_moderation_service import app_client  # noqa: F401  (the fixture)


def status_and_count(engine, comment_id):
    with engine.connect() as conn:
        status = conn.execute(select(comments.c.status).where(comments.c.id == comment_id)).scalar_one()
        return status, conn.execute(select(threads.c.comment_count)).scalar_one()


def test_undo_returns_each_comment_to_where_it_was(app_client, engine):  # noqa: F811
    _, key = add_moderator(engine)
    actor = key_actor(engine, key)
    held = post(app_client, "Call +2348136370421 for the story")["comment"]["id"]
    shown = post(app_client, "A fine point about the budget.")["comment"]["id"]
    assert status_and_count(engine, held) == ("pending", 1)

    actions.approve(engine, actor, held)
    actions.undo(engine, actor, [held])
    assert status_and_count(engine, held) == ("pending", 1)

    actions.reject(engine, actor, shown, "Off topic")  # from the Reported or Published tab
    actions.undo(engine, actor, [shown])
    assert status_and_count(engine, shown) == ("published", 1)

    actions.review_many(engine, actor, "reject", [held, shown], "Spam")
    actions.undo(engine, actor, [held, shown])
    assert [status_and_count(engine, c)[0] for c in (held, shown)] == ["pending", "published"]

    logged = [(e.action, e.target) for e in entries(engine, Filters(tuple(actor.site_ids), None, None, None, None, 50))]
    assert logged[:3] == [("undo", f"comment:{shown}"), ("undo", f"comment:{held}"), ("reject", f"comment:{shown}")]
    # An undo is not a decision to undo again.
    with pytest.raises(Conflict):
        actions.undo(engine, actor, [held])


def test_only_your_own_recent_decision_can_be_undone(app_client, engine, monkeypatch):  # noqa: F811
    _, key = add_moderator(engine)
    _, other_key = add_moderator(engine, email="other@daily.example")
    me, other = key_actor(engine, key), key_actor(engine, other_key)
    held = post(app_client, "Call +2348136370421 for the story")["comment"]["id"]
    actions.approve(engine, me, held)
    with pytest.raises(Conflict, match="no decision of yours"):
        actions.undo(engine, other, [held])
    assert status_and_count(engine, held)[0] == "published"

    later = actions.now() + actions.UNDO_SECONDS + 1
    monkeypatch.setattr(actions, "now", lambda: later)
    with pytest.raises(Conflict):
        actions.undo(engine, me, [held])
    assert status_and_count(engine, held)[0] == "published"
