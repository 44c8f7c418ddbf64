"""The toxicity scorer the service uses: the offline model, loaded once per process."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from townsquare.moderation.toxicity import ToxicityResult

log = logging.getLogger(__name__)


class Scorer(Protocol):
    def score(self, text: str) -> ToxicityResult: ...

    def score_many(self, texts: Sequence[str], spans: bool = True) -> list[ToxicityResult]: ...


class ScorerUnavailable(Exception):
    pass


@lru_cache(maxsize=1)
def _load() -> Scorer:
    from townsquare.moderation.toxicity import ToxicityModel

    return ToxicityModel.load()


def default_scorer() -> Scorer:
    """The bundled model. Raises ScorerUnavailable (and logs why) if it cannot be loaded, so that the
    pipeline can pass the comment on to the other phases instead of failing closed."""
    try:
        return _load()
    except Exception as e:  # any load failure: missing file, bad ONNX, missing runtime
        log.error("toxicity model unavailable: %s", e)
        raise ScorerUnavailable(f"toxicity model unavailable: {e}") from e
