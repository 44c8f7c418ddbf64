"""New authors: their first N comments are held until a moderator has approved N."""

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "new_author"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    needed = settings.new_author_holds
    if needed and facts.author_published < needed:
        detail = f"{facts.author_published} of the first {needed} comments published so far"
        return PhaseResult(NAME, 0.5, "hold", (Reason("new_author", detail),))
    return passed(NAME)
