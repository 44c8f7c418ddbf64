"""Posting rate per author and per hashed IP, and a thread's slow mode."""

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "rate"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    if facts.slow_mode and facts.author_last_in_thread is not None:
        wait = facts.author_last_in_thread + facts.slow_mode - draft.created
        if wait > 0:
            detail = f"slow mode: one comment per {facts.slow_mode} s in this thread; wait {wait:.0f} s"
            return PhaseResult(NAME, 1.0, "reject", (Reason("slow_mode", detail),))
    since = draft.created - settings.rate_window
    by_author = sum(1 for t in facts.author_post_times if t > since)
    by_ip = facts.ip_posts
    reasons = []
    if by_author >= settings.author_rate:
        reasons.append(Reason("author_rate", f"{by_author} comments in {settings.rate_window} s from this author"))
    if by_ip >= settings.ip_rate:
        reasons.append(Reason("ip_rate", f"{by_ip} comments in {settings.rate_window} s from this address"))
    score = min(1.0, max(by_author / settings.author_rate, by_ip / settings.ip_rate))
    if reasons:
        return PhaseResult(NAME, score, "hold", tuple(reasons))
    return passed(NAME, score)
