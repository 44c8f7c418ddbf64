"""Configuration of the alerts part: the `[email]`, `[whatsapp]` and `[alerts]` tables of the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["smtp", "file"] = Field(
        "smtp", description="smtp: deliver through an SMTP server; file: append every message to `mailbox` (an mbox "
        "file any mail reader opens), for demos and development without a mail server")
    smtp_host: str = Field("127.0.0.1", description="SMTP server host")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port")
    sender: str = Field("Townsquare <alerts@localhost>", description="The From address of every mail")
    starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS (usually port 587)")
    tls: bool = Field(False, description="Implicit TLS from the first byte (usually port 465), as opposed to "
                      "upgrading with STARTTLS")
    username: str | None = Field(None, description="SMTP login; unset: send without logging in")
    password: SecretStr | None = Field(None, description="SMTP password")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the SMTP server before a delivery is retried")
    mailbox: Path = Field(Path("var/mail/alerts.mbox"), description="The mbox file the `file` backend writes")


class WhatsAppSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field("https://graph.facebook.com/v21.0", description="WhatsApp Cloud API base URL")
    phone_number_id: str = Field("", description="The sending phone number's id; WhatsApp alerts are off "
                                 "until it and `token` are set")
    token: SecretStr = Field(SecretStr(""), description="Cloud API access token")
    language: str = Field("en", description="Language code of the message templates")
    templates: dict[str, str] = Field(
        description="Approved message template name per alert kind (confirm, reply, thread, news, moderator, "
        "digest); each template's parameters are listed in docs/alerts.md",
        default_factory=lambda: {
            "confirm": "townsquare_confirm",
            "reply": "townsquare_reply",
            "thread": "townsquare_thread",
            "news": "townsquare_news",
            "moderator": "townsquare_moderator",
            "digest": "townsquare_digest",
        }
    )
    timeout: float = Field(15.0, gt=0, description="Seconds to wait for the Cloud API before a delivery is retried")

    @property
    def enabled(self) -> bool:
        return bool(self.phone_number_id and self.token.get_secret_value())


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_in_serve: bool = Field(True, description="Run the delivery worker inside `townsquare serve` (turn off "
                                  "when running `townsquare worker` processes instead)")
    batch_size: int = Field(100, ge=1, le=10_000, description="Outbox rows a worker claims at a time")
    concurrency: int = Field(4, ge=1, le=64, description="Parallel deliveries per worker (SMTP connections or "
                             "HTTP requests in flight)")
    lease_seconds: float = Field(120.0, gt=0, description="Seconds a worker holds a claimed delivery; one not "
                                 "finished by then is delivered by another worker")
    max_attempts: int = Field(8, ge=1, description="Delivery attempts before a message is given up")
    backoff_base: float = Field(30.0, gt=0, description="Seconds before the second attempt; the wait doubles "
                                "with each attempt")
    backoff_max: float = Field(6 * 3600.0, gt=0, description="Longest wait between two attempts, in seconds")
    poll_interval: float = Field(1.0, gt=0, description="Seconds an idle worker waits between looks at the outbox")
    fanout_chunk: int = Field(1000, ge=1, description="Recipients an alert to many subscribers is expanded to "
                              "per transaction")
    webhook_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a webhook receiver's answer")
    daily_digest_hour: int = Field(7, ge=0, le=23, description="Hour (UTC) at which daily digests go out")
    # No relay for mail bombs.
    confirmations_per_day: int = Field(3, ge=1, description="Confirmation messages sent to one address per day, "
                                       "at most")
    allow_private_targets: bool = Field(False, description="Let webhooks and article feeds reach loopback, private, "
                                        "link-local or other non-public addresses (an intranet CMS, a test "
                                        "receiver); off, such URLs are refused when registered and again at "
                                        "delivery, after DNS")

