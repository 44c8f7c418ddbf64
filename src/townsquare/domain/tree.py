"""Thread trees: which comments are visible, in what order, and how they are paged.

Pure functions over comment rows. A thread read fetches only the rows of its page
(`services._plan_page`, keyset queries in `store.comments`) by the rule below; `build` and `plan`
state the same rule over a whole thread's outline, and tests hold the two to the same answers.

Paging rule, which guarantees that every visible comment appears exactly once across pages:
top-level comments are paged by the chosen sort with a keyset cursor; inside a page each
comment carries at most `reply_limit` of its replies (recursively), and when it has more it
says so with `more_replies` and a `replies_cursor` that fetches the rest of *that* comment's
replies (`parent=ID&cursor=…`), each again with their own subtrees under the same rule.
Replies are always in conversation order (oldest first); the sort applies to the top level.
One answer holds at most MAX_COMMENTS comments: top-level ones first, then replies breadth-first,
until the budget is spent; what does not fit is paged like any other "more replies".
Nesting in one answer stops at MAX_DEPTH levels; deeper replies are fetched like any other
"more replies" (`parent=ID`), which is also what a reader's "continue this thread" link does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

SORTS = ("oldest", "newest", "top", "replies", "picks")  # picks: only the editors' picks, newest first
VISIBLE = "published"
PLACEHOLDER_HTML = "<p>[deleted]</p>"
MAX_DEPTH = 50  # JSON encoders refuse very deep nesting; 50 levels is far beyond any display
# Comments in one answer, whatever `limit` and `reply_limit` ask: replies at every depth count
# against the same budget, so no request can make the server shape (or a reader download) a
# whole 50,000-comment thread at once.
MAX_COMMENTS = 500


class CursorError(ValueError):
    pass


class Row(Protocol):
    """What the tree needs of a comment (`store.comments.CommentView` has it)."""

    id: int
    parent_id: int | None
    status: str
    created: float
    likes: int
    dislikes: int


@dataclass
class Node:
    row: Row
    children: list[Node] = field(default_factory=list)
    descendants: int = 0  # visible comments below this one
    # Replies this comment has in the tree, when they were counted rather than all read
    # (a page read from the database); None: `children` holds them all.
    reply_total: int | None = None

    @property
    def replies_in_tree(self) -> int:
        return len(self.children) if self.reply_total is None else self.reply_total

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def visible(self) -> bool:
        return self.row.status == VISIBLE


def build(rows: Iterable[Row]) -> tuple[list[Node], dict[int, Node], int]:
    """Link rows into a forest; drop hidden comments unless visible replies hang below them.

    Returns (roots, nodes by id, number of visible comments). Rows whose parent is missing
    become roots, so a damaged tree still shows every visible comment.
    """
    nodes = {r.id: Node(r) for r in rows}
    roots: list[Node] = []
    for n in nodes.values():
        parent = nodes.get(n.row.parent_id) if n.row.parent_id is not None else None
        (parent.children if parent else roots).append(n)
    total = 0
    # Count visible descendants bottom-up without recursion (reply chains can be very deep).
    order = _preorder(roots)
    for n in reversed(order):
        n.descendants = sum(c.descendants + (1 if c.visible else 0) for c in n.children)
        if n.visible:
            total += 1
    kept = {n.id: n for n in order if n.visible or n.descendants}
    for n in kept.values():
        n.children = [c for c in n.children if c.id in kept]
        n.children.sort(key=_conversation_key)
    roots = [r for r in roots if r.id in kept]
    return roots, kept, total


def _preorder(roots: list[Node]) -> list[Node]:
    out, stack = [], list(reversed(roots))
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def _conversation_key(n: Node) -> tuple:
    return (n.row.created, n.id)


SORT_KEYS: dict[str, Callable[[Node], tuple]] = {
    "oldest": lambda n: (n.row.created, n.id),
    "newest": lambda n: (-n.row.created, -n.id),
    "top": lambda n: (-(n.row.likes - n.row.dislikes), n.row.created, n.id),
    "replies": lambda n: (-n.descendants, n.row.created, n.id),
    "picks": lambda n: (-n.row.created, -n.id),
}


def key_width(sort: str | None) -> int:
    """How many values a cursor of this top-level sort (None: replies) carries."""
    return 3 if sort in ("top", "replies") else 2


def picks(nodes: dict[int, Node]) -> list[Node]:
    """The visible editors' picks at any depth: the siblings of the "picks" listing."""
    return [n for n in nodes.values() if n.visible and getattr(n.row, "featured", False)]


