"""The embed's size budget: script and styles together stay within 19.8 kB gzipped."""

from __future__ import annotations

import gzip

from townsquare.web.paths import STATIC

BUDGET = 19_800  # bytes, gzipped, script + styles (15 kB before reader sign-in and the plain-words nudge; 17 kB
# before live votes, edits and removals in place, the polling fallback, editors' picks, the pinned comment,
# readers' reports, buttons named with their comment and the skip link; 18.4 kB before picks, pins and close
# times applied live, the reader's "My comments", comments named by their words, the roving tab index and
# the keyboard help in three languages, live scores in the vote buttons' names)


def gzipped(name: str) -> int:
    return len(gzip.compress((STATIC / name).read_bytes(), compresslevel=9))


def test_embed_script_and_styles_fit_the_budget():
    size = gzipped("embed.js") + gzipped("embed.css")
    assert size <= BUDGET, f"embed.js + embed.css are {size} bytes gzipped; the budget is {BUDGET}"


def test_count_script_stays_small():
    assert gzipped("count.js") <= 2_000
