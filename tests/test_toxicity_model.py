"""Tests for the shipped offline toxicity model and the evaluation helpers."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import numpy as np
import pytest

from townsquare.moderation.evaluate import evaluate, format_report, roc_auc
from townsquare.moderation.toxicity import (
    LABELS, Span, ToxicityModel, ToxicityResult, affirmed, denial_clauses, normalize, own_words,
)

CHALLENGE = Path(__file__).parent / "data" / "moderation_challenge.csv"


@pytest.fixture(scope="module")
def model() -> ToxicityModel:
    return ToxicityModel.load()


def tox(model: ToxicityModel, text: str) -> float:
    return model.score(text).scores["toxicity"]


def test_load_is_cached_and_result_shape(model):
    assert ToxicityModel.load() is model
    res = model.score("Thanks for the article.")
    assert isinstance(res, ToxicityResult)
    assert set(res.scores) == set(LABELS)
    assert all(0.0 <= v <= 1.0 for v in res.scores.values())
    assert model.score_many([]) == []


@pytest.mark.parametrize(
    "text",
    [
        "You are a pathetic, ignorant fool and nobody here respects you.",
        "What a moron, you clearly cannot read.",
        "Only an imbecile like you would believe this garbage.",
    ],
)
def test_insults_without_swear_words_score_high(model, text):
    res = model.score(text)
    assert res.scores["toxicity"] >= model.threshold
    assert res.scores["insult"] >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for covering the school board meeting, very informative.",
        "The bridge will be closed for repairs until the end of March.",
        "I disagree with the editorial; the budget numbers do not add up.",
        "My condolences to the family. She was a wonderful nurse.",
    ],
)
def test_harmless_comments_score_low(model, text):
    res = model.score(text)
    assert res.scores["toxicity"] < model.threshold
    assert res.spans == []


def test_negation_scores_low(model):
    assert tox(model, "I don't hate them.") < model.threshold
    assert tox(model, "I don't hate them.") < tox(model, "I hate them, they are vermin.")


@pytest.mark.parametrize(
    "text",
    [
        "Teenagers aren't thugs, most of them just want somewhere to skate.",
        "Nobody is calling you stupid, I just disagree with your numbers.",
        "I would not call the governor a fool, but this budget is a mistake.",
        "Homeless people are not vermin, they are neighbours who ran out of luck.",
        "Nobody here is calling the nurses greedy, they deserve the raise.",
        "I didn't say your brother was a liar, I said the numbers in his post were out of date.",
    ],
)
def test_a_denied_insult_next_to_civil_words_scores_low(model, text):
    """The encoder alone reads the denied claim as made; the denial pass scores the rest."""
    assert tox(model, text) < model.threshold


@pytest.mark.parametrize(
    "text", ["The teachers deserve better pay.", "The nurses deserve the raise.", "Single mothers work hard."]
)
def test_plain_statements_about_people_score_low(model, text):
    """News comments in the data are nearly all toxic, so a short sentence naming a group of
    people used to read as an attack; what the sentence says about them has to decide."""
    scores = model.score(text).scores
    assert max(scores[lab] for lab in LABELS if lab != "profanity") < model.threshold


@pytest.mark.parametrize(
    "text",
    [
        "You aren't an idiot, you're a complete moron with nothing between the ears.",  # insult next to it
        "I'm not racist, but Muslims are a cancer on this country.",
        pytest.param("I'm not saying all Mexicans are criminals, but most of them are.",  # the rest restates it
                     marks=pytest.mark.xfail(
            strict=True, reason="known limit (MODEL_CARD.md, 'Same model on any processor'): with float32 "
                                "arithmetic this build scores it under the flag threshold")),
        "Nobody is calling you an idiot, we are all just thinking it very loudly.",  # and points back
        "There is no cure for your kind of stupid, so I won't bother explaining.",  # no denial at all
        "You're no better than a rat, and everyone here knows it.",
    ],
)
def test_abuse_phrased_with_a_negator_stays_flagged(model, text):
    res = model.score(text)
    assert max(res.scores[lab] for lab in LABELS if lab != "profanity") >= model.threshold


def test_denial_clauses_and_their_affirmed_form():
    assert affirmed("Teenagers aren't thugs, ") == "Teenagers are thugs, "
    assert affirmed("Nobody is calling you stupid") == "somebody is calling you stupid"
    assert affirmed("Retirees are hardly parasites; ") == "Retirees are parasites; "
    assert affirmed("You are no fool") == "You are a fool"
    clauses = denial_clauses("Retirees are hardly parasites; they paid in for forty years.")
    assert [(c, cut) for c, cut in clauses] == [("Retirees are hardly parasites; ", "Retirees; "),
                                                ("they paid in for forty years.", None)]
    for text in ("Don't be such an idiot, read it.", "You can't be this stupid, read it.",
                 "Nobody wants your kind here, go away.", "You're no better than a rat, honestly.",
                 "There is no cure for stupid, so be it.", "You're not even human, are you."):
        assert all(cut is None for _, cut in denial_clauses(text)), text


COUNTER_SPEECH = [
    ('Someone wrote "immigrants are vermin" on the school wall. That is hateful and it has to stop.',
     "immigrants are vermin"),
    ('A man yelled "go back to your country" at my neighbour. That is racist and unacceptable.',
     "go back to your country"),
    ('The councillor called protesters "animals". He should apologize.',
     "protesters are animals"),
]


@pytest.mark.parametrize("text,quoted", COUNTER_SPEECH)
def test_counter_speech_scores_well_below_the_abuse_it_quotes(model, text, quoted):
    assert tox(model, text) <= tox(model, quoted) - 0.15


def test_counter_speech_scores_low(model):
    assert tox(model, COUNTER_SPEECH[2][0]) < model.threshold


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(COUNTER_SPEECH[0][0], marks=pytest.mark.xfail(
            strict=False, reason="known limit (MODEL_CARD.md): the rejecting words alone (\"That is hateful\") "
                                 "can still score near the flag threshold")),
        COUNTER_SPEECH[1][0],
    ],
)
def test_counter_speech_quoting_strong_abuse_scores_low(model, text):
    assert tox(model, text) < model.threshold


def test_own_words_replaces_double_and_single_quoted_spans_but_not_apostrophes():
    assert own_words('He wrote "go home" on the wall.') == "He wrote  that  on the wall."
    assert own_words("She was called a 'useless cow' at work.") == "She was called a  that  at work."
    text = "Don't judge the parents' votes, it's the kids' park."
    assert own_words(text) == text


def test_emoji_become_what_the_encoder_can_read(model):
    readable = model.encoder.readable
    assert readable("You are an idiot🙂") == "You are an idiot :) "
    assert readable("great ✓ 20°C") == "great   20°C"  # "✓" is not in the vocabulary, "°" is
    assert readable("plain ascii :)") == "plain ascii :)"
    # an emoji glued to a word used to hide the word from the encoder
    assert model.score("You are an idiot🙂").scores["insult"] >= 0.5


def test_obfuscated_insults_are_caught(model):
    for text in ("You are an id10t.", "What an i d i o t you are.", "you stuuuupid m0r0n"):
        assert tox(model, text) >= model.threshold, text


def test_spans_point_at_offending_words_in_original_text(model):
    text = "Honestly, you are an id10t and a m0r0n."
    res = model.score(text)
    words = {text[s.start:s.end].lower() for s in res.spans}
    assert "id10t" in words
    assert "m0r0n" in words
    for s in res.spans:
        assert isinstance(s, Span)
        assert 0 <= s.start < s.end <= len(text)
        assert s.label in LABELS
        assert 0.0 < s.weight <= 1.0
    assert not any("honestly" in text[s.start:s.end].lower() for s in res.spans)


def test_a_flag_no_lexicon_word_explains_points_at_the_words_behind_its_label(model):
    """Occlusion measures the explained label: without "shoot that" the comment's toxicity
    stays high (0.78 of 0.82), its threat score halves."""
    text = "Someone should shoot that judge before he releases more criminals."
    res = model.score(text)
    assert res.scores["threat"] >= 0.5
    assert any("shoot" in text[s.start:s.end] for s in res.spans if s.label == "threat"), res.spans


def test_spaced_letters_span_covers_original_characters(model):
    text = "what an i d i o t"
    res = model.score(text)
    assert any(text[s.start:s.end] == "i d i o t" for s in res.spans)


def test_profanity_is_a_separate_signal(model):
    res = model.score("Holy shit, the library finally extended its weekend hours!")
    assert res.scores["profanity"] >= 0.5
    assert res.scores["toxicity"] < model.threshold


def test_normalize_offsets_map_back():
    text = "a b1tch and s t u p i d"
    norm, offs = normalize(text)
    assert "bitch" in norm and "stupid" in norm
    assert len(offs) == len(norm)
    assert all(0 <= o < len(text) for o in offs)
    assert offs == sorted(offs)


def test_score_many_matches_score_and_is_thread_safe(model):
    texts = ["You are an idiot.", "Nice photos of the parade.", "Go back to your country, vermin."]
    # each text runs alone, so its scores do not depend on what it is scored with
    together = model.score_many(texts)
    single = [model.score(t) for t in texts]
    assert [r.scores for r in together] == [r.scores for r in single]
    out = {}

    def work(i):
        out[i] = model.score(texts[i % 3]).scores["toxicity"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, v in out.items():
        assert v == pytest.approx(single[i % 3].scores["toxicity"], abs=2e-3)


def test_challenge_set_is_well_formed_and_mostly_right(model):
    with CHALLENGE.open(newline="", encoding="utf-8") as f:
        rows = [(r["text"], int(r["label"]), r["category"]) for r in csv.DictReader(f)]
    assert 60 <= len(rows) <= 200
    assert {r[1] for r in rows} == {0, 1}
    rep = evaluate(model, rows, latency_samples=0)
    assert rep.accuracy >= 0.85
    assert rep.roc_auc is not None and rep.roc_auc >= 0.9


# ---------------------------------------------------------------------------
# evaluate() on a tiny hand-computed example
# ---------------------------------------------------------------------------


class FixedScorer:
    def __init__(self, scores):
        self.scores = scores

    def score_many(self, texts):
        return [ToxicityResult(scores={"toxicity": self.scores[t]}, spans=[]) for t in texts]


def test_evaluate_hand_computed():
    rows = [
        ("a", 1, "x"),  # 0.9 -> flagged, TP
        ("b", 1, "x"),  # 0.4 -> not flagged, FN
        ("c", 0, "y"),  # 0.6 -> flagged, FP
        ("d", 0, "y"),  # 0.1 -> TN
        ("e", 0, None),  # 0.2 -> TN
    ]
    scorer = FixedScorer({"a": 0.9, "b": 0.4, "c": 0.6, "d": 0.1, "e": 0.2})
    rep = evaluate(scorer, rows, threshold=0.5, latency_samples=0)
    assert (rep.tp, rep.fp, rep.tn, rep.fn) == (1, 1, 2, 1)
    assert rep.precision == pytest.approx(0.5)
    assert rep.recall == pytest.approx(0.5)
    assert rep.f1 == pytest.approx(0.5)
    assert rep.fpr == pytest.approx(1 / 3)
    assert rep.accuracy == pytest.approx(3 / 5)
    # positives {0.9, 0.4} vs negatives {0.6, 0.1, 0.2}: pairs won = 3 + 2 = 5 of 6
    assert rep.roc_auc == pytest.approx(5 / 6)
    assert rep.per_category == {"x": (0.5, 2), "y": (0.5, 2)}
    assert rep.throughput > 0
    text = format_report(rep)
    assert "precision 0.500" in text and "ROC-AUC 0.833" in text
    assert rep.policy is None and "site's limits" not in text


def test_evaluate_decides_by_a_sites_hold_limits():
    rows = [("a", 1, "x"), ("b", 1, "x"), ("c", 0, "y"), ("d", 0, "y"), ("e", 0, None)]
    scorer = FixedScorer({"a": 0.9, "b": 0.4, "c": 0.6, "d": 0.1, "e": 0.2})
    # flagged at 0.5, held at 0.35: a, b and c are held
    rep = evaluate(scorer, rows, threshold=0.5, latency_samples=0, hold_limits={"toxicity": 0.35})
    assert rep.policy.fine_published == pytest.approx(2 / 3)
    assert rep.policy.flagged_held == pytest.approx(1.0)
    assert rep.policy.per_category == {"x": 1.0, "y": 0.5}
    text = format_report(rep)
    assert "held at the site's limits (toxicity 0.35): fine comments published 0.667  flagged comments held 1.000" in text
    assert "  x   0.500   1.000  (n=2)" in text


def test_roc_auc_ties_and_degenerate():
    assert roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert roc_auc([1, 1, 0, 0], [0.8, 0.7, 0.3, 0.1]) == pytest.approx(1.0)
    assert roc_auc([1, 1], [0.2, 0.3]) is None


def test_the_encoder_computes_in_float32_so_batch_mates_move_an_embedding_by_rounding_only(model):
    # int8 arithmetic would scale activations over the whole batch (up to 0.11 per component);
    # float32 from weights dequantized at start-up leaves only the summation order.
    session, tokenizer = model.encoder.session, model.encoder.tokenizer
    texts = ["You are an idiot.", "Nice photos of the parade, thanks for sharing them with us all.",
             "The council should publish the budget before the vote, not after it."]
    rows = [tokenizer.encode(t).ids for t in texts]
    width = max(len(r) for r in rows)
    batch = np.zeros((len(rows), width), np.int64)
    mask = np.zeros_like(batch)
    for i, r in enumerate(rows):
        batch[i, :len(r)], mask[i, :len(r)] = r, 1
    together = session.run(None, {"input_ids": batch, "attention_mask": mask})[0]
    for i, r in enumerate(rows):
        ids = np.array([r], np.int64)
        alone = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        assert np.abs(together[i] - alone).max() < 1e-5


def test_short_replies_and_coarse_language_under_the_default_policy(model):
    """The real model's scores through the toxicity phase's rule: a reply of a word or two without
    a lexicon word is not nudged or held on noise ("no" scores toxicity 0.84), swearing aimed at
    no one is published as coarse, and swearing aimed at someone is held."""
    from townsquare.moderation.phases.toxicity import verdict
    from townsquare.moderation.settings import ModerationSettings

    site = ModerationSettings()

    def decide(text, settings=site):
        result = model.score(text)
        return verdict(result.scores, settings, text, result.lexicon_word)

    for text in ("one", "no", "lol", "ok then", "no way", "nice try"):
        assert decide(text) == (None, []), text
    for text in ("idiot", "you idiot"):
        assert decide(text)[0] == "hold", text
    for text in ("Fuck, the train is late again.", "Damn it, I missed the last bus home."):
        assert decide(text) == (None, ["coarse"]), text
        assert decide(text, ModerationSettings(hold_coarse=True)) == ("hold", ["coarse"]), text
    action, labels = decide("You are a fucking moron.")
    assert action == "hold" and "insult" in labels
