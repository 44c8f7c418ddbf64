"""Bot traps: a filled honeypot field rejects; a form submitted faster than a person types holds."""

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "traps"


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    if draft.honeypot:
        return PhaseResult(NAME, 1.0, "reject", (Reason("honeypot", "the hidden form field was filled"),))
    if draft.form_age is not None and draft.form_age < settings.min_submit_seconds:
        detail = f"submitted {draft.form_age:.1f} s after the form appeared (minimum {settings.min_submit_seconds:g} s)"
        return PhaseResult(NAME, 0.8, "hold", (Reason("too_fast", detail),))
    return passed(NAME)
