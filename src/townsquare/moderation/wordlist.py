"""Word-list patterns: wildcards, leetspeak, stretched letters and spaced-out spellings.

"idiot" matches "id10t", "IDIOOOT", "i d i o t" and "i.d.i.o.t" but not "idiotic"; "idiot*" matches
"idiotic" too; "*hole" matches any word ending in "hole". Matching runs on the original text, so the
spans point at exactly what the author wrote.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LEET = {
    "a": "a4@",
    "b": "b8",
    "e": "e3",
    "g": "g9",
    "i": "i1!|l",
    "l": "l1|i",
    "o": "o0",
    "s": "s5$z",
    "t": "t7+",
    "z": "z2",
}
# Between two letters of a word: nothing, or up to two spacing/masking characters.
_GAP = r"[\s._\-*~]{0,2}"
_WORD_CHAR = r"[^\W_]"


def _letter(ch: str) -> str:
    variants = _LEET.get(ch.lower(), ch.lower())
    return "[" + "".join(re.escape(v) for v in variants) + "]+"


def _pattern(word: str) -> str:
    word = word.strip().lower()
    starts_open = word.startswith("*")
    ends_open = word.endswith("*")
    core = word.strip("*")
    if not core or "*" in core:
        raise ValueError(f"word pattern {word!r}: use * only at the start or end")
    letters = [ch for ch in core if not ch.isspace()]
    body = _GAP.join(_letter(ch) for ch in letters)
    head = rf"{_WORD_CHAR}*" if starts_open else rf"(?<!{_WORD_CHAR})"
    tail = rf"{_WORD_CHAR}*" if ends_open else rf"(?!{_WORD_CHAR})"
    return head + body + tail


@lru_cache(maxsize=256)
def compile_words(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation for the whole list; cached because site lists rarely change."""
    if not words:
        return None
    return re.compile("|".join(f"(?:{_pattern(w)})" for w in words), re.IGNORECASE)


def find_words(words: list[str] | tuple[str, ...], text: str) -> list[tuple[int, int]]:
    pattern = compile_words(tuple(words))
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
