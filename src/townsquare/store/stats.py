"""The dashboard's figures for one site and a period, read from per-day counts (rollups) that the
database keeps as comments, votes and reports change, so a year of a busy site is a few hundred
rows rather than every comment of the year.

The rollups (all days are UTC days since the epoch):
- `stats_days` (site, day): comments created that day by their status now, distinct commenters
  (author key, else hashed address), votes and reports created that day;
- `stats_commenters` (site, day, who): how many comments each commenter posted that day, so the
  distinct count moves only when a commenter's first comment of the day comes or last one goes;
- `stats_thread_days` (thread, day) and `stats_thread_blocks` (thread, block of 32 days): comments
  created then and not deleted; the busiest threads of a period add up its whole blocks and the
  days before the first of them, so a year is about 11 rows per thread rather than 365;
- `stats_toxicity` (site, day, bucket): comments not deleted by tenth of their stored toxicity score;
- `stats_held_reasons` (site, day, phase): held comments by each moderation phase their stored
  decision names (a comment once per phase; "none" when it names none).

Triggers on `comments`, `votes` and `moderation_reports` keep them, in the transaction of the
change, whichever code writes the row: posts, moderators' decisions and undos, authors' deletes,
reports, rescoring and erasure alike. Every trigger removes the old row's share and adds the new
row's, so a change of status, score, author or day moves the counts exactly. An import's batch
pauses them in its own transaction (`bulk`) and adds its rows' share set-wise (`add_comments`):
some ten statements per row would cost more than storing the row. `rebuild` counts everything
again from the rows (the migration's backfill, and the check that the triggers agree with a
direct count). Where the dialects differ (a day from epoch seconds, reading the stored decision's
JSON) each has its own SQL fragment; PostgreSQL's triggers call plpgsql functions.

A row whose counts fall to zero stays (it costs nothing to read); `figures` treats it as absent.
Comments, threads and sites are never deleted by the product; if one were, the foreign keys drop
the rows of a deleted site or thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (Column, Connection, ForeignKey, Index, Integer, Table, Text, func, select,
                        text, union_all)

from townsquare.store.tables import comments, metadata, threads

DAY = 86400
BUCKETS = 10
BLOCK = 32  # days: block n holds days 32n to 32n + 31
STATUSES = ("published", "pending", "rejected", "deleted")


def _count(name: str) -> Column:
    return Column(name, Integer, nullable=False, server_default="0")


stats_days = Table(
    "stats_days",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    *(_count(s) for s in STATUSES),
    _count("commenters"),
    _count("votes"),
    _count("reports"),
)

stats_commenters = Table(
    "stats_commenters",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("who", Text, primary_key=True),
    _count("comments"),
)

stats_thread_days = Table(
    "stats_thread_days",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("site_id", Integer, nullable=False),
    _count("comments"),
    # the busiest threads of a site's period, read from the index alone
    Index("ix_stats_thread_days_site_day", "site_id", "day", "thread_id", "comments"),
)

stats_thread_blocks = Table(
    "stats_thread_blocks",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("block", Integer, primary_key=True),
    Column("site_id", Integer, nullable=False),
    _count("comments"),
    Index("ix_stats_thread_blocks_site_block", "site_id", "block", "thread_id", "comments"),
)

stats_toxicity = Table(
    "stats_toxicity",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("bucket", Integer, primary_key=True),  # 0-9: the score's tenth (a score of 1 is in 9)
    _count("comments"),
)

stats_held_reasons = Table(
    "stats_held_reasons",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("phase", Text, primary_key=True),
    _count("comments"),
)

# Present only inside a bulk load's own transaction (`bulk`): the triggers then leave the rows to it.
stats_paused = Table("stats_paused", metadata, Column("token", Text, primary_key=True))

ROLLUPS = (stats_days, stats_commenters, stats_thread_days, stats_thread_blocks, stats_toxicity, stats_held_reasons)


# --- the SQL both the triggers and the rebuild use -------------------------------------------

def _day(dialect: str, seconds: str) -> str:
    """The UTC day of an epoch-seconds expression (SQLite's cast truncates, PostgreSQL's rounds;
    times are positive, so floor where it rounds)."""
    if dialect == "postgresql":
        return f"CAST(floor({seconds} / {DAY}) AS INTEGER)"
    return f"CAST({seconds} / {DAY} AS INTEGER)"


def _json(r: str) -> str:
    """SQLite: the stored decision if it is valid JSON, else NULL (the JSON functions raise on
    malformed text, and a bad stored decision must not fail a write)."""
    return f"(CASE WHEN json_valid({r}.moderation) THEN {r}.moderation END)"


def _bucket(dialect: str, r: str) -> str:
    """The toxicity bucket of row `r`'s stored decision: `scores.toxicity` when it is a number
    from 0 to 1, else NULL (as the dashboard has always read it)."""
    if dialect == "postgresql":
        return f"stats_toxicity_bucket({r}.moderation)"
    j = _json(r)
    score = f"json_extract({j}, '$.scores.toxicity')"
    return (f"(CASE WHEN json_type({j}, '$.scores.toxicity') IN ('integer', 'real') AND {score} BETWEEN 0 AND 1 "
            f"THEN min(CAST({score} * {BUCKETS} AS INTEGER), {BUCKETS - 1}) END)")


def _sqlite_reason(r: str) -> str:
    """SQLite: a json_each row of `reasons` that names a phase."""
    return (f"json_type({_json(r)}, '$.reasons') = 'array' AND e.type = 'object' "
            f"AND json_type(e.value, '$.phase') = 'text' AND json_extract(e.value, '$.phase') <> ''")


def _phases(dialect: str, r: str) -> str:
    """The phases row `r`'s stored decision names, each once, or 'none': a subquery of `phase`."""
    if dialect == "postgresql":
        return f"(SELECT p AS phase FROM stats_held_phases({r}.moderation) AS p)"
    each = f"json_each({_json(r)}, '$.reasons') AS e"
    return (f"(SELECT DISTINCT json_extract(e.value, '$.phase') AS phase FROM {each} WHERE {_sqlite_reason(r)} "
            f"UNION ALL SELECT 'none' WHERE NOT EXISTS (SELECT 1 FROM {each} WHERE {_sqlite_reason(r)}))")


