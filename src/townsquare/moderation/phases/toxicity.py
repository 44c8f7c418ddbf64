"""The toxicity model's scores: a label at its hold (or reject) threshold holds (or rejects) the comment;
a milder score nudges the author before posting. The spans are the words that drove each score."""

from collections.abc import Mapping

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "toxicity"
# Profanity alone is not abuse ("that was a damn good game"); it holds only at its own threshold.
HOSTILE = ("toxicity", "insult", "identity_attack", "threat")
_WORDS = {
    "toxicity": "toxic",
    "insult": "insulting",
    "identity_attack": "attacks a group for who they are",
    "threat": "threatening",
    "profanity": "profane",
}


def too_short_to_nudge(text: str) -> bool:
    """A reply of one word or a few characters ("ok", "one", "lol", "+1") gives the model almost
    nothing to read, so a middling score there is noise: it is not worth a warning. Such a reply
    is still held or rejected when a score reaches those limits."""
    stripped = text.strip()
    return len(stripped) <= 3 or len(stripped.split()) == 1


def hostility(scores: dict[str, float] | None) -> float:
    if not scores:
        return 0.0
    return max((scores.get(label, 0.0) for label in HOSTILE), default=0.0)


def crossed(scores: Mapping[str, float], limits: Mapping[str, float]) -> list[str]:
    """The labels whose score is at or above their limit, in the limits' order."""
    return [label for label, limit in limits.items() if scores.get(label, 0.0) >= limit]


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    result = facts.toxicity
    if result is None:
        # Fail open: an unavailable model must not hold every comment; the reason records it.
        detail = facts.toxicity_error or "not scored"
        return PhaseResult(NAME, 0.0, None, (Reason("unscored", detail),))
    score = hostility(result.scores)
    for action, thresholds in (("reject", settings.reject_thresholds), ("hold", settings.hold_thresholds)):
        over = [(label, result.scores.get(label, 0.0)) for label in crossed(result.scores, thresholds)]
        if over:
            return PhaseResult(NAME, max(score, *(v for _, v in over)), action, tuple(_reason(result, l, v) for l, v in over))
    if score >= settings.nudge_threshold and not too_short_to_nudge(draft.text):
        label = max(HOSTILE, key=lambda l: result.scores.get(l, 0.0))
        return PhaseResult(NAME, score, "nudge", (_reason(result, label, score),))
    return passed(NAME, score)


def _reason(result, label: str, value: float) -> Reason:
    spans = [s for s in result.spans if s.label == label] or list(result.spans)
    spans.sort(key=lambda s: -s.weight)
    return Reason(label, f"{_WORDS.get(label, label)} ({value:.2f})", tuple(sorted((s.start, s.end) for s in spans[:5])))
