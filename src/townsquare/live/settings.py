"""Settings of the live thread streams."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LiveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_streams: int = Field(1000, ge=1, le=100_000, description="Live streams one server process holds open at "
                             "once; past it a new stream is refused (503 with Retry-After)")
    heartbeat: float = Field(15.0, gt=0, le=300, description="Seconds between the keep-alive comments a stream "
                             "sends, so proxies and readers see it is alive")
    poll_interval: float = Field(1.0, gt=0, le=60, description="Seconds between each process's look for new "
                                 "thread events (one query per process, whatever the number of streams)")
    retention: int = Field(3600, ge=60, le=30 * 86400, description="Seconds thread events are kept: a reader "
                           "reconnecting within it receives everything it missed")
