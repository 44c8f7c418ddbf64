"""Acceptance: the origin seed thread, posted comment by comment (in page order, with its nesting)
through the moderation pipeline with post-moderation and the real offline toxicity model."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from townsquare.config import SiteSettings
from townsquare.domain.render import render_markdown
from townsquare.importers.text import parse_text
from townsquare.moderation import service
from townsquare.moderation.inputs import Draft
from townsquare.moderation.toxicity import DEFAULT_MODEL_DIR
from townsquare.store import sites as site_store
from townsquare.store import threads as thread_store
from townsquare.store.db import make_engine, migrate, now

from .store_support import insert_comment

SEED = Path(__file__).parent / "fixtures" / "import" / "seed_000.txt"

pytestmark = pytest.mark.skipif(
    not (DEFAULT_MODEL_DIR / "head.npz").exists(), reason="the toxicity model is not built (training/ rebuilds it)"
)


@pytest.fixture(scope="module")
def seed_decisions(tmp_path_factory):
    """Post the 12 seed comments as the core does: decide inside the write transaction, then store.

    Replies are attached to their parent whatever the parent's status, as on the origin page,
    so every comment meets the same branch it met there."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('seed')}/seed.db")
    migrate(engine)
    page = parse_text(SEED)
    with engine.begin() as conn:
        site_id = site_store.create(conn, "daily", "Daily", [], {"moderation": "post"})
        rules = SiteSettings.model_validate(site_store.by_id(conn, site_id).settings)
        thread = thread_store.get_or_create(conn, site_id, "/putin-north-caucasus", page.title, "")
    ids: dict[int, int] = {}
    decisions = []
    for record in page.comments:
        parent_id = ids.get(record.parent_number) if record.parent_number else None
        email = record.author_name.lower().replace(" ", ".") + "@readers.example"
        draft = Draft(
            text=record.text, created=now(), parent_id=parent_id, thread_id=thread.id, author_name=record.author_name,
            author_email=email, author_key="key:" + email, ip_hash="ip:" + email, form_age=60.0,
        )
        with engine.begin() as conn:
            decision = service.decide(conn, site_id=site_id, rules=rules, thread=thread, draft=draft)
            ids[record.number] = insert_comment(conn, {
                "thread_id": thread.id, "parent_id": parent_id, "author_name": record.author_name,
                "author_email": email, "author_key": draft.author_key, "ip_hash": draft.ip_hash,
                "text": record.text, "quote": record.quote, "html": render_markdown(record.text, record.quote),
                "status": decision.status, "created": now(),
                "moderation": orjson.dumps(decision.as_json()).decode(),
            })
            thread_store.touch(conn, thread.id, int(decision.status == "published"))
        decisions.append((record, decision))
    engine.dispose()
    return decisions


def find(decisions, author: str, words: str):
    [(record, decision)] = [(r, d) for r, d in decisions if r.author_name == author and words in r.text]
    return record, decision


@pytest.mark.parametrize(
    ("author", "words", "labels"),
    [
        ("Julie Harbinger", "the muslims and their pharisee talmudists", {"identity_attack", "toxicity"}),
        ("oberts mail", "the stupidest creatures on the planet", {"insult", "toxicity"}),
        ("oberts mail", "Are you Putin’s boyfriend?", {"insult", "toxicity", "heated_branch"}),
    ],
)
def test_hate_and_insults_are_held_with_their_reasons(seed_decisions, author, words, labels):
    record, decision = find(seed_decisions, author, words)
    assert decision.status == "pending", decision.as_json()
    reasons = decision.as_json()["reasons"]
    held_for = {r["label"] for r in reasons if r["phase"] in ("toxicity", "heat")}
    assert held_for & labels, reasons
    assert all(r["detail"] for r in reasons)
    # The spans point into the comment's own text.
    for reason in reasons:
        for start, end in reason["spans"]:
            assert 0 <= start < end <= len(record.text)


@pytest.mark.parametrize(
    ("author", "words"),
    [
        ("MirM", "Putin is right."),
        ("Charles Smyth", "It’s not as if the Russians do not do the same thing"),
        ("ezimako", "or am I mistaken?"),
        ("Marcus Grant", "support for Jihadists by Russia?"),
    ],
)
def test_civil_comments_are_published(seed_decisions, author, words):
    _, decision = find(seed_decisions, author, words)
    assert decision.status == "published", decision.as_json()


def test_every_decision_carries_the_model_scores(seed_decisions):
    for _, decision in seed_decisions:
        scores = decision.as_json()["scores"]
        assert set(scores) == {"toxicity", "insult", "identity_attack", "threat", "profanity"}
        assert all(0 <= v <= 1 for v in scores.values())
