"""Each moderation phase alone, then the pipeline and the policy, on plain values (no store, no model)."""

from dataclasses import replace

import pytest
from pydantic import ValidationError

from townsquare.moderation.inputs import Ancestor, Ban, Draft, Facts, PastComment
from townsquare.moderation.phases import (
    ban,
    closed,
    heat,
    history,
    length,
    links,
    new_author,
    personal_data,
    rate,
    repeat,
    toxicity,
    traps,
    words,
)
from townsquare.moderation.pipeline import moderate, run
from townsquare.moderation.settings import ModerationRules, ModerationSettings
from townsquare.moderation.toxicity import Span, ToxicityResult
from townsquare.moderation.wordlist import find_words

NOW = 1_800_000_000.0
S = ModerationSettings()


def rules(**kw) -> ModerationSettings:
    return ModerationSettings(**kw)


def draft(text="A fair point, well made.", **kw) -> Draft:
    return Draft(text=text, created=NOW, author_name=kw.pop("author_name", "Ann"), **kw)


def scored(**scores) -> ToxicityResult:
    base = dict.fromkeys(("toxicity", "insult", "identity_attack", "threat", "profanity"), 0.01)
    return ToxicityResult({**base, **scores}, [])


def spans_text(text, result):
    return [text[a:b] for r in result.reasons for a, b in r.spans]


# -- word lists ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["you id10t", "I D I O T", "idiooot!", "i.d.i.o.t", "What an IDIOT."])
def test_word_variants_match(text):
    assert find_words(["idiot"], text)


@pytest.mark.parametrize("text", ["idiotic", "the idiom", "Didi ott"])
def test_whole_word_without_wildcard(text):
    assert not find_words(["idiot"], text)


def test_wildcards():
    assert find_words(["idiot*"], "so idiotic")
    assert find_words(["*hole"], "what an arsehole")
    assert find_words(["*hole"], "a hole in one")  # the bare word ends in "hole" too
    assert not find_words(["*hole"], "holes")
    assert not find_words(["ass"], "a glass of class, was sad")


def test_banned_word_rejects_with_span():
    s = rules(banned_words=["scum*"])
    text = "you are all SCUMBAGS"
    result = words.check(draft(text), Facts(), s)
    assert result.action == "reject"
    assert spans_text(text, result) == ["SCUMBAGS"]


def test_suspect_word_holds():
    s = rules(suspect_words=["traitor"])
    text = "a tr4itor to the cause"
    result = words.check(draft(text), Facts(), s)
    assert result.action == "hold" and spans_text(text, result) == ["tr4itor"]


def test_bad_word_pattern_is_a_settings_error():
    with pytest.raises(ValidationError, match="only at the start or the end"):
        ModerationRules(banned_words=["a*b"])


# -- closed, length, traps ------------------------------------------------------------------------
def test_closed_thread_rejects():
    assert closed.check(draft(), Facts(thread_closed=True), S).action == "reject"
    assert closed.check(draft(), Facts(), S).action is None


def test_length():
    s = rules(min_length=3, max_length=10)
    assert length.check(draft("  a "), Facts(), s).reasons[0].label == "too_short"
    long = length.check(draft("x" * 12), Facts(), s)
    assert long.action == "reject" and long.reasons[0].spans == ((10, 12),)
    assert length.check(draft("just right"), Facts(), s).action is None


def test_traps():
    assert traps.check(draft(honeypot="http://spam"), Facts(), S).action == "reject"
    assert traps.check(draft(form_age=0.4), Facts(), S).action == "hold"
    assert traps.check(draft(form_age=30.0), Facts(), S).action is None
    assert traps.check(draft(), Facts(), S).action is None  # unknown form age: no judgement


# -- links and personal data --------------------------------------------------------------------------
def test_links_count_and_domains():
    text = "see https://a.example/x and www.b.org, also c.ru/page"
    assert [h for _, h in links.find_links(text)] == ["a.example", "b.org", "c.ru"]
    held = links.check(draft(text), Facts(), rules(max_links=2))
    assert held.action == "hold" and len(held.reasons[0].spans) == 3
    assert links.check(draft(text), Facts(), rules(max_links=2, allowed_domains=["b.org"])).action is None
    blocked = links.check(draft(text), Facts(), rules(blocked_domains=["ru"]))
    assert blocked.action == "reject" and spans_text(text, blocked) == ["c.ru/page"]
    assert links.check(draft("Node.js and e.g. U.S.A."), Facts(), S).score == 0