INT_BOUND, TIME_BOUND = 2**31 - 1, 2.0**53


def encode_cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> tuple:
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise CursorError("The cursor is not valid; start again without one.") from None
    if not isinstance(key, list) or len(key) != width or not all(isinstance(v, (int, float)) for v in key):
        raise CursorError("The cursor does not belong to this sort order; start again without one.")
    # Every key part is a time (a float) or a count or id (an integer column, 32 bits on
    # PostgreSQL): a number past these bounds was never handed out, and must not reach the database.
    if not all(abs(v) <= (INT_BOUND if isinstance(v, int) else TIME_BOUND) for v in key):
        raise CursorError("The cursor is not valid; start again without one.")
    return tuple(key)


@dataclass
class Plan:
    """Which comments one answer shows: the chosen siblings and, per shown comment, its shown
    replies. Everything not shown is reachable through `more_replies`/`replies_cursor` or
    `next_cursor`, so every visible comment still appears exactly once across answers."""

    chosen: list[Node]
    shown: dict[int, list[Node]]
    next_cursor: str | None

    def ids(self) -> list[int]:
        return list(self.shown)


def plan(siblings: list[Node], key: Callable[[Node], tuple], limit: int, cursor: str | None,
         reply_limit: int, budget: int = MAX_COMMENTS, pinned: Node | None = None) -> Plan:
    """One page of `siblings` in `key` order, after `cursor`, with at most `budget` comments in
    all: the siblings first, then replies breadth-first (every shown comment's first replies
    before anyone's second level), each comment showing at most `reply_limit` of its replies.
    A `pinned` sibling opens the first page and appears on no other."""
    ordered = sorted((n for n in siblings if n is not pinned), key=key)
    if cursor:
        after = decode_cursor(cursor, len(key(ordered[0]))) if ordered else None
        ordered = [n for n in ordered if key(n) > after] if after is not None else []
    top = [pinned] if pinned is not None and not cursor else []
    limit = max(1, min(limit, budget) - len(top))
    chosen = ordered[:limit]
    next_cursor = encode_cursor(key(chosen[-1])) if len(ordered) > limit else None
    chosen = top + chosen
    left = budget - len(chosen)
    reply_limit = min(reply_limit, budget)
    shown: dict[int, list[Node]] = {}
    level = chosen
    depth = 1
    while level:
        following = []
        for n in level:
            take = min(reply_limit, left) if depth < MAX_DEPTH else 0
            shown[n.id] = n.children[:take]
            left -= len(shown[n.id])
            following.extend(shown[n.id])
        level, depth = following, depth + 1
    return Plan(chosen, shown, next_cursor)


def render(p: Plan, shape: Callable[[Node, list[dict], int, str | None], dict]) -> list[dict]:
    """The planned comments as nested dicts, built bottom-up without recursion (reply chains can
    be 5,000 deep)."""
    done: dict[int, dict] = {}
    order, stack = [], list(p.chosen)
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(p.shown[n.id])
    for n in reversed(order):
        kids = p.shown[n.id]
        more = n.replies_in_tree - len(kids)
        more_cursor = encode_cursor(_conversation_key(kids[-1])) if more and kids else None
        done[n.id] = shape(n, [done.pop(c.id) for c in kids], more, more_cursor)
    return [done[n.id] for n in p.chosen]


def page(
    siblings: list[Node],
    key: Callable[[Node], tuple],
    limit: int,
    cursor: str | None,
    reply_limit: int,
    shape: Callable[[Node, list[dict], int, str | None], dict],
    budget: int = MAX_COMMENTS,
) -> tuple[list[dict], str | None]:
    """One page of `siblings` in `key` order, after `cursor`, each with its capped subtree."""
    p = plan(siblings, key, limit, cursor, reply_limit, budget)
    return render(p, shape), p.next_cursor


def sort_key(sort: str) -> Callable[[Node], tuple]:
    return SORT_KEYS[sort]


def conversation_key(n: Node) -> tuple:
    return _conversation_key(n)
