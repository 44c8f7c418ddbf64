"""Property tests: across all pages every visible comment appears exactly once, parents first."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from townsquare.domain import tree

STATUSES = ["published"] * 6 + ["deleted", "pending", "rejected"]


@st.composite
def threads(draw):
    n = draw(st.integers(0, 60))
    rows = []
    for i in range(1, n + 1):
        parent = draw(st.one_of(st.none(), st.integers(1, i - 1))) if i > 1 else None
        rows.append(SimpleNamespace(**{
            "id": i, "parent_id": parent, "status": draw(st.sampled_from(STATUSES)),
            "created": float(draw(st.integers(0, 20))), "likes": draw(st.integers(0, 5)),
            "dislikes": draw(st.integers(0, 5)),
        }))
    return rows


def shape(node, replies, more, cursor):
    return {"id": node.id, "status": node.row.status, "replies": replies, "more": more, "cursor": cursor}


def walk_all(rows, sort, limit, reply_limit, budget=tree.MAX_COMMENTS, sizes=None):
    """Fetch every page the way a client would: top-level pages, then every 'load more replies'.
    `sizes` collects how many comments each answer held."""
    roots, nodes, total = tree.build(rows)
    sizes = [] if sizes is None else sizes
    order: list[tuple[int, int | None]] = []  # (id, parent id as seen)
    pending = []

    def visit(items, parent):
        for item in items:
            order.append((item["id"], parent))
            visit(item["replies"], item["id"])
            if item["more"]:
                pending.append((item["id"], item["cursor"]))

    cursor = None
    while True:
        items, cursor = tree.page(roots, tree.sort_key(sort), limit, cursor, reply_limit, shape, budget)
        before = len(order)
        visit(items, None)
        sizes.append(len(order) - before)
        if not cursor:
            break
    while pending:
        pid, cur = pending.pop()
        while True:
            items, cur = tree.page(nodes[pid].children, tree.conversation_key, limit, cur, reply_limit, shape, budget)
            before = len(order)
            visit(items, pid)
            sizes.append(len(order) - before)
            if not cur:
                break
    return order, total


@settings(max_examples=300, deadline=None)
@given(threads(), st.sampled_from(tree.SORTS), st.integers(1, 7), st.integers(0, 4))
def test_every_visible_comment_exactly_once(rows, sort, limit, reply_limit):
    order, total = walk_all(rows, sort, limit, reply_limit)
    ids = [i for i, _ in order]
    assert len(ids) == len(set(ids)), "a comment appeared twice"
    visible = {r.id for r in rows if r.status == "published"}
    assert visible <= set(ids), "a visible comment never appeared"
    assert total == len(visible)
    # hidden comments appear only as placeholders with something visible below them
    by_id = {r.id: r for r in rows}
    for cid in set(ids) - visible:
        assert any(_below(by_id, v, cid) for v in visible)


@settings(max_examples=300, deadline=None)
@given(threads(), st.sampled_from(tree.SORTS), st.integers(1, 70), st.integers(0, 70), st.integers(1, 12))
def test_budget_bounds_every_answer_and_loses_nothing(rows, sort, limit, reply_limit, budget):
    """Whatever `limit` and `reply_limit` ask, an answer holds at most `budget` comments counted
    at every depth, and paging still reaches every visible comment exactly once."""
    sizes: list[int] = []
    order, total = walk_all(rows, sort, limit, reply_limit, budget, sizes)
    assert sizes and max(sizes) <= budget
    ids = [i for i, _ in order]
    assert len(ids) == len(set(ids))
    assert {r.id for r in rows if r.status == "published"} <= set(ids)


@settings(max_examples=200, deadline=None)
@given(threads(), st.sampled_from(tree.SORTS), st.integers(1, 7), st.integers(0, 4))
def test_parents_before_children(rows, sort, limit, reply_limit):
    order, _ = walk_all(rows, sort, limit, reply_limit)
    position = {cid: n for n, (cid, _) in enumerate(order)}
    by_id = {r.id: r for r in rows}
    for cid, parent in order:
        if parent is not None:
            assert by_id[cid].parent_id == parent
            assert position[parent] < position[cid]


def _below(by_id, cid, ancestor):
    p = by_id[cid].parent_id
    while p is not None:
        if p == ancestor:
            return True
        p = by_id[p].parent_id
    return False


def test_deep_chain_does_not_recurse():
    rows = [SimpleNamespace(id=i, parent_id=i - 1 if i > 1 else None, status="published", created=float(i),
                            likes=0, dislikes=0) for i in range(1, 5001)]
    order, total = walk_all(rows, "oldest", 10, 10)
    assert total == 5000 and len(order) == 5000
    roots, _, _ = tree.build(rows)
    [first], _ = tree.page(roots, tree.sort_key("oldest"), 10, None, 10, shape)
    depth, node = 1, first
    while node["replies"]:
        depth, node = depth + 1, node["replies"][0]
    assert depth == tree.MAX_DEPTH and node["more"] == 1 and node["cursor"] is None

