"""Thread trees: which comments are visible, in what order, and how they are paged.

Pure functions over comment rows (one per stored comment). A thread of any size is read in one
query and shaped here.

Paging rule, which guarantees that every visible comment appears exactly once across pages:
top-level comments are paged by the chosen sort with a keyset cursor; inside a page each
comment carries at most `reply_limit` of its replies (recursively), and when it has more it
says so with `more_replies` and a `replies_cursor` that fetches the rest of *that* comment's
replies (`parent=ID&cursor=…`), each again with their own subtrees under the same rule.
Replies are always in conversation order (oldest first); the sort applies to the top level.
Nesting in one answer stops at MAX_DEPTH levels; deeper replies are fetched like any other
"more replies" (`parent=ID`), which is also what a reader's "continue this thread" link does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

SORTS = ("oldest", "newest", "top", "replies")
VISIBLE = "published"
PLACEHOLDER_HTML = "<p>[deleted]</p>"
MAX_DEPTH = 50  # JSON encoders refuse very deep nesting; 50 levels is far beyond any display


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
}


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


def page(
    siblings: list[Node],
    key: Callable[[Node], tuple],
    limit: int,
    cursor: str | None,
    reply_limit: int,
    shape: Callable[[Node, list[dict], int, str | None], dict],
) -> tuple[list[dict], str | None]:
    """One page of `siblings` in `key` order, after `cursor`, each with its capped subtree."""
    ordered = sorted(siblings, key=key)
    if cursor:
        after = decode_cursor(cursor, len(key(ordered[0]))) if ordered else None
        ordered = [n for n in ordered if key(n) > after] if after is not None else []
    chosen = ordered[:limit]
    next_cursor = encode_cursor(key(chosen[-1])) if len(ordered) > limit else None
    return [_subtree(n, reply_limit, shape) for n in chosen], next_cursor


def _subtree(root: Node, reply_limit: int, shape) -> dict:
    # Iterative post-order so a 5,000-deep reply chain cannot overflow the stack.
    done: dict[int, dict] = {}
    stack: list[tuple[Node, bool, int]] = [(root, False, 1)]
    while stack:
        n, expanded, depth = stack.pop()
        shown = n.children[:reply_limit] if depth < MAX_DEPTH else []
        if not expanded:
            stack.append((n, True, depth))
            stack.extend((c, False, depth + 1) for c in reversed(shown))
            continue
        more = len(n.children) - len(shown)
        more_cursor = encode_cursor(_conversation_key(shown[-1])) if more and shown else None
        done[n.id] = shape(n, [done.pop(c.id) for c in shown], more, more_cursor)
    return done[root.id]


def sort_key(sort: str) -> Callable[[Node], tuple]:
    return SORT_KEYS[sort]


def conversation_key(n: Node) -> tuple:
    return _conversation_key(n)
