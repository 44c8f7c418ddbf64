"""Comments on a closed thread are rejected."""

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "closed"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    if facts.thread_closed:
        return PhaseResult(NAME, 1.0, "reject", (Reason("thread_closed", "the thread is closed for comments"),))
    return passed(NAME)
