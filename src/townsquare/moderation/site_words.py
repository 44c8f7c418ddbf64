"""A site's word lists (banned and suspect words) as moderators change them: from the admin UI
and the moderator API, with the same checks and the same audit-log entry.

The lists live in the site's stored settings under `moderation_rules`; comments read them from
the database on every post, so a change applies to the next comment on every server process.
"""

from __future__ import annotations

from typing import Iterable

from pydantic import ValidationError

from townsquare.config import Settings, SiteSettings, site_settings
from townsquare.errors import Invalid, NotFound
from townsquare import sites
from townsquare.moderation import audit
from townsquare.moderation.auth import Actor
from townsquare.moderation.settings import ModerationRules
from townsquare.store import sites as site_store
from townsquare.store.sites import Site
from townsquare.store import site_settings as stored
from townsquare.store.db import Connection, Engine, reading, writing

KINDS = {"banned_words": "Banned words", "suspect_words": "Suspect words"}
MAX_WORDS = 1000
MAX_LENGTH = 100


def current(defaults: SiteSettings, site: Site) -> dict[str, list[str]]:
    """The lists in force on the site: its own, or the instance defaults where it has none."""
    rules = site_settings(defaults, site.settings).moderation_rules
    return {kind: list(getattr(rules, kind)) for kind in KINDS}


def clean(lists: dict[str, Iterable[str]]) -> dict[str, list[str]]:
    """The lists as they would be stored: entries trimmed, blank ones dropped, duplicates removed
    (ignoring letter case, as matching does). Raises Invalid naming what is wrong."""
    out: dict[str, list[str]] = {}
    problems: list[str] = []
    first_bad = ""
    for kind, label in KINDS.items():
        unique: dict[str, str] = {}
        for word in (w.strip() for w in lists.get(kind, ())):
            if word:
                unique.setdefault(word.lower(), word)
        words = out[kind] = list(unique.values())
        found = []
        if len(words) > MAX_WORDS:
            found.append(f"at most {MAX_WORDS} entries, not {len(words)}")
        found += [f"{w[:20]!r}… is longer than {MAX_LENGTH} characters" for w in words if len(w) > MAX_LENGTH]
        try:
            ModerationRules.model_validate({kind: words})
        except ValidationError as e:
            found += [err["msg"].removeprefix("Value error, ") for err in e.errors()]
        if found:
            first_bad = first_bad or kind
            problems.append(f"{label}: " + "; ".join(found) + ".")
    if problems:
        raise Invalid(" ".join(problems), field=first_bad)
    return out


def in_force(engine: Engine, settings: Settings, actor: Actor, site_name: str) -> dict[str, list[str]]:
    """The lists in force on a site the actor moderates."""
    with reading(engine) as conn:
        site = sites.by_name(conn, settings, site_name)
    actor.require(site.id)
    return current(settings.site_defaults, site.site)


def save(engine: Engine, actor: Actor, defaults: SiteSettings, site_name: str,
         lists: dict[str, Iterable[str]]) -> dict[str, list[str]]:
    """Check and store the site's two lists, leaving every other stored setting as it was, and
    record what was added and removed in the audit log. Returns the lists as stored."""
    with writing(engine) as conn:
        return _save(conn, actor, defaults, site_name, lists)


def _save(conn: Connection, actor: Actor, defaults: SiteSettings, site_name: str,
          lists: dict[str, Iterable[str]]) -> dict[str, list[str]]:
    site_id = stored.lock(conn, site_name)
    if site_id is None:
        raise NotFound(f"There is no site named '{site_name}'.", field="site")
    actor.require(site_id)
    site = site_store.by_id(conn, site_id)
    new, old = clean(lists), current(defaults, site)
    changes = {}
    for kind in KINDS:
        added = [w for w in new[kind] if w not in old[kind]]
        removed = [w for w in old[kind] if w not in new[kind]]
        if added:
            changes[f"{kind}_added"] = added
        if removed:
            changes[f"{kind}_removed"] = removed
    if changes:
        kept = dict(site.settings)
        kept["moderation_rules"] = {**kept.get("moderation_rules", {}), **new}
        site_store.update_site(conn, site.id, settings=kept)
        audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action="word_lists",
                     target=f"site:{site.id}", details=changes)
    return new
