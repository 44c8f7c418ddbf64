"""A comment's status, as a state machine: who may move a comment from which status to which.

Every status change in the product goes through `require` (or `after_author_edit`, which names
the status an author's edit leads to), so the rules live here and nowhere else:

- the pipeline decides a new comment's first status;
- an author may edit a published or held comment and delete any of their own, but an edit never
  publishes what is held or rejected: a moderator's (or the readers') decision stands until a
  moderator changes it;
- an edit of a published comment is moderated again; if it fails, it goes to the queue;
- readers' reports and a rescore can only take a published comment to the queue;
- a moderator may take back their own decision (undo), which returns the comment to where it was;
- erasure deletes whatever is there.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["pending", "published", "rejected", "deleted"]
Actor = Literal["pipeline", "author", "moderator", "reports", "rescore", "erasure"]

STATUSES: tuple[Status, ...] = ("pending", "published", "rejected", "deleted")
NEW = None  # the "status" of a comment not yet stored

# (from, to) -> who may make that move. Staying in the same status is not a move.
TRANSITIONS: dict[tuple[Status | None, Status], frozenset[Actor]] = {
    (NEW, "published"): frozenset({"pipeline"}),
    (NEW, "pending"): frozenset({"pipeline"}),
    (NEW, "rejected"): frozenset({"pipeline"}),
    ("published", "pending"): frozenset({"author", "reports", "rescore", "moderator"}),
    ("rejected", "pending"): frozenset({"moderator"}),
    ("pending", "published"): frozenset({"moderator"}),
    ("pending", "rejected"): frozenset({"moderator"}),
    ("published", "rejected"): frozenset({"moderator"}),
    ("rejected", "published"): frozenset({"moderator"}),
    ("published", "deleted"): frozenset({"author", "erasure"}),
    ("pending", "deleted"): frozenset({"author", "erasure"}),
    ("rejected", "deleted"): frozenset({"author", "erasure"}),
}

# What an author may still change the words of: a rejected comment stays as the moderator left it.
EDITABLE: frozenset[Status] = frozenset({"published", "pending"})


class TransitionError(Exception):
    """A move the rules do not allow; the message is worded for the person who asked for it."""


def may(actor: Actor, old: Status | None, new: Status) -> bool:
    return old == new or actor in TRANSITIONS.get((old, new), frozenset())


def require(actor: Actor, old: Status | None, new: Status) -> None:
    if not may(actor, old, new):
        raise TransitionError(refusal(actor, old, new))


def after_author_edit(old: Status, decided: Status) -> Status:
    """The status an author's edit leads to, given what the pipeline decided for the new words.

    A published comment stays published only if the new words pass; otherwise it goes to the
    queue (never straight to rejected: a moderator decides). A held comment stays held whatever
    the pipeline says, so an edit cannot undo a hold."""
    if old not in EDITABLE:
        raise TransitionError(refusal("author", old, "published"))
    new: Status = "published" if old == "published" and decided == "published" else "pending"
    require("author", old, new)
    return new


def refusal(actor: Actor, old: Status | None, new: Status) -> str:
    if old == "deleted":
        return "This comment was deleted."
    if actor == "author" and old == "rejected":
        return "This comment was not published by the moderators, so it can no longer be edited."
    if actor == "moderator" and new == "deleted":
        return "Moderators reject comments; only their authors delete them."
    return f"A comment cannot go from {old or 'new'} to {new} by {actor}."
