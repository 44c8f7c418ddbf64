"""Personal-data requests a moderator handles in the admin UI: export or erase one author's data
on a site, each recorded in the audit log under the author's key (never the address)."""

from __future__ import annotations

from typing import Any

from townsquare import privacy
from townsquare.domain.tokens import Signer
from townsquare.domain.validate import EMAIL
from townsquare.errors import Invalid
from townsquare.moderation import audit
from townsquare.moderation.auth import Actor
from townsquare.store import sites as site_store
from townsquare.store.sites import Site
from townsquare.store.db import Engine, reading, writing


def request_for(engine: Engine, actor: Actor, email: str, site_name: str, reason: str) -> tuple[Site, str]:
    """The site and normalised address of a request, once it is valid: raises Invalid (or
    Forbidden for a site the actor does not moderate) naming what is wrong."""
    address = email.strip().lower()
    if not EMAIL.match(address):
        raise Invalid(f"'{email}' is not an e-mail address.")
    with reading(engine) as conn:
        site = site_store.by_name(conn, site_name)
    if site is None:
        raise Invalid("Choose a site.")
    actor.require(site.id)
    if not reason.strip():
        raise Invalid("Say why (the request it answers, for example): the audit log keeps it.")
    return site, address


def author_target(signer: Signer, address: str) -> str:
    # The audit log names the author by keyed hash (as comments.author_key does), so the entry
    # that records an erasure does not keep the address it erased.
    return "author:" + signer.hash("email", address)


def export(engine: Engine, signer: Signer, actor: Actor, site: Site, address: str,
           reason: str) -> dict[str, Any]:
    """Everything stored about the author on the site; the audit log records the export."""
    with writing(engine) as conn:
        data = privacy.export_author(conn, signer, address, site_id=site.id)
        audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action="privacy_export",
                     target=author_target(signer, address), reason=reason.strip(),
                     details={"comments": len(data["comments"]), "subscriptions": len(data["subscriptions"])})
    return data


def found(engine: Engine, signer: Signer, site: Site, address: str) -> dict[str, int]:
    """How many comments and alert subscriptions of the author an erasure would remove."""
    with reading(engine) as conn:
        data = privacy.export_author(conn, signer, address, site_id=site.id)
    return {"comments": len(data["comments"]), "subscriptions": len(data["subscriptions"])}


def erase(engine: Engine, signer: Signer, actor: Actor, site: Site, address: str, *,
          mode: privacy.ErasureMode, voters: tuple[str, ...], reason: str) -> tuple[dict[str, int], str]:
    """Erase the author's data on the site; returns what was removed and the audit-log target."""
    target = author_target(signer, address)
    with writing(engine) as conn:
        done = privacy.erase_author(conn, signer, address, mode=mode, site_id=site.id, voters=voters)
        audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action="privacy_erase",
                     target=target, reason=reason.strip(), details={"mode": mode, **done})
    return done, target