def test_seed_phone_number_and_email_are_held():
    text = "Receive News Alerts on Whatsapp: +2348136370421 or write to desk@news.example.com"
    result = personal_data.check(draft(text), Facts(), S)
    assert result.action == "hold"
    assert spans_text(text, result) == ["+2348136370421", "desk@news.example.com"]
    assert {r.label for r in result.reasons} == {"phone_number", "email_address"}


def test_years_and_counts_are_not_phone_numbers():
    text = "In 2015, 10-15 times, for $1999 and 300 troops since 1994"
    assert personal_data.check(draft(text), Facts(), S).action is None


# -- repeats, rate, authors -----------------------------------------------------------------------------
def past(text, ago=60.0, thread_id=1, status="published"):
    return PastComment(text=text, created=NOW - ago, status=status, thread_id=thread_id)


def test_repeat_and_near_duplicate():
    text = "Buy cheap watches at our store today, best prices guaranteed!"
    assert repeat.check(draft(text), Facts(recent=(past(text.upper()),)), S).action == "reject"
    near = "Buy cheap watches at our shop today, best prices guaranteed!!"
    assert repeat.check(draft(near, thread_id=2), Facts(recent=(past(text),)), S).action == "hold"
    assert repeat.check(draft(text), Facts(recent=(past(text, ago=3 * 86400),)), S).action is None
    # A short reply repeated in another thread is not spam.
    assert repeat.check(draft("Agreed.", thread_id=2), Facts(recent=(past("Agreed."),)), S).action is None
    assert repeat.check(draft("Agreed.", thread_id=1), Facts(recent=(past("Agreed."),)), S).action == "reject"


def test_rate_per_author_and_ip_and_slow_mode():
    s = rules(author_rate=3, ip_rate=5, rate_window=60)
    assert rate.check(draft(), Facts(author_post_times=(NOW - 10, NOW - 20, NOW - 30)), s).reasons[0].label == "author_rate"
    assert rate.check(draft(), Facts(author_post_times=(NOW - 100,) * 3), s).action is None
    assert rate.check(draft(), Facts(ip_posts=5), s).reasons[0].label == "ip_rate"
    assert rate.check(draft(), Facts(ip_posts=4), s).action is None
    slow = rate.check(draft(), Facts(slow_mode=120, author_last_in_thread=NOW - 30), s)
    assert slow.action == "reject" and "wait 90 s" in slow.reasons[0].detail
    assert rate.check(draft(), Facts(slow_mode=120, author_last_in_thread=NOW - 130), s).action is None


def test_new_author_and_history():
    s = rules(new_author_holds=2)
    assert new_author.check(draft(), Facts(author_published=1), s).action == "hold"
    assert new_author.check(draft(), Facts(author_published=2), s).action is None
    assert new_author.check(draft(), Facts(), S).action is None  # off by default
    assert history.check(draft(), Facts(author_total=10, author_rejected=6), S).action == "hold"
    assert history.check(draft(), Facts(author_total=10, author_rejected=2), S).action is None
    assert history.check(draft(), Facts(author_total=2, author_rejected=2), S).action is None  # too little history


def test_ban():
    assert ban.check(draft(), Facts(bans=(Ban("ip", "spam", None),)), S).action == "reject"
    assert ban.check(draft(), Facts(bans=(Ban("author", "", NOW - 1),)), S).action is None  # expired
    assert "until" in ban.check(draft(), Facts(bans=(Ban("email", "abuse", NOW + 3600),)), S).reasons[0].detail


# -- toxicity and heat --------------------------------------------------------------------------------------
def test_toxicity_thresholds_spans_and_nudge():
    text = "you are a moron"
    result = ToxicityResult({**scored().scores, "insult": 0.9, "toxicity": 0.7}, [Span(10, 15, "insult", 0.8)])
    held = toxicity.check(draft(text), Facts(toxicity=result), S)
    assert held.action == "hold" and held.reasons[0].label == "insult" and spans_text(text, held) == ["moron"]
    rejected = toxicity.check(draft(text), Facts(toxicity=result), rules(reject_thresholds={"insult": 0.85}))
    assert rejected.action == "reject"
    assert toxicity.check(draft(), Facts(toxicity=scored(toxicity=0.45)), S).action == "nudge"
    assert toxicity.check(draft(), Facts(toxicity=scored()), S).action is None
    # One word or a few characters: a middling score is noise, not worth a warning; holds still apply.
    for short in ("one", "lol", "+1", "  ok  "):
        assert toxicity.check(draft(short), Facts(toxicity=scored(toxicity=0.45)), S).action is None
    assert toxicity.check(draft("idiot"), Facts(toxicity=scored(toxicity=0.9)), S).action == "hold"
    # Swearing aimed at no one holds nothing by default; a site that wants it held sets a limit.
    assert toxicity.check(draft(), Facts(toxicity=scored(profanity=0.99)), S).action is None
    strict = rules(hold_thresholds={**S.hold_thresholds, "profanity": 0.9})
    held = toxicity.check(draft(), Facts(toxicity=scored(profanity=0.99)), strict)
    assert held.action == "hold" and held.reasons[0].label == "profanity"


