"""Layers: `townsquare.store` owns all SQL. No other module imports a database library or runs a
statement; they call store functions (and name types through `townsquare.store.db`)."""

from __future__ import annotations

import ast
from pathlib import Path

import townsquare

PACKAGE = Path(townsquare.__file__).parent
STORE = PACKAGE / "store"
DATABASE_LIBRARIES = frozenset({"sqlalchemy", "sqlite3", "psycopg", "alembic"})
STATEMENT_CALLS = frozenset({"execute", "exec_driver_sql"})



def outside_store() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if not p.is_relative_to(STORE))


def violations(source: str, name: str) -> list[str]:
    """Each database import or statement call in the module's source, as 'path:line: what'."""
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"imports {a.name}") for a in node.names
                      if a.name.split(".")[0] in DATABASE_LIBRARIES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in DATABASE_LIBRARIES:
                found.append((node.lineno, f"imports from {node.module}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STATEMENT_CALLS:
            found.append((node.lineno, f"calls .{node.func.attr}()"))
    return [f"src/townsquare/{name}:{line}: {what}" for line, what in sorted(found)]


def test_the_walk_finds_the_modules():
    names = {p.relative_to(PACKAGE).as_posix() for p in outside_store()}
    assert {"privacy.py", "importers/loader.py", "web/privacy_api.py"} <= names
    assert not any(n.startswith("store/") for n in names)


def test_the_guard_sees_imports_and_statements():
    source = ("import sqlite3\nfrom sqlalchemy.dialects import sqlite\nimport psycopg.rows as r\n"
              "from townsquare.store.db import Connection\n"
              "def f(conn):\n    conn.execute('SELECT 1')\n    conn.exec_driver_sql('SELECT 1')\n")
    assert violations(source, "probe.py") == [
        "src/townsquare/probe.py:1: imports sqlite3", "src/townsquare/probe.py:2: imports from sqlalchemy.dialects",
        "src/townsquare/probe.py:3: imports psycopg.rows", "src/townsquare/probe.py:6: calls .execute()",
        "src/townsquare/probe.py:7: calls .exec_driver_sql()",
    ]


def test_only_store_runs_sql():
    found = []
    for path in outside_store():
        found += violations(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix())
    assert not found, "SQL outside townsquare.store (move it behind a store function):\n" + "\n".join(found)
