"""Repeated posts: the same text again is rejected, a near-duplicate is held.

Compares with the author's recent comments (or, for an author without a key, those from the same
hashed IP). Short texts ("Agreed.") only count as repeats within the same thread.
"""

import re

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "repeat"
_SHORT = 20
_NON_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def _shingles(text: str, size: int = 4) -> set[str]:
    return {text[i : i + size] for i in range(max(1, len(text) - size + 1))}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character 4-grams of two normalized texts."""
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    text = normalize(draft.text)
    if not text:
        return passed(NAME)
    best = 0.0
    for past in facts.recent:
        if draft.created - past.created > settings.repeat_window:
            continue
        if len(text) < _SHORT and past.thread_id != draft.thread_id:
            continue
        other = normalize(past.text)
        if other == text:
            return PhaseResult(NAME, 1.0, "reject", (Reason("duplicate", "the same text was posted before"),))
        if len(text) >= _SHORT:
            best = max(best, similarity(text, other))
    if best >= settings.near_duplicate_similarity:
        return PhaseResult(NAME, best, "hold", (Reason("near_duplicate", f"{best:.0%} like an earlier comment"),))
    return passed(NAME, best)
