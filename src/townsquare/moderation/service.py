"""Moderation entry points: `decide` (called by the core inside the write transaction for every
new or edited comment) and `check` (the pre-submit nudge)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from townsquare.moderation import facts as store_facts
from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.phases import heat
from townsquare.moderation.pipeline import moderate, skipped
from townsquare.moderation.policy import Decision
from townsquare.moderation.scoring import Scorer, ScorerUnavailable, default_scorer
from townsquare.moderation.settings import ModerationSettings, for_site
from townsquare.moderation.threads import mark_heated
from townsquare.store.db import Connection, now

if TYPE_CHECKING:
    from townsquare.moderation.toxicity import ToxicityResult

MODEL_PHASES = frozenset({"toxicity", "heat"})


def draft_from(values: dict[str, Any], created: float) -> Draft:
    """The core's draft mapping as a `Draft`; keys the pipeline does not use are ignored."""
    elapsed_ms = values.get("elapsed_ms")
    return Draft(
        text=values["text"],
        created=created,
        author_name=values.get("author_name") or "",
        author_email=values.get("author_email"),
        author_key=values.get("author_key"),
        ip_hash=values.get("ip_hash"),
        user_id=values.get("user_id"),
        thread_id=values.get("thread_id"),
        parent_id=values.get("parent_id"),
        is_edit=bool(values.get("is_edit")),
        comment_id=values.get("comment_id"),
        honeypot=values.get("honeypot"),
        form_age=elapsed_ms / 1000 if elapsed_ms is not None else None,
    )


def prescore(text: str) -> ToxicityResult | None:
    """Score a draft before the write transaction opens, so that the model never runs while the
    database's write lock is held (every other writer would wait for it)."""
    try:
        return default_scorer().score(text)
    except ScorerUnavailable:
        return None


def decide(conn: Connection, *, site: dict[str, Any], thread: dict[str, Any], draft: dict[str, Any],
           scorer: Scorer | None = None, prescored: ToxicityResult | None = None) -> Decision:
    """Moderate a new or edited comment. Records a heated branch (and its slow mode) on the thread.

    `prescored` is the draft's result from `prescore`, when the caller scored it up front."""
    settings = for_site(site["settings_obj"])
    d = draft_from({**draft, "thread_id": thread["id"]}, now())
    facts = store_facts.gather(conn, site_id=site["id"], thread=thread, draft=d, settings=settings)
    facts = _with_scores(d, facts, settings, scorer, prescored)
    decision = moderate(d, facts, settings)
    exchange = next((r for r in decision.results if r.phase == heat.NAME and r.action), None)
    if exchange is not None:
        branch = [c for reason in exchange.reasons for c in reason.comments]
        mark_heated(conn, thread["id"], branch, d.created, settings.heat_slow_mode)
    return decision


def check(site: dict[str, Any], text: str, scorer: Scorer | None = None) -> dict[str, Any]:
    """What the pipeline would decide for this text from a new author with no thread context:
    the pre-submit nudge. Stores nothing."""
    settings = for_site(site["settings_obj"])
    d = Draft(text=text, created=now())
    facts = _with_scores(d, Facts(), settings, scorer)
    decision = moderate(d, facts, settings)
    return {
        "decision": decision.decision,
        "nudge": decision.nudge or any(r.phase == "toxicity" and r.action in ("hold", "reject") for r in decision.results),
        "scores": {k: round(v, 4) for k, v in decision.scores.items()},
        "reasons": decision.reasons(),
    }


def _with_scores(draft: Draft, facts: Facts, settings: ModerationSettings, scorer: Scorer | None,
                 prescored: ToxicityResult | None = None) -> Facts:
    """Score the draft (and any ancestors stored without scores) unless its author skips both
    model phases."""
    if MODEL_PHASES <= skipped(draft, facts, settings):
        return facts
    unscored = [a for a in facts.ancestors if a.scores is None]
    if prescored is not None and not unscored:
        return dataclasses.replace(facts, toxicity=prescored)
    try:
        scorer = scorer or default_scorer()
    except ScorerUnavailable as e:
        return dataclasses.replace(facts, toxicity_error=str(e))
    texts = [draft.text] + [a.text for a in unscored]
    results = scorer.score_many(texts)
    filled = {a.id: r.scores for a, r in zip(unscored, results[1:])}
    ancestors = tuple(
        dataclasses.replace(a, scores=filled[a.id]) if a.id in filled else a for a in facts.ancestors
    )
    return dataclasses.replace(facts, toxicity=results[0], ancestors=ancestors)

