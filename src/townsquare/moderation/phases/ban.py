"""Banned authors (by hashed address, verified identity or e-mail address) are rejected."""

from datetime import UTC, datetime

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "ban"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    active = [b for b in facts.bans if b.expires is None or b.expires > draft.created]
    if not active:
        return passed(NAME)
    reasons = tuple(Reason("banned", _describe(ban.kind, ban.expires, ban.reason)) for ban in active)
    return PhaseResult(NAME, 1.0, "reject", reasons)


def _describe(kind: str, expires: float | None, why: str) -> str:
    until = "for good" if expires is None else datetime.fromtimestamp(expires, UTC).strftime("until %Y-%m-%d %H:%M UTC")
    return f"{kind} banned {until}" + (f": {why}" if why else "")
