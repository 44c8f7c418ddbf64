"""Table definitions (SQLAlchemy Core). The Alembic migrations in `migrations/` create exactly these.

Times are stored as UTC seconds since the epoch (float) so SQLite and PostgreSQL sort and compare
them the same way. Every query the API runs is backed by an index declared here.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Instance-wide values every process must agree on, e.g. the generated signing secret.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("title", String(200), nullable=False, default=""),
    # JSON list of allowed origins (CORS and the Origin check on writes).
    Column("origins", Text, nullable=False, default="[]"),
    # JSON object of per-site settings; see townsquare.config.SiteSettings.
    Column("settings", Text, nullable=False, default="{}"),
    # sha256 of the site's API key (for publisher/CMS calls), or NULL.
    Column("api_key_hash", String(64)),
    Column("created", Float, nullable=False),
)

threads = Table(
    "threads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("uri", String(1000), nullable=False),
    Column("title", String(500), nullable=False, default=""),
    Column("url", String(2000), nullable=False, default=""),
    Column("closed", Boolean, nullable=False, default=False),
    Column("created", Float, nullable=False),
    # Denormalised count of published comments, kept in the same transaction as every
    # status change, so the counts API is one indexed lookup per page of URIs.
    Column("comment_count", Integer, nullable=False, default=0),
    # Bumped on every change to the thread or its comments; read-cache entries are keyed by it,
    # so a cache shared by several processes can never serve a stale thread.
    Column("version", Integer, nullable=False, default=0),
    # The comment a moderator pinned to the top of the thread (one at most; no foreign key, since
    # comments already reference threads: a thread read checks the comment is still shown).
    Column("pinned_id", Integer),
    # When the thread stops taking comments, if a moderator or the site's `close_after_days` set it.
    Column("closes", Float),
    UniqueConstraint("site_id", "uri"),
    Index("ix_threads_site_created", "site_id", "created", "id"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", Integer, ForeignKey("comments.id", ondelete="SET NULL")),
    Column("author_name", String(200), nullable=False),
    Column("author_email", String(320)),
    Column("author_website", String(2000)),
    # Stable pseudonymous author key (account id or a hash of the email/voter id); used for
    # history, bans and rate limits without exposing the email.
    Column("author_key", String(64)),
    Column("ip_hash", String(64)),
    Column("text", Text, nullable=False),
    Column("quote", Text),
    Column("html", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | published | rejected | deleted
    Column("created", Float, nullable=False),
    Column("edited", Float),
    Column("likes", Integer, nullable=False, default=0),
    Column("dislikes", Integer, nullable=False, default=0),
    # Moderation decision and its reasons (JSON), stored with the comment.
    Column("moderation", Text),
    # The verified reader identity that posted it (store/readers.py); NULL for guests.
    Column("identity_id", Integer, ForeignKey("identities.id", ondelete="SET NULL")),
    # Published comments below this one at any depth, kept in the same transaction as every
    # status change (store/comments.py): a thread read pages, counts and sorts by it without
    # reading the rest of the thread.
    Column("reply_count", Integer, nullable=False, server_default="0"),
    # An editor's pick: a moderator featured it; readers can list a thread's picks.
    Column("featured", Boolean, nullable=False, server_default=false()),
    Index("ix_comments_thread_created", "thread_id", "created", "id"),
    # Keyset pages of a thread's top-level comments (parent_id IS NULL), one index per sort, and
    # of a comment's replies in conversation order.
    Index("ix_comments_top_oldest", "thread_id", "parent_id", "created", "id"),
    Index("ix_comments_top_score", "thread_id", "parent_id", text("(dislikes - likes)"), "created", "id"),
    Index("ix_comments_top_replies", "thread_id", "parent_id", text("(0 - reply_count)"), "created", "id"),
    Index("ix_comments_parent", "parent_id", "created", "id"),
    Index("ix_comments_status_created", "status", "created"),
    Index("ix_comments_author_key", "author_key", "created"),
    Index("ix_comments_ip_hash", "ip_hash", "created"),
    Index("ix_comments_identity_id", "identity_id", "created"),
)

votes = Table(
    "votes",
    metadata,
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
    Column("voter", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("created", Float, nullable=False),
    # The voter's address, keyed per comment (`Signer.reader_key`): one vote per address and per
    # voter token. NULL on votes from before addresses were kept.
    Column("address", String(64)),
    UniqueConstraint("comment_id", "address"),
    Index("ix_votes_created", "created"),  # votes per day on the dashboard
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("password_hash", String(200), nullable=False),
    # admin (every site) or moderator (the sites listed in user_sites)
    Column("role", String(16), nullable=False),
    Column("created", Float, nullable=False),
)

user_sites = Table(
    "user_sites",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)

# Rate-limit events per key and epoch second (a sliding window reads the last period's rows) when
# no Redis is configured; shared through the database so every `townsquare serve` process sees
# the same counts.
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
)

# Old ids of imported records, so importing the same file twice adds nothing.
import_map = Table(
    "import_map",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),  # thread | comment
    Column("old_id", String(200), primary_key=True),
    Column("new_id", Integer, nullable=False),
)

# Verified readers, per site: signed in by the publisher's single sign-on ("sso": `subject` is the
# publisher's user id) or by an e-mail link ("email": `subject` is the keyed hash of the address,
# never the address itself).
identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # sso | email
    Column("subject", String(200), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("badges", Text, nullable=False, default="[]"),  # JSON list of short strings
    Column("created", Float, nullable=False),
    UniqueConstraint("site_id", "kind", "subject"),
)

# Reader sessions: only the sha256 of the token is kept, so a copy of the database signs nobody in.
reader_sessions = Table(
    "reader_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the session token
    Column("identity_id", Integer, ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Column("revoked", Float),
    Index("ix_reader_sessions_identity_id", "identity_id"),
)

# E-mail sign-in links already used (the sha256 of each link's nonce): a link signs in once.
sign_in_links_used = Table(
    "sign_in_links_used",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("used", Float, nullable=False),
    Column("expires", Float, nullable=False),  # the row is useless after the link has expired
)

# What changed in each thread, for readers' live streams (`GET /api/v1/threads/events`). Written in
# the same transaction as the change; every process's streams read it, so a stream served by any
# process misses nothing; rows older than `live.retention` are pruned.
thread_events = Table(
    "thread_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # comment | edit | delete | vote | status
    # The comment the event is about (none for a thread's own status): erasure removes its events,
    # which may hold the author's name and words.
    Column("comment_id", Integer),
    Column("payload", Text, nullable=False),  # JSON, the public shape of the change
    Column("created", Float, nullable=False),
    Index("ix_thread_events_thread_id_id", "thread_id", "id"),
    Index("ix_thread_events_created", "created"),
    Index("ix_thread_events_comment_id", "comment_id"),
)
