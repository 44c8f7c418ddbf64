"""One import, start to finish: check the whole file, then load it.

The check parses everything into a spool and stores nothing, so a malformed file is refused (with
the line or element) before a single row is written; it also counts the records for the progress
bar. The load then reads the spool. A resumed import skips the check: its file passed it before.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from townsquare.config import Settings
from townsquare.domain.tokens import Signer
from townsquare.domain.validate import http_url
from townsquare.store import sites as site_store
from townsquare.store.db import Engine, writing

from .commento import commento_records
from .disqus import disqus_records
from .isso import isso_records
from .jsonl import jsonl_records, jsonl_sites
from .loader import ImportProblem, ImportReport, Loader
from .records import RecordStream
from .remark42 import remark42_records
from .spool import Spool
from .text import text_records
from .wxr import wxr_records

FORMATS: dict[str, Callable[[Path], RecordStream]] = {
    "disqus": disqus_records,
    "wxr": wxr_records,
    "isso": isso_records,
    "remark42": remark42_records,
    "commento": commento_records,
    "text": text_records,
}
OWN_FORMAT = "jsonl"  # Townsquare's own export


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sites_in_file(fmt: str, path: Path, site: str | None) -> list[str]:
    """The sites an import writes to: the one named, or for an own-format file every site it holds."""
    if fmt != OWN_FORMAT:
        if not site:
            raise ImportProblem("Name the site to import into with --site.")
        return [site]
    names = [s["name"] for s in jsonl_sites(path)]
    if site is None:
        return names
    if site not in names:
        raise ImportProblem(f"The file holds no site named '{site}' (it holds: {', '.join(names) or 'none'}).")
    return [site]


def records_for(fmt: str, path: Path, site: str) -> RecordStream:
    if fmt == OWN_FORMAT:
        return jsonl_records(path, site)
    if fmt not in FORMATS:
        raise ImportProblem(f"Unknown format '{fmt}'; use one of: {', '.join([*FORMATS, OWN_FORMAT])}.")
    return FORMATS[fmt](path)


def ensure_sites(engine: Engine, path: Path, names: list[str]) -> None:
    """Create the sites of an own-format file that this database does not have yet."""
    wanted = {s["name"]: s for s in jsonl_sites(path) if s["name"] in names}
    for s in wanted.values():
        bad = [o for o in s["origins"] if o != "*" and http_url(o) is None]
        if bad:
            raise ImportProblem(f"Site '{s['name']}' lists origins that are not http(s) addresses: {', '.join(map(repr, bad))}.")
    with writing(engine) as conn:
        for name, s in wanted.items():
            if site_store.by_name(conn, name) is None:
                site_store.create(conn, name, s["title"], s["origins"], s["settings"], created=s["created"])


def import_file(
    engine: Engine,
    settings: Settings,
    signer: Signer,
    fmt: str,
    path: Path,
    site: str,
    *,
    checked: Spool | None,
    resume: bool = False,
    dry_run: bool = False,
    moderate: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Load one site's records: those `checked` (see Spool), or when resuming, the file's own."""
    loader = Loader(
        engine, site=site, source=fmt, signer=signer, site_defaults=settings.site_defaults,
        moderate=moderate, dry_run=dry_run, on_progress=on_progress,
    )
    records = records_for(fmt, path, site) if checked is None else checked.records()
    return loader.run(records, fingerprint=fingerprint(path), resume=resume)

