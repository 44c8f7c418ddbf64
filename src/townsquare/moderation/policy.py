"""From phase results to a decision under the site's policy: publish, hold for review, or reject."""

from __future__ import annotations

from dataclasses import dataclass, field

from townsquare.moderation.results import PhaseResult, Reason
from townsquare.moderation.settings import ModerationSettings

_STATUS = {"publish": "published", "hold": "pending", "reject": "rejected"}


@dataclass(frozen=True)
class Decision:
    decision: str  # publish | hold | reject
    results: tuple[PhaseResult, ...]
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """The comment status this decision gives: published, pending or rejected."""
        return _STATUS[self.decision]

    @property
    def nudge(self) -> bool:
        return any(r.action == "nudge" for r in self.results)

    def reasons(self) -> list[dict]:
        return [reason.as_json(r.phase) for r in self.results for reason in r.reasons]

    def as_json(self) -> dict:
        return {
            "decision": self.decision,
            "status": self.status,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "phases": {r.phase: {"score": round(r.score, 4), "action": r.action} for r in self.results},
            "reasons": self.reasons(),
        }


def decide(
    results: list[PhaseResult],
    settings: ModerationSettings,
    skipped: frozenset[str],
    scores: dict[str, float] | None = None,
) -> Decision:
    actions = {r.action for r in results}
    if "reject" in actions:
        verdict = "reject"
    elif "hold" in actions:
        verdict = "hold"
    elif settings.mode == "pre" and "premoderation" not in skipped:
        verdict = "hold"
        results = [*results, PhaseResult("premoderation", 0.0, "hold", (Reason("premoderation", "every comment is reviewed before it appears"),))]
    elif settings.mode == "auto" and (high := [r for r in results if r.score >= settings.auto_hold_score]):
        verdict = "hold"
        worst = max(high, key=lambda r: r.score)
        detail = f"{worst.phase} score {worst.score:.2f} reaches the site's review threshold {settings.auto_hold_score:.2f}"
        results = [*results, PhaseResult("auto", worst.score, "hold", (Reason("review_threshold", detail),))]
    else:
        verdict = "publish"
    return Decision(verdict, tuple(results), dict(scores or {}))
