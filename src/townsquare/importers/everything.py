"""What `export --all` adds to the JSON-lines export, and `import` restores: everything a move to
another database needs besides the discussions.

- `instance`: the signing secret kept in the database (author keys, voter ids, hashed addresses,
  bans and trusted authors are keyed with it, so without it none would match after the move);
- `account`: admin and moderator accounts *with their argon2 password hashes*, so moderators sign
  in as before. A hash is not the password, but it can be guessed at offline: the file is
  written readable by its owner only and the command says what it holds;
- `subscription`, `ban`, `trusted`, `webhook` (with its signing secrets, in clear, so receivers
  keep verifying; and its events) and `audit` lines for each site, and `site_key` (the hash of
  the site's CMS key).

Nothing refers to a database id: an audit entry or subscription that names a comment names its
`ref` ("comment:<ref>"), a thread its URI ("thread:<uri>"), a site its name, a ban its kind, value
and time; an id with nothing behind it any more is kept as "comment:#12". Every record is added only
if an equal one is not there yet, so importing a file twice adds nothing, and an interrupted
import is finished by running it again.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from townsquare.store import export as stored
from townsquare.store import importing
from townsquare.store import restore
from townsquare.store.db import Connection, Engine, writing
from townsquare.store.sites import Site

from .jsonl import jsonl_lines
from .loader import map_key
from .records import ImportFormatError

SOURCE = "jsonl"  # the import_map source of Townsquare's own files
KINDS = frozenset({"instance", "account", "subscription", "ban", "trusted", "webhook", "audit", "site_key"})
BATCH = 1000  # records per transaction


# -- export ---------------------------------------------------------------------------------------
def instance_lines(conn: Connection, counts: Any) -> Iterator[dict[str, Any]]:
    secret = stored.stored_secret(conn)
    if secret is not None:
        yield {"type": "instance", "secret": secret}
    for a in stored.accounts(conn):
        counts.accounts += 1
        yield {"type": "account", "email": a.email, "name": a.name, "role": a.role,
               "password_hash": a.password_hash, "created": a.created, "sites": list(a.sites)}


def site_lines(conn: Connection, site: Site, refs: dict[int, str], counts: Any) -> Iterator[dict[str, Any]]:
    """The site's records; `refs` has the export refs of the comments they name."""
    emails = {a.id: a.email for a in stored.accounts(conn)}
    uris = stored.thread_uris(conn, site.id)
    site_bans = stored.site_bans(conn, site.id)
    ban_keys = {b.id: _ban_key(b.kind, b.value, b.created) for b in site_bans}

    def portable(value: str) -> str:
        kind, sep, rest = value.partition(":")
        if not sep or not rest.isdigit() or kind not in ("comment", "thread", "site", "ban"):
            return value
        number = int(rest)
        found = {"comment": refs.get(number), "thread": uris.get(number),
                 "site": site.name if number == site.id else None, "ban": ban_keys.get(number)}[kind]
        return f"{kind}:{found}" if found is not None else f"{kind}:#{number}"

    if site.api_key_hash:
        yield {"type": "site_key", "site": site.name, "api_key_hash": site.api_key_hash}
    events: dict[str, list[dict[str, Any]]] = {}
    for sub in stored.subscriptions(conn, site.id):
        line = {"kind": sub.kind, "scope": portable(sub.scope), "delivery": sub.delivery, "confirmed": sub.confirmed,
                "consent": orjson.loads(sub.consent), "unsubscribed": sub.unsubscribed, "created": sub.created}
        if sub.channel == "webhook":  # the target is the webhook's id: the event goes with its webhook
            events.setdefault(sub.target, []).append(line)
            continue
        counts.subscriptions += 1
        yield {"type": "subscription", "site": site.name, "channel": sub.channel, "target": sub.target, **line}
    for b in site_bans:
        counts.bans += 1
        yield {"type": "ban", "site": site.name, "kind": b.kind, "value": b.value, "reason": b.reason,
               "created": b.created, "expires": b.expires, "lifted": b.lifted, "by": emails.get(b.created_by)}
    for t in stored.site_trusted(conn, site.id):
        counts.trusted += 1
        yield {"type": "trusted", "site": site.name, "kind": t.kind, "author_key": t.author_key, "created": t.created,
               "by": emails.get(t.created_by)}
    for w in stored.site_webhooks(conn, site.id):
        counts.webhooks += 1
        yield {"type": "webhook", "site": site.name, "url": w.url, "active": w.active, "created": w.created,
               "secrets": [{"secret": k.secret, "created": k.created, "expires": k.expires} for k in w.secrets],
               "events": sorted(events.get(str(w.id), []), key=lambda e: (e["kind"], e["scope"]))}
    for e in stored.site_audit(conn, site.id):
        counts.audit_entries += 1
        yield {"type": "audit", "site": site.name, "actor": e.actor, "user": emails.get(e.user_id),
               "action": e.action, "target": portable(e.target), "reason": e.reason, "details": e.details,
               "created": e.created}


