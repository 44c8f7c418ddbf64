"""Thread heat: two authors trading hostile replies down one branch.

Walks up from the draft through its ancestors while the branch alternates between the draft's author
and one other author (several comments in a row by one author count as one turn). A run of at least
`heat_min_replies` comments with at least `heat_min_hostile` hostile ones, from both sides, is a
heated exchange: the reply is held and the branch is flagged for the moderators.
"""

from dataclasses import dataclass

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.phases.toxicity import hostility
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "heat"


@dataclass(frozen=True)
class Exchange:
    authors: tuple[str, str]
    comment_ids: tuple[int, ...]  # the earlier comments of the run, nearest first
    replies: int
    hostile: int


def _who(key: str | None, name: str) -> str:
    return key or "name:" + name.strip().lower()


def find_exchange(draft: Draft, facts: Facts, settings: ModerationSettings) -> Exchange | None:
    me = _who(draft.author_key, draft.author_name)
    names = {me: draft.author_name}
    other: str | None = None
    previous = me
    ids: list[int] = []
    hostile_by: dict[str, int] = {me: int(hostility(facts.toxicity.scores if facts.toxicity else None) >= settings.heat_hostility)}
    for ancestor in facts.ancestors:
        who = _who(ancestor.author_key, ancestor.author_name)
        if who != previous:
            if other is None and who != me:
                other = who
            elif who not in (me, other):
                break
        names.setdefault(who, ancestor.author_name)
        ids.append(ancestor.id)
        hostile_by[who] = hostile_by.get(who, 0) + int(hostility(ancestor.scores) >= settings.heat_hostility)
        previous = who
    if other is None:
        return None
    replies = len(ids) + 1
    hostile = hostile_by[me] + hostile_by.get(other, 0)
    if replies < settings.heat_min_replies or hostile < settings.heat_min_hostile:
        return None
    if not (hostile_by[me] and hostile_by.get(other)):
        return None
    return Exchange((names[me], names[other]), tuple(ids), replies, hostile)


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    exchange = find_exchange(draft, facts, settings)
    if exchange is None:
        return passed(NAME)
    detail = (
        f"heated exchange between {exchange.authors[0]} and {exchange.authors[1]}: "
        f"{exchange.replies} replies down this branch, {exchange.hostile} hostile"
    )
    score = min(1.0, exchange.hostile / exchange.replies + 0.5)
    return PhaseResult(NAME, score, "hold", (Reason("heated_branch", detail, (), exchange.comment_ids),))
