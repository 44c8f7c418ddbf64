"""Site word lists: a banned word rejects the comment, a suspect word holds it for review."""

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings
from townsquare.moderation.wordlist import find_words

NAME = "words"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    banned = find_words(settings.banned_words, draft.text)
    if banned:
        return PhaseResult(NAME, 1.0, "reject", (Reason("banned_word", _quote(draft.text, banned), tuple(banned)),))
    suspect = find_words(settings.suspect_words, draft.text)
    if suspect:
        return PhaseResult(NAME, 0.6, "hold", (Reason("suspect_word", _quote(draft.text, suspect), tuple(suspect)),))
    return passed(NAME)


def _quote(text: str, spans: list[tuple[int, int]]) -> str:
    found = sorted({text[a:b] for a, b in spans})
    return "contains " + ", ".join(f"“{w}”" for w in found)