def _ban_key(kind: str, value: str, created: float) -> str:
    return f"{kind}|{created!r}|{value}"


# -- import ---------------------------------------------------------------------------------------
def restore_secret(engine: Engine, path: Path) -> str | None:
    """Take over the file's instance secret; run before anything signs with this database's own.
    Returns a warning when the database already signed comments with another secret."""
    # The instance line comes before the first site's, if there is one.
    first = next((line for _, line in jsonl_lines(path, {"instance", "site"})), None)
    if first is None or first["type"] != "instance":
        return None
    wanted = first["secret"]
    with writing(engine) as conn:
        current = restore.secret(conn)
        if current == wanted:
            return None
        if current is not None and restore.has_discussions(conn):
            return ("This database already has comments keyed with its own secret, so the file's secret was not "
                    "taken over: bans and trusted authors from the file will not match new comments.")
        restore.set_secret(conn, wanted)
    return None


def restore_records(engine: Engine, path: Path, site_names: list[str],
                    on_progress: Callable[[int], None] | None = None) -> tuple[Counter, Counter]:
    """Add the file's accounts and the named sites' records. Returns (added, already there) by type."""
    added: Counter = Counter()
    present: Counter = Counter()
    # Portable references found in this database: they stay valid (what they name only gets added).
    local: dict[tuple[int, str], str] = {}
    batch: list[tuple[int, dict[str, Any]]] = []
    for item in jsonl_lines(path, KINDS - {"instance"}):
        if item[1]["type"] == "account" or item[1].get("site") in site_names:
            batch.append(item)
        if len(batch) >= BATCH:
            _restore_batch(engine, batch, added, present, local)
            (on_progress or (lambda n: None))(len(batch))
            batch = []
            if len(local) > 100_000:
                local.clear()
    if batch:
        _restore_batch(engine, batch, added, present, local)
        (on_progress or (lambda n: None))(len(batch))
    return added, present


def _restore_batch(engine: Engine, batch: list[tuple[int, dict[str, Any]]], added: Counter, present: Counter,
                   local: dict[tuple[int, str], str]) -> None:
    with writing(engine) as conn:
        sites = restore.site_ids(conn)
        users = restore.user_ids(conn)
        # Subscriptions and the audit log are the bulk of it: each is written in one statement.
        subs: list[restore.SubscriptionRow] = []
        events: list[restore.SubscriptionRow] = []  # webhooks' (counted with their webhook)
        entries: list[restore.AuditRow] = []
        for number, line in batch:
            kind = line["type"]
            try:
                if kind == "audit":
                    entries.append(_audit_row(conn, line, sites, users, local))
                elif kind == "subscription":
                    subs.append(_subscription(conn, sites[line["site"]], line, line["channel"], line["target"], local))
                else:
                    done = _restore_one(conn, line, sites, users, local, events)
                    (added if done else present)[kind] += 1
                    if kind == "account" and done:
                        users = restore.user_ids(conn)
            except (KeyError, TypeError, ValueError) as e:
                raise ImportFormatError(f"{kind} line is missing or has a bad field: {e}", f"line {number}") from None
        restore.add_subscriptions(conn, events)
        for kind, rows, new in (("subscription", subs, restore.add_subscriptions(conn, subs)),
                                ("audit", entries, restore.add_audit_entries(conn, entries))):
            added[kind] += new
            present[kind] += len(rows) - new


