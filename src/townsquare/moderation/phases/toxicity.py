"""The toxicity model's scores: a label at its hold (or reject) threshold holds (or rejects) the comment;
a milder score nudges the author before posting. The spans are the words that drove each score.

Two labels are decided here rather than by the model alone:

* coarse: swearing aimed at no one. The model's toxicity rises with any swearing ("Shit, I forgot
  to vote early" scores 0.91), so a profane comment that insults, attacks and threatens no one is
  coarse, not abusive: toxicity alone does not act on it, and it is held only where the site
  holds coarse comments (`hold_coarse`, off by default).
* very short comments: one or two words give the encoder almost nothing to read ("no" scored
  toxicity 0.84), so without a word of the model's lexicon their scores nudge nothing and hold
  only when they are near certain (`SHORT_HOLD`).
"""

from collections.abc import Mapping

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "toxicity"
# Profanity alone is not abuse ("that was a damn good game"); it holds only at its own threshold.
HOSTILE = ("toxicity", "insult", "identity_attack", "threat")
# Aimed at a person or a group: what separates abuse from coarse language.
TARGETED = ("insult", "identity_attack", "threat")
# A comment of one or two words without a lexicon word is held by the model only from this score.
SHORT_HOLD = 0.9
_WORDS = {
    "toxicity": "toxic",
    "insult": "insulting",
    "identity_attack": "attacks a group for who they are",
    "threat": "threatening",
    "profanity": "profane",
    "coarse": "coarse language aimed at no one",
}


def very_short(text: str) -> bool:
    """One or two words, or up to 3 characters ("ok", "one", "lol", "+1", "no way")."""
    stripped = text.strip()
    return len(stripped) <= 3 or len(stripped.split()) <= 2


def too_short_to_nudge(text: str, lexicon_word: bool = False) -> bool:
    """A reply of a word or two gives the model almost nothing to read, so a middling score there is
    noise, not worth a warning, unless a word of the lexicon ("idiot", "scum") is in it."""
    return very_short(text) and not lexicon_word


def hostility(scores: dict[str, float] | None) -> float:
    if not scores:
        return 0.0
    return max((scores.get(label, 0.0) for label in HOSTILE), default=0.0)


def crossed(scores: Mapping[str, float], limits: Mapping[str, float]) -> list[str]:
    """The labels whose score is at or above their limit, in the limits' order."""
    return [label for label, limit in limits.items() if scores.get(label, 0.0) >= limit]


def is_coarse(scores: Mapping[str, float], settings: ModerationSettings) -> bool:
    """Profane, and no label aimed at a person or a group reaches a limit that holds or rejects."""
    if scores.get("profanity", 0.0) < settings.coarse_threshold:
        return False
    limits = (settings.hold_thresholds, settings.reject_thresholds)
    return not any(label in lim and scores.get(label, 0.0) >= lim[label] for lim in limits for label in TARGETED)


def verdict(scores: Mapping[str, float], settings: ModerationSettings, text: str = "",
            lexicon_word: bool = True) -> tuple[str | None, list[str]]:
    """What the scores do under the site's policy: (action, labels behind it). The action is
    reject, hold, nudge or None; "coarse" is a label of its own. Pure, so that evaluation
    (training/evaluate_build.py) and rescoring decide exactly as posting does. Without the text
    (or with `lexicon_word` left True) the short-comment rule does not apply."""
    coarse = is_coarse(scores, settings)
    short = bool(text) and very_short(text) and not lexicon_word
    for action, thresholds in (("reject", settings.reject_thresholds), ("hold", settings.hold_thresholds)):
        over = crossed(scores, thresholds)
        if coarse:  # toxicity alone measures the swearing here, not abuse
            over = [label for label in over if label != "toxicity"]
        if short:
            over = [label for label in over if scores.get(label, 0.0) >= max(SHORT_HOLD, thresholds[label])]
        if over:
            return action, over
    if coarse and settings.hold_coarse:
        return "hold", ["coarse"]
    labels = TARGETED if coarse else HOSTILE
    worst = max(labels, key=lambda label: scores.get(label, 0.0))
    if scores.get(worst, 0.0) >= settings.nudge_threshold and not too_short_to_nudge(text, lexicon_word):
        return "nudge", [worst]
    return None, ["coarse"] if coarse else []


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    result = facts.toxicity
    if result is None:
        # Fail open: an unavailable model must not hold every comment; the reason records it.
        detail = facts.toxicity_error or "not scored"
        return PhaseResult(NAME, 0.0, None, (Reason("unscored", detail),))
    score = hostility(result.scores)
    action, labels = verdict(result.scores, settings, draft.text, result.lexicon_word)
    if action in ("reject", "hold") and labels != ["coarse"]:
        values = [_value(result, label) for label in labels]
        return PhaseResult(NAME, max(score, *values), action, tuple(_reason(result, l, v) for l, v in zip(labels, values)))
    if labels == ["coarse"] and action is None:
        # Published, marked coarse; its phase score leaves toxicity out, so that the auto mode's
        # review threshold does not hold the swearing the site lets through.
        score = max(result.scores.get(label, 0.0) for label in TARGETED)
    if action is None and very_short(draft.text) and not result.lexicon_word and score < SHORT_HOLD:
        score = 0.0  # noise: nor does the auto mode's review threshold hold it
    if labels:
        value = _value(result, labels[0])
        return PhaseResult(NAME, value if action else score, action, (_reason(result, labels[0], value),))
    return passed(NAME, score)


def _value(result, label: str) -> float:
    return result.scores.get("profanity" if label == "coarse" else label, 0.0)


def _reason(result, label: str, value: float) -> Reason:
    wanted = "profanity" if label == "coarse" else label
    spans = [s for s in result.spans if s.label == wanted] or list(result.spans)
    spans.sort(key=lambda s: -s.weight)
    return Reason(label, f"{_WORDS.get(label, label)} ({value:.2f})", tuple(sorted((s.start, s.end) for s in spans[:5])))
