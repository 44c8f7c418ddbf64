"""Tables of the import part: one row per import run, so an interrupted run can resume.

`import_map` (in tables.py) remembers which old ids were imported; `import_runs` remembers how far
a run got through its file (every record before `safe_point` is stored) and what it reported.
"""

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text

from townsquare.store.tables import metadata

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(32), nullable=False),  # disqus | wxr | isso | remark42 | commento | text | jsonl
    # sha256 of the file's bytes: --resume continues only a run of the very same file.
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # running | done | failed
    # Records before this position in the file are stored (or were skipped); resume starts here.
    Column("safe_point", Integer, nullable=False, default=0),
    # Highest comment id before the run started: an old id mapped above it was stored by this
    # run, so meeting it again means the file repeats an id.
    Column("watermark", Integer, nullable=False, default=0),
    Column("report", Text, nullable=False, default="{}"),  # JSON counts, updated with every batch
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Index("ix_import_runs_lookup", "site_id", "source", "fingerprint", "id"),
)