def test_coarse_language_is_its_own_label_published_unless_the_site_holds_it():
    # Swearing aimed at no one: toxicity alone (0.91 here) would have held it.
    swearing = scored(toxicity=0.91, insult=0.3, profanity=0.9)
    marked = toxicity.check(draft(), Facts(toxicity=swearing), S)
    assert marked.action is None and [r.label for r in marked.reasons] == ["coarse"]
    assert marked.score == 0.3  # toxicity left out, so the auto mode's review threshold does not hold it
    assert moderate(draft(), Facts(toxicity=swearing), rules(mode="auto")).decision == "publish"
    held = toxicity.check(draft(), Facts(toxicity=swearing), rules(hold_coarse=True))
    assert held.action == "hold" and held.reasons[0].label == "coarse" and held.reasons[0].detail.endswith("(0.90)")
    # Aimed at someone it is abuse, whatever the swearing.
    aimed = toxicity.check(draft(), Facts(toxicity=scored(toxicity=0.95, insult=0.9, profanity=0.9)), S)
    assert aimed.action == "hold" and [r.label for r in aimed.reasons] == ["toxicity", "insult"]
    # Not profane enough to be coarse: toxicity holds as before.
    assert toxicity.check(draft(), Facts(toxicity=scored(toxicity=0.91, profanity=0.3)), S).action == "hold"
    # Coarse comments are not nudged on toxicity, but still on a label aimed at someone.
    assert toxicity.check(draft(), Facts(toxicity=scored(toxicity=0.7, profanity=0.9)), S).action is None
    nudged = toxicity.check(draft(), Facts(toxicity=scored(toxicity=0.7, insult=0.45, profanity=0.9)), S)
    assert nudged.action == "nudge" and nudged.reasons[0].label == "insult"
    # A site's own profanity limit still holds swearing, as "profanity".
    strict = rules(hold_thresholds={**S.hold_thresholds, "profanity": 0.8})
    assert toxicity.check(draft(), Facts(toxicity=swearing), strict).reasons[0].label == "profanity"


def test_a_word_or_two_needs_a_lexicon_word_before_its_scores_count():
    noise = scored(toxicity=0.84, identity_attack=0.54)  # what the model gave "no"
    for text in ("no", "no way", "shut up"):
        assert toxicity.check(draft(text), Facts(toxicity=noise), S).action is None
    # With a lexicon word the scores count as for any comment.
    worded = replace(scored(toxicity=0.5), lexicon_word=True)
    assert toxicity.check(draft("you clown"), Facts(toxicity=worded), S).action == "nudge"
    assert toxicity.check(draft("you clown"), Facts(toxicity=replace(noise, lexicon_word=True)), S).action == "hold"
    # Without one, a short comment is held only when the model is near certain.
    assert toxicity.check(draft("go away"), Facts(toxicity=scored(insult=0.95)), S).action == "hold"
    # Nor does the auto mode's review threshold hold such noise.
    assert moderate(draft("no"), Facts(toxicity=noise), rules(mode="auto")).decision == "publish"
    # Three words are read as usual.
    assert toxicity.check(draft("no, not really"), Facts(toxicity=noise), S).action == "hold"


def test_unavailable_model_fails_open_with_a_reason():
    result = toxicity.check(draft(), Facts(toxicity_error="toxicity model unavailable: no file"), S)
    assert result.action is None and result.reasons[0].label == "unscored"


HOSTILE = {"insult": 0.9}
CALM = {"insult": 0.05}


def branch(*people):
    """Ancestors nearest first from (id, author, scores) tuples."""
    return tuple(Ancestor(i, f"key-{who}", who, "...", sc) for i, who, sc in people)


