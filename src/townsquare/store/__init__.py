"""Storage: tables, migrations and queries, the same on SQLite and PostgreSQL.

Importing this package registers every area's tables on the one shared `metadata`.
"""

import importlib
import pkgutil

from townsquare.store.tables import metadata

# Each area (alerts, moderation, importing…) keeps its tables in its own module here.
for _mod in pkgutil.iter_modules(__path__):
    if _mod.name not in {"db", "tables", "migrations"}:
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["metadata"]
