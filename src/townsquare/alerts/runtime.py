"""The alerts part's resolved configuration, built once from the app's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from townsquare.alerts.links import Links
from townsquare.alerts.settings import AlertSettings, EmailSettings, WhatsAppSettings
from townsquare.instance_secret import instance_secret
from townsquare.store.db import Engine


@dataclass(frozen=True)
class AlertsConfig:
    """Everything the alerts part needs: channel settings, worker tuning, signed links."""

    email: EmailSettings
    whatsapp: WhatsAppSettings
    alerts: AlertSettings
    links: Links

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels readers may sign up with: WhatsApp only with an account to send from."""
        return ("email", "whatsapp") if self.whatsapp.enabled else ("email",)


def config_from(settings: Any, engine: Engine) -> AlertsConfig:
    """Resolve from `townsquare.config.Settings` (its `email`, `whatsapp`, `alerts` tables)."""
    secret = instance_secret(settings, engine)
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    return AlertsConfig(
        email=settings.email, whatsapp=settings.whatsapp, alerts=settings.alerts,
        links=Links(public_url=public_url, secret=secret),
    )
