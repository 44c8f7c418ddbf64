"""The toxicity scorer the service uses: the offline model, loaded once per process and shared by
every request thread (ONNX Runtime's run is thread-safe).

Concurrent requests are not batched together. The encoder computes in float32 from weights
dequantized once, when the session starts, so a text's scores would not depend on its batch-mates
(beyond rounding), but the run is matrix multiplication at about the processor's float32 rate:
batches of 8 texts of similar length cost the same CPU per text as one at a time, and would only
add waiting. Each text runs alone through the one shared session with one intra-op thread: two
threads per run took more CPU and ran slower. Figures: bench/README.md, "Toxicity scoring per
post" and "Posting against Isso: where the CPU goes".
"""

from __future__ import annotations

import logging
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
def _load() -> ToxicityModel:
    from townsquare.moderation.toxicity import ToxicityModel

    return ToxicityModel.load()


def default_scorer() -> ToxicityModel:
    """The bundled model. Raises ScorerUnavailable (and logs why) if it cannot be loaded, so that the
    pipeline can pass the comment on to the other phases instead of failing closed."""
    try:
        return _load()
    except Exception as e:  # any load failure: missing file, bad ONNX, missing runtime
        log.error("toxicity model unavailable: %s", e)
        raise ScorerUnavailable(f"toxicity model unavailable: {e}") from e