def _comment_share(dialect: str, r: str, sign: int) -> list[str]:
    """Statements that add (sign 1) or remove (sign -1) comment row `r`'s share of every rollup."""
    day = _day(dialect, f"{r}.created")
    site = f"(SELECT site_id FROM threads WHERE id = {r}.thread_id)"
    who = f"coalesce({r}.author_key, {r}.ip_hash)"
    same_commenter = f"site_id = {site} AND day = {day} AND who = {who}"
    per_status = ", ".join(f"CASE WHEN {r}.status = '{s}' THEN {sign} ELSE 0 END" for s in STATUSES)
    added = ", ".join(f"{s} = stats_days.{s} + excluded.{s}" for s in STATUSES)
    kept = f"{r}.status <> 'deleted'"
    statements = [
        f"INSERT INTO stats_days (site_id, day, {', '.join(STATUSES)}) "
        f"SELECT t.site_id, {day}, {per_status} FROM threads t WHERE t.id = {r}.thread_id "
        f"ON CONFLICT (site_id, day) DO UPDATE SET {added}",
        *(f"INSERT INTO {table} (thread_id, {key}, site_id, comments) "
          f"SELECT t.id, {value}, t.site_id, {sign} FROM threads t WHERE t.id = {r}.thread_id AND {kept} "
          f"ON CONFLICT (thread_id, {key}) DO UPDATE SET comments = {table}.comments + excluded.comments"
          for table, key, value in (("stats_thread_days", "day", day),
                                    ("stats_thread_blocks", "block", f"{day} / {BLOCK}"))),
        f"INSERT INTO stats_toxicity (site_id, day, bucket, comments) "
        f"SELECT t.site_id, {day}, b.bucket, {sign} FROM threads t, (SELECT {_bucket(dialect, r)} AS bucket) AS b "
        f"WHERE t.id = {r}.thread_id AND {kept} AND b.bucket IS NOT NULL "
        f"ON CONFLICT (site_id, day, bucket) DO UPDATE SET comments = stats_toxicity.comments + excluded.comments",
        f"INSERT INTO stats_held_reasons (site_id, day, phase, comments) "
        f"SELECT t.site_id, {day}, p.phase, {sign} FROM threads t, {_phases(dialect, r)} AS p "
        f"WHERE t.id = {r}.thread_id AND {r}.status = 'pending' "
        f"ON CONFLICT (site_id, day, phase) DO UPDATE SET comments = stats_held_reasons.comments + excluded.comments",
    ]
    if sign > 0:  # a commenter counts for the day with their first comment of it
        statements += [
            f"UPDATE stats_days SET commenters = commenters + 1 WHERE site_id = {site} AND day = {day} "
            f"AND {who} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stats_commenters WHERE {same_commenter})",
            f"INSERT INTO stats_commenters (site_id, day, who, comments) "
            f"SELECT t.site_id, {day}, {who}, 1 FROM threads t WHERE t.id = {r}.thread_id AND {who} IS NOT NULL "
            f"ON CONFLICT (site_id, day, who) DO UPDATE SET comments = stats_commenters.comments + 1",
        ]
    else:  # ... and stops counting when their last one of it goes
        statements += [
            f"UPDATE stats_commenters SET comments = comments - 1 WHERE {same_commenter}",
            f"UPDATE stats_days SET commenters = commenters - 1 WHERE site_id = {site} AND day = {day} "
            f"AND EXISTS (SELECT 1 FROM stats_commenters WHERE {same_commenter} AND comments <= 0)",
            f"DELETE FROM stats_commenters WHERE {same_commenter} AND comments <= 0",
        ]
    return statements