def test_heat_two_authors_trading_hostile_replies():
    ancestors = branch((4, "jiri", HOSTILE), (3, "oberts", HOSTILE), (2, "jiri", CALM), (1, "oberts", HOSTILE))
    d = draft("...", author_name="oberts", author_key="key-oberts")
    result = heat.check(d, Facts(ancestors=ancestors, toxicity=scored(insult=0.2)), S)
    assert result.action == "hold"
    assert result.reasons[0].comments == (4, 3, 2, 1)
    assert "oberts and jiri" in result.reasons[0].detail


def test_heat_needs_both_sides_hostile_and_a_long_enough_run():
    one_sided = branch((3, "jiri", CALM), (2, "oberts", HOSTILE), (1, "jiri", CALM))
    d = draft("...", author_name="oberts", author_key="key-oberts")
    assert heat.check(d, Facts(ancestors=one_sided, toxicity=scored(insult=0.9)), S).action is None
    short = branch((1, "jiri", HOSTILE))
    assert heat.check(d, Facts(ancestors=short, toxicity=scored(insult=0.9)), S).action is None


def test_heat_third_author_breaks_the_run():
    ancestors = branch((4, "jiri", HOSTILE), (3, "oberts", HOSTILE), (2, "jiri", HOSTILE), (1, "oberts", HOSTILE))
    julie = draft("...", author_name="Julie", author_key="key-julie")
    assert heat.check(julie, Facts(ancestors=ancestors, toxicity=scored(insult=0.9)), S).action is None


def test_heat_counts_self_replies_as_one_turn():
    ancestors = branch((5, "jiri", HOSTILE), (4, "oberts", HOSTILE), (3, "jiri", CALM), (2, "oberts", HOSTILE))
    d = draft("...", author_name="jiri", author_key="key-jiri")
    assert heat.check(d, Facts(ancestors=ancestors, toxicity=scored()), S).action == "hold"


# -- pipeline and policy ---------------------------------------------------------------------------------------
def test_post_moderation_publishes_clean_and_holds_flagged():
    assert moderate(draft(), Facts(toxicity=scored()), S).status == "published"
    held = moderate(draft("call +2348136370421"), Facts(toxicity=scored()), S)
    assert held.status == "pending"
    assert held.as_json()["reasons"][0]["spans"] == [[5, 19]]


def test_pre_moderation_holds_everything_but_trusted_skip_it():
    pre = rules(mode="pre")
    decision = moderate(draft(), Facts(toxicity=scored()), pre)
    assert decision.status == "pending" and decision.reasons()[0]["label"] == "premoderation"
    assert moderate(draft(), Facts(toxicity=scored(), trusted=True), pre).status == "published"


def test_auto_mode_holds_on_soft_scores():
    auto = rules(mode="auto", auto_hold_score=0.4)
    soft = Facts(toxicity=scored(toxicity=0.45))
    assert moderate(draft(), soft, S).status == "published"
    decision = moderate(draft(), soft, auto)
    assert decision.status == "pending" and decision.reasons()[-1]["phase"] == "auto"


def test_reject_wins_and_stops_the_run():
    s = rules(banned_words=["spam"])
    results = run(draft("spam +2348136370421"), Facts(toxicity=scored()), s)
    assert results[-1].phase == "words" and results[-1].action == "reject"
    assert moderate(draft("spam"), Facts(toxicity=scored()), s).status == "rejected"


def test_staff_skip_and_edits_skip_posting_checks():
    s = rules(author_rate=1)
    busy = Facts(author_post_times=(NOW - 1,), toxicity=scored())
    assert moderate(draft(), busy, s).status == "pending"
    assert moderate(draft(is_edit=True), busy, s).status == "published"
    staff = replace(busy, staff=True, toxicity=scored(insult=0.99))
    assert moderate(draft(), staff, s).status == "published"
    assert moderate(draft(), replace(staff, thread_closed=True), s).status == "rejected"  # closed applies to all


def test_decision_json_has_scores_and_reasons():
    out = moderate(draft("you id10t"), Facts(toxicity=scored(insult=0.95)), rules(suspect_words=["idiot"])).as_json()
    assert out["decision"] == "hold" and out["status"] == "pending"
    assert out["scores"]["insult"] == 0.95
    assert {(r["phase"], r["label"]) for r in out["reasons"]} == {("words", "suspect_word"), ("toxicity", "insult")}
