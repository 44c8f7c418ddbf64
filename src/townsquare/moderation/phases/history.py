"""Author history: an author with a high share of rejected comments is held."""

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "history"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    if facts.author_total < settings.history_min_comments:
        return passed(NAME)
    share = facts.author_rejected / facts.author_total
    if share >= settings.history_rejected_share:
        detail = f"{facts.author_rejected} of {facts.author_total} earlier comments rejected"
        return PhaseResult(NAME, share, "hold", (Reason("rejected_history", detail),))
    return passed(NAME, share)