def _counted_share(dialect: str, column: str, r: str, sign: int) -> list[str]:
    """A vote's or report's share: one on its comment's site on the day it was made."""
    return [
        f"INSERT INTO stats_days (site_id, day, {column}) "
        f"SELECT t.site_id, {_day(dialect, f'{r}.created')}, {sign} FROM comments c JOIN threads t ON t.id = c.thread_id "
        f"WHERE c.id = {r}.comment_id "
        f"ON CONFLICT (site_id, day) DO UPDATE SET {column} = stats_days.{column} + excluded.{column}"
    ]


# What each counted table moves, and which of its columns move it.
_TRIGGERS = {
    "comments": (_comment_share, ("status", "created", "thread_id", "moderation", "author_key", "ip_hash")),
    "votes": (lambda d, r, s: _counted_share(d, "votes", r, s), ("comment_id", "created")),
    "moderation_reports": (lambda d, r, s: _counted_share(d, "reports", r, s), ("comment_id", "created")),
}

# PostgreSQL: the row's thread is locked before any rollup row. Most writes lock their thread
# anyway (its version is bumped), after the comment's change; were the rollups locked first, a
# moderator's action on several threads and a post could each hold what the other waits for.
# FOR NO KEY UPDATE, the lock `UPDATE threads` takes: FOR UPDATE would also wait for the key-share
# lock another post's comment insert holds on the thread (its foreign key), and two posts deadlock.
_PG_THREAD_LOCK = {
    "comments": "PERFORM 1 FROM threads WHERE id IN (OLD.thread_id, NEW.thread_id) ORDER BY id FOR NO KEY UPDATE",
    "votes": "PERFORM 1 FROM threads t JOIN comments c ON c.thread_id = t.id "
             "WHERE c.id IN (OLD.comment_id, NEW.comment_id) ORDER BY t.id FOR NO KEY UPDATE OF t",
}
_PG_THREAD_LOCK["moderation_reports"] = _PG_THREAD_LOCK["votes"]

