"""The installation's signing secret: the configured `secret`, else the one kept in the database.

Resolved once per process (the app at start, each command that signs) and passed on, so no
request handler opens a transaction to find it.
"""

from __future__ import annotations

from townsquare.config import Settings
from townsquare.store import sites
from townsquare.store.db import Engine, writing


def instance_secret(settings: Settings, engine: Engine) -> str:
    if settings.secret:
        return settings.secret
    # Created on first use, so every process of one installation agrees without set-up.
    with writing(engine) as conn:
        return sites.instance_secret(conn)
