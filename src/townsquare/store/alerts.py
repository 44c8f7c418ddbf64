"""Tables of the alerts part: subscriptions, the delivery outbox, announced articles, webhooks.

Every alert is a row in `alert_outbox`, written in the transaction of the event that causes it.
An event writes one *fan-out* row; the worker expands it into one row per recipient in chunks,
so announcing an article to 100,000 readers never holds them all in memory or in one transaction.
"""

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from townsquare.store.tables import metadata

# One row per (site, kind, channel, address, scope). A reader with several subscriptions has
# several rows; the management page lists them by (site, channel, target).
alert_subscriptions = Table(
    "alert_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # reply | thread | news | moderator
    Column("channel", String(16), nullable=False),  # email | webhook | whatsapp
    # Email address, E.164 phone number, or the id of an `alert_webhooks` row.
    Column("target", String(320), nullable=False),
    # What is followed: "comment:<id>" (reply), "thread:<id>" or "" for every thread (thread),
    # "section:<name>" or "" for every article (news), "" (moderator).
    Column("scope", String(300), nullable=False, default=""),
    Column("delivery", String(16), nullable=False, default="immediate"),  # immediate | hourly | daily
    # When the reader followed the confirmation link (double opt-in); NULL = nothing is sent.
    Column("confirmed", Float),
    # How consent was given (JSON: source, wording, time), kept as the record of the opt-in.
    Column("consent", Text, nullable=False, default="{}"),
    Column("unsubscribed", Float),
    Column("created", Float, nullable=False),
    UniqueConstraint("site_id", "kind", "channel", "target", "scope"),
    Index("ix_alert_subscriptions_fanout", "site_id", "kind", "scope", "id"),
    Index("ix_alert_subscriptions_address", "channel", "target"),
)

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    # Unique per message; sent along as Message-ID / Idempotency-Key so receivers can drop repeats.
    Column("key", String(200), nullable=False, unique=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    # fanout | reply | thread | news | moderator | confirm
    Column("kind", String(16), nullable=False),
    Column("channel", String(16), nullable=False),  # fanout | email | webhook | whatsapp
    Column("target", String(320), nullable=False, default=""),
    Column("subscription_id", Integer, ForeignKey("alert_subscriptions.id", ondelete="SET NULL")),
    # The fan-out row a message row was expanded from; its payload describes the event.
    Column("parent_id", Integer, ForeignKey("alert_outbox.id", ondelete="CASCADE")),
    Column("payload", Text),  # JSON
    Column("digest", String(16)),  # hourly | daily: delivered grouped with the recipient's other rows
    Column("status", String(16), nullable=False, default="pending"),
    # pending | sending | sent | failed | cancelled
    Column("attempts", Integer, nullable=False, default=0),
    # When the row is due. While a worker holds it, this equals `locked_until`, so a row whose
    # worker died becomes due again when its lease ends.
    Column("next_attempt_at", Float, nullable=False),
    Column("locked_by", String(64)),
    Column("locked_until", Float),
    Column("last_error", Text),
    Column("cursor", Integer, nullable=False, default=0),  # fan-out progress: last subscription id
    Column("created", Float, nullable=False),
    Column("sent_at", Float),
    Index("ix_alert_outbox_due", "status", "next_attempt_at"),
    Index("ix_alert_outbox_site_status", "site_id", "status", "created"),
    Index("ix_alert_outbox_recipient", "channel", "target", "digest", "status"),
    Index("ix_alert_outbox_parent", "parent_id"),
    # Unsubscribing cancels the subscription's pending rows; deleting a subscription nulls its rows.
    Index("ix_alert_outbox_subscription", "subscription_id"),
)

# Articles known to Townsquare; the unique (site, guid) is what makes a news alert go out once
# however often a CMS announces the article or a feed poll sees it.
alert_articles = Table(
    "alert_articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("guid", String(1000), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("title", String(500), nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("section", String(200), nullable=False, default=""),
    Column("source", String(16), nullable=False),  # api | feed
    Column("created", Float, nullable=False),
    # NULL for articles that were already in a feed when polling started (no alert for those).
    Column("announced_at", Float),
    UniqueConstraint("site_id", "guid"),
)

# A site's RSS/Atom feed, polled for new articles.
alert_feeds = Table(
    "alert_feeds",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("interval", Integer, nullable=False, default=600),  # seconds
    Column("etag", String(500)),
    Column("modified", String(100)),
    Column("next_poll_at", Float, nullable=False),
    Column("last_polled", Float),
    Column("last_error", Text),
)

alert_webhooks = Table(
    "alert_webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created", Float, nullable=False),
)

# Several secrets may be valid at once: during a rotation every delivery is signed with each,
# so a receiver can switch to the new secret at its own pace.
alert_webhook_secrets = Table(
    "alert_webhook_secrets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("webhook_id", Integer, ForeignKey("alert_webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float),  # NULL = current secret
    Index("ix_alert_webhook_secrets_webhook", "webhook_id"),
)
