"""Empty and overlong comments are rejected."""

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "length"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    length = len(draft.text.strip())
    if length < settings.min_length:
        return PhaseResult(
            NAME, 1.0, "reject", (Reason("too_short", f"{length} characters; at least {settings.min_length} needed"),)
        )
    if length > settings.max_length:
        span = ((settings.max_length, len(draft.text)),)
        return PhaseResult(
            NAME, 1.0, "reject", (Reason("too_long", f"{length} characters; at most {settings.max_length}", span),)
        )
    return passed(NAME)
