"""Fast bulk writes for imports: ids handed out up front, rows sent with one executemany.

Going through the driver directly matters at import scale: building SQLAlchemy parameters row
by row costs more than SQLite spends storing the row. Ids are taken before the insert so replies
in the same batch can point at their parents without a round trip per row.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from sqlalchemy import Connection, Table, func, select


def allocate_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """`count` unused ids for `table`, valid for the current transaction."""
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        sequence = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table.name}', 'id')").scalar_one()
        rows = conn.exec_driver_sql(f"SELECT nextval('{sequence}') FROM generate_series(1, {int(count)})")
        return [r[0] for r in rows]
    # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so nobody else can take these.
    start = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    return list(range(start, start + count))


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


def bump_threads(conn: Connection, published: dict[int, int]) -> None:
    """Add newly published comments to each thread's count and move its version on."""
    if not published:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"UPDATE threads SET comment_count = comment_count + {mark}, version = version + 1 WHERE id = {mark}",
        [(delta, thread_id) for thread_id, delta in published.items()],
    )


def select_in(conn: Connection, sql: str, params: Sequence, values: list, chunk: int = 500) -> Iterator[tuple]:
    """The rows of `sql` (written with `?` marks, ending in `IN`) for every one of `values`,
    asked in chunks. Each batch of an import looks up thousands of ids this way."""
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for i in range(0, len(values), chunk):
        part = values[i:i + chunk]
        yield from conn.exec_driver_sql(f"{sql} ({', '.join([mark] * len(part))})", (*params, *part))
