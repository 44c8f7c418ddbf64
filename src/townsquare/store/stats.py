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
  decision names (a comment once per phase; "none" when it names none);
- the same figures per thread, for the dashboard's view of one thread: `stats_thread_days` also
  has `stats_days`' columns, and `stats_thread_commenters`, `stats_thread_toxicity` and
  `stats_thread_held_reasons` are keyed by thread where their site tables are keyed by site.
  Reading a big thread's own rows took over half a second; these take milliseconds, for some
  seven more small statements per write (bench/README.md).

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
    _count("comments"),  # not deleted: what the busiest threads count
    *(_count(s) for s in STATUSES),
    _count("commenters"),
    _count("votes"),
    _count("reports"),
    # the busiest threads of a site's period, read from the index alone
    Index("ix_stats_thread_days_site_day", "site_id", "day", "thread_id", "comments"),
)

stats_thread_commenters = Table(
    "stats_thread_commenters",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("who", Text, primary_key=True),
    _count("comments"),
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

stats_thread_toxicity = Table(
    "stats_thread_toxicity",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("bucket", Integer, primary_key=True),
    _count("comments"),
)

stats_thread_held_reasons = Table(
    "stats_thread_held_reasons",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("phase", Text, primary_key=True),
    _count("comments"),
)

# Present only inside a bulk load's own transaction (`bulk`): the triggers then leave the rows to it.
stats_paused = Table("stats_paused", metadata, Column("token", Text, primary_key=True))

ROLLUPS = (stats_days, stats_commenters, stats_thread_days, stats_thread_blocks, stats_toxicity, stats_held_reasons,
           stats_thread_commenters, stats_thread_toxicity, stats_thread_held_reasons)


@dataclass(frozen=True)
class _Scope:
    """The rollups of one scope: a site's, or a thread's (the same figures, keyed by thread)."""

    key: str  # the key column
    value: str  # its value on `threads t` (the comment's thread)
    days: str
    commenters: str
    toxicity: str
    held_reasons: str


SITE = _Scope("site_id", "t.site_id", "stats_days", "stats_commenters", "stats_toxicity", "stats_held_reasons")
THREAD = _Scope("thread_id", "t.id", "stats_thread_days", "stats_thread_commenters", "stats_thread_toxicity",
                "stats_thread_held_reasons")


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
    kept = f"{r}.status <> 'deleted'"
    statements = [
        f"INSERT INTO stats_thread_blocks (thread_id, block, site_id, comments) "
        f"SELECT t.id, {day} / {BLOCK}, t.site_id, {sign} FROM threads t WHERE t.id = {r}.thread_id AND {kept} "
        f"ON CONFLICT (thread_id, block) DO UPDATE SET comments = stats_thread_blocks.comments + excluded.comments"]
    for scope in (SITE, THREAD):
        statements += _scope_share(dialect, scope, r, sign)
    return statements


def _scope_share(dialect: str, scope: _Scope, r: str, sign: int) -> list[str]:
    """Comment row `r`'s share of one scope's rollups."""
    day = _day(dialect, f"{r}.created")
    key = scope.key
    of_row = f"FROM threads t WHERE t.id = {r}.thread_id"
    value = f"(SELECT site_id FROM threads WHERE id = {r}.thread_id)" if scope is SITE else f"{r}.thread_id"
    who = f"coalesce({r}.author_key, {r}.ip_hash)"
    same_commenter = f"{key} = {value} AND day = {day} AND who = {who}"
    kept = f"{r}.status <> 'deleted'"
    columns = list(STATUSES)
    values = [f"CASE WHEN {r}.status = '{s}' THEN {sign} ELSE 0 END" for s in STATUSES]
    if scope is THREAD:  # the thread's site, and its comments not deleted (the busiest threads)
        columns += ["site_id", "comments"]
        values += ["t.site_id", f"CASE WHEN {kept} THEN {sign} ELSE 0 END"]
    added = ", ".join(f"{c} = {scope.days}.{c} + excluded.{c}" for c in columns if c != "site_id")
    statements = [
        f"INSERT INTO {scope.days} ({key}, day, {', '.join(columns)}) "
        f"SELECT {scope.value}, {day}, {', '.join(values)} {of_row} "
        f"ON CONFLICT ({key}, day) DO UPDATE SET {added}",
        f"INSERT INTO {scope.toxicity} ({key}, day, bucket, comments) "
        f"SELECT {scope.value}, {day}, b.bucket, {sign} FROM threads t, (SELECT {_bucket(dialect, r)} AS bucket) AS b "
        f"WHERE t.id = {r}.thread_id AND {kept} AND b.bucket IS NOT NULL "
        f"ON CONFLICT ({key}, day, bucket) DO UPDATE SET comments = {scope.toxicity}.comments + excluded.comments",
        f"INSERT INTO {scope.held_reasons} ({key}, day, phase, comments) "
        f"SELECT {scope.value}, {day}, p.phase, {sign} FROM threads t, {_phases(dialect, r)} AS p "
        f"WHERE t.id = {r}.thread_id AND {r}.status = 'pending' "
        f"ON CONFLICT ({key}, day, phase) DO UPDATE SET comments = {scope.held_reasons}.comments + excluded.comments",
    ]
    if sign > 0:  # a commenter counts for the day with their first comment of it
        statements += [
            f"UPDATE {scope.days} SET commenters = commenters + 1 WHERE {key} = {value} AND day = {day} "
            f"AND {who} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {scope.commenters} WHERE {same_commenter})",
            f"INSERT INTO {scope.commenters} ({key}, day, who, comments) "
            f"SELECT {scope.value}, {day}, {who}, 1 {of_row} AND {who} IS NOT NULL "
            f"ON CONFLICT ({key}, day, who) DO UPDATE SET comments = {scope.commenters}.comments + 1",
        ]
    else:  # ... and stops counting when their last one of it goes
        statements += [
            f"UPDATE {scope.commenters} SET comments = comments - 1 WHERE {same_commenter}",
            f"UPDATE {scope.days} SET commenters = commenters - 1 WHERE {key} = {value} AND day = {day} "
            f"AND EXISTS (SELECT 1 FROM {scope.commenters} WHERE {same_commenter} AND comments <= 0)",
            f"DELETE FROM {scope.commenters} WHERE {same_commenter} AND comments <= 0",
        ]
    return statements


def _counted_share(dialect: str, column: str, r: str, sign: int) -> list[str]:
    """A vote's or report's share: one on its comment's site and thread on the day it was made."""
    day = _day(dialect, f"{r}.created")
    rows = f"FROM comments c JOIN threads t ON t.id = c.thread_id WHERE c.id = {r}.comment_id"
    return [
        f"INSERT INTO stats_days (site_id, day, {column}) SELECT t.site_id, {day}, {sign} {rows} "
        f"ON CONFLICT (site_id, day) DO UPDATE SET {column} = stats_days.{column} + excluded.{column}",
        f"INSERT INTO stats_thread_days (thread_id, day, site_id, {column}) SELECT t.id, {day}, t.site_id, {sign} {rows} "
        f"ON CONFLICT (thread_id, day) DO UPDATE SET {column} = stats_thread_days.{column} + excluded.{column}",
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
    statements = [
        f"INSERT INTO stats_thread_blocks (thread_id, block, site_id, comments) "
        f"SELECT c.thread_id, {day} / {BLOCK}, t.site_id, count(*) FROM {rows} AND c.status <> 'deleted' "
        f"GROUP BY c.thread_id, {day} / {BLOCK}, t.site_id {_add('stats_thread_blocks', 'thread_id, block', ('comments',))}"]
    for scope in (SITE, THREAD):
        statements += _rows_scope_share(dialect, scope, where)
    return statements


def _add(table: str, key: str, columns: tuple[str, ...]) -> str:
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    return f"ON CONFLICT ({key}) DO UPDATE SET {sets}"


def _rows_scope_share(dialect: str, scope: _Scope, where: str) -> list[str]:
    """`_rows_share` for one scope's rollups."""
    day = _day(dialect, "c.created")
    rows = f"comments c JOIN threads t ON t.id = c.thread_id WHERE ({where})"
    who = "coalesce(c.author_key, c.ip_hash)"
    key, value = scope.key, scope.value
    columns = list(STATUSES)
    values = [f"sum(CASE WHEN c.status = '{s}' THEN 1 ELSE 0 END)" for s in STATUSES]
    group = f"{value}, {day}"
    if scope is THREAD:
        columns += ["site_id", "comments"]
        values += ["t.site_id", "sum(CASE WHEN c.status <> 'deleted' THEN 1 ELSE 0 END)"]
        group += ", t.site_id"
    counted = tuple(c for c in columns if c != "site_id")
    statements = [
        f"INSERT INTO {scope.days} ({key}, day, {', '.join(columns)}) SELECT {value}, {day}, {', '.join(values)} "
        f"FROM {rows} GROUP BY {group} {_add(scope.days, f'{key}, day', counted)}",
        # commenters not yet counted on their day, then their comments of the day
        f"UPDATE {scope.days} SET commenters = {scope.days}.commenters + g.n FROM "
        f"(SELECT w.k, w.day, count(*) AS n FROM (SELECT DISTINCT {value} AS k, {day} AS day, {who} AS who "
        f"FROM {rows} AND {who} IS NOT NULL) AS w WHERE NOT EXISTS (SELECT 1 FROM {scope.commenters} sc "
        f"WHERE sc.{key} = w.k AND sc.day = w.day AND sc.who = w.who) GROUP BY w.k, w.day) AS g "
        f"WHERE {scope.days}.{key} = g.k AND {scope.days}.day = g.day",
        f"INSERT INTO {scope.commenters} ({key}, day, who, comments) SELECT {value}, {day}, {who}, count(*) "
        f"FROM {rows} AND {who} IS NOT NULL GROUP BY {value}, {day}, {who} "
        f"{_add(scope.commenters, f'{key}, day, who', ('comments',))}",
        f"INSERT INTO {scope.toxicity} ({key}, day, bucket, comments) SELECT k, day, bucket, count(*) "
        f"FROM (SELECT {value} AS k, {day} AS day, {_bucket(dialect, 'c')} AS bucket FROM {rows} "
        f"AND c.status <> 'deleted') AS s WHERE bucket IS NOT NULL GROUP BY k, day, bucket "
        f"{_add(scope.toxicity, f'{key}, day, bucket', ('comments',))}",
    ]
    held = _add(scope.held_reasons, f"{key}, day, phase", ("comments",))
    if dialect == "postgresql":
        statements.append(
            f"INSERT INTO {scope.held_reasons} ({key}, day, phase, comments) SELECT {value}, {day}, p.phase, count(*) "
            f"FROM comments c JOIN threads t ON t.id = c.thread_id CROSS JOIN LATERAL stats_held_phases(c.moderation) "
            f"AS p(phase) WHERE ({where}) AND c.status = 'pending' GROUP BY {value}, {day}, p.phase {held}")
    else:  # no LATERAL: the phases named, then 'none' for the comments that name none
        each = f"json_each({_json('c')}, '$.reasons') AS e"
        phase = "json_extract(e.value, '$.phase')"
        statements += [
            f"INSERT INTO {scope.held_reasons} ({key}, day, phase, comments) "
            f"SELECT {value}, {day}, {phase}, count(DISTINCT c.id) FROM comments c JOIN threads t ON t.id = c.thread_id "
            f"JOIN {each} WHERE ({where}) AND c.status = 'pending' AND {_sqlite_reason('c')} "
            f"GROUP BY {value}, {day}, {phase} {held}",
            f"INSERT INTO {scope.held_reasons} ({key}, day, phase, comments) SELECT {value}, {day}, 'none', count(*) "
            f"FROM {rows} AND c.status = 'pending' AND NOT EXISTS (SELECT 1 FROM {each} WHERE {_sqlite_reason('c')}) "
            f"GROUP BY {value}, {day} {held}",
        ]
    for column, table in (("votes", "votes"), ("reports", "moderation_reports")):
        r_day = _day(dialect, "r.created")
        extra = ("", "") if scope is SITE else (", site_id", ", t.site_id")
        statements.append(
            f"INSERT INTO {scope.days} ({key}, day{extra[0]}, {column}) SELECT {value}, {r_day}{extra[1]}, count(*) "
            f"FROM {table} r JOIN comments c ON c.id = r.comment_id JOIN threads t ON t.id = c.thread_id WHERE ({where}) "
            f"GROUP BY {value}, {r_day}{extra[1]} {_add(scope.days, f'{key}, day', (column,))}")
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


def _of(table: Table, site_id: int | None, thread_id: int | None):
    """The rows of a site, or of one thread when `thread_id` is given (its site's rows are the thread table's)."""
    return table.c.thread_id == thread_id if thread_id is not None else table.c.site_id == site_id


def days(conn: Connection, site_id: int, first_day: int, thread_id: int | None = None) -> list[DayFigures]:
    """The site's (or one thread's) days from `first_day` on that have any figure."""
    t = stats_thread_days if thread_id is not None else stats_days
    q = (select(t.c.day, *(t.c[s] for s in STATUSES), t.c.commenters, t.c.votes, t.c.reports)
         .where(_of(t, site_id, thread_id), t.c.day >= first_day).order_by(t.c.day))
    return [DayFigures(*row) for row in conn.execute(q)]


def queue(conn: Connection, site_id: int, thread_id: int | None = None) -> Queue:
    """Every comment waiting for review on the site (or thread), whenever it was posted: the count
    from the rollup; the oldest from `ix_comments_status_created` (the first pending comment on
    the site), or for a thread from `ix_comments_thread_created` from the first day its rollup
    has one pending, so it reads that day's comments at most."""
    t = stats_thread_days if thread_id is not None else stats_days
    pending = conn.execute(select(func.coalesce(func.sum(t.c.pending), 0)).where(_of(t, site_id, thread_id))).scalar_one()
    if thread_id is None:
        on_site = select(threads.c.id).where(threads.c.id == comments.c.thread_id, threads.c.site_id == site_id).exists()
        oldest = conn.execute(select(comments.c.created).where(comments.c.status == "pending", on_site)
                              .order_by(comments.c.created).limit(1)).scalar()
        return Queue(pending, oldest)
    first = conn.execute(select(func.min(t.c.day)).where(t.c.thread_id == thread_id, t.c.pending > 0)).scalar()
    oldest = None if first is None else conn.execute(
        select(comments.c.created).where(comments.c.thread_id == thread_id, comments.c.created >= first * DAY,
                                         comments.c.status == "pending")
        .order_by(comments.c.created).limit(1)).scalar()
    return Queue(pending, oldest)


def held_reasons(conn: Connection, site_id: int, first_day: int, thread_id: int | None = None) -> list[Counted]:
    """Held comments of the period per phase their decision names, most first."""
    t = stats_thread_held_reasons if thread_id is not None else stats_held_reasons
    n = func.sum(t.c.comments).label("n")
    q = (select(t.c.phase, n).where(_of(t, site_id, thread_id), t.c.day >= first_day)
         .group_by(t.c.phase).having(n > 0).order_by(n.desc(), t.c.phase))
    return [Counted(*row) for row in conn.execute(q)]


def toxicity(conn: Connection, site_id: int, first_day: int, thread_id: int | None = None) -> list[Counted]:
    """Comments of the period (deleted ones aside) per toxicity bucket (0-9)."""
    t = stats_thread_toxicity if thread_id is not None else stats_toxicity
    q = (select(t.c.bucket, func.sum(t.c.comments)).where(_of(t, site_id, thread_id), t.c.day >= first_day)
         .group_by(t.c.bucket))
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

