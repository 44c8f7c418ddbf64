"""What a phase answers: a score, an optional action, and the reasons (with the spans behind them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Action = Literal["hold", "reject", "nudge"]


@dataclass(frozen=True)
class Reason:
    label: str
    detail: str
    spans: tuple[tuple[int, int], ...] = ()
    # Other comments the reason points at (the earlier replies of a heated branch).
    comments: tuple[int, ...] = ()

    def as_json(self, phase: str) -> dict:
        out = {"phase": phase, "label": self.label, "detail": self.detail, "spans": [list(s) for s in self.spans]}
        if self.comments:
            out["comments"] = list(self.comments)
        return out


@dataclass(frozen=True)
class PhaseResult:
    phase: str
    score: float = 0.0
    action: Action | None = None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


def passed(phase: str, score: float = 0.0) -> PhaseResult:
    return PhaseResult(phase=phase, score=score)
