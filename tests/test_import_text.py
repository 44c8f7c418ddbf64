"""Plain-text threads crawled from article pages, starting with the origin seed page."""

import io
from pathlib import Path

import pytest

from townsquare.importers.records import CommentRecord, ImportFormatError, ThreadRecord
from townsquare.importers.text import parse_text, text_records

# A byte-for-byte copy of the origin seed page (000_dfce65f08a4432b8.txt).
SEED = Path(__file__).parent / "fixtures" / "import" / "seed_000.txt"

PAGE_ORDER = [
    ("MirM", 1, None),
    ("oberts mail", 1, None),
    ("Jiri Klouda", 2, 2),
    ("oberts mail", 3, 3),
    ("Jiri Klouda", 4, 4),
    ("oberts mail", 5, 5),
    ("Julie Harbinger", 5, 5),
    ("Jiri Klouda", 5, 5),
    ("Marcus Grant", 2, 2),
    ("Charles Smyth", 1, None),
    ("Marcus Grant", 2, 10),
    ("ezimako", 1, None),
]


def test_seed_page_gives_twelve_comments_five_levels_in_page_order():
    thread = parse_text(SEED)
    assert [(c.author_name, c.depth, c.parent_number) for c in thread.comments] == PAGE_ORDER
    assert [c.number for c in thread.comments] == list(range(1, 13))
    assert thread.max_depth == 5


def test_seed_article_title_body_and_alerts_line_are_separate():
    thread = parse_text(SEED)
    assert thread.title == "Putin accuses US of direct contacts with North Caucasus militants"
    assert thread.alerts_line == "Receive News Alerts on Whatsapp: +2348136370421"
    assert all("Receive News Alerts" not in p for p in thread.body_paragraphs)
    # The repeated image caption appears once; the last paragraph closes the article.
    assert thread.body_paragraphs[0] == "President Vladimir Putin"
    assert thread.body_paragraphs[1].startswith("Russian President Vladimir Putin in a documentary")
    assert thread.body_paragraphs[-1].startswith("After the second Chechen war")


def test_seed_quote_replies_become_quotes_of_their_parent():
    comments = parse_text(SEED).comments
    quoted = {c.number: c for c in comments if c.quote}
    assert sorted(quoted) == [9, 11]
    reply = quoted[9]
    assert reply.quote_author == "oberts mail" == comments[reply.parent_number - 1].author_name
    assert reply.quote.startswith("if the Russian people or anyone believes")
    assert "wrote" not in reply.text and reply.text.startswith("but we all (and you too)")
    assert quoted[11].quote == "It’s not as if the Russians do not do the same thing"
    assert comments[quoted[11].parent_number - 1].text.startswith(quoted[11].quote)


def test_seed_keeps_paragraphs_and_non_ascii_text():
    comments = parse_text(SEED).comments
    assert comments[4].paragraphs[-1] == "For example:"
    assert len(comments[4].paragraphs) == 2
    assert comments[9].text.endswith("🙂")


def test_record_stream_links_comments_to_thread_and_parents():
    records = list(text_records(SEED, uri="/world/putin"))
    thread, comments = records[0], records[1:]
    assert isinstance(thread, ThreadRecord) and thread.uri == "/world/putin"
    assert all(isinstance(c, CommentRecord) and c.thread_old_id == "/world/putin" for c in comments)
    assert len(comments) == 12
    by_id = {c.old_id: c for c in comments}
    assert by_id[comments[8].parent_old_id].author_name == "oberts mail"
    assert comments[8].quote and comments[8].format == "plain"


def test_default_uri_is_a_slug_of_the_title():
    thread = next(text_records(SEED))
    assert thread.uri == "/putin-accuses-us-of-direct-contacts-with-north-caucasus-militants"


def test_streams_of_text_or_bytes_are_accepted():
    page = "Títle\n\nBody\n\n  • Zoë\n\n    Grüße 👋\n\n    • Ana\n\n      Ana wrote :\"x\"\n\n      reply\n"
    for stream in (io.StringIO(page), io.BytesIO(page.encode())):
        thread = parse_text(stream)
        assert thread.title == "Títle"
        assert [(c.author_name, c.depth) for c in thread.comments] == [("Zoë", 1), ("Ana", 2)]
        assert thread.comments[0].text == "Grüße 👋"
        assert thread.comments[1].quote == "x"


def test_a_bulleted_list_in_the_article_is_not_a_comment():
    page = "Title\n\nThree points:\n\n• one\n• two\n\n  • Reader\n\n    First!\n"
    thread = parse_text(io.StringIO(page))
    assert [c.author_name for c in thread.comments] == ["Reader"]
    assert "• one" in thread.body_paragraphs[1]


def test_tab_indentation_and_uneven_steps_still_nest():
    page = "T\n\n\t• A\n\n\t\ta\n\n\t\t\t• B\n\n\t\t\t\tb\n\n\t• C\n\n\t\tc\n"
    thread = parse_text(io.StringIO(page))
    assert [(c.author_name, c.depth, c.parent_number) for c in thread.comments] == [
        ("A", 1, None),
        ("B", 2, 1),
        ("C", 1, None),
    ]


def test_text_that_is_not_under_its_bullet_names_the_line():
    page = "Title\n\n  • A\n\n    fine\n\n  • B\n\n    ok\n  bad outdent\n"
    with pytest.raises(ImportFormatError, match="line 10"):
        parse_text(io.StringIO(page))


def test_a_page_without_title_is_rejected():
    with pytest.raises(ImportFormatError, match="no title"):
        parse_text(io.StringIO("\n\n"))


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(ImportFormatError, match="not UTF-8"):
        parse_text(io.BytesIO("Título\n\n  * A\n\n    x\n".encode("latin-1")))
