"""Moderation entry points for the core's write paths, in the order they run: `gather` the facts
(read snapshot), `score` with the model (no transaction open), `judge` (pure), and `record` what
the decision says about the thread (in the write transaction). `check` is the pre-submit nudge."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from townsquare.domain.validate import normalize_text
from townsquare.metrics import MODEL_SECONDS
from townsquare.moderation import check_tokens
from townsquare.moderation import facts as store_facts
from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.phases import heat
from townsquare.moderation.pipeline import MODEL_PHASES, moderate, skipped
from townsquare.moderation.policy import Decision
from townsquare.moderation.scoring import Scorer, ScorerUnavailable, default_scorer, limits_for
from townsquare.moderation.settings import ModerationSettings, for_site
from townsquare.moderation.threads import mark_heated
from townsquare.store.db import Connection, now

if TYPE_CHECKING:
    from townsquare.domain.tokens import Signer
    from townsquare.moderation.toxicity import ToxicityResult


def gather(conn: Connection, *, site_id: int, thread: Any, draft: Draft, settings: ModerationSettings) -> Facts:
    """What the store knows around the draft, read in the caller's read-only snapshot."""
    return store_facts.gather(conn, site_id=site_id, thread=thread, draft=draft, settings=settings)


def score(draft: Draft, facts: Facts, settings: ModerationSettings, *, scorer: Scorer | None = None,
          prescored: ToxicityResult | None = None) -> tuple[Facts, dict[int, dict[str, float]]]:
    """Run the model (no transaction open) unless the author skips both model phases. Returns the
    facts with scores, and the scores it computed for stored ancestors that had none (imported
    comments), for the caller to keep so that they are paid once.

    The process's scorer runs the extra passes only near the site's limits; a scorer passed in
    is used as it is."""
    if MODEL_PHASES <= skipped(draft, facts, settings):
        return facts, {}
    unscored = [a for a in facts.ancestors if a.scores is None]
    if prescored is not None and not unscored:
        return dataclasses.replace(facts, toxicity=prescored), {}
    if scorer is None:
        try:
            scorer = _Near(default_scorer(), limits_for(settings))
        except ScorerUnavailable as e:
            return dataclasses.replace(facts, toxicity_error=str(e)), {}
    result = prescored or scorer.score(draft.text)
    # Ancestors only feed the heat check, which needs their scores, not their spans.
    filled = {a.id: r.scores for a, r in zip(unscored, scorer.score_many([a.text for a in unscored], spans=False))}
    ancestors = tuple(dataclasses.replace(a, scores=filled[a.id]) if a.id in filled else a for a in facts.ancestors)
    return dataclasses.replace(facts, toxicity=result, ancestors=ancestors), filled


def judge(draft: Draft, facts: Facts, settings: ModerationSettings) -> tuple[Decision, tuple[int, ...]]:
    """The decision, and the branch this comment heats up (empty if none). Pure."""
    decision = moderate(draft, facts, settings)
    exchange = next((r for r in decision.results if r.phase == heat.NAME and r.action), None)
    branch = tuple(c for reason in exchange.reasons for c in reason.comments) if exchange else ()
    return decision, branch


def record(conn: Connection, thread_id: int, heated: tuple[int, ...], when: float, settings: ModerationSettings) -> None:
    """Store what the decision says about the thread, in the comment's write transaction."""
    if heated:
        mark_heated(conn, thread_id, list(heated), when, settings.heat_slow_mode)


def redeem_check(signer: Any, token: str | None, site_name: str, text: str) -> ToxicityResult | None:
    """The scores a recent `check` of exactly this text gave, if its token is good."""
    return check_tokens.redeem(signer, token, site_name, text)


def decide(conn: Connection, *, site_id: int, rules: Any, thread: Any, draft: Draft,
           scorer: Scorer | None = None) -> Decision:
    """All steps in the caller's transaction, for the importer: it moderates offline, in its own
    batches, where no reader waits on it. `rules` is the site's `SiteSettings`."""
    settings = for_site(rules)
    facts = gather(conn, site_id=site_id, thread=thread, draft=draft, settings=settings)
    facts, _ = score(draft, facts, settings, scorer=scorer)
    decision, heated = judge(draft, facts, settings)
    record(conn, thread.id, heated, draft.created, settings)
    return decision


def check(site: dict[str, Any], text: str, scorer: Scorer | None = None, signer: Signer | None = None) -> dict[str, Any]:
    """What the pipeline would decide for this text from a new author with no thread context:
    the pre-submit nudge. Stores nothing.

    With a `signer`, the answer also carries `check_token` (None when the text was not scored):
    posting the same text on this site within ten minutes reuses the result instead of scoring
    it again (`redeem_check`)."""
    settings = for_site(site.rules)
    text = normalize_text(text)  # as posting stores it, so the token's result is the post's
    d = Draft(text=text, created=now())
    facts, _ = score(d, Facts(), settings, scorer=scorer)
    decision = moderate(d, facts, settings)
    answer = {
        "decision": decision.decision,
        "nudge": decision.nudge or any(r.phase == "toxicity" and r.action in ("hold", "reject") for r in decision.results),
        "scores": {k: round(v, 4) for k, v in decision.scores.items()},
        "reasons": decision.reasons(),
    }
    if signer is not None:
        answer["check_token"] = (check_tokens.issue(signer, site.name, text, facts.toxicity)
                                 if facts.toxicity is not None else None)
    return answer


class _Near:
    """The process's model, scoring with the extra passes only near the site's limits."""

    def __init__(self, model: Any, limits: Any):
        self.model, self.limits = model, limits

    def score(self, text: str) -> ToxicityResult:
        with MODEL_SECONDS.time():
            return self.model.score(text, limits=self.limits)

    def score_many(self, texts: list[str], spans: bool = True) -> list[ToxicityResult]:
        return self.model.score_many(texts, spans=spans, limits=self.limits)