_PG_FUNCTIONS = [
    # The stored decision is text written by the product; a malformed one counts as unscored and
    # as naming no phase, never as an error that would fail the write.
    f"""CREATE OR REPLACE FUNCTION stats_toxicity_bucket(decision text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE score jsonb;
BEGIN
  score := decision::jsonb -> 'scores' -> 'toxicity';
  IF jsonb_typeof(score) = 'number' AND score::float8 BETWEEN 0 AND 1 THEN
    RETURN least(floor(score::float8 * {BUCKETS})::integer, {BUCKETS - 1});
  END IF;
  RETURN NULL;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION stats_held_phases(decision text) RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE reasons jsonb;
BEGIN
  BEGIN
    reasons := decision::jsonb -> 'reasons';
  EXCEPTION WHEN others THEN
    reasons := NULL;
  END;
  IF jsonb_typeof(reasons) = 'array' THEN
    RETURN QUERY SELECT DISTINCT e ->> 'phase' FROM jsonb_array_elements(reasons) AS e
      WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'phase') = 'string' AND e ->> 'phase' <> '';
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;
  RETURN NEXT 'none';
END $$""",
]


def _trigger_sql(dialect: str) -> list[str]:
    out = []
    if dialect == "postgresql":
        out += _PG_FUNCTIONS
    for table, (share, columns) in _TRIGGERS.items():
        name = f"stats_{table}"
        if dialect == "postgresql":
            old = ";\n    ".join(share(dialect, "OLD", -1))
            new = ";\n    ".join(share(dialect, "NEW", 1))
            changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
            out += [
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                f"  IF EXISTS (SELECT 1 FROM stats_paused) THEN\n    RETURN NULL;\n  END IF;\n"
                f"  {_PG_THREAD_LOCK[table]};\n"
                f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n    {old};\n  END IF;\n"
                f"  IF TG_OP IN ('UPDATE', 'INSERT') THEN\n    {new};\n  END IF;\n"
                f"  RETURN NULL;\nEND $$",
                f"CREATE TRIGGER {name}_rows AFTER INSERT OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()",
                f"CREATE TRIGGER {name}_change AFTER UPDATE OF {', '.join(columns)} ON {table} "
                f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}()",
            ]
        else:
            changed = "(" + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns) + ") AND "
            live = "NOT EXISTS (SELECT 1 FROM stats_paused)"
            body = {"insert": share(dialect, "NEW", 1), "delete": share(dialect, "OLD", -1),
                    "change": share(dialect, "OLD", -1) + share(dialect, "NEW", 1)}
            for event, statements in body.items():
                head = {"insert": "AFTER INSERT", "delete": "AFTER DELETE",
                        "change": f"AFTER UPDATE OF {', '.join(columns)}"}[event]
                when = f" WHEN {changed if event == 'change' else ''}{live}"
                out.append(f"CREATE TRIGGER {name}_{event} {head} ON {table} FOR EACH ROW{when} BEGIN\n  "
                           + ";\n  ".join(statements) + ";\nEND")
    return out


def install(conn: Connection) -> None:
    """Create the triggers that keep the rollups (the rollup tables must exist)."""
    for statement in _trigger_sql(conn.dialect.name):
        conn.exec_driver_sql(statement)


def uninstall(conn: Connection) -> None:
    pg = conn.dialect.name == "postgresql"
    for table in _TRIGGERS:
        name = f"stats_{table}"
        if pg:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
        else:
            for event in ("insert", "delete", "change"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_{event}")
    if pg:
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS stats_toxicity_bucket(text)")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS stats_held_phases(text)")


