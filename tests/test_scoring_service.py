"""The process's scorer: one model shared by many threads, extra passes only near a site's
limits, check tokens that carry the check's result to the post, and the site switch for the model."""

from __future__ import annotations

import dataclasses
import threading
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from townsquare.domain.tokens import Signer
from townsquare.moderation import check_tokens, service
from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.phases import toxicity as phase
from townsquare.moderation.pipeline import moderate, skipped
from townsquare.moderation.scoring import default_scorer, limits_for
from townsquare.moderation.settings import ModerationRules, ModerationSettings
from townsquare.moderation.toxicity import Span, ToxicityModel, ToxicityResult

from .moderation_support import ORIGIN, add_site, moderation_app, post

TEXTS = [
    "Thanks for covering the school board meeting, very informative.",
    "You are a pathetic, ignorant fool and nobody here respects you.",
    "Teenagers aren't thugs, most of them just want somewhere to skate.",
    "Someone should shoot that judge before he releases more criminals.",
    "Holy shit, the library finally extended its weekend hours!",
    "Honestly, you are an id10t and a m0r0n.",
    "I'm not racist, but Muslims are a cancer on this country.",
    "The bridge will be closed for repairs until the end of March. Bring a map.",
    'The councillor called protesters "animals". He should apologize.',
    "Keep talking and I will find you. You have been warned. Your family too.",
    "Nice photos of the parade.",
    "What a moron, you clearly cannot read.",
]
SETTINGS = ModerationSettings()


@pytest.fixture(scope="module")
def model() -> ToxicityModel:
    return ToxicityModel.load()


def outcome(result: ToxicityResult) -> tuple:
    r = phase.check(Draft(text="", created=0.0), Facts(toxicity=result), SETTINGS)
    return r.action, r.reasons


