"""Configuration of the alerts part: the `[email]`, `[whatsapp]` and `[alerts]` tables of the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # smtp: deliver through an SMTP server; file: append every message to `mailbox` (an mbox
    # file any mail reader opens), for demos and development without a mail server.
    backend: Literal["smtp", "file"] = "smtp"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    sender: str = "Townsquare <alerts@localhost>"
    starttls: bool = False
    # Implicit TLS from the first byte (port 465), as opposed to upgrading with STARTTLS.
    tls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(30.0, gt=0)
    mailbox: Path = Path("var/mail/alerts.mbox")


class WhatsAppSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://graph.facebook.com/v21.0"
    phone_number_id: str = ""
    token: SecretStr = SecretStr("")
    language: str = "en"
    # Approved message templates, one per alert kind. Each template's body takes the
    # parameters listed in docs/alerts.md.
    templates: dict[str, str] = Field(
        default_factory=lambda: {
            "confirm": "townsquare_confirm",
            "reply": "townsquare_reply",
            "thread": "townsquare_thread",
            "news": "townsquare_news",
            "moderator": "townsquare_moderator",
            "digest": "townsquare_digest",
        }
    )
    timeout: float = Field(15.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.phone_number_id and self.token.get_secret_value())


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Run the delivery worker inside `townsquare serve` (turn off when running `townsquare worker`).
    worker_in_serve: bool = True
    batch_size: int = Field(100, ge=1, le=10_000)
    # Parallel deliveries per worker (SMTP connections / HTTP requests in flight).
    concurrency: int = Field(4, ge=1, le=64)
    # A claimed row is re-delivered by another worker when its lease ends without an answer.
    lease_seconds: float = Field(120.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    backoff_base: float = Field(30.0, gt=0)  # seconds before the 2nd attempt; doubles each time
    backoff_max: float = Field(6 * 3600.0, gt=0)
    poll_interval: float = Field(1.0, gt=0)  # idle wait between looks at the outbox
    fanout_chunk: int = Field(1000, ge=1)
    webhook_timeout: float = Field(10.0, gt=0)
    # Daily digests go out at this hour (UTC).
    daily_digest_hour: int = Field(7, ge=0, le=23)
    # At most this many confirmation messages per address per day (no relay for mail bombs).
    confirmations_per_day: int = Field(3, ge=1)
    # Webhooks and article feeds may point at loopback, private, link-local or other non-public
    # addresses (an intranet CMS, a test receiver on this machine). Off: such URLs are refused
    # when registered and again at delivery, after DNS.
    allow_private_targets: bool = False

