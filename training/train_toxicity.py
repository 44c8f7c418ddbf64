"""Rebuild the offline toxicity model shipped in src/townsquare/moderation/model_data/.

    python training/train_toxicity.py [DATASETS_DIR] [--cache DIR]

DATASETS_DIR defaults to ../shared/datasets relative to the repository root.
Steps: export the MiniLM encoder to int8 ONNX, build the labelled pool, split it
(train / validation / held-out test, grouped by comment id and de-duplicated by
text), learn the span lexicon on the training split only, embed every text with
the same run-time code the server uses, train the head, tune the thresholds on
validation only, and print figures on the held-out test split. Also writes
bench/data/moderation_heldout.csv (a sample of the held-out split plus the
hand-written challenge set).

Training-only dependencies are pinned in training/requirements-train.txt.
Random seed is fixed (SEED); a rebuild takes about 10-15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "training"))

from townsquare.moderation import toxicity as tx  # noqa: E402
from townsquare.moderation.evaluate import evaluate, format_report  # noqa: E402

SEED = 13
LABELS = tx.LABELS
OUT_DIR = REPO / "src" / "townsquare" / "moderation" / "model_data"
HELDOUT_CSV = REPO / "bench" / "data" / "moderation_heldout.csv"
CHALLENGE_CSV = REPO / "tests" / "data" / "moderation_challenge.csv"
DROP_IDS = {5186974}
DROP_TEXTS = {"You are disgusting."}
COUNTERFACTUAL_COPIES = 0  # see counterfactual_rows
TORCH_THREADS = 2
PATIENCE = 6  # epochs without a better validation loss before a head stops
N_HEADS = 12  # heads averaged into the shipped one (seeds SEED, SEED + 1, ...)
AUG_WEIGHT = 8.0  # sample weight of the hand-written template rows
NA = -1.0  # label not defined for this row (masked in the loss)

SPAN_TYPES = {
    "Insult": "insult",
    "Insu": "insult",
    "Threat": "threat",
    "Identity based Attack": "identity_attack",
    "Identity based ": "identity_attack",
    "Profane/Obscene": "profanity",
    "Other Toxicity": "toxicity",
}


def row(text, labels, source, group, category, weight=1.0):
    y = [NA] * len(LABELS)
    for k, v in labels.items():
        y[LABELS.index(k)] = float(v)
    return {"text": text, "y": y, "source": source, "group": str(group), "category": category, "w": weight}


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def load_civil(d: Path):
    base = d / "civil_comments_toxic_spans" / "acl2022_raw"
    comments = pd.read_csv(base / "comments.csv")
    ann = pd.read_csv(base / "annotations.csv")
    spans = pd.read_csv(base / "spans.csv")
    raters = ann.groupby("comment_id")["annotation"].nunique().to_dict()
    # Raters of the spans task could also tick "not toxic"; where many did, the post
    # is an argument that only some readers find toxic, so its target is softened.
    not_toxic = ann.groupby("comment_id")["not toxic"].sum().to_dict()
    a2c = dict(zip(ann["annotation"], ann["comment_id"]))
    # per comment: per type, the set of raters who marked it; per char votes by type
    type_raters: dict[int, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    span_rows: dict[int, list] = defaultdict(list)
    for a, t, s, e in spans[["annotation", "type", "start", "end"]].itertuples(index=False):
        cid = a2c.get(a)
        if cid is None or t not in SPAN_TYPES:
            continue
        lab = SPAN_TYPES[t]
        type_raters[cid][lab].add(a)
        span_rows[cid].append((a, lab, int(s), int(e)))
    rows = []
    gold = {}
    for cid, text in comments[["comment_id", "comment_text"]].itertuples(index=False):
        if cid in DROP_IDS or text in DROP_TEXTS or not isinstance(text, str):
            continue
        n = max(raters.get(cid, 3), 1)
        if n > 20:  # the quiz post
            continue
        labels = {"toxicity": 1.0 - 0.5 * min(1.0, not_toxic.get(cid, 0) / n)}
        for lab in ("insult", "identity_attack", "threat", "profanity"):
            k = len(type_raters[cid].get(lab, ()))
            if k * 2 > n:
                labels[lab] = 1.0
            elif k == 0:
                labels[lab] = 0.0
            elif lab == "threat":
                # Threats are rare (115 posts with a majority): a minority of raters marking one is
                # a weak label, the share of raters who did
                labels[lab] = k / n
            # else: minority vote only -> masked
        rows.append(row(text, labels, "civil", f"civil:{cid}", "civil_toxic"))
        # character-level gold: marked by at least half of the raters
        votes = np.zeros(len(text), dtype=np.int32)
        tvotes: dict[str, np.ndarray] = {}
        seen = set()
        for a, lab, s, e in span_rows.get(cid, ()):
            if (a, s, e) in seen:
                continue
            seen.add((a, s, e))
            votes[s:e] += 1
            tvotes.setdefault(lab, np.zeros(len(text), dtype=np.int32))[s:e] += 1
        mask = votes * 2 >= n
        gold[text] = (mask, tvotes)
    return rows, gold


TOXIGEN_NEUTRAL_WEIGHT = 3.0  # neutral sentences naming a group: the counter-weight to identity-term bias
TOXIGEN_HATE_WEIGHT = 2.0


def load_toxigen(d: Path):
    """ToxiGen demonstration sentences: neutral ones are fine on every label, hateful ones are
    toxic identity attacks (mostly implicit, without slurs). Split like every other source."""
    df = pd.read_csv(d / "toxigen_demonstrations" / "toxigen_demonstrations.csv")
    rows = []
    for i, (text, label, group) in enumerate(df[["text", "label", "target_group"]].itertuples(index=False)):
        if int(label) == 1:
            rows.append(row(text, {"toxicity": 1.0, "identity_attack": 1.0}, "toxigen", f"toxigen:{i}",
                            "toxigen_hateful", weight=TOXIGEN_HATE_WEIGHT))
        else:
            rows.append(row(text, {lab: 0.0 for lab in LABELS}, "toxigen", f"toxigen:{i}", "toxigen_neutral",
                            weight=TOXIGEN_NEUTRAL_WEIGHT))
    return rows


def load_davidson(d: Path, rng: random.Random):
    df = pd.read_csv(d / "davidson_hate_offensive" / "labeled_data.csv")
    rows = []
    for i, cnt, hate, off, nei, cls, tweet in df[["Unnamed: 0", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"]].itertuples(index=False):
        text = clean_tweet(tweet)
        if len(text) < 3:
            continue
        if cls == 2:
            labels = {lab: 0.0 for lab in LABELS}
            rows.append(row(text, labels, "davidson", f"dav:{i}", "davidson_neither"))
        elif cls == 0:
            labels = {"toxicity": 1.0, "identity_attack": 1.0}
            rows.append(row(text, labels, "davidson", f"dav:{i}", "davidson_hate"))
        else:
            # offensive: keyword-collected tweets, dialect-biased labels -> down-weighted
            labels = {"toxicity": (hate + off) / cnt}
            if hate == 0:
                labels["identity_attack"] = 0.0
            rows.append(row(text, labels, "davidson", f"dav:{i}", "davidson_offensive", weight=0.4))
    off = [r for r in rows if r["category"] == "davidson_offensive"]
    keep = [r for r in rows if r["category"] != "davidson_offensive"]
    rng.shuffle(off)
    return keep + off[:5000]


def clean_tweet(t: str) -> str:
    import html

    t = html.unescape(str(t))
    t = re.sub(r"^(RT\s+)?@\w+:?", " ", t)
    t = re.sub(r"\bRT\b", " ", t)
    t = re.sub(r"@\w+:?", "@user", t)
    t = re.sub(r"https?://\S+", "", t)
    return re.sub(r"\s+", " ", t).strip()


# Fox News comments not labelled hateful: fine on every label with this weight (0: used for
# identity_attack only, as before). News comments that name groups without attacking them are the
# register where bare group names read as attacks.
FOX_FINE_WEIGHT = 0.0


def load_fox(d: Path):
    df = pd.read_json(d / "fox_news_comments" / "fox-news-comments.json", lines=True)
    rows = []
    for i, (text, label) in enumerate(df[["text", "label"]].itertuples(index=False)):
        text = re.sub(r"@\w+", "@user", str(text))
        if label == 1:
            rows.append(row(text, {"toxicity": 1.0, "identity_attack": 1.0}, "fox", f"fox:{i}", "fox_hateful",
                            weight=1.5))
        else:
            # news comments that name groups without attacking them: the main
            # counter-evidence for identity_attack in the news register
            labels = {"identity_attack": 0.0}
            if FOX_FINE_WEIGHT:
                labels = {lab: 0.0 for lab in LABELS}
            rows.append(row(text, labels, "fox", f"fox:{i}", "fox_not_hateful", weight=FOX_FINE_WEIGHT or 1.0))
    return rows


def load_wiki(d: Path):
    base = d / "wikipedia_talk_context"
    rows = []
    for name in ("gc", "gn"):
        df = pd.read_csv(base / "cat_large" / f"{name}.csv")
        for i, text, label in df[["id", "text", "label"]].itertuples(index=False):
            if not isinstance(text, str):
                continue
            if label == 1:
                rows.append(row(text, {"toxicity": 1.0}, "wiki", f"wiki:{i}", "wiki_toxic", weight=2.0))
            else:
                rows.append(row(text, {lab: 0.0 for lab in LABELS}, "wiki", f"wiki:{i}", "wiki_fine"))
    df = pd.read_csv(base / "cat_small" / "cat_small.csv")
    for i, (text, label) in enumerate(df[["text", "label_oc"]].itertuples(index=False)):
        if not isinstance(text, str):
            continue
        if label == 1:
            rows.append(row(text, {"toxicity": 1.0}, "wiki", f"wikis:{i}", "wiki_toxic", weight=2.0))
        else:
            rows.append(row(text, {lab: 0.0 for lab in LABELS}, "wiki", f"wikis:{i}", "wiki_fine"))
    return rows


# Hand-written templates for the failure modes named in the moderation issue
# (negation, counter-speech that quotes abuse, reclaimed words, harmless
# profanity, abuse with no swear word). They are deliberately different sentences
# from the evaluation set tests/data/moderation_challenge.csv. Each hateful
# statement appears both on its own (flag) and quoted/rejected (fine), so the
# head learns that the frame, not the topic, decides.
GROUPS = ["immigrants", "Muslims", "Jews", "gay people", "women", "Black people", "Mexicans",
          "trans people", "Christians", "refugees", "Asians", "disabled people", "Catholics",
          "Indigenous people", "lesbians", "Arabs", "Hispanics", "old people"]
HATE_PRED = ["are animals", "are vermin", "are a disease", "are subhuman", "are parasites",
             "are criminals by nature", "should be wiped out", "do not deserve to live here",
             "are filthy and stupid", "ruin every neighbourhood they move into",
             "should be banned from voting", "are all terrorists"]
NEG_FRAMES = [
    "I don't hate {g}, I just disagree with this policy.",
    "Nobody should hate {g} for who they are.",
    "I have never hated {g} and I never will.",
    "It is not true that {g} {p}.",
    "No, {g} are not the problem here, the budget is.",
    "I don't think {g} {p}, and neither does anyone I know.",
    "Let's be clear: I do not believe {g} {p}.",
    "Nobody in this thread said {g} {p}.",
    "I wouldn't say {g} are worse than anyone else.",
    "I'm not against {g}; I'm against the new tax.",
]
COUNTER_FRAMES = [
    'Someone at the meeting said "{g} {p}" and that kind of talk has no place here.',
    'Calling people "{p2}" because they are {g} is bigotry, plain and simple.',
    'The flyer claimed {g} {p}. That is a hateful lie and the paper was right to report it.',
    'A man shouted "{g} {p}" outside the mosque. Police are asking witnesses to come forward.',
    'Reading comments like "{g} {p}" makes me sad for this town. We are better than that.',
    'The article quotes the leaflet: "{g} {p}". Disgraceful, and the council condemned it.',
    'If your argument is "{g} {p}", you have no argument. Please read the report.',
    'My uncle used to say {g} {p}. He was wrong and I told him so.',
    'The court heard that the defendant wrote "{g} {p}" before the attack.',
    'Signs saying "{g} {p}" were taken down by volunteers this morning, thank you to them.',
]
INSULT_WORDS = ["idiot", "moron", "loser", "clown", "fool", "imbecile", "halfwit", "troll"]
INSULT_COUNTER = [
    'He called the teacher an "{w}" in front of the class and was suspended.',
    'I am not calling you an {w}, I am saying the numbers are wrong.',
    'No one here is a {w} for asking a question.',
    'Being called a "{w}" online is part of why people stop commenting.',
    'The word "{w}" appears four times in the councillor\'s email, according to the records.',
]
FINE_PROFANE = [
    "Holy shit, the high school team actually won the state final!",
    "This pothole on Main Street is a damn menace to every bike in town.",
    "Well shit, I forgot to renew my parking permit again.",
    "That was one hell of a storm last night, trees down everywhere.",
    "Damn, these photos of the harvest festival are gorgeous.",
    "The new bakery's croissants are fucking amazing, go early.",
    "Bloody hell, the bridge is closed again?",
    "What the hell happened to the bus schedule this week?",
    "Crap, I missed the council livestream. Is there a recording?",
    "Pissed that the library hours got cut, I use it every weekend.",
    "Man, this heat is a bitch. Stay hydrated everyone.",
    "Hell yes, finally a bike lane on Oak Avenue.",
    "Fuck yeah, the pool reopens on Monday!",
    "Shit, I had no idea the ferry stopped running in winter.",
    "That fireworks show was badass, thanks to the fire department.",
    "Damn good question about the school levy, I want to know too.",
    "The snow plow guys are working their asses off tonight, respect.",
    "Goddamn, property taxes went up again. Anyone know the appeal deadline?",
    "This chili recipe is the shit. Thanks for printing it.",
    "Holy crap, eighty years old and still running the marathon. Legend.",
    "I laughed my ass off at the mayor's costume at the fair.",
    "Damn it, I left my umbrella at the farmers market again.",
]
RECLAIMED = [
    "As a queer woman I loved seeing the Pride flags downtown this year.",
    "Our queer book club meets at the library every second Thursday.",
    "The dyke march drew a big crowd and everyone was friendly.",
    "I'm a fat guy who runs marathons, and this article about fat runners made my day.",
    "Proud crip here: the new ramps at the station are a real improvement.",
    "The queer film festival lineup looks fantastic this year.",
    "Being a nerd and a geek got me this engineering job, no regrets.",
    "Queer and trans seniors deserve a drop-in centre, glad the city agreed.",
    "The queer youth group painted the mural by the skate park.",
    "As a fat, happy grandma I say: more articles like this one please.",
    "Queer folks have lived in this valley for generations, nice to see it written down.",
    "Our team name is the Mad Crips and we play wheelchair basketball every Sunday.",
    "The breeder says two of the bitches had litters this spring, both healthy.",
    "Old geezers like me still remember when the mill was open.",
]
INSULTS = ["you are pathetic", "you clearly have the brain of a goldfish", "nobody cares what a clown like you thinks",
           "go crawl back under your rock", "you are too dumb to understand the article",
           "people like you are why this town is dying", "your mother should be ashamed of you",
           "what a brainless take, typical of you", "you are a disgrace to this community",
           "only a fool like you would vote for that", "you're a sad little troll with no life",
           "learn to read before you embarrass yourself again, genius",
           "you ignorant halfwit", "the author is a spineless hack", "you are a lying weasel"]
THREATS = ["I will find out where you live", "someone should put a bullet in that councillor",
           "keep it up and you'll get what's coming to you", "I'd love to see you beaten in the street",
           "people like you should be dragged out and shot", "watch your back, I know your car"]

# News-comment argument. Naming a nation, a religion or an institution while
# arguing about politics is fine; blaming an ethnic or religious group for
# hidden plots is identity hate; a jibe at the other commenter's loyalty or
# private life is an insult even without a swear word; dry sarcasm about events
# is fine.
NATIONS = ["Americans", "Chinese", "French", "Germans", "British", "Turks", "Iranians", "Israelis",
           "Saudis", "Poles", "Indians", "Russians", "Ukrainians", "Mexicans", "Canadians", "Syrians"]
NEUTRAL_NATION_FRAMES = [
    "The {n} signed a similar treaty in the nineties, and the article leaves that out.",
    "Didn't the {n} try exactly this policy a few years back? I recall it failing.",
    "History shows the {n} have backed armed groups abroad, like most big powers have.",
    "What do ordinary {n} think about this? The reporter never asks them.",
    "Is there a source for the claim about the {n}? I looked and found nothing.",
    "Both the {n} and their neighbours have broken ceasefires before, so I doubt this one holds.",
    "The {n} will say it was self-defence, as every government does.",
    "I worked with {n} for years and the picture in this piece is far too simple.",
    "Sanctions on the {n} hurt their farmers more than their leaders, in my view.",
    "Honestly the {n} have done the same thing for decades, this is nothing new.",
    "So the {n} get criticised for it but nobody else does? Seems inconsistent.",
    "Hard to believe the {n} had nothing to do with it, but I'll wait for evidence.",
]
FAITHS = ["Muslims", "Jews", "Christians", "Catholics", "Hindus", "Sikhs", "Buddhists", "Protestants"]
NEUTRAL_FAITH_FRAMES = [
    "Local {g} leaders called for calm after the vote, which was good to see.",
    "The survey found {g} in the region are split on the new law.",
    "{G} have lived in this valley for centuries, the museum exhibit shows it well.",
    "Militant groups claim to speak for {g}, but most {g} reject them.",
    "The article would be better with a quote from {g} who actually live there.",
    "My neighbours are {g} and they were as shocked by the attack as anyone.",
]
# Short neutral mentions: a bare group name must not read as an attack.
SHORT_MENTION_FRAMES = [
    "What do the {g} say about it?",
    "The {g} were not consulted.",
    "I have friends who are {g}.",
    "Many {g} work in this industry.",
    "The {g} see it differently.",
    "That is the position of the {g}, not mine.",
    "Ask the {g} who live there.",
    "The {g} voted on it last week.",
]
# Reporting and arguing about armed conflict names nationalities next to words
# like "militants" or "terrorists"; that is news, not an attack on the nation.
CONFLICT_ADJ = ["Syrian", "Libyan", "Kurdish", "Afghan", "Iraqi", "Yemeni", "Chechen", "Somali", "Colombian",
                "Irish", "Basque", "Palestinian", "Israeli", "Sudanese", "Malian", "Ukrainian", "Russian", "Turkish"]
CONFLICT_FRAMES = [
    "{a} insurgents attacked the convoy, according to the ministry.",
    "Some {a} militias were later listed as terrorist groups by the UN.",
    "The {a} opposition split into several armed factions within a year.",
    "The {a} army shelled the town again last night, the agency reports.",
    "Foreign governments armed the {a} rebels, that much is documented.",
    "Calling every {a} fighter a terrorist is lazy, some were conscripts.",
    "The {a} militants who took the airport were trained abroad.",
    "Who funded the {a} guerrillas in the eighties? Several countries did.",
]
CONSPIRACY_FRAMES = [
    "Behind every one of these wars you will find the {g} pulling the strings.",
    "Wake up, the {g} control the banks and the newspapers and always have.",
    "Follow the money and it always leads back to the {g}.",
    "This crisis was planned by the {g} to weaken decent countries from within.",
    "Look at who really runs the government and you will see it is the {g}.",
    "Every scandal like this traces back to the {g} and their secret networks.",
    "Do some research: the {g} engineered all of this decades ago.",
    "The {g} are quietly taking over our institutions, nobody dares to say it.",
]
CONSPIRACY_GROUPS = ["Jews", "Muslims", "Catholics", "Zionists", "Mexicans", "Chinese", "Arabs", "Freemasons and Jews",
                     "Jewish bankers", "Muslim immigrants"]
# The same frames aimed at institutions and the powerful are political opinion,
# not identity hate: the target decides.
POWERS = ["government", "big banks", "Western elites", "mainstream media", "oil companies", "arms industry",
          "party bosses", "EU bureaucrats", "tech giants", "intelligence agencies", "lobbyists", "generals"]
POWER_FRAMES = CONSPIRACY_FRAMES[:7] + [
    "Most people only ever hear what the {g} want them to hear.",
    "The {g} have been misleading the public about this for years.",
    "Nothing will change while the {g} write the rules.",
]
ARGUMENT_LINES = [
    "There is no evidence for any of this.",
    "Show me a source and I will happily read it.",
    "You keep repeating the same claim without any proof.",
    "The inquiry said the opposite, read page twelve.",
    "That is simply not what happened, the timeline is public.",
    "Even the minister admitted the figures were wrong.",
    "I have read the report twice and it does not say that.",
    "Your numbers are from 2009, things have changed since.",
]
CONSPIRACY_REJECT = [
    "Blaming the {g} for wars is an old conspiracy myth, and it is false.",
    "Claims that the {g} secretly run things have been used to justify persecution.",
    "No, the {g} are not behind this, the report names the companies involved.",
]
JIBES = [
    "Are you on his payroll, or do you defend him for free?",
    "How much do they pay you to post this stuff every day?",
    "Is he your husband or something? You never stop defending him.",
    "Do you keep a poster of the senator over your bed?",
    "Are you his mother? Nobody else would make excuses like that.",
    "Did your handlers send you today's talking points already?",
    "Do you have a life outside this comment section?",
    "Are you twelve? Because that is how you argue.",
    "Tell your bosses at the troll factory I said hello.",
    "Were you dropped on your head as a baby, or is this natural?",
    "Do you get paid per comment or per lie?",
    "Is it love? You seem awfully devoted to the man.",
    "Your girlfriend the governor must be proud of you.",
    "Did mommy help you write that one?",
    "Run along back to your basement, grown-ups are talking.",
    "Do they give you a medal for every excuse you make for them?",
]
CIVIL_QUESTIONS = [
    "Are you sure about that figure? The report says something else.",
    "Do you have a link for that? I would like to read it.",
    "Is that why the vote was delayed, or was there another reason?",
    "Are the inspectors independent? That seems like the real question.",
    "How much did the new bridge cost in the end, does anyone know?",
    "Did the council ever publish the minutes from that meeting?",
    "Is he still the chair of the committee, or did he step down?",
    "Which agency paid for the study? That matters for how we read it.",
]
CIVIL_SARCASM = [
    "Oh great, another road closure, just what the town needed.",
    "Sure, because cutting the bus budget worked so well last time.",
    "Shocking, a politician broke a campaign promise. Who could have guessed?",
    "Well, that went exactly as planned, didn't it 🙂",
    "Yes, I'm sure the new committee will fix everything by Friday.",
    "Funny how the report came out the day after the election.",
    "Another study confirming what everyone already knew, money well spent.",
    "Ah yes, the famous 'temporary' tax that is now forty years old.",
    "I love how every minister discovers the problem right after leaving office.",
    "Nice of them to announce the price rise on a holiday weekend 😉",
]


# Negated hostility aimed at the other commenter, at a named person and at
# groups, with many ways of saying "not": the head has to learn that the
# insult word is denied, not meant. Group hate that merely contains a negator
# ("I'm not joking: ...") stays labelled as hate.
NEG_TARGETS = ["the mayor", "the referee", "the new librarian", "our senator", "the reporter",
               "the school superintendent", "my neighbour", "the fire chief", "the landlord", "the bishop"]
NEG_NOUNS = ["idiot", "moron", "clown", "loser", "hypocrite", "coward", "crook", "fool", "bigot", "jerk",
             "creep", "snake", "dimwit", "monster"]
NEG_ADJS = ["stupid", "dumb", "pathetic", "ignorant", "worthless", "brainless", "useless", "crazy", "evil",
            "disgusting", "incompetent", "vile"]
NEG_YOU_FRAMES = [
    "You're not {a}, you just had different information than I did.",
    "Nobody here thinks you're a {w}; the question was a fair one.",
    "I'd never call you a {w} over a disagreement about bus routes.",
    "Far from being {a}, your point about the levy was the best one in this thread.",
    "Don't let anyone tell you you're {a} for asking that.",
    "I'm not calling anyone a {w}. I'm asking for a source.",
    "Just because we disagree doesn't make you a {w}.",
    "You are no {w}, and I apologise if my last reply sounded that way.",
    "I never said you were {a}. Please reread my comment.",
    "None of us is {a} here, we just read the same report differently.",
    "Asking questions doesn't make anyone a {w}.",
    "I don't consider you {a} at all, I just think you're wrong on this one.",
]
NEG_PERSON_FRAMES = [
    "{S} is not a {w}; one bad decision doesn't erase a long career.",
    "To be fair, {s} isn't {a} at all, the budget was cut before she arrived.",
    "Whatever you think of his politics, {s} is no {w}.",
    "I would not describe {s} as {a}; inexperienced, maybe.",
    "It's unfair to label {s} a {w} over a single vote.",
    "Nobody at the hearing suggested {s} was {a}.",
    "I've known {s} for years and he has never been a {w}.",
    "Let's not pretend {s} is a {w}. The facts are more boring than that.",
]
NEG_GROUP_NOUNS = ["animals", "vermin", "criminals", "terrorists", "savages", "freeloaders", "a plague",
                   "scum", "a threat to this country", "subhuman"]
NEG_GROUP_FRAMES = [
    "{G} aren't {n}, they're our neighbours and coworkers.",
    "I have never once thought of {g} as {n}.",
    "Neither {g} nor anyone else should ever be called {n}.",
    "Nothing in the police data suggests {g} are {n}.",
    "There is no truth at all in the claim that {g} are {n}.",
    "I refuse to believe {g} are {n} just because a talk-show host says so.",
    "My {g} friends are not {n}, and I'm tired of reading that here.",
    "Don't tell me {g} are {n}; I've worked alongside them for twenty years.",
]
NEG_THREAT_FRAMES = [
    "I would never hurt {s}, I just want the permit reviewed.",
    "Nobody is threatening {s}; we are asking for a recount.",
    "No one should wish violence on {s}, however bad the decision was.",
    "I don't want {s} harmed in any way, I want him voted out.",
    "Let me be clear, nobody should go near {s}'s house. Protest at city hall instead.",
]
NEG_TOXIC_GROUP = [
    "I'm not joking and I'm not sorry: {g} are {n}.",
    "People keep saying {g} are fine. No, {g} are {n}.",
    "Don't kid yourself, {g} are {n} and always will be.",
    "Never trust {g}, they are {n}.",
]
# Counter-speech: the abuse is quoted or reported by someone who rejects it,
# with double quotes, single quotes or no quotes at all.
QUOTED_ABUSE = ["you are worthless", "stupid cow", "dirty foreigner", "go home, freak",
                "nobody wants your kind here", "I hope you die", "filthy {w}", "{g} are {n}",
                "shut up, {w}", "you {a} {w}"]
COUNTER_QUOTE_FRAMES = [
    'The tram driver stopped and put a passenger off after he started shouting "{q}" at a student.',
    "Someone scratched '{q}' into my neighbour's car door. The whole street chipped in to repaint it.",
    'Please stop repeating "{q}" as if it were an argument. It is a slur and it hurts people.',
    'The coach was dismissed after players told the board he called them "{q}".',
    'Graffiti reading "{q}" appeared in the underpass overnight; the council cleaned it within hours.',
    "Kids at the bus stop keep saying '{q}' to my nephew. That is bullying and it has to end.",
    'The bodycam footage shows the officer saying "{q}". He should lose his badge.',
    "The story had to quote '{q}' so readers understand what the victim went through.",
    'Telling someone "{q}" is harassment, not free speech.',
    'He admitted in court that he sent the message "{q}" and apologised to the family.',
    'Comments like "{q}" get deleted here, and rightly so.',
    "The letter to the editor ended with '{q}'. The paper should not have printed it.",
    'I was twelve when a man spat "{q}" at my father. I still remember how quiet the shop went.',
    'If all you can say is "{q}", you have lost the argument.',
]
COUNTER_PLAIN_FRAMES = [
    "The pastor who preached that {g} are {n} was rightly removed by his own congregation.",
    "Anyone who calls {g} {n} should be challenged, every single time.",
    "The campaign ad implied {g} were {n}. Several sponsors pulled out, good.",
    "My grandfather heard people call {g} {n} all his life. It was wrong then and it is wrong now.",
    "Posters calling {g} {n} were torn down by students within the hour.",
    "Talk of {g} being {n} is exactly how persecution starts; history is clear about that.",
]


# Plain statements about a group of people. The news-register data is almost all
# toxic, so without these a short sentence that names a group reads as an attack
# ("The nurses deserve the raise." scored 0.62 on toxicity). The same groups are
# also abused here, so the head learns that what is said about them decides.
PEOPLE = ["librarians", "firefighters", "paramedics", "plumbers", "care workers", "cleaners", "pensioners",
          "students", "bakers", "fishermen", "postal workers", "waiters", "shop assistants", "janitors",
          "crossing guards", "lifeguards", "young parents", "widows", "miners", "apprentices"]
PEOPLE_CIVIL = [
    "{G} need better support from the county.",
    "{G} deserve a fair wage.",
    "{G} work longer hours than most of us realise.",
    "{G} have been waiting years for this.",
    "{G} are under a lot of pressure this winter.",
    "{G} get left out of these debates.",
    "{G} pay the same taxes as everyone else.",
    "{G} kept this town going during the floods.",
    "{G} should have a say in the plan.",
    "Give the {g} a break, they are doing their best.",
    "The {g} earned every cent of that bonus.",
    "{G} have a right to be heard at the meeting.",
    "Most {g} I know are kind people.",
    "{G} ought to be paid more.",
    "Thank the {g} next time you see them.",
    "Our {g} deserve better than this.",
]
PEOPLE_ABUSE = [
    "{G} are lazy parasites.",
    "{G} are greedy leeches, all of them.",
    "{G} are scum and everyone knows it.",
    "{G} deserve to rot.",
    "{G} are a pack of thieving rats.",
    "Useless {g} should be thrown out on the street.",
]
PEOPLE_DENIED = [
    "{G} are not {n}, they {p}",
    "{G} aren't {n}; most of them {p}",
    "Nobody is calling the {g} {n}, they {p}",
    "{G} are hardly {n}, they {p}",
]
PEOPLE_REST = ["work hard for little pay.", "deserve our thanks.", "need more staff.",
               "have families to feed like anyone.", "kept going all through the storm.",
               "do a job most of us would not."]
PEOPLE_NOUNS = ["lazy", "parasites", "greedy", "thieves", "useless", "vermin", "leeches", "criminals"]


def people_rows(rng, add, fine):
    abuse = {"toxicity": 1.0, "insult": 1.0, "threat": 0.0, "profanity": 0.0}
    for g in PEOPLE + GROUPS:
        G = g[0].upper() + g[1:]
        for f in rng.sample(PEOPLE_CIVIL, 3):
            add(f.format(g=g, G=G), fine, "aug_people")
        if g in PEOPLE:
            add(rng.choice(PEOPLE_ABUSE).format(g=g, G=G), abuse, "aug_people_abuse")
        f = rng.choice(PEOPLE_DENIED)
        text = f.format(g=g, G=G, n=rng.choice(PEOPLE_NOUNS), p=rng.choice(PEOPLE_REST))
        add(text, fine, "aug_negation")
        # what the run-time denial pass scores: the denied claim cut to its subject
        cut = "".join(c if k is None else k for c, k in tx.denial_clauses(text))
        if cut != text:
            add(cut, fine, "aug_negation")


# Threats are rare in the data (115 posts with a majority of raters), and most name no weapon:
# harm promised to the reader or wished on someone, next to sports and kitchen idioms that use
# the same verbs harmlessly.
THREAT_TARGETS = ["you", "the mayor", "that columnist", "the judge", "your wife", "the landlord", "the inspector"]
THREAT_FRAMES = [
    "I will come to {t}'s house and make sure nobody recognises the face.",
    "Somebody ought to teach {t} a lesson with a baseball bat.",
    "If I see {t} in town I will knock every tooth out.",
    "{T} had better sleep with one eye open from now on.",
    "Mark my words, {t} will not see Christmas.",
    "It would be a shame if something happened to {t} on the drive home.",
    "Let's find out where {t} parks and pay a visit.",
    "I hope {t} gets what's coming, and I hope it hurts.",
    "One day someone will put {t} six feet under, and I'll cheer.",
    "Keep writing lies and {t} will end up in the river.",
]
IDIOMS = [
    "Our defence will crush them on Friday night.",
    "I'm dying to read the rest of this series.",
    "The new chef knocks it out of the park every week.",
    "That quiz absolutely slaughtered me, I got three right.",
    "We'll smash the fundraising target by June, I'm sure of it.",
    "The band blew the roof off the town hall last night.",
    "Honestly this commute is going to kill me one day.",
    "She shot down every argument the developer made, brilliant.",
    "The lasagne at the fair was to die for.",
    "Our goalie got murdered in the second half, poor kid.",
]


def threat_rows(rng, add, fine):
    threat = {"toxicity": 1.0, "threat": 1.0, "identity_attack": 0.0, "profanity": 0.0}
    for f in THREAT_FRAMES:
        for t in rng.sample(THREAT_TARGETS, 3):
            text = f.format(t=t, T=t[0].upper() + t[1:])
            add(text.replace("you's", "your"), threat, "aug_threat")  # "you's house"
    for t in IDIOMS:
        add(t, fine, "aug_idiom")


def negation_and_counter_rows(rng: random.Random, add, fine):
    hate = {"toxicity": 1.0, "identity_attack": 1.0, "insult": 0.0, "threat": 0.0, "profanity": 0.0}

    def slots(g=None):
        return {"w": rng.choice(NEG_NOUNS), "a": rng.choice(NEG_ADJS), "n": rng.choice(NEG_GROUP_NOUNS),
                "g": g or rng.choice(GROUPS)}

    for f in NEG_YOU_FRAMES:
        for _ in range(3):
            add(f.format(**slots()), fine, "aug_negation")
    for f in NEG_PERSON_FRAMES:
        for s in rng.sample(NEG_TARGETS, 3):
            add(f.format(s=s, S=s[0].upper() + s[1:], **slots()), fine, "aug_negation")
    for g in GROUPS:
        for f in rng.sample(NEG_GROUP_FRAMES, 2):
            add(f.format(G=g[0].upper() + g[1:], **slots(g)), fine, "aug_negation")
    for f in NEG_THREAT_FRAMES:
        for s in rng.sample(NEG_TARGETS, 2):
            add(f.format(s=s), fine, "aug_negation")
    for f in NEG_TOXIC_GROUP:
        for g in rng.sample(GROUPS, 3):
            add(f.format(**slots(g)), hate, "aug_hate")
    for f in COUNTER_QUOTE_FRAMES:
        for q in rng.sample(QUOTED_ABUSE, 3):
            s = slots()
            add(f.format(q=q.format(**s)), fine, "aug_counter")
    for f in COUNTER_PLAIN_FRAMES:
        for g in rng.sample(GROUPS, 3):
            add(f.format(**slots(g)), fine, "aug_counter")


def augmentation(rng: random.Random):
    rows = []
    fine = {lab: 0.0 for lab in LABELS}

    def add(text, labels, cat, weight=AUG_WEIGHT):
        rows.append(row(text, labels, "augment", f"aug:{len(rows)}", cat, weight))

    hate = {"toxicity": 1.0, "identity_attack": 1.0, "insult": 0.0, "threat": 0.0, "profanity": 0.0}
    for g in GROUPS:
        preds = rng.sample(HATE_PRED, 4)
        for p in preds:
            add(f"{g[0].upper() + g[1:]} {p}.", hate, "aug_hate")
        for f in rng.sample(NEG_FRAMES, 4):
            add(f.format(g=g, p=rng.choice(preds)), fine, "aug_negation")
        for f in rng.sample(COUNTER_FRAMES, 4):
            p = rng.choice(preds)
            add(f.format(g=g, p=p, p2=p.replace("are ", "").replace("a ", "")), fine, "aug_counter")
    for w in INSULT_WORDS:
        for f in rng.sample(INSULT_COUNTER, 3):
            add(f.format(w=w), fine, "aug_counter")
        add(f"You are a complete {w}.", {"toxicity": 1.0, "insult": 1.0, "profanity": 0.0}, "aug_insult")
    for t in FINE_PROFANE:
        add(t, {"toxicity": 0.0, "insult": 0.0, "identity_attack": 0.0, "threat": 0.0, "profanity": 1.0},
            "aug_profane_fine")
    for t in RECLAIMED:
        add(t, fine, "aug_reclaimed")
    for t in INSULTS:
        add(t[0].upper() + t[1:] + ".", {"toxicity": 1.0, "insult": 1.0, "profanity": 0.0}, "aug_insult")
    for t in THREATS:
        add(t[0].upper() + t[1:] + ".", {"toxicity": 1.0, "threat": 1.0, "profanity": 0.0}, "aug_threat")
    for n in NATIONS:
        for f in rng.sample(NEUTRAL_NATION_FRAMES, 4):
            add(f.format(n=n), fine, "aug_group_mention")
    for g in FAITHS:
        for f in rng.sample(NEUTRAL_FAITH_FRAMES, 3):
            add(f.format(g=g, G=g), fine, "aug_group_mention")
    for g in NATIONS + FAITHS + GROUPS:
        for f in rng.sample(SHORT_MENTION_FRAMES, 2):
            add(f.format(g=g), fine, "aug_group_mention")
    for g in CONSPIRACY_GROUPS:
        for f in rng.sample(CONSPIRACY_FRAMES, 4):
            add(f.format(g=g), hate, "aug_conspiracy")
        add(rng.choice(CONSPIRACY_REJECT).format(g=g), fine, "aug_counter")
    jibe = {"toxicity": 1.0, "insult": 1.0, "identity_attack": 0.0, "threat": 0.0, "profanity": 0.0}
    for t in JIBES:
        add(t, jibe, "aug_jibe")
    for t in CIVIL_QUESTIONS + CIVIL_SARCASM:
        add(t, fine, "aug_civil")
    # The same jibes, plots and questions at the end of an otherwise civil
    # argument: one sentence decides the label of a longer comment.
    def argument():
        lines = [f.format(n=rng.choice(NATIONS)) for f in rng.sample(NEUTRAL_NATION_FRAMES, rng.randint(0, 2))]
        lines += rng.sample(ARGUMENT_LINES, rng.randint(1, 2))
        rng.shuffle(lines)
        return " ".join(lines)

    for a in CONFLICT_ADJ:
        for f in rng.sample(CONFLICT_FRAMES, 3):
            add(f.format(a=a), fine, "aug_conflict_news")
    for g in POWERS:
        for f in rng.sample(POWER_FRAMES, 4):
            add(f.format(g=g), fine, "aug_power_blame")
        add(f"{argument()} {rng.choice(POWER_FRAMES).format(g=g)}", fine, "aug_power_blame")
    for _ in range(16):
        add(argument(), fine, "aug_civil")

    for t in JIBES:
        for _ in range(4):
            add(f"{argument()} {t}", jibe, "aug_jibe")
    for g in CONSPIRACY_GROUPS:
        for f in rng.sample(CONSPIRACY_FRAMES, 4):
            add(f"{argument()} {f.format(g=g)}", hate, "aug_conspiracy")
    for t in CIVIL_QUESTIONS + CIVIL_SARCASM:
        add(f"{argument()} {t}", fine, "aug_civil")
    negation_and_counter_rows(rng, add, fine)
    people_rows(rng, add, fine)
    threat_rows(rng, add, fine)
    # At run time a flagged comment that quotes abuse and rejects it is scored on
    # its own words (tx.own_words), so those must read as fine too: "Someone
    # wrote that on the wall. That is hateful." is not itself hateful.
    for r in [r for r in rows if r["category"] == "aug_counter"]:
        outside = tx.own_words(r["text"])
        if outside != r["text"]:
            add(outside, fine, "aug_counter")
    return rows


# ---------------------------------------------------------------------------
# Counterfactual identity terms
# ---------------------------------------------------------------------------

# Interchangeable names of groups, by grammatical form: a training text naming one of them is
# copied with another of the same form, with the same labels, so that a label cannot depend on
# which group is named (only on what is said of it).
IDENTITY_FORMS = [
    ["muslims", "jews", "christians", "hindus", "sikhs", "buddhists", "catholics", "mormons", "atheists",
     "immigrants", "refugees", "mexicans", "asians", "latinos", "africans", "arabs", "indians", "chinese",
     "gays", "lesbians", "women", "blacks", "whites"],
    ["muslim", "jewish", "christian", "hindu", "sikh", "buddhist", "catholic", "mormon", "black", "white",
     "asian", "latino", "mexican", "african", "arab", "indian", "chinese", "gay", "lesbian", "transgender",
     "trans", "bisexual", "disabled", "immigrant"],
]
_IDENTITY_RE = re.compile(r"\b(" + "|".join(sorted({w for f in IDENTITY_FORMS for w in f}, key=len, reverse=True))
                          + r")\b", re.IGNORECASE)
COUNTERFACTUAL_WEIGHT = 0.5  # of the original row's weight, per copy
IDENTITY_FINE_WEIGHT = 1.0  # see --identity-fine-weight


def _swap(m: re.Match, rng: random.Random) -> str:
    word = m.group(0)
    low = word.lower()
    form = next(f for f in IDENTITY_FORMS if low in f)
    new = rng.choice([w for w in form if w != low])
    if word.isupper() and len(word) > 1:
        return new.upper()
    return new[0].upper() + new[1:] if word[0].isupper() else new


def counterfactual_rows(rows, copies: int, rng: random.Random, limit: int = 6000):
    """Copies of training rows that name a group, each group name replaced by another of the same
    form (all names in a text swapped at once). Training split only; the copies are training rows
    whatever their own split hash would say."""
    out = []
    cands = [r for r in rows if r["split"] == "train" and r["source"] != "augment" and _IDENTITY_RE.search(r["text"])]
    rng.shuffle(cands)
    for r in cands:
        for _ in range(copies):
            text = _IDENTITY_RE.sub(lambda m: _swap(m, rng), r["text"])
            if text != r["text"]:
                out.append({**r, "text": text, "w": r["w"] * COUNTERFACTUAL_WEIGHT,
                            "category": r["category"] + "_cf", "group": r["group"] + ":cf"})
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------
# Splits and lexicon
# ---------------------------------------------------------------------------


def split_of(key: str) -> str:
    h = int(hashlib.sha256(f"{SEED}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < 0.8 else ("val" if h < 0.9 else "test")


def dedup_and_split(rows):
    seen = {}
    out = []
    for r in rows:
        key = re.sub(r"\W+", " ", r["text"].lower()).strip()
        if not key or key in seen:
            continue
        seen[key] = True
        r["split"] = "train" if r["source"] == "augment" else split_of(key)
        out.append(r)
    return out


WORD_RE = re.compile(r"[a-z][a-z'*]*[a-z*]|[a-z]")


def word_in_gold(text, gold_entry):
    mask, tvotes = gold_entry
    norm, offs = tx.normalize(text)
    out = []
    for m in WORD_RE.finditer(norm.lower()):
        o = [offs[i] for i in range(m.start(), m.end())]
        inside = sum(1 for i in o if i < len(mask) and mask[i]) * 2 >= len(o)
        types = {}
        if inside:
            for lab, v in tvotes.items():
                types[lab] = int(sum(v[i] for i in o if i < len(v)))
        out.append((m.group(), inside, types))
    return out


def build_lexicon(train_rows, gold):
    n_total = Counter()
    n_span = Counter()
    n_type = defaultdict(Counter)
    for r in train_rows:
        if r["source"] == "civil" and r["text"] in gold:
            for w, inside, types in word_in_gold(r["text"], gold[r["text"]]):
                n_total[w] += 1
                if inside:
                    n_span[w] += 1
                    tot = sum(types.values()) or 1
                    for lab, v in types.items():
                        n_type[w][lab] += v / tot
        elif r["category"] in ("wiki_fine", "davidson_neither"):
            norm, _ = tx.normalize(r["text"])
            for m in WORD_RE.finditer(norm.lower()):
                n_total[m.group()] += 1
    p0 = sum(n_span.values()) / max(1, sum(n_total.values()))
    alpha = 4.0
    words = {}
    for w, k in n_span.items():
        if k < 2:
            continue
        p = (k + alpha * p0) / (n_total[w] + alpha)
        if p < 0.12:
            continue
        share = {lab: (n_type[w][lab] + 0.05) / (k + 0.25) for lab in LABELS}
        vec = [p, p * share["insult"], p * share["identity_attack"], p * share["threat"],
               p * share["profanity"], p * share["toxicity"]]
        words[w] = [round(float(v), 4) for v in vec]
    return words


# ---------------------------------------------------------------------------
# Head
# ---------------------------------------------------------------------------


def train_head(x_tr, y_tr, w_tr, x_va, y_va, w_va, hidden=64, epochs=40, seed=SEED):
    import torch

    torch.set_num_threads(TORCH_THREADS)  # the machine is shared; two threads at most
    torch.manual_seed(seed)
    mean = x_tr.mean(0)
    std = x_tr.std(0) + 1e-4
    xt = torch.tensor((x_tr - mean) / std, dtype=torch.float32)
    xv = torch.tensor((x_va - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y_tr, dtype=torch.float32)
    yv = torch.tensor(y_va, dtype=torch.float32)
    wt = torch.tensor(w_tr, dtype=torch.float32)[:, None]
    wv = torch.tensor(w_va, dtype=torch.float32)[:, None]
    # label weights: rare subtype labels get more weight on positives
    pos = ((yt > 0.5) & (yt >= 0)).float().sum(0)
    neg = ((yt < 0.5) & (yt >= 0)).float().sum(0)
    pos_w = torch.clamp(neg / pos.clamp(min=1), max=8.0) ** 0.5
    model = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(xt.shape[1], hidden), torch.nn.ReLU(),
                                torch.nn.Dropout(0.2), torch.nn.Linear(hidden, len(LABELS)))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-3)

    def loss_fn(logits, y, w):
        m = (y >= 0).float()
        yy = y.clamp(min=0)
        l = torch.nn.functional.binary_cross_entropy_with_logits(logits, yy, reduction="none",
                                                                 pos_weight=pos_w)
        return (l * m * w).sum() / (m * w).sum()

    best = (1e9, None)
    g = torch.Generator().manual_seed(seed)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        for b in range(0, len(perm), 256):
            i = perm[b:b + 256]
            opt.zero_grad()
            loss_fn(model(xt[i]), yt[i], wt[i]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            vl = float(loss_fn(model(xv), yv, wv))
        if vl < best[0]:
            best = (vl, {k: v.clone() for k, v in model.state_dict().items()}, ep)
        elif ep - best[2] >= PATIENCE:
            break  # the best epoch is kept; later ones only overfit
    model.load_state_dict(best[1])
    print(f"head: best val loss {best[0]:.4f} at epoch {best[2]}")
    sd = model.state_dict()
    return {
        "mean": mean.astype(np.float32), "std": std.astype(np.float32),
        "w1": sd["1.weight"].numpy().T.copy(), "b1": sd["1.bias"].numpy().copy(),
        "w2": sd["4.weight"].numpy().T.copy(), "b2": sd["4.bias"].numpy().copy(),
    }


def auc(y, s):
    from townsquare.moderation.evaluate import roc_auc
    return roc_auc(np.asarray(y), np.asarray(s))


def span_f1(model, rows, gold, threshold):
    """SemEval-style character F1, averaged over posts that have gold spans."""
    model.span_threshold = threshold
    model.occlusion = False  # tune the lexicon spans only
    f1s = []
    res = model.score_many([r["text"] for r in rows])
    for r, out in zip(rows, res):
        mask = gold[r["text"]][0]
        g = set(np.nonzero(mask)[0].tolist())
        if not g:
            continue
        p = set()
        for s in out.spans:
            p.update(range(s.start, s.end))
        if not p:
            f1s.append(0.0)
            continue
        tp = len(g & p)
        prec = tp / len(p)
        rec = tp / len(g)
        f1s.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    model.occlusion = True
    return float(np.mean(f1s)) if f1s else 0.0


# ---------------------------------------------------------------------------


def main():
    global FOX_FINE_WEIGHT, TORCH_THREADS, TOXIGEN_NEUTRAL_WEIGHT, TOXIGEN_HATE_WEIGHT
    ap = argparse.ArgumentParser()
    ap.add_argument("datasets", nargs="?", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--cache", default=None, help="directory to cache embeddings between runs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-export", action="store_true", help="reuse the encoder already in model_data")
    ap.add_argument("--heads", type=int, default=N_HEADS, help="heads averaged into the shipped one")
    ap.add_argument("--out", default=None, help="write the build here instead of model_data (the encoder and "
                    "tokenizer are linked from model_data)")
    ap.add_argument("--validation-only", action="store_true", help="a build to compare on validation: no "
                    "test-split figures, no bench CSV, no last_run.json")
    ap.add_argument("--counterfactual", type=int, default=COUNTERFACTUAL_COPIES,
                    help="copies of each training text naming a group, with the group swapped")
    ap.add_argument("--fox-fine", type=float, default=FOX_FINE_WEIGHT,
                    help="weight of Fox News comments not labelled hateful as fine on every label (0: off)")
    ap.add_argument("--identity-fine-weight", type=float, default=IDENTITY_FINE_WEIGHT,
                    help="weight multiplier of fine training rows that name a group (identity-balanced loss)")
    ap.add_argument("--toxigen-weights", type=float, nargs=2, default=(TOXIGEN_NEUTRAL_WEIGHT, TOXIGEN_HATE_WEIGHT),
                    metavar=("NEUTRAL", "HATEFUL"), help="sample weights of the ToxiGen sentences")
    args = ap.parse_args()
    FOX_FINE_WEIGHT = args.fox_fine
    TOXIGEN_NEUTRAL_WEIGHT, TOXIGEN_HATE_WEIGHT = args.toxigen_weights
    TORCH_THREADS = max(1, min(2, args.threads))
    out_dir = Path(args.out) if args.out else OUT_DIR
    if out_dir != OUT_DIR:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("encoder.int8.onnx", "tokenizer.json"):
            if not (out_dir / name).exists():
                (out_dir / name).symlink_to(OUT_DIR / name)
    t0 = time.time()
    rng = random.Random(SEED)
    np.random.seed(SEED)
    d = Path(args.datasets)
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    if not args.skip_export or not (OUT_DIR / "encoder.int8.onnx").exists():
        from export_encoder import export
        export(OUT_DIR)
        print(f"[{time.time()-t0:.0f}s] encoder exported")

    civil, gold = load_civil(d)
    rows = civil + load_davidson(d, rng) + load_fox(d) + load_wiki(d) + load_toxigen(d) + augmentation(rng)
    rows = dedup_and_split(rows)
    if args.counterfactual:
        extra = counterfactual_rows(rows, args.counterfactual, random.Random(SEED))
        seen = {re.sub(r"\W+", " ", r["text"].lower()).strip() for r in rows}
        for r in extra:
            key = re.sub(r"\W+", " ", r["text"].lower()).strip()
            if key not in seen:  # never a copy of a validation or test text
                seen.add(key)
                rows.append(r)
    if args.identity_fine_weight != 1.0:
        # Identity-balanced loss: the data's comments naming a group are mostly toxic, so fine ones
        # that name a group count more.
        for r in rows:
            if r["split"] == "train" and r["source"] != "augment" and r["y"][0] == 0.0 and _IDENTITY_RE.search(r["text"]):
                r["w"] *= args.identity_fine_weight
    by = defaultdict(list)
    for r in rows:
        by[r["split"]].append(r)
    print(f"[{time.time()-t0:.0f}s] pool: " + ", ".join(f"{k}={len(v)}" for k, v in by.items()))
    print("  categories (train): " + str(Counter(r["category"] for r in by["train"])))

    lex = build_lexicon(by["train"], gold)
    (out_dir / "lexicon.json").write_text(json.dumps({"columns": list(tx.LEXICON_COLUMNS), "words": lex},
                                                     sort_keys=True), encoding="utf-8")
    print(f"[{time.time()-t0:.0f}s] lexicon: {len(lex)} words")
    lexicon = tx.Lexicon(lex)
    encoder = tx.Encoder(OUT_DIR, max_tokens=128, threads=args.threads)

    # embeddings (cached by text hash; they do not depend on the lexicon)
    cache = {}
    enc_hash = hashlib.sha1((OUT_DIR / "encoder.int8.onnx").read_bytes()).hexdigest()[:12]
    cache_file = Path(args.cache) / f"embeddings-{enc_hash}.npz" if args.cache else None
    if cache_file and cache_file.exists():
        z = np.load(cache_file)
        cache = dict(zip(z["keys"].tolist(), z["emb"]))
    todo = []
    for r in rows:
        norm, offs = tx.normalize(r["text"])
        r["_norm"] = norm
        r["_key"] = hashlib.sha1(norm.encode()).hexdigest()
        if r["_key"] not in cache:
            todo.append(r)
    if todo:
        print(f"[{time.time()-t0:.0f}s] embedding {len(todo)} texts ...")
        for b in range(0, len(todo), 2048):
            chunk = todo[b:b + 2048]
            emb = encoder.encode([r["_norm"] for r in chunk])
            for r, e in zip(chunk, emb):
                cache[r["_key"]] = e
            print(f"  {b+len(chunk)}/{len(todo)} [{time.time()-t0:.0f}s]", flush=True)
        if cache_file:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            keys = list(cache)
            np.savez(cache_file, keys=np.array(keys), emb=np.stack([cache[k] for k in keys]))

    def feats(rs):
        x = np.zeros((len(rs), 384 + tx.N_LEX_FEATURES), dtype=np.float32)
        for i, r in enumerate(rs):
            hits = tx.word_hits(r["_norm"], lexicon)
            x[i, :384] = cache[r["_key"]]
            x[i, 384:] = tx.lexical_features(hits, len(r["_norm"]))
        return x, np.array([r["y"] for r in rs], np.float32), np.array([r["w"] for r in rs], np.float32)

    x_tr, y_tr, w_tr = feats(by["train"])
    x_va, y_va, w_va = feats(by["val"])
    x_te, y_te, _ = feats(by["test"])
    # N_HEADS heads from different seeds, averaged in logit space. Averaging logits
    # of heads that share the input scaling is one wider head (hidden units side
    # by side, output weights divided by the count), so the run time is unchanged.
    heads = [train_head(x_tr, y_tr, w_tr, x_va, y_va, w_va, seed=SEED + k) for k in range(args.heads)]
    head = {"mean": heads[0]["mean"], "std": heads[0]["std"],
            "w1": np.concatenate([hd["w1"] for hd in heads], axis=1),
            "b1": np.concatenate([hd["b1"] for hd in heads]),
            "w2": np.concatenate([hd["w2"] for hd in heads], axis=0) / len(heads),
            "b2": np.mean([hd["b2"] for hd in heads], axis=0)}
    np.savez(out_dir / "head.npz", **head)
    h = tx.Head(head)
    p_va = h(x_va)

    # flag threshold on validation only: best F1 for toxicity
    yv = y_va[:, 0]
    mv = yv >= 0
    best_t, best_f = 0.5, -1
    for t in np.arange(0.2, 0.9, 0.02):
        pred = p_va[mv, 0] >= t
        yy = yv[mv] >= 0.5
        tp = (pred & yy).sum(); fp = (pred & ~yy).sum(); fn = (~pred & yy).sum()
        f = 2 * tp / max(1, 2 * tp + fp + fn)
        if f > best_f:
            best_t, best_f = float(t), f
    print(f"threshold (val F1 {best_f:.3f}): {best_t:.2f}")

    config = {"threshold": round(best_t, 2), "span_threshold": 0.5, "max_tokens": 128,
              "labels": list(LABELS), "seed": SEED, "encoder": "all-MiniLM-L6-v2 int8 (dynamic quantization)"}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")

    model = tx.ToxicityModel(encoder, lexicon, h, config)
    civil_val = [r for r in by["val"] if r["source"] == "civil"][:400]
    best_s = max(((span_f1(model, civil_val, gold, s), s) for s in (0.15, 0.2, 0.25, 0.3, 0.4, 0.5)))
    config["span_threshold"] = best_s[1]
    (out_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    model.span_threshold = best_s[1]
    print(f"span threshold {best_s[1]} (val char-F1 {best_s[0]:.3f})")

    if args.validation_only:
        print(f"[{time.time()-t0:.0f}s] done (validation only; compare with training/evaluate_build.py --split val)")
        return

    # ---- held-out figures
    p_te = h(x_te)
    print("\n== held-out test split (never used for training or tuning) ==")
    print(f"rows: {len(by['test'])}  " + str(Counter(r['category'] for r in by['test'])))
    for j, lab in enumerate(LABELS):
        m = y_te[:, j] >= 0
        yy = (y_te[m, j] >= 0.5).astype(int)
        if yy.min() == yy.max():
            continue
        print(f"  {lab:16s} n={m.sum():6d} pos={yy.sum():5d} ROC-AUC={auc(yy, p_te[m, j]):.3f}")
    civil_test = [r for r in by["test"] if r["source"] == "civil"]
    test_span_f1 = span_f1(model, civil_test, gold, best_s[1])
    print(f"  span char-F1 on held-out civil posts with gold spans: {test_span_f1:.3f}")

    # ---- held-out CSV for the bench (sample) + challenge set
    rng2 = random.Random(SEED)
    quota = {"civil_toxic": 800, "wiki_fine": 1000, "wiki_toxic": 10**6, "davidson_hate": 10**6,
             "davidson_offensive": 250, "davidson_neither": 350}
    # Fox News comments are used for training and the printed figures above, but
    # not redistributed in the bench CSV (commenters' text; see SOURCES.md).
    pick = defaultdict(list)
    for r in by["test"]:
        if r["category"] in quota:
            pick[r["category"]].append(r)
    out_rows = []
    for cat, rs in sorted(pick.items()):
        rng2.shuffle(rs)
        for r in rs[:quota[cat]]:
            label = 1 if r["y"][0] >= 0.5 else 0
            out_rows.append((r["text"], label, cat))
    if CHALLENGE_CSV.exists():
        with CHALLENGE_CSV.open(newline="", encoding="utf-8") as f:
            for rr in csv.DictReader(f):
                out_rows.append((rr["text"], int(rr["label"]), "challenge_" + rr["category"]))
    HELDOUT_CSV.parent.mkdir(parents=True, exist_ok=True)
    with HELDOUT_CSV.open("w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(["text", "label", "category"])
        wr.writerows(out_rows)
    print(f"wrote {HELDOUT_CSV.relative_to(REPO)} ({len(out_rows)} rows)")

    rep = evaluate(tx.ToxicityModel(encoder, lexicon, h, config), out_rows, threshold=config["threshold"])
    print(format_report(rep))
    stats = {"test_rows": len(by["test"]), "span_char_f1_test": round(test_span_f1, 3),
             "threshold": config["threshold"], "span_threshold": config["span_threshold"]}
    (REPO / "training" / "last_run.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    print(f"[{time.time()-t0:.0f}s] done")


if __name__ == "__main__":
    main()
