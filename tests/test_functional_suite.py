"""The toxicity model's functional suite (tests/data/functional_suite.csv) is an evaluation set:
it must stay well-formed and out of everything the model is trained on, or its figures in the
model card would measure memory instead of behaviour."""

from __future__ import annotations

import csv
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "data" / "functional_suite.csv"
CLASSES = {
    "neutral_identity", "positive_identity", "reclaimed", "profanity_untargeted", "negated_hate",
    "counter_speech", "implicit_hate", "nonprotected_abuse", "threat", "obfuscation", "emoji",
    "quote_parent", "short",
}


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _suite() -> list[dict[str, str]]:
    with SUITE.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_class_is_present_with_valid_expectations():
    rows = _suite()
    assert {r["class"] for r in rows} == CLASSES
    assert all(r["expected"] in ("0", "1") for r in rows)
    assert len({_key(r["text"]) for r in rows}) == len(rows), "duplicate suite sentences"


def test_no_suite_sentence_appears_in_the_training_script():
    # The hand-written training templates live in train_toxicity.py; any suite sentence there
    # (after normalising case and punctuation) would be trained on.
    training = _key((REPO / "training" / "train_toxicity.py").read_text(encoding="utf-8"))
    # very short comments ("ok", "one") are words, not sentences: check those by whole phrase only
    found = [r["text"] for r in _suite() if len(r["text"]) > 12 and _key(r["text"]) in training]
    assert found == []
