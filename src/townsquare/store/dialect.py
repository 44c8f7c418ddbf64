"""The one statement that differs between SQLite and PostgreSQL: INSERT … ON CONFLICT."""

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite


def upsert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