def test_concurrent_calls_score_exactly_as_one_at_a_time(model):
    alone = [model.score(t) for t in TEXTS]
    scorer = default_scorer()
    assert scorer is model  # one model per process
    out: dict[int, ToxicityResult] = {}
    start = threading.Barrier(8)

    def work(k: int) -> None:
        start.wait()
        for i in range(k, len(TEXTS) * 2, 8):
            out[i] = scorer.score(TEXTS[i % len(TEXTS)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == len(TEXTS) * 2
    for i, result in out.items():
        assert result == alone[i % len(TEXTS)]  # scores and spans, exactly


def test_limits_gather_every_score_the_policy_acts_on():
    limits = limits_for(SETTINGS)
    assert limits.act["insult"] == (0.4, 0.5, 0.6)  # nudge, hostile turn, hold
    assert limits.act["threat"] == (0.3, 0.4, 0.5)
    assert "profanity" not in limits.act  # the passes never move it
    assert limits.hold == SETTINGS.hold_thresholds
    auto = limits_for(ModerationSettings(mode="auto", auto_hold_score=0.7, reject_thresholds={"toxicity": 0.95}))
    assert 0.7 in auto.act["identity_attack"] and 0.95 in auto.act["toxicity"]


def test_scoring_near_the_limits_decides_as_scoring_in_full(model):
    limits = limits_for(SETTINGS)
    for text in TEXTS:
        full, short = model.score(text), model.score(text, limits=limits)
        assert outcome(short) == outcome(full), text


def test_spans_of_a_comment_that_is_not_held_are_not_searched_for(model):
    far = dataclasses.replace(limits_for(SETTINGS), hold={"toxicity": 1.0})
    text = "Someone should shoot that judge before he releases more criminals."
    assert model.score(text).spans  # found by the occlusion fallback
    assert model.score(text, limits=far).spans == []


# -- check tokens -----------------------------------------------------------------------------------
SIGNER = Signer("a test secret")
RESULT = ToxicityResult(
    scores={"toxicity": 0.91, "insult": 0.77, "identity_attack": 0.02, "threat": 0.01, "profanity": 0.3},
    spans=[Span(5, 10, "insult", 0.9), Span(12, 20, "toxicity", 0.5)] + [Span(i, i + 1, "insult", 0.1 * i) for i in range(1, 9)],
)


def test_a_redeemed_token_decides_as_scoring_does(model):
    for text in TEXTS:
        result = model.score(text, limits=limits_for(SETTINGS))
        token = check_tokens.issue(SIGNER, "daily", text, result)
        assert len(token) <= check_tokens.MAX_LENGTH
        redeemed = check_tokens.redeem(SIGNER, token, "daily", text)
        assert redeemed is not None and redeemed.scores == result.scores
        assert outcome(redeemed) == outcome(result), text


def test_a_token_keeps_whether_a_lexicon_word_was_found(model):
    # A reply of a word or two counts its scores only with a lexicon word in it, so a post made
    # with the token must decide the same as the check did.
    for text, found in (("you idiot", True), ("no", False)):
        result = model.score(text, limits=limits_for(SETTINGS))
        redeemed = check_tokens.redeem(SIGNER, check_tokens.issue(SIGNER, "daily", text, result), "daily", text)
        assert result.lexicon_word is found and redeemed.lexicon_word is found
        draft = Draft(text=text, created=0.0)
        assert phase.check(draft, Facts(toxicity=redeemed), SETTINGS) == phase.check(draft, Facts(toxicity=result), SETTINGS)


def test_a_token_keeps_the_spans_the_reasons_show():
    token = check_tokens.issue(SIGNER, "daily", "some text", RESULT)
    redeemed = check_tokens.redeem(SIGNER, token, "daily", "some text")
    assert len(redeemed.spans) == 6  # the five heaviest insults and the toxicity span
    assert outcome(redeemed) == outcome(RESULT)


def test_a_token_is_bound_to_its_text_site_secret_and_lifetime(monkeypatch):
    token = check_tokens.issue(SIGNER, "daily", "You fool.\r\n", RESULT)
    assert check_tokens.redeem(SIGNER, token, "daily", "  You fool.") is not None  # normalized alike
    assert check_tokens.redeem(SIGNER, token, "daily", "You fools.") is None
    assert check_tokens.redeem(SIGNER, token, "weekly", "You fool.") is None
    assert check_tokens.redeem(Signer("another secret"), token, "daily", "You fool.") is None
    assert check_tokens.redeem(SIGNER, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "daily", "You fool.") is None
    assert check_tokens.redeem(SIGNER, SIGNER.edit_token(1), "daily", "You fool.") is None
    for bad in (None, "", "garbage", "a.b.c", "x" * 3000):
        assert check_tokens.redeem(SIGNER, bad, "daily", "You fool.") is None
    assert check_tokens.redeem(SIGNER, token, "daily", "You fool.", max_age=-1) is None  # expired
    import itsdangerous.timed

    later = itsdangerous.timed.time.time() + check_tokens.TTL + 5
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert check_tokens.redeem(SIGNER, token, "daily", "You fool.") is None


# -- the site switch --------------------------------------------------------------------------------
class Refuses:
    def score_many(self, texts, spans=True):
        raise AssertionError("the model must not run")


def site_with(rules: ModerationRules) -> SimpleNamespace:
    settings = SimpleNamespace(moderation="post", min_length=1, max_length=10_000, reports_to_hold=3, moderation_rules=rules)
    return SimpleNamespace(id=1, name="daily", rules=settings)


def test_a_site_can_switch_the_model_off():
    off = ModerationSettings(toxicity=False)
    assert {"toxicity", "heat"} <= skipped(Draft(text="x", created=0.0), Facts(), off)
    answer = service.check(site_with(ModerationRules(toxicity=False, banned_words=["idiot"])),
                           "You idiot.", scorer=Refuses(), signer=SIGNER)
    assert answer["decision"] == "reject" or answer["decision"] == "hold"
    assert {r["phase"] for r in answer["reasons"]} == {"words"}  # the other checks still run
    assert answer["scores"] == {} and answer["check_token"] is None
    facts, fresh = service.score(Draft(text="You idiot.", created=0.0), Facts(), off, scorer=Refuses())
    assert facts.toxicity is None and facts.toxicity_error is None and fresh == {}
    facts = Facts(toxicity=RESULT)  # even with scores at hand, neither phase runs
    assert {r.phase for r in moderate(Draft(text="x", created=0.0), facts, off).results}.isdisjoint({"toxicity", "heat"})


def test_the_model_is_on_by_default():
    assert ModerationRules().toxicity is True
    assert "toxicity" not in skipped(Draft(text="x", created=0.0), Facts(), ModerationSettings())


# -- the API ----------------------------------------------------------------------------------------
@pytest.fixture
def app_client(engine, settings):
    add_site(engine, posts_per_minute=10_000)
    with TestClient(moderation_app(settings, engine), base_url="http://testserver") as c:
        yield c


def test_check_answers_a_token_the_post_accepts(app_client, model, monkeypatch):
    text = "Thanks, a useful summary of the council meeting."
    body = app_client.post("/api/v1/moderation/check", json={"site": "daily", "text": text}).json()
    token = body["check_token"]
    signer = app_client.app.state.core.signer
    redeemed = check_tokens.redeem(signer, token, "daily", text)
    assert redeemed is not None and {k: round(v, 4) for k, v in redeemed.scores.items()} == body["scores"]
    assert check_tokens.redeem(signer, token, "other", text) is None
    runs = []
    real = model.score_many
    monkeypatch.setattr(model, "score_many", lambda texts, **k: runs.extend(texts) or real(texts, **k))
    assert post(app_client, text, check_token=token)["comment"]["status"] == "published"
    assert runs == []  # the check's result was reused
    post(app_client, text + " Again.", check_token=token)  # another text: scored
    assert runs == [text + " Again."]
    too_long = app_client.post("/api/v1/comments", headers=ORIGIN, json={
        "site": "daily", "uri": "/a", "text": text, "author": {"name": "Ann"}, "check_token": "x" * 5000})
    assert too_long.status_code == 422 and too_long.headers["content-type"] == "application/problem+json"


def test_the_longest_token_fits_the_body_limit():
    labels = ("toxicity", "insult", "identity_attack", "threat", "profanity")
    spans = [Span(99_990 + i, 99_999 + i, label, 0.1234 + i / 1000) for label in labels for i in range(9)]
    worst = ToxicityResult(scores={label: 0.1234 for label in labels}, spans=spans)
    token = check_tokens.issue(SIGNER, "s" * 64, "text", worst)
    assert len(token) <= check_tokens.MAX_LENGTH
    assert len(check_tokens.redeem(SIGNER, token, "s" * 64, "text").spans) == 25
