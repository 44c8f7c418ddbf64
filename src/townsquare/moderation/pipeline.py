"""The ordered list of moderation phases, and running them for one draft."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.phases import (
    ban,
    closed,
    heat,
    history,
    length,
    links,
    new_author,
    personal_data,
    rate,
    repeat,
    toxicity,
    traps,
    words,
)
from townsquare.moderation.policy import Decision, decide
from townsquare.moderation.results import PhaseResult
from townsquare.moderation.settings import ModerationSettings

Phase = Callable[[Draft, Facts, ModerationSettings], PhaseResult]

# Cheap, certain checks first; the model and the branch analysis last.
PHASES: tuple[tuple[str, Phase], ...] = (
    (ban.NAME, ban.check),
    (closed.NAME, closed.check),
    (length.NAME, length.check),
    (traps.NAME, traps.check),
    (rate.NAME, rate.check),
    (words.NAME, words.check),
    (links.NAME, links.check),
    (personal_data.NAME, personal_data.check),
    (repeat.NAME, repeat.check),
    (new_author.NAME, new_author.check),
    (history.NAME, history.check),
    (toxicity.NAME, toxicity.check),
    (heat.NAME, heat.check),
)


# An edit is not a new post: posting rate and the form traps do not apply.
EDIT_SKIPS = frozenset({rate.NAME, traps.NAME})
# The phases that read the toxicity model's scores.
MODEL_PHASES = frozenset({toxicity.NAME, heat.NAME})


def skipped(draft: Draft, facts: Facts, settings: ModerationSettings) -> frozenset[str]:
    """The phases this draft skips: edits skip the posting checks, a site without the toxicity
    model skips the phases that need its scores, and trusted authors and staff skip what the
    site's policy says."""
    skip: set[str] = set(EDIT_SKIPS) if draft.is_edit else set()
    if not settings.toxicity:
        skip |= MODEL_PHASES
    if facts.staff:
        skip |= settings.staff_skip
    if facts.trusted:
        skip |= settings.trusted_skip
    return frozenset(skip)


def run(
    draft: Draft,
    facts: Facts,
    settings: ModerationSettings,
    phases: Sequence[tuple[str, Phase]] = PHASES,
) -> list[PhaseResult]:
    """Every phase's result, in order. A reject stops the run: nothing later can change it."""
    skip = skipped(draft, facts, settings)
    results = []
    for name, phase in phases:
        if name in skip:
            continue
        result = phase(draft, facts, settings)
        results.append(result)
        if result.action == "reject":
            break
    return results


def moderate(draft: Draft, facts: Facts, settings: ModerationSettings) -> Decision:
    """Run the phases and apply the site's policy."""
    results = run(draft, facts, settings)
    scores = facts.toxicity.scores if facts.toxicity else {}
    return decide(results, settings, skipped(draft, facts, settings), scores)
