"""The toxicity scorer the service uses: the offline model, loaded once per process and shared by
every request thread.

Texts are not batched together: the encoder's int8 dynamic quantization scales activations over
its whole input, so even two texts of the same token length score differently side by side than
alone (embeddings moved by up to 0.11), and on 2 cores a batch of 8 equal-length texts saved only
15 % CPU per text. So each text runs alone through the one shared ONNX session (one intra-op
thread per run: two threads per run cost 2.4 times the CPU for a slower run), and at most
`workers` (the cores, up to 4) texts are in the model at once; more callers wait their turn
instead of crowding the cores. Figures: bench/README.md, "Scoring per post".
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from townsquare.moderation.settings import ModerationSettings
    from townsquare.moderation.toxicity import Limits, ToxicityModel, ToxicityResult

log = logging.getLogger(__name__)

HOSTILE = ("toxicity", "insult", "identity_attack", "threat")


class Scorer(Protocol):
    def score(self, text: str) -> ToxicityResult: ...

    def score_many(self, texts: Sequence[str], spans: bool = True) -> list[ToxicityResult]: ...


class ScorerUnavailable(Exception):
    pass


class ScoringService:
    """The shared model behind a gate of `workers` slots; safe to call from any thread."""

    def __init__(self, model: ToxicityModel, workers: int | None = None):
        self.model = model
        self.workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self._slots = threading.BoundedSemaphore(self.workers)

    def score(self, text: str, limits: Limits | None = None) -> ToxicityResult:
        with self._slots:
            return self.model.score(text, limits=limits)

    def score_many(self, texts: Sequence[str], spans: bool = True, limits: Limits | None = None) -> list[ToxicityResult]:
        with self._slots:
            return self.model.score_many(list(texts), spans=spans, limits=limits)


def limits_for(settings: ModerationSettings) -> Limits:
    """Every score at which the site's policy acts, for the hostile labels the extra passes move:
    hold and reject limits, the nudge, a heated branch's hostile turn, the auto mode's review
    threshold. Spans are found for what holds or rejects."""
    from townsquare.moderation.toxicity import Limits

    act: dict[str, set[float]] = {label: {settings.nudge_threshold, settings.heat_hostility} for label in HOSTILE}
    if settings.mode == "auto":
        for label in HOSTILE:
            act[label].add(settings.auto_hold_score)
    hold: dict[str, float] = {}
    for thresholds in (settings.hold_thresholds, settings.reject_thresholds):
        for label, limit in thresholds.items():
            hold[label] = min(limit, hold.get(label, limit))
            if label in act:
                act[label].add(limit)
    return Limits(act={label: tuple(sorted(v)) for label, v in act.items()}, hold=hold)


@lru_cache(maxsize=1)
def _load() -> ScoringService:
    from townsquare.moderation.toxicity import ToxicityModel

    return ScoringService(ToxicityModel.load())


def default_scorer() -> ScoringService:
    """The bundled model. Raises ScorerUnavailable (and logs why) if it cannot be loaded, so that the
    pipeline can pass the comment on to the other phases instead of failing closed."""
    try:
        return _load()
    except Exception as e:  # any load failure: missing file, bad ONNX, missing runtime
        log.error("toxicity model unavailable: %s", e)
        raise ScorerUnavailable(f"toxicity model unavailable: {e}") from e
