"""Tables of the moderation part: bans, trusted authors, reader reports, per-thread moderation
state (slow mode, heat), moderator sessions, login throttling, moderator API keys, the audit log."""

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from townsquare.store.tables import metadata

# A ban on an author key, an e-mail address (lower-case) or a hashed IP, for a time or for good.
bans = Table(
    "moderation_bans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # author | email | ip
    Column("value", String(320), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created", Float, nullable=False),
    Column("expires", Float),  # NULL: for good
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("lifted", Float),
    Index("ix_moderation_bans_lookup", "site_id", "kind", "value"),
)

trusted_authors = Table(
    "moderation_trusted",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    # What is trusted: "ip", a hashed address (`value` below), or "identity", a verified
    # identity. "email" rows (keyed by a typed e-mail address) are from before and not honoured.
    Column("kind", String(16), nullable=False, server_default="email"),
    Column("author_key", String(64), primary_key=True),  # the value of that kind
    Column("created", Float, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
)

# One report per reader per comment, and per address (keyed per comment, `Signer.reader_key`;
# NULL on reports from before); `resolved` is set when a moderator acts on the comment.
reports = Table(
    "moderation_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("reporter", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created", Float, nullable=False),
    Column("resolved", Float),
    Column("address", String(64)),
    UniqueConstraint("comment_id", "reporter"),
    UniqueConstraint("comment_id", "address"),
    Index("ix_moderation_reports_open", "resolved", "comment_id"),
    Index("ix_moderation_reports_created", "created"),  # reports per day on the dashboard
)

# Per-thread moderation state: slow mode, and the last heated exchange seen in the thread.
thread_state = Table(
    "moderation_threads",
    metadata,
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("slow_mode", Integer, nullable=False, default=0),  # seconds between an author's comments
    Column("heated", Float),  # when a heated exchange was last detected
    Column("heated_comments", Text),  # JSON list of the comment ids of that branch
)

admin_sessions = Table(
    "moderation_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the session token
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Index("ix_moderation_sessions_user", "user_id"),
)

# Sign-in attempts per (e-mail, hashed client address) since the last success: one counter row
# per pair, counted up in one statement, and the time until which the pair is locked out.
sign_in_failures = Table(
    "moderation_sign_in_failures",
    metadata,
    Column("account", String(320), primary_key=True),  # the e-mail as typed (lower-case), known or not
    Column("address", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_attempt", Float, nullable=False),
    Column("locked_until", Float, nullable=False, default=0.0),
)

api_keys = Table(
    "moderation_api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("created", Float, nullable=False),
    Column("last_used", Float),
)

audit_log = Table(
    "moderation_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("actor", String(320), nullable=False),  # the moderator's e-mail, kept if the user goes
    Column("action", String(32), nullable=False),
    Column("target", String(64), nullable=False),  # "comment:12", "thread:3", "ban:4", "author:<key>"
    Column("reason", Text, nullable=False, default=""),
    Column("details", Text, nullable=False, default="{}"),  # JSON
    Column("created", Float, nullable=False),
    Index("ix_moderation_audit_site_created", "site_id", "created"),
    Index("ix_moderation_audit_actor", "actor", "created"),
)