def _rows_share(dialect: str, where: str) -> list[str]:
    """Statements that add the share of every comment matching `where` (on `c`), and of the votes
    and reports on them, to the rollups: what the triggers do row by row, as a few set-wise
    statements (the rebuild, and bulk loads)."""
    day = _day(dialect, "c.created")
    rows = f"comments c JOIN threads t ON t.id = c.thread_id WHERE ({where})"
    who = "coalesce(c.author_key, c.ip_hash)"
    per_status = ", ".join(f"sum(CASE WHEN c.status = '{s}' THEN 1 ELSE 0 END)" for s in STATUSES)

    def add(table: str, key: str, columns: tuple[str, ...]) -> str:
        sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
        return f"ON CONFLICT ({key}) DO UPDATE SET {sets}"

    statements = [
        f"INSERT INTO stats_days (site_id, day, {', '.join(STATUSES)}) SELECT t.site_id, {day}, {per_status} "
        f"FROM {rows} GROUP BY t.site_id, {day} {add('stats_days', 'site_id, day', STATUSES)}",
        # commenters not yet counted on their day, then their comments of the day
        f"UPDATE stats_days SET commenters = stats_days.commenters + g.n FROM "
        f"(SELECT w.site_id, w.day, count(*) AS n FROM (SELECT DISTINCT t.site_id, {day} AS day, {who} AS who "
        f"FROM {rows} AND {who} IS NOT NULL) AS w WHERE NOT EXISTS (SELECT 1 FROM stats_commenters sc "
        f"WHERE sc.site_id = w.site_id AND sc.day = w.day AND sc.who = w.who) GROUP BY w.site_id, w.day) AS g "
        f"WHERE stats_days.site_id = g.site_id AND stats_days.day = g.day",
        f"INSERT INTO stats_commenters (site_id, day, who, comments) SELECT t.site_id, {day}, {who}, count(*) "
        f"FROM {rows} AND {who} IS NOT NULL GROUP BY t.site_id, {day}, {who} "
        f"{add('stats_commenters', 'site_id, day, who', ('comments',))}",
        *(f"INSERT INTO {table} (thread_id, {key}, site_id, comments) SELECT c.thread_id, {value}, t.site_id, count(*) "
          f"FROM {rows} AND c.status <> 'deleted' GROUP BY c.thread_id, {value}, t.site_id "
          f"{add(table, f'thread_id, {key}', ('comments',))}"
          for table, key, value in (("stats_thread_days", "day", day),
                                    ("stats_thread_blocks", "block", f"{day} / {BLOCK}"))),
        f"INSERT INTO stats_toxicity (site_id, day, bucket, comments) SELECT site_id, day, bucket, count(*) "
        f"FROM (SELECT t.site_id, {day} AS day, {_bucket(dialect, 'c')} AS bucket FROM {rows} "
        f"AND c.status <> 'deleted') AS s WHERE bucket IS NOT NULL GROUP BY site_id, day, bucket "
        f"{add('stats_toxicity', 'site_id, day, bucket', ('comments',))}",
    ]
    held = add("stats_held_reasons", "site_id, day, phase", ("comments",))
    if dialect == "postgresql":
        statements.append(
            f"INSERT INTO stats_held_reasons (site_id, day, phase, comments) SELECT t.site_id, {day}, p.phase, count(*) "
            f"FROM comments c JOIN threads t ON t.id = c.thread_id CROSS JOIN LATERAL stats_held_phases(c.moderation) "
            f"AS p(phase) WHERE ({where}) AND c.status = 'pending' GROUP BY t.site_id, {day}, p.phase {held}")
    else:  # no LATERAL: the phases named, then 'none' for the comments that name none
        each = f"json_each({_json('c')}, '$.reasons') AS e"
        phase = "json_extract(e.value, '$.phase')"
        statements += [
            f"INSERT INTO stats_held_reasons (site_id, day, phase, comments) "
            f"SELECT t.site_id, {day}, {phase}, count(DISTINCT c.id) FROM comments c JOIN threads t ON t.id = c.thread_id "
            f"JOIN {each} WHERE ({where}) AND c.status = 'pending' AND {_sqlite_reason('c')} "
            f"GROUP BY t.site_id, {day}, {phase} {held}",
            f"INSERT INTO stats_held_reasons (site_id, day, phase, comments) SELECT t.site_id, {day}, 'none', count(*) "
            f"FROM {rows} AND c.status = 'pending' AND NOT EXISTS (SELECT 1 FROM {each} WHERE {_sqlite_reason('c')}) "
            f"GROUP BY t.site_id, {day} {held}",
        ]
    for column, table in (("votes", "votes"), ("reports", "moderation_reports")):
        r_day = _day(dialect, "r.created")
        statements.append(
            f"INSERT INTO stats_days (site_id, day, {column}) SELECT t.site_id, {r_day}, count(*) FROM {table} r "
            f"JOIN comments c ON c.id = r.comment_id JOIN threads t ON t.id = c.thread_id WHERE ({where}) "
            f"GROUP BY t.site_id, {r_day} {add('stats_days', 'site_id, day', (column,))}")
    return statements


