"""Offline toxicity scorer.

Runs fully in-process on the CPU with the artifacts shipped in ``model_data/``:

* a text normalizer that undoes common obfuscation (leetspeak such as ``id10t``,
  spaced letters such as ``i d i o t``, stretched letters such as ``stuuupid``,
  masked swear words such as ``f*ck``) while keeping a map back to the original
  character offsets;
* the MiniLM-L6 sentence encoder, exported to ONNX and quantized to int8
  (``encoder.int8.onnx`` + ``tokenizer.json``);
* a word lexicon learned from the Civil Comments toxic-spans annotations
  (``lexicon.json``), used both as extra features and to point at the words
  that drove a score;
* a small two-layer head (``head.npz``) giving the five label scores.

Run-time dependencies: numpy, onnxruntime and tokenizers. No network access, no
file writes; one loaded model can be shared between threads.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("toxicity", "insult", "identity_attack", "threat", "profanity")
# Columns of the labels that make a comment hostile; profanity alone does not.
_HOSTILE = [i for i, lab in enumerate(LABELS) if lab != "profanity"]

# Columns of the lexicon: probability that a word sits inside a toxic span of
# any type, then per type.
LEXICON_COLUMNS = ("span", "insult", "identity_attack", "threat", "profanity", "toxicity")

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model_data"

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th|s)$", re.I)
_TOKEN = re.compile(r"\S+")
# Three or more single characters separated by one space / dot / dash / underscore.
_SPACED = re.compile(r"(?<![\w*@$!])(?:[A-Za-z0-9@$*!][ .\-_]){2,}[A-Za-z0-9@$*!](?![\w*@$!])")
_NEGATORS = frozenset(
    "not no never nobody nothing none neither nor don't dont doesn't doesnt didn't didnt isn't isnt "
    "aren't arent wasn't wasnt weren't werent won't wont can't cant cannot shouldn't wouldn't "
    "stop against reject condemn".split()
)
# Sentence ends: punctuation (with closing quotes/brackets) followed by space.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”')\]]*\s+")
# Anything normalize() could change: spaced letters are checked with _SPACED;
# this catches leet characters touching a letter and runs of 3+ letters.
_MAY_CHANGE = re.compile(r"[A-Za-z]['*]*[0-9@$!|]|[0-9@$!|]['*]*[A-Za-z]|([A-Za-z])\1\1", re.I)
# A quoted span: double or typographic quotes, or single quotes that open after
# a space and close before a non-letter (so apostrophes in "don't" or
# "parents' votes" do not count).
_QUOTED = re.compile(r"[\"“«][^\"“”«»]{3,300}[\"”»]|(?<![\w'‘])['‘](?=\w)[^'‘’\"\n]{3,300}?(?<=[\w.!?,])['’](?!\w)")
_REJECT = re.compile(
    r"\b(hateful|racis[tm]|bigot(ry|ed)?|wrong|condemn\w*|unacceptable|disgrace\w*|shame\w*|ashamed|lie|"
    r"false|cruel|apologi[sz]e|report(ed)?|police|no place|never|stop|reject\w*|vile|offensive|slur)\b",
    re.I,
)


# Denials: a negated copula ("teenagers aren't thugs", "retirees are hardly parasites") or a
# negated word of saying or thinking ("nobody is calling you stupid", "I never thought farmers
# were greedy"). Not a denial: "no better than", "not even", "not all", "there is no" (pseudo-
# negations), nor "don't be", "can't be", "nobody wants" (no copula with a subject, no saying).
_DENIAL = re.compile(
    r"(?:\b(?:am|is|are|was|were)|['’](?:m|re|s))\s+(?:not|never|hardly|no)\b"
    r"|\b(?:is|are|was|were)n['’]t\b"
    r"|(?:\b(?:not|never|nobody|no\s+one)|n['’]t)(?:\s+\w+){0,3}?\s+"
    r"(?:call(?:s|ed|ing)?|say(?:s|ing)?|said|think(?:s|ing)?|thought|believe[sd]?|suggest(?:s|ed|ing)?"
    r"|consider(?:s|ed)?|label(?:s|led|ling)?|describe[sd]?|claim(?:s|ed|ing)?)\b",
    re.I,
)
_PSEUDO_NEGATION = re.compile(
    r"(?:\b(?:no|not|never|hardly)|n['’]t)\s+(?:better|worse|more|less|different|only|just|all|every|even)\b"
    r"|\bthere(?:\s+(?:is|are|was|were)|['’]s)\s+no\b",
    re.I,
)
# The rest points back at the denied claim: "nobody is calling you an idiot, we're all thinking
# it", "... but you act like one", "I'm not saying they all are, but most of them are".
_BACK_REFERENCE = re.compile(
    r"\b(?:think|thinks|thinking|thought|know|knows|knew|believe|believes|say|says|saying|said)\s+"
    r"(?:it\b|so\b|that\b(?!\s+\w))|\blike\s+(?:it|one)\b"
    r"|\b(?:am|is|are|was|were|do|does|did)(?:\s+(?:though|too|anyway))?[\s,;:.!?…]*$",
    re.I,
)
_AFFIRM = [
    (re.compile(r"\b(is|are|was|were|do|does|did|have|has|had|would|could|should)n['’]t\b", re.I), r"\1"),
    (re.compile(r"\bcan['’]t\b", re.I), "can"),
    (re.compile(r"\bwon['’]t\b", re.I), "will"),
    (re.compile(r"\bnobody\b", re.I), "somebody"),
    (re.compile(r"\bno\s+one\b", re.I), "someone"),
    (re.compile(r"\b(?:not|never|hardly)\s+", re.I), ""),
    (re.compile(r"\bno\s+", re.I), "a "),
]
_CLAUSE = re.compile(r"[^,;:.!?…]+(?:[,;:.!?…]+|$)\s*")


def affirmed(clause: str) -> str:
    """The clause with its negation taken out: what a denial denies."""
    for pattern, repl in _AFFIRM:
        clause = pattern.sub(repl, clause)
    return clause


def denial_clauses(text: str) -> list[tuple[str, str | None]]:
    """The text's clauses, each with what is left of it once its denied claim is cut (the words
    before the negator, and the punctuation), or None for a clause that is no denial."""
    out = []
    for m in _CLAUSE.finditer(text):
        clause = m.group()
        cue = None if _PSEUDO_NEGATION.search(clause) else _DENIAL.search(clause)
        if cue is None:
            out.append((clause, None))
        else:
            tail = re.search(r"[,;:.!?…]*\s*$", clause).group()
            out.append((clause, clause[:cue.start()].rstrip() + tail))
    return out


def own_words(text: str) -> str:
    """The text with every quoted span replaced by "that": what the commenter
    says in their own words."""
    return _QUOTED.sub(" that ", text)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str
    weight: float


@dataclass(frozen=True)
class ToxicityResult:
    scores: dict[str, float]
    spans: list[Span]
    # A word of the lexicon, not negated, at the span threshold is in the text: the evidence a
    # comment of a word or two needs before its scores count (the encoder has little to read).
    lexicon_word: bool = False


@dataclass(frozen=True)
class Limits:
    """Where a site acts on the scores, so that the extra passes run only where they can matter.

    `act`: per label, every score at which something happens (hold, reject, nudge, a hostile turn
    in a heated branch, the auto mode's review threshold). `hold`: per label, the lowest score that
    holds or rejects (spans explain those). `margin`: how far from every limit a base score must
    be for the passes to be skipped. On the 2,755 bench rows, under the default policy, margins of
    0.05 and 0.1 changed 10 and 3 publish/hold decisions, 0.15 and 0.2 none (bench/scoring_bench.py).
    The default limits lie so close together (0.3 to 0.8) that at 0.2 the score-changing passes
    still run for nearly every flagged comment; what is saved is the span search for comments that
    are flagged but not held."""

    act: dict[str, tuple[float, ...]]
    hold: dict[str, float]
    margin: float = 0.2

    def near(self, probs: np.ndarray) -> bool:
        """A base score within the margin of any limit: the passes may move it across."""
        return any(abs(float(probs[LABELS.index(lab)]) - limit) <= self.margin
                   for lab, limits in self.act.items() for limit in limits)

    def holds(self, scores: dict[str, float]) -> bool:
        return any(scores.get(lab, 0.0) >= limit for lab, limit in self.hold.items())


# ---------------------------------------------------------------------------
# Normalization with an offset map back to the original text
# ---------------------------------------------------------------------------


def normalize(text: str) -> tuple[str, list[int]]:
    """Undo common obfuscation. Returns (normalized, offsets) where
    ``offsets[i]`` is the index in ``text`` of normalized character ``i``."""
    if not _MAY_CHANGE.search(text) and not _SPACED.search(text):
        return text, list(range(len(text)))  # most comments: nothing to undo
    chars: list[str] = []
    offs: list[int] = []

    # 1. join spaced-out letters ("i d i o t" -> "idiot")
    pos = 0
    pieces: list[tuple[str, int]] = []  # (char, original index)
    for m in _SPACED.finditer(text):
        for i in range(pos, m.start()):
            pieces.append((text[i], i))
        for i in range(m.start(), m.end()):
            if text[i] not in " .-_":
                pieces.append((text[i], i))
        pos = m.end()
    for i in range(pos, len(text)):
        pieces.append((text[i], i))
    joined = "".join(c for c, _ in pieces)
    jmap = [i for _, i in pieces]

    # 2. per token: leetspeak and stretched letters
    last = 0
    for m in _TOKEN.finditer(joined):
        for i in range(last, m.start()):
            chars.append(joined[i])
            offs.append(jmap[i])
        last = m.end()
        tok = joined[m.start():m.end()]
        idx = list(range(m.start(), m.end()))
        core_l = 0
        core_r = len(tok)
        # keep leading/trailing punctuation untouched, except leet chars inside letters
        while core_l < core_r and not (tok[core_l].isalnum() or tok[core_l] in "@$"):
            core_l += 1
        while core_r > core_l and not (tok[core_r - 1].isalnum() or tok[core_r - 1] == "$"):
            core_r -= 1
        core = tok[core_l:core_r]
        new_core = core
        if (
            core
            and not core.startswith("@")
            and any(c.isalpha() for c in core)
            and any(c in _LEET for c in core)
            and not _ORDINAL.match(core)
            and all(c.isalpha() or c in _LEET or c in "'*" for c in core)
            and sum(c.isalpha() for c in core) >= 2
        ):
            new_core = "".join(_LEET.get(c, c) for c in core)
        out = [(tok[j], idx[j]) for j in range(core_l)]
        out += [(new_core[j], idx[core_l + j]) for j in range(len(core))]
        out += [(tok[j], idx[j]) for j in range(core_r, len(tok))]
        # collapse runs of 3+ identical letters to 2
        collapsed: list[tuple[str, int]] = []
        for c, o in out:
            if (
                len(collapsed) >= 2
                and c.isalpha()
                and collapsed[-1][0].lower() == c.lower()
                and collapsed[-2][0].lower() == c.lower()
            ):
                continue
            collapsed.append((c, o))
        for c, o in collapsed:
            chars.append(c)
            offs.append(jmap[o])
    for i in range(last, len(joined)):
        chars.append(joined[i])
        offs.append(jmap[i])
    return "".join(chars), offs


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


# ---------------------------------------------------------------------------
# Lexicon features
# ---------------------------------------------------------------------------


class Lexicon:
    def __init__(self, table: dict[str, list[float]], masked: dict[str, str] | None = None):
        self.table = table
        self.masked = masked or {}
        self.squeezed: dict[str, list[float]] = {}
        for w, v in table.items():
            s = _squeeze(w)
            if s not in self.squeezed or v[0] > self.squeezed[s][0]:
                self.squeezed[s] = v
        # masked swear words such as f*ck, sh*t: candidates by length and first letter
        self._mask_index: dict[tuple[int, str], list[str]] = {}
        for w, v in sorted(table.items(), key=lambda kv: -kv[1][0]):
            if v[0] >= 0.5 and len(w) >= 3:
                self._mask_index.setdefault((len(w), w[0]), []).append(w)

    def lookup(self, word: str) -> list[float] | None:
        v = self.table.get(word)
        if v is None:
            squeezed = _squeeze(word)
            if squeezed != word:  # only for stretched words ("stuupid"), never "as" -> "ass"
                v = self.squeezed.get(squeezed)
        return v

    def lookup_masked(self, word: str) -> tuple[str, list[float]] | None:
        if "*" not in word or not word[0].isalpha():
            return None
        pat = re.compile("^" + re.escape(word).replace(r"\*", "[a-z]") + "$")
        for cand in self._mask_index.get((len(word), word[0]), []):
            if pat.match(cand):
                return cand, self.table[cand]
        return None


def word_hits(norm: str, lexicon: Lexicon) -> list[tuple[int, int, list[float], bool, bool]]:
    """Words of the normalized text found in the lexicon:
    (start, end, weights, negated, quoted)."""
    low = norm.lower()
    hits = []
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[a-z][a-z'*]*[a-z*]|[a-z]", low)]
    quoted = [m.span() for m in _QUOTED.finditer(norm)]
    for k, (s, e, w) in enumerate(words):
        v = None
        if "*" in w:
            mm = lexicon.lookup_masked(w)
            if mm is not None:
                v = mm[1]
        else:
            v = lexicon.lookup(w)
            if v is None and w.endswith("'s"):
                v = lexicon.lookup(w[:-2])
        if v is None:
            continue
        prev = [words[j][2] for j in range(max(0, k - 3), k)]
        negated = any(p in _NEGATORS or p.endswith("n't") for p in prev)
        in_quote = any(qs < s and e < qe for qs, qe in quoted)
        hits.append((s, e, v, negated, in_quote))
    return hits


N_LEX_FEATURES = 6 * 3 + 2


def lexical_features(hits, n_chars: int) -> np.ndarray:
    """Per lexicon column: max weight over plain / negated / quoted words; plus
    counts of strong plain hits and of quote characters."""
    f = np.zeros(N_LEX_FEATURES, dtype=np.float32)
    strong = 0
    for _, _, v, neg, quo in hits:
        block = 1 if neg else (2 if quo else 0)
        base = block * 6
        for c in range(6):
            if v[c] > f[base + c]:
                f[base + c] = v[c]
        if block == 0 and v[0] >= 0.5:
            strong += 1
    f[18] = np.log1p(strong)
    f[19] = np.log1p(n_chars) / 8.0
    return f


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


# Emoji are not in the encoder's vocabulary, and WordPiece reads a whole word as [UNK] when one of
# its characters is unknown ("idiot🙂" is just [UNK]). Faces become the emoticons the vocabulary
# has; other unknown characters become spaces.
_EMOTICONS = {
    **dict.fromkeys("🙂😊😀😃😄😁😆😅☺🤗", " :) "), **dict.fromkeys("😉😜", " ;) "), **dict.fromkeys("😂🤣", " haha "),
    **dict.fromkeys("😛😝", " :p "), **dict.fromkeys("🙁☹😞😟😔😕", " :( "), **dict.fromkeys("😢😭", " :'( "),
    **dict.fromkeys("😠😡🤬", " >:( "), **dict.fromkeys("😒🙄", " :/ "), **dict.fromkeys("😮😲😱", " :o "),
    **dict.fromkeys("❤😍🥰", " <3 "), "👍": " thumbs up ", "👎": " thumbs down ", "🤔": " hmm ",
}


def encoder_session(path: Path):
    """An ONNX Runtime session that computes in float32 from the encoder's int8 weights.

    The file stores each large weight as int8 + scale behind a DequantizeLinear node. With
    ``session.disable_quant_qdq`` the session start-up folds those nodes into float32
    constants instead of fusing them into int8 kernels, whose results depend on the
    processor's instruction set; float32 arithmetic gives the same embeddings on any machine
    (to rounding), so a comment gets the same score wherever it is scored."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.disable_quant_qdq", "1")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class Encoder:
    """MiniLM int8 ONNX encoder returning mean-pooled sentence embeddings."""

    def __init__(self, model_dir: Path, max_tokens: int = 128, threads: int = 1):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.no_padding()
        # With `threads` > 1 (bulk work: rescoring, evaluation), texts run side by side, one per
        # thread: for a model this small that keeps the cores busier than splitting each run's
        # operators across them. The session is shared; ONNX Runtime's run is thread-safe.
        self.threads = threads
        self.session = encoder_session(model_dir / "encoder.int8.onnx")
        self._unknown: dict[str, bool] = {}

    def readable(self, text: str) -> str:
        """The text with emoji as emoticons and the characters the vocabulary lacks as spaces."""
        if text.isascii():
            return text
        out = []
        for ch in text:
            if ch in _EMOTICONS:
                out.append(_EMOTICONS[ch])
                continue
            if ch.isascii():
                out.append(ch)
                continue
            unknown = self._unknown.get(ch)
            if unknown is None:
                unknown = self._unknown[ch] = "[UNK]" in self.tokenizer.encode(ch, add_special_tokens=False).tokens
            out.append(" " if unknown else ch)
        return "".join(out)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one text per run. In float32 a text batched with others (padded,
        masked) moves by rounding only (under 1e-6 per component), but batching saves nothing
        worth its waiting: the run is matrix multiplication at the processor's float32 rate, so
        the CPU per text is the same (bench/README.md, "Posting against Isso: where the CPU
        goes"). One at a time, nothing waits for batch-mates."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        encs = self.tokenizer.encode_batch([self.readable(t) for t in texts]) if texts else []

        def run(i: int) -> None:
            ids = np.array([encs[i].ids], dtype=np.int64)
            out[i] = self.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]

        if self.threads > 1 and len(texts) > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                list(pool.map(run, range(len(texts))))
        else:
            for i in range(len(texts)):
                run(i)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def _main_label(p: np.ndarray) -> str:
    """The subtype that explains a flag (insult / identity_attack / threat), or
    plain toxicity when none of them is likely."""
    sub = [LABELS.index(x) for x in ("insult", "identity_attack", "threat")]
    best = max(sub, key=lambda i: p[i])
    return LABELS[best] if p[best] >= 0.5 else "toxicity"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Head:
    """Standardize -> dense(ReLU) -> dense -> sigmoid, one output per label."""

    def __init__(self, npz: dict[str, np.ndarray]):
        self.mean = npz["mean"].astype(np.float32)
        self.std = npz["std"].astype(np.float32)
        self.w1 = npz["w1"].astype(np.float32)
        self.b1 = npz["b1"].astype(np.float32)
        self.w2 = npz["w2"].astype(np.float32)
        self.b2 = npz["b2"].astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.std
        h = np.maximum(z @ self.w1 + self.b1, 0.0)
        return _sigmoid(h @ self.w2 + self.b2)