def _audit_row(conn: Connection, line: dict[str, Any], sites: dict[str, int], users: dict[str, int],
               local: dict[tuple[int, str], str]) -> restore.AuditRow:
    site_id = sites[line["site"]]
    return restore.AuditRow(
        site_id=site_id, user_id=users.get(line["user"]), actor=line["actor"], action=line["action"],
        target=_local(conn, site_id, line["target"], local), reason=line["reason"],
        details=orjson.dumps(line["details"]).decode(), created=float(line["created"]))


def _restore_one(conn: Connection, line: dict[str, Any], sites: dict[str, int], users: dict[str, int],
                 local: dict[tuple[int, str], str], events: list[restore.SubscriptionRow]) -> bool:
    kind = line["type"]
    if kind == "account":
        return restore.add_account(conn, email=line["email"], name=line["name"], role=line["role"],
                                   password_hash=line["password_hash"], created=float(line["created"]),
                                   site_ids=[sites[n] for n in line["sites"] if n in sites]) is not None
    site_id = sites[line["site"]]
    if kind == "site_key":
        return restore.set_api_key_hash(conn, site_id, line["api_key_hash"])
    if kind == "ban":
        return restore.add_ban(conn, site_id=site_id, kind=line["kind"], value=line["value"], reason=line["reason"],
                               created=float(line["created"]), expires=line["expires"], lifted=line["lifted"],
                               created_by=users.get(line["by"]))
    if kind == "trusted":
        return restore.add_trusted(conn, site_id=site_id, kind=line.get("kind", "email"), author_key=line["author_key"],
                                   created=float(line["created"]), created_by=users.get(line["by"]))
    if kind == "webhook":
        webhook_id, new = restore.add_webhook(
            conn, site_id=site_id, url=line["url"], active=bool(line["active"]), created=float(line["created"]),
            secrets=[(k["secret"], float(k["created"]), k["expires"]) for k in line["secrets"]])
        events.extend(_subscription(conn, site_id, event, "webhook", str(webhook_id), local)
                      for event in line["events"])
        return new
    raise ValueError(f"unknown type {kind!r}")


def _subscription(conn: Connection, site_id: int, line: dict[str, Any], channel: str, target: str,
                  local: dict[tuple[int, str], str]) -> restore.SubscriptionRow:
    return restore.SubscriptionRow(
        site_id=site_id, kind=line["kind"], channel=channel, target=target,
        scope=_local(conn, site_id, line["scope"], local), delivery=line["delivery"], confirmed=line["confirmed"],
        consent=orjson.dumps(line["consent"]).decode(), unsubscribed=line["unsubscribed"],
        created=float(line["created"]))


def _local(conn: Connection, site_id: int, value: str, cache: dict[tuple[int, str], str]) -> str:
    """A portable reference ("comment:<ref>", "thread:<uri>", …) as this database's id."""
    kind, sep, rest = value.partition(":")
    if not sep or rest.startswith("#") or kind not in ("comment", "thread", "site", "ban"):
        return value
    found = cache.get((site_id, value))
    if found is None:
        found = _resolve(conn, site_id, kind, rest)
        if "#" not in found:  # not found now may be found later
            cache[site_id, value] = found
    return found


def _resolve(conn: Connection, site_id: int, kind: str, rest: str) -> str:
    found: int | None = None
    if kind == "comment":
        found = importing.mapped(conn, site_id, SOURCE, "comment", [map_key(rest)]).get(map_key(rest))
    elif kind == "thread":
        at = importing.threads_at(conn, site_id, {rest}).get(rest)
        found = at.id if at else None
    elif kind == "site":
        found = site_id
    else:
        ban_kind, created, ban_value = rest.split("|", 2)
        found = restore.ban_id(conn, site_id, ban_kind, ban_value, float(created))
    return f"{kind}:{found}" if found is not None else f"{kind}:#{rest}"