def _add_share(conn: Connection, where: str, **params) -> None:
    for statement in _rows_share(conn.dialect.name, where):
        conn.execute(text(statement), params)


def rebuild(conn: Connection) -> None:
    """Count every rollup again from the rows: the backfill of existing databases, and a check
    that the triggers agree with a direct count. Reads every comment: for migrations and tests,
    not for requests."""
    if conn.dialect.name == "postgresql":  # the helpers that read stored decisions (the backfill comes first)
        for statement in _PG_FUNCTIONS:
            conn.exec_driver_sql(statement)
    for table in ROLLUPS:
        conn.execute(table.delete())
    _add_share(conn, "1 = 1")


@contextmanager
def bulk(conn: Connection) -> Iterator[None]:
    """Rows written inside are left out by the triggers: the caller adds their share with
    `add_comments` in the same transaction, in a few set-wise statements rather than some ten per
    row. The pause is a row of this transaction that it deletes again, so no other transaction
    ever sees it (SQLite has one writer; PostgreSQL shows no other transaction's uncommitted rows)."""
    token = uuid.uuid4().hex
    conn.execute(stats_paused.insert().values(token=token))
    try:
        yield
    finally:
        conn.execute(stats_paused.delete().where(stats_paused.c.token == token))


def add_comments(conn: Connection, ids: list[int]) -> None:
    """Add the share of comments written inside `bulk`, with their votes and reports (written
    inside `bulk` too: a comment just stored has no others)."""
    if not ids:
        return
    if conn.dialect.name == "postgresql":
        _add_share(conn, "c.id = ANY(:ids)", ids=list(ids))
        return
    # SQLite: a range is far cheaper than thousands of bound ids; a batch's ids are one range
    # (handed out in a transaction that holds the write lock), anything else goes id by id.
    lo, hi = min(ids), max(ids)
    if hi - lo + 1 == len(set(ids)):
        _add_share(conn, "c.id BETWEEN :lo AND :hi", lo=lo, hi=hi)
    else:
        for cid in ids:
            _add_share(conn, "c.id = :lo", lo=cid)


def snapshot(conn: Connection) -> dict[str, list[tuple]]:
    """Every rollup row with a count, in key order: what `rebuild` must reproduce."""
    out = {}
    for table in ROLLUPS:
        counts = [i for i, c in enumerate(table.c) if c.server_default is not None]
        rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = [tuple(r) for r in rows if any(r[i] for i in counts)]
    return out


# --- the dashboard's reads ---------------------------------------------------------------------

@dataclass(frozen=True)
class DayFigures:
    """One UTC day (`day`: days since the epoch): comments created that day by their status now,
    their distinct commenters, and the votes and reports made that day."""

    day: int
    published: int
    pending: int
    rejected: int
    deleted: int
    commenters: int
    votes: int
    reports: int


@dataclass(frozen=True)
class Queue:
    pending: int
    oldest_created: float | None


@dataclass(frozen=True)
class Counted:
    key: str | int
    count: int


@dataclass(frozen=True)
class ThreadComments:
    uri: str
    title: str
    comments: int