def featurize(texts: list[str], encoder: Encoder, lexicon: Lexicon):
    """Features for the head plus per-text (normalized text, offsets, hits)."""
    prepared = []
    for t in texts:
        norm, offs = normalize(t)
        hits = word_hits(norm, lexicon)
        prepared.append((norm, offs, hits))
    emb = encoder.encode([p[0] for p in prepared])
    lex = np.stack([lexical_features(p[2], len(p[0])) for p in prepared]) if prepared else np.zeros((0, N_LEX_FEATURES), np.float32)
    return np.concatenate([emb, lex], axis=1), prepared


class ToxicityModel:
    def __init__(self, encoder: Encoder, lexicon: Lexicon, head: Head, config: dict):
        self.encoder = encoder
        self.lexicon = lexicon
        self.head = head
        self.config = config
        self.threshold = float(config.get("threshold", 0.5))
        self.span_threshold = float(config.get("span_threshold", 0.5))
        self.occlusion = bool(config.get("occlusion", True))

    _cache: dict[tuple[str, int], "ToxicityModel"] = {}
    _lock = threading.Lock()

    @classmethod
    def load(cls, path: Path | None = None, threads: int = 1) -> "ToxicityModel":
        model_dir = Path(path) if path is not None else DEFAULT_MODEL_DIR
        key = (str(model_dir.resolve()), threads)
        with cls._lock:
            if key in cls._cache:
                return cls._cache[key]
            config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
            lex = json.loads((model_dir / "lexicon.json").read_text(encoding="utf-8"))
            with np.load(model_dir / "head.npz") as z:
                head = Head({k: z[k] for k in z.files})
            encoder = Encoder(model_dir, max_tokens=int(config.get("max_tokens", 128)), threads=threads)
            model = cls(encoder, Lexicon(lex["words"]), head, config)
            cls._cache[key] = model
            return model

    def score(self, text: str, limits: Limits | None = None) -> ToxicityResult:
        return self.score_many([text], limits=limits)[0]

    def score_many(self, texts: list[str], spans: bool = True, limits: Limits | None = None) -> list[ToxicityResult]:
        """Scores (and, unless `spans` is False, the spans behind them) of each text. Rescoring
        stores scores only, and the occlusion fallback for spans costs as much as the scoring.

        With `limits` (a site's), the sentence, counter-speech and denial passes run only for texts
        whose base scores lie near a limit, and the occlusion fallback only for texts that are
        held (its spans explain a hold); a text far from every limit keeps its base scores."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return []
        x, prepared = featurize(texts, self.encoder, self.lexicon)
        probs = self.head(x)
        todo = None if limits is None else {i for i, p in enumerate(probs) if limits.near(p)}
        self._sentence_pass(prepared, probs, todo)
        self._counter_speech(prepared, probs, todo)
        self._denials(prepared, probs, todo)
        all_scores = [{lab: round(float(v), 4) for lab, v in zip(LABELS, p)} for p in probs]
        all_spans = [self._spans(t, sc, offs, hits) for t, sc, (_, offs, hits) in zip(texts, all_scores, prepared)]
        if spans and self.occlusion:
            todo = [i for i, (sc, sp) in enumerate(zip(all_scores, all_spans))
                    if not sp and self._flagged(sc) and (limits is None or limits.holds(sc))]
            for i, found in zip(todo, self._occlusion_spans([prepared[i] for i in todo], probs[todo])):
                all_spans[i] = found
        words = [any(v[0] >= self.span_threshold and not neg for _, _, v, neg, _ in hits) for _, _, hits in prepared]
        return [ToxicityResult(scores=sc, spans=sp, lexicon_word=w) for sc, sp, w in zip(all_scores, all_spans, words)]

    def _sentence_pass(self, prepared, probs: np.ndarray, todo: set[int] | None = None) -> None:
        """One abusive sentence in a long comment is diluted by mean pooling over
        the whole text, so flagged comments with two or more sentences are also
        scored sentence by sentence (in place; scores can only go up): for insult,
        identity_attack and threat the strongest sentence counts in full. (Toxicity
        stays the whole text's: it is what the flag threshold was tuned on.)"""
        idx, pieces = [], []
        for i, (norm, _, _) in enumerate(prepared):
            if probs[i, 0] < self.threshold or (todo is not None and i not in todo):
                continue
            sentences = [s for s in _SENTENCE_END.split(norm) if sum(c.isalpha() for c in s) >= 3]
            if len(sentences) < 2:
                continue
            idx.append((i, len(pieces), len(sentences)))
            pieces += sentences
        if not pieces:
            return
        x, _ = featurize(pieces, self.encoder, self.lexicon)
        alt = self.head(x)
        labels = [LABELS.index("insult"), LABELS.index("identity_attack"), LABELS.index("threat")]
        for i, first, n in idx:
            probs[i, labels] = np.maximum(probs[i, labels], alt[first:first + n, labels].max(axis=0))

    def _counter_speech(self, prepared, probs: np.ndarray, todo: set[int] | None = None) -> None:
        """Quoting abuse in order to reject it: when a flagged comment quotes
        something and its own words (outside the quotes) carry a rejection cue,
        score the comment's own words instead (in place, for the non-profanity
        labels; the score can only go down)."""
        idx, variants = [], []
        for i, (norm, _, _) in enumerate(prepared):
            if max(probs[i, _HOSTILE]) < self.threshold or (todo is not None and i not in todo):
                continue
            outside = own_words(norm)
            if outside == norm or not _REJECT.search(outside):
                continue
            idx.append(i)
            variants.append(outside)
        self._keep_lower(probs, idx, variants)

    def _keep_lower(self, probs: np.ndarray, idx: list[int], variants: list[str]) -> None:
        """Score a variant of each text `idx` and keep the lower non-profanity scores (in place)."""
        if not idx:
            return
        x, _ = featurize(variants, self.encoder, self.lexicon)
        alt = self.head(x)
        for k, i in enumerate(idx):
            probs[i, _HOSTILE] = np.minimum(probs[i, _HOSTILE], alt[k, _HOSTILE])

    def _denials(self, prepared, probs: np.ndarray, todo: set[int] | None = None) -> None:
        """A sentence encoder reads "teenagers aren't thugs" much like "teenagers are thugs". When
        a flagged comment has denial clauses whose affirmed form the model finds more hostile than
        the clause as written, and four words or more besides, score the comment with each denied
        claim cut down to its subject ("Teenagers, most of them just want somewhere to skate.")
        and keep the lower scores (in place, for the non-profanity labels). The rest of the
        comment still has to pass: a denial does not excuse an insult next to it, and "you're
        not smart" (milder affirmed) is no denial."""
        plans, pairs = [], []
        for i, (norm, _, _) in enumerate(prepared):
            if max(probs[i, _HOSTILE]) < self.threshold or (todo is not None and i not in todo):
                continue
            clauses = denial_clauses(norm)
            rest = [c for c, cut in clauses if cut is None]
            if (len(rest) < len(clauses) and sum(len(_TOKEN.findall(c)) for c in rest) >= 4
                    and not any(map(_BACK_REFERENCE.search, rest))):
                plans.append((i, clauses, len(pairs)))
                for c, cut in clauses:
                    if cut is not None:
                        pairs += [affirmed(c), c]
        if not plans:
            return
        x, _ = featurize(pairs, self.encoder, self.lexicon)
        hostility = self.head(x)[:, _HOSTILE].max(axis=1)
        idx, variants = [], []
        for i, clauses, at in plans:
            parts, denied = [], False
            for c, cut in clauses:
                if cut is not None:
                    if hostility[at] > hostility[at + 1]:  # the negation makes the claim milder
                        c, denied = cut, True
                    at += 2
                parts.append(c)
            if denied:
                idx.append(i)
                variants.append("".join(parts))
        self._keep_lower(probs, idx, variants)

    def _flagged(self, scores) -> bool:
        return max(scores[lab] for lab in LABELS if lab != "profanity") >= self.threshold

    def _occlusion_spans(self, prepared, base: np.ndarray, max_variants: int = 8) -> list[list[Span]]:
        """Fallback when no lexicon word explains a flag: drop groups of words one
        at a time and keep the groups whose removal lowers the score most. The
        variants of all the given texts are encoded in one call."""
        plans = []
        variants: list[str] = []
        for norm, _, _ in prepared:
            words = [(m.start(), m.end()) for m in _TOKEN.finditer(norm)]
            size = max(1, -(-len(words) // max_variants))
            groups = [words[i:i + size] for i in range(0, len(words), size)]
            plans.append((len(variants), groups))
            variants += [norm[:g[0][0]] + norm[g[-1][1]:] for g in groups]
        if not variants:
            return [[] for _ in prepared]
        x, _ = featurize(variants, self.encoder, self.lexicon)
        probs = self.head(x)

        def logit(v):
            v = np.clip(v, 1e-6, 1 - 1e-6)
            return np.log(v / (1 - v))

        out = []
        for (norm, offs, _), b, (first, groups) in zip(prepared, base, plans):
            if not groups:
                out.append([])
                continue
            # drop of the explained label's logit when the group is removed (not of the strongest
            # label: "toxicity" often stays high when the one threatening word is gone)
            label = _main_label(b)
            col = LABELS.index(label)
            drops = logit(b[col]) - logit(probs[first:first + len(groups), col])
            best = float(drops.max())
            spans: list[Span] = []
            if best >= 0.5:
                for g, d in zip(groups, drops):
                    if d < 0.5 or d < 0.5 * best:
                        continue
                    # trim surrounding punctuation of the group
                    s, e = g[0][0], g[-1][1]
                    while s < e and not norm[s].isalnum():
                        s += 1
                    while e > s and not norm[e - 1].isalnum():
                        e -= 1
                    if s >= e:
                        continue
                    spans.append(Span(start=offs[s], end=offs[e - 1] + 1, label=label,
                                      weight=round(float(d / best), 4)))
            out.append(spans)
        return out

    def _spans(self, text, scores, offs, hits) -> list[Span]:
        flagged = self._flagged(scores)
        profane = scores["profanity"] >= self.threshold
        if not (flagged or profane):
            return []
        spans = []
        for s, e, v, neg, quo in hits:
            if v[0] < self.span_threshold or neg:
                continue
            typed = {lab: v[LEXICON_COLUMNS.index(lab)] for lab in LABELS}
            label = max(typed, key=typed.get)
            if label == "profanity" and not profane and not flagged:
                continue
            start = offs[s]
            end = offs[e - 1] + 1
            spans.append(Span(start=start, end=end, label=label, weight=round(float(v[0]), 4)))
        return spans
