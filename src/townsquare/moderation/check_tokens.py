"""Check tokens: the pre-submit check's toxicity result, signed, so that posting the same text
soon after does not run the model a second time.

A token is bound to the site and to the SHA-256 of the normalized text, and lives ten minutes.
It carries the scores and the spans the pipeline's reasons can show (the five heaviest per label).
Redeeming never raises: a missing, expired, forged, other-site or other-text token is None, and
the caller scores the text itself.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadData, URLSafeTimedSerializer

from townsquare.domain.tokens import Signer
from townsquare.domain.validate import normalize_text
from townsquare.moderation.toxicity import LABELS, Span, ToxicityResult

TTL = 600
# Longest token issue() writes (a 64-character site name, every label with five spans): what a
# request body may carry.
MAX_LENGTH = 2000
_SPANS_PER_LABEL = 5  # the toxicity phase's reasons show at most five spans of a label


def _serializer(signer: Signer) -> URLSafeTimedSerializer:
    # A key of its own, derived from the site secret, so no other token can pass for a check token.
    return URLSafeTimedSerializer(signer.hash("key", "check-token"), salt="townsquare.check")


def _digest(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode()).hexdigest()


def _kept(spans: list[Span]) -> list[Span]:
    """The heaviest spans of each label, in their original order: all the reasons can use."""
    keep: set[int] = set()
    for label in {s.label for s in spans}:
        mine = sorted((i for i, s in enumerate(spans) if s.label == label), key=lambda i: -spans[i].weight)
        keep.update(mine[:_SPANS_PER_LABEL])
    return [s for i, s in enumerate(spans) if i in keep]


def issue(signer: Signer, site_name: str, text: str, result: ToxicityResult) -> str:
    scores = [result.scores.get(label, 0.0) for label in LABELS]
    spans = [[s.start, s.end, LABELS.index(s.label), s.weight] for s in _kept(result.spans)]
    return _serializer(signer).dumps({"s": site_name, "h": _digest(text), "r": [scores, spans, int(result.lexicon_word)]})


def redeem(signer: Signer, token: str | None, site_name: str, text: str, max_age: int = TTL) -> ToxicityResult | None:
    if not token:
        return None
    try:
        data = _serializer(signer).loads(token, max_age=max_age)
        if data["s"] != site_name or data["h"] != _digest(text):
            return None
        scores, spans, *rest = data["r"]
        return ToxicityResult(
            scores={label: float(v) for label, v in zip(LABELS, scores, strict=True)},
            spans=[Span(int(s), int(e), LABELS[int(k)], float(w)) for s, e, k, w in spans],
            lexicon_word=bool(rest and rest[0]),
        )
    except (BadData, KeyError, TypeError, ValueError, IndexError):
        return None
