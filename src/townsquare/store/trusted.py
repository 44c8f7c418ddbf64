"""Trusted authors: per site, the hashed addresses (kind "ip") and verified identities (kind
"identity") whose comments skip the checks the site's policy lets trusted authors skip.

Rows of kind "email" (trust keyed by a typed e-mail address, from before) are never honoured:
anyone can type anyone's address."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Connection, and_, insert, select

from townsquare.store.moderation import trusted_authors

TrustKind = Literal["ip", "identity"]
HONOURED = ("ip", "identity")


def set_trusted(conn: Connection, *, site_id: int, kind: TrustKind, value: str, trusted: bool, at: float,
                by: int | None) -> None:
    where = and_(trusted_authors.c.site_id == site_id, trusted_authors.c.author_key == value)
    conn.execute(trusted_authors.delete().where(where))
    if trusted:
        conn.execute(insert(trusted_authors).values(site_id=site_id, kind=kind, author_key=value, created=at,
                                                    created_by=by))


def trusted_addresses(conn: Connection, pairs: set[tuple[int, str]], kind: TrustKind = "ip") -> set[tuple[int, str]]:
    """Which of these (site id, hashed address or identity) pairs are trusted (one query)."""
    if not pairs:
        return set()
    keys = {k for _, k in pairs}
    rows = conn.execute(select(trusted_authors.c.site_id, trusted_authors.c.author_key)
                        .where(trusted_authors.c.kind == kind, trusted_authors.c.author_key.in_(keys)))
    return {(r.site_id, r.author_key) for r in rows} & pairs