def days(conn: Connection, site_id: int, first_day: int) -> list[DayFigures]:
    """The site's days from `first_day` on that have any figure."""
    q = (select(stats_days.c.day, *(stats_days.c[s] for s in STATUSES), stats_days.c.commenters,
                stats_days.c.votes, stats_days.c.reports)
         .where(stats_days.c.site_id == site_id, stats_days.c.day >= first_day).order_by(stats_days.c.day))
    return [DayFigures(*row) for row in conn.execute(q)]


def queue(conn: Connection, site_id: int) -> Queue:
    """Every comment waiting for review on the site, whenever it was posted: the count from the
    rollup, the oldest from `ix_comments_status_created` (the first pending comment on the site)."""
    pending = conn.execute(select(func.coalesce(func.sum(stats_days.c.pending), 0))
                           .where(stats_days.c.site_id == site_id)).scalar_one()
    on_site = select(threads.c.id).where(threads.c.id == comments.c.thread_id, threads.c.site_id == site_id).exists()
    oldest = conn.execute(select(comments.c.created).where(comments.c.status == "pending", on_site)
                          .order_by(comments.c.created).limit(1)).scalar()
    return Queue(pending, oldest)


def held_reasons(conn: Connection, site_id: int, first_day: int) -> list[Counted]:
    """Held comments of the period per phase their decision names, most first."""
    n = func.sum(stats_held_reasons.c.comments).label("n")
    q = (select(stats_held_reasons.c.phase, n)
         .where(stats_held_reasons.c.site_id == site_id, stats_held_reasons.c.day >= first_day)
         .group_by(stats_held_reasons.c.phase).having(n > 0).order_by(n.desc(), stats_held_reasons.c.phase))
    return [Counted(*row) for row in conn.execute(q)]


def toxicity(conn: Connection, site_id: int, first_day: int) -> list[Counted]:
    """Comments of the period (deleted ones aside) per toxicity bucket (0-9)."""
    n = func.sum(stats_toxicity.c.comments)
    q = (select(stats_toxicity.c.bucket, n)
         .where(stats_toxicity.c.site_id == site_id, stats_toxicity.c.day >= first_day)
         .group_by(stats_toxicity.c.bucket))
    return [Counted(*row) for row in conn.execute(q)]


