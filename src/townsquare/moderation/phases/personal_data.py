"""Personal data: phone numbers and e-mail addresses in the text are held (or rejected) by site policy."""

import re

import phonenumbers

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "personal_data"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", re.I)


def find_phone_numbers(text: str, region: str) -> list[tuple[int, int]]:
    # VALID leniency: the number must be a real, dialable number for its region, so years,
    # prices and ids are not taken for phone numbers.
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    return [(m.start, m.end) for m in matcher]


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    if settings.personal_data_action == "ignore":
        return passed(NAME)
    reasons = []
    phones = find_phone_numbers(draft.text, settings.phone_region)
    if phones:
        reasons.append(Reason("phone_number", f"{len(phones)} phone number(s)", tuple(phones)))
    emails = [m.span() for m in _EMAIL.finditer(draft.text)]
    if emails:
        reasons.append(Reason("email_address", f"{len(emails)} e-mail address(es)", tuple(emails)))
    if not reasons:
        return passed(NAME)
    return PhaseResult(NAME, 1.0, settings.personal_data_action, tuple(reasons))