def top_threads(conn: Connection, site_id: int, first_day: int, limit: int) -> list[ThreadComments]:
    """The threads with the most comments (deleted ones aside) posted in the period: the days
    before the period's first whole block, then the blocks from there on."""
    first_block = -(-first_day // BLOCK)
    td, tb = stats_thread_days, stats_thread_blocks
    parts = union_all(
        select(td.c.thread_id, td.c.comments).where(td.c.site_id == site_id, td.c.day >= first_day,
                                                    td.c.day < first_block * BLOCK),
        select(tb.c.thread_id, tb.c.comments).where(tb.c.site_id == site_id, tb.c.block >= first_block),
    ).subquery()
    n = func.sum(parts.c.comments).label("n")
    busiest = (select(parts.c.thread_id, n).group_by(parts.c.thread_id).having(n > 0)
               .order_by(n.desc(), parts.c.thread_id).limit(limit).subquery())
    q = (select(threads.c.uri, threads.c.title, busiest.c.n)
         .select_from(busiest.join(threads, threads.c.id == busiest.c.thread_id))
         .order_by(busiest.c.n.desc(), threads.c.id))
    return [ThreadComments(*row) for row in conn.execute(q)]


# --- one thread's figures ----------------------------------------------------------------------
# A thread's figures are read from its own rows rather than from rollups: every query below is
# bounded by the thread (`ix_comments_thread_created`, then the votes' and reports' keys, which
# start with `comment_id`), so it reads that thread's comments and nothing else, however big the
# site. Rollups per thread would add some eight statements to every write's triggers for a page
# editors open now and then; bench/README.md has what a big thread costs to read.

def _thread_rows(since: str) -> str:
    return f"comments c WHERE c.thread_id = :thread AND c.created >= {since}"


def thread_days(conn: Connection, thread_id: int, first_day: int) -> list[DayFigures]:
    """The thread's days from `first_day` on that have any figure (as `days` gives a site's)."""
    dialect = conn.dialect.name
    since = {"thread": thread_id, "since": first_day * DAY}
    day = _day(dialect, "c.created")
    per_status = ", ".join(f"sum(CASE WHEN c.status = '{s}' THEN 1 ELSE 0 END)" for s in STATUSES)
    figures: dict[int, list[int]] = {}
    q = (f"SELECT {day} AS day, {per_status}, count(DISTINCT coalesce(c.author_key, c.ip_hash)) "
         f"FROM {_thread_rows(':since')} GROUP BY {day}")
    for row in conn.execute(text(q), since):
        figures[row[0]] = [*row[1:], 0, 0]
    # Votes and reports of the period on any of the thread's comments, older ones too.
    for column, (table, pos) in {"votes": ("votes", 5), "reports": ("moderation_reports", 6)}.items():
        r_day = _day(dialect, "r.created")
        q = (f"SELECT {r_day}, count(*) FROM comments c JOIN {table} r ON r.comment_id = c.id "
             f"WHERE c.thread_id = :thread AND r.created >= :since GROUP BY {r_day}")
        for d, n in conn.execute(text(q), since):
            figures.setdefault(d, [0] * 7)[pos] = n
    return [DayFigures(d, *f[:4], f[4], f[5], f[6]) for d, f in sorted(figures.items())]


def thread_queue(conn: Connection, thread_id: int) -> Queue:
    """The thread's comments waiting for review, whenever posted, and the oldest one's time."""
    n, oldest = conn.execute(
        select(func.count(), func.min(comments.c.created))
        .where(comments.c.thread_id == thread_id, comments.c.status == "pending")).one()
    return Queue(n, oldest)


def thread_held_reasons(conn: Connection, thread_id: int, first_day: int) -> list[Counted]:
    """The thread's held comments of the period per phase their decision names, most first."""
    dialect = conn.dialect.name
    params = {"thread": thread_id, "since": first_day * DAY}
    held = f"{_thread_rows(':since')} AND c.status = 'pending'"
    if dialect == "postgresql":
        qs = [f"SELECT p.phase, count(*) FROM comments c CROSS JOIN LATERAL stats_held_phases(c.moderation) AS p(phase) "
              f"WHERE c.thread_id = :thread AND c.created >= :since AND c.status = 'pending' GROUP BY p.phase"]
    else:
        each = f"json_each({_json('c')}, '$.reasons') AS e"
        phase = "json_extract(e.value, '$.phase')"
        qs = [f"SELECT {phase}, count(DISTINCT c.id) FROM comments c JOIN {each} WHERE c.thread_id = :thread "
              f"AND c.created >= :since AND c.status = 'pending' AND {_sqlite_reason('c')} GROUP BY {phase}",
              f"SELECT 'none', count(*) FROM {held} AND NOT EXISTS (SELECT 1 FROM {each} WHERE {_sqlite_reason('c')}) "
              f"HAVING count(*) > 0"]
    counted = [Counted(str(p), n) for q in qs for p, n in conn.execute(text(q), params) if n]
    return sorted(counted, key=lambda c: (-c.count, c.key))


def thread_toxicity(conn: Connection, thread_id: int, first_day: int) -> list[Counted]:
    """The thread's comments of the period (deleted ones aside) per toxicity bucket (0-9)."""
    q = (f"SELECT bucket, count(*) FROM (SELECT {_bucket(conn.dialect.name, 'c')} AS bucket "
         f"FROM {_thread_rows(':since')} AND c.status <> 'deleted') AS s WHERE bucket IS NOT NULL GROUP BY bucket")
    return [Counted(b, n) for b, n in conn.execute(text(q), {"thread": thread_id, "since": first_day * DAY})]
