"""Stored XSS in a real Chromium: classic payloads in every stored field, then every place that
shows them (the embed on a publisher's page, the plain thread pages, the moderation queue, the
Atom feeds). Each payload calls `__xss(n)` if it ever runs; none may.

Townsquare's own pages are visited with their CSP switched off (`bypass_csp`), so what is tested
is the escaping and sanitising; the CSP is a second line, checked on its own (no violation on any
page). Also: the embed on a publisher page that sends a strict CSP, as docs/security.md says.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from lxml import etree
from playwright.sync_api import expect

from tests.browser_fixtures import *  # noqa: F403 - the fixtures
from tests.browser_fixtures import DemoServer

# `X` stands for the call that records a hit: __xss(n).
PAYLOADS = [
    "<script>X</script>",
    "<img src=x onerror=X>",
    "<svg onload=X>",
    '"><svg onload=X>',
    "'><img src=x onerror=X>",
    "javascript:X",
    " JaVaScRiPt:X",
    "[click](javascript:X)",
    "[click](JAVASCRIPT:X)",
    "[click](javascript&#58;X)",
    "[click](&#106;avascript:X)",
    "![img](javascript:X)",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:X">click</a>',
    '<a href="&#x6A;avascript:X">click</a>',
    '<iframe src="javascript:X"></iframe>',
    '<object data="javascript:X"></object>',
    '<embed src="javascript:X">',
    "<body onload=X>",
    "<details open ontoggle=X>",
    "<input autofocus onfocus=X>",
    "<math><mtext><table><mglyph><style><img src=x onerror=X>",
    '<noscript><p title="</noscript><img src=x onerror=X>">',
    "</noscript><img src=x onerror=X>",
    "</title><img src=x onerror=X>",
    "</textarea><img src=x onerror=X>",
    '<meta http-equiv="refresh" content="0;url=javascript:X">',
    '<base href="javascript:X//">',
    '<svg><a xlink:href="javascript:X"><text y="20">click</text></a></svg>',
    '<div style="background:url(javascript:X)">styled</div>',
    '" onmouseover="X" x="',
    "]]></content><script>X</script>",
    "{{constructor.constructor('X')()}}",
    "${X}",
]
TEXTS = [p.replace("X", f"__xss({n})") for n, p in enumerate(PAYLOADS)]
BYPASS = "javascript:__xss(900)"
SETUP = """
window.__hits = [];
window.__xss = (n) => { window.__hits.push(n); };
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""
# What may be found in the DOM afterwards: no handler attribute, no URL with another scheme.
DOM_CHECK = """(root) => {
  const bad = [];
  for (const el of (root || document).querySelectorAll("*")) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith("on")) bad.push(el.tagName + " " + name);
      if (["href", "src", "action", "formaction", "data", "xlink:href", "poster"].includes(name)) {
        let url = null;
        try { url = new URL(a.value, location.href); } catch { continue; }  // unparsable: goes nowhere
        if (!["http:", "https:", "mailto:"].includes(url.protocol)) bad.push(el.tagName + " " + name + "=" + a.value);
      }
    }
  }
  return bad;
}"""
PASSWORD = "correct horse battery"
ATOM = "http://www.w3.org/2005/Atom"
# Payloads are meant to look hostile: these rules let them through moderation to the pages.
LENIENT = {"min_submit_seconds": 0, "author_rate": 100_000, "ip_rate": 100_000, "repeat_window": 0, "max_links": 100,
           "hold_thresholds": {k: 1.0 for k in ("toxicity", "insult", "identity_attack", "threat", "profanity")}}


@pytest.fixture(scope="module")
def stored(demo_server: DemoServer):
    """Every payload in every field that the API stores, on a published and a pre-moderated site,
    and the fields the API refuses (a `javascript:` thread URL or website) written past it."""
    from townsquare import accounts
    from townsquare.store import sites as site_store
    from townsquare.store import threads
    from townsquare.store.db import make_engine
    from tests.store_support import insert_comment

    demo_server.add_site("xss", ["*"], {"moderation": "post", "moderation_rules": LENIENT})
    demo_server.add_site("xssq", ["*"], {"moderation": "pre", "moderation_rules": LENIENT})
    refused = 0
    with httpx.Client(base_url=demo_server.url, timeout=30, headers={"Origin": "https://publisher.example"}) as api:
        for site in ("xss", "xssq"):
            for n, text in enumerate(TEXTS):
                for uri in ("/all", f"/t{n}"):
                    body = {"site": site, "uri": uri, "title": text, "text": text,
                            "url": "https://publisher.example/story?q=" + quote(text),
                            "author": {"name": text, "website": text}}
                    resp = api.post("/api/v1/comments", json=body)
                    if resp.status_code == 422:  # the website is not an http(s) address
                        assert resp.json()["field"] == "author.website", resp.text
                        refused += 1
                        body["author"] = {"name": text, "website": "publisher.example/" + quote(text)}
                        resp = api.post("/api/v1/comments", json=body)
                    assert resp.status_code == 201, resp.text
                    expected = "published" if site == "xss" else "pending"
                    assert resp.json()["comment"]["status"] == expected, (text, resp.json()["moderation"])
    assert refused >= 2 * 2 * 5  # each javascript: website, on both threads of both sites

    engine = make_engine(demo_server.db_url)
    with engine.begin() as conn:
        for name in ("xss", "xssq"):
            site = site_store.by_name(conn, name)
            thread = threads.get_or_create(conn, site.id, "/bypass", TEXTS[0], BYPASS)
            insert_comment(conn, {"thread_id": thread.id, "author_name": TEXTS[1], "author_website": "javascript:__xss(901)",
                                  "text": "stored past the API", "html": "<p>stored past the API</p>",
                                  "status": "published" if name == "xss" else "pending"})
    engine.dispose()
    accounts.create_user(make_engine(demo_server.db_url), email="xss-admin@example.org", password=PASSWORD,
                         role="admin")
    return demo_server


def fresh(new_page, **options):
    """A page that records payload calls and CSP violations from its first script on."""
    page = new_page(**options)
    page.add_init_script(SETUP)
    return page


def visit(page, url: str, *, ready: str | None = None):
    page.goto(url)
    if ready:
        page.wait_for_selector(ready)
    settle(page)


def settle(page):
    page.wait_for_load_state("load")
    # Hover over everything once: handlers that wait for a pointer would fire now.
    page.evaluate("""() => { for (const el of document.querySelectorAll('body *')) {
        el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); } }""")
    page.wait_for_timeout(300)  # let timers and late loads run; a hit would only add to the count


def assert_nothing_ran(page, where: str):
    assert page.evaluate("window.__hits") == [], f"payloads ran on {where}"
    assert page.dialogs == [], where
    assert [e for e in page.errors if "__xss" in e] == [], where
    assert page.evaluate(DOM_CHECK, None) == [], f"live handlers or script links on {where}"


def sign_in(page, base: str):
    page.goto(base + "/admin/login")
    page.fill("input[name=email]", "xss-admin@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/queue/**")


def test_the_embed_on_a_publisher_page_runs_no_payload(new_page, stored, publisher):
    for uri, expected in (("/all", len(TEXTS)), ("/bypass", 1)):
        html = f"""<!doctype html><html><head><title>Story</title></head><body><h1>Story</h1>
            <div id="townsquare"></div>
            <script src="{stored.url}/embed.js" data-site="xss" data-uri="{uri}" async></script></body></html>"""
        page = fresh(new_page)  # the publisher's page has no CSP: escaping alone must hold
        visit(page, publisher(html) + "/story", ready="#townsquare [role=treeitem]")
        items = page.locator("#townsquare [role=treeitem]")
        expect(items).to_have_count(expected)
        assert_nothing_ran(page, f"the embed of {uri}")
        # The payloads are there, as text: each name reads as posted (runs of spaces made one).
        posted = [" ".join(t.split()) for t in (TEXTS if uri == "/all" else [TEXTS[1]])]
        assert page.locator("#townsquare .ts-name").all_inner_texts() == posted


def test_plain_thread_pages_run_no_payload(new_page, stored):
    page = fresh(new_page, bypass_csp=True)
    for uri in ["/all", "/bypass", *(f"/t{n}" for n in range(len(TEXTS)))]:
        visit(page, f"{stored.url}/t/xss{uri}", ready="main")
        assert page.locator("main article").count() >= 1, uri
        assert_nothing_ran(page, f"/t/xss{uri}")
    visit(page, f"{stored.url}/t/xss/bypass", ready="main")
    assert page.get_by_role("link", name="Read the article").count() == 0  # its URL is javascript:


def test_the_moderation_queue_runs_no_payload(new_page, stored):
    page = fresh(new_page, bypass_csp=True)
    sign_in(page, stored.url)
    for path in ("/admin/queue/pending?site=xssq", "/admin/queue/published?site=xss"):
        visit(page, stored.url + path, ready="main")
        shown = 0
        while True:  # every page of the tab (25 comments each)
            shown += page.locator("article.item").count()
            assert_nothing_ran(page, page.url)
            older = page.locator("a.more-link")
            if not older.count():
                break
            older.click()
            settle(page)
        assert shown == 2 * len(TEXTS) + 1, path
    # The thread stored with a javascript: URL links nowhere.
    visit(page, stored.url + "/admin/queue/pending?site=xssq", ready="main")
    hrefs = page.eval_on_selector_all(".where a", "links => links.map(a => a.getAttribute('href'))")
    assert "#" in hrefs and not any(h.lower().startswith("javascript") for h in hrefs)


def test_the_atom_feeds_run_no_payload(new_page, stored):
    for path in ("/feeds/xss/recent.atom", "/feeds/xss/thread.atom?uri=/all", "/feeds/xss/thread.atom?uri=/bypass"):
        feed = httpx.get(stored.url + path, timeout=10)
        assert feed.status_code == 200
        hrefs = etree.fromstring(feed.content).xpath("//atom:link/@href", namespaces={"atom": ATOM})
        assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
        page = fresh(new_page, bypass_csp=True)
        page.goto(stored.url + path)
        page.wait_for_load_state("load")
        assert_nothing_ran(page, path)
        # A feed reader shows each entry's content as HTML: the same sanitised markup as the page.
        entries = re.findall(r"<content type=\"html\">(.*?)</content>", feed.text, re.S)
        assert entries
        page.set_content("<div id=feed></div>")
        page.evaluate("""(entries) => { const box = document.getElementById('feed');
            for (const e of entries) { const t = document.createElement('textarea'); t.innerHTML = e;
                                       box.insertAdjacentHTML('beforeend', t.value); } }""", entries)
        page.wait_for_timeout(300)
        assert_nothing_ran(page, path + " (entries as HTML)")


def test_no_page_breaks_its_own_policy(new_page, stored):
    """With the CSP on, no page asks for anything it forbids: no payload became markup, and the
    pages' own scripts and styles all come from /static."""
    page = fresh(new_page, bypass_csp=False)
    sign_in(page, stored.url)
    paths = ["/", "/articles/putin-accuses-us-of-direct-contacts-with-north-caucasus-militants",
             "/t/xss/all", "/t/xss/bypass", "/admin/queue/pending?site=xssq", "/admin/queue/all", "/api/docs"]
    for path in paths:
        visit(page, stored.url + path)
        assert page.evaluate("window.__csp") == [], path
        assert_nothing_ran(page, path)
    # The admin's script still runs under the policy: "?" opens the keyboard help.
    visit(page, stored.url + "/admin/queue/pending?site=xssq", ready="main")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()


def test_the_embed_works_on_a_page_with_a_strict_csp(new_page, demo_server: DemoServer, publisher):
    """A publisher's page that allows only what docs/security.md lists for Townsquare's origin."""
    ts = demo_server.url
    csp = (f"default-src 'none'; script-src {ts}; connect-src {ts}; style-src {ts}; "
           "base-uri 'none'; object-src 'none'; form-action 'none'; frame-ancestors 'none'; "
           "require-trusted-types-for 'script'; trusted-types townsquare")
    demo_server.add_site("strict", ["*"], {"moderation": "post", "moderation_rules": LENIENT})
    html = f"""<!doctype html><html><head><title>Strict</title></head><body><h1>A strict page</h1>
        <p><span data-townsquare-count="/strict-story">…</span></p>
        <div id="townsquare"></div>
        <script src="{ts}/embed.js" data-site="strict" data-uri="/strict-story" async></script>
        <script src="{ts}/count.js" data-site="strict" async></script></body></html>"""
    origin = publisher(html, {"Content-Security-Policy": csp})
    page = fresh(new_page, bypass_csp=False)
    page.goto(origin + "/strict-story")
    form = page.locator(".ts-top form")
    form.wait_for()
    form.get_by_label("Your comment").fill("Posting from a page with a **strict policy** works.")
    form.get_by_label("Name", exact=True).fill("Casey")
    form.get_by_role("button", name="Post comment").click()
    posted = page.locator("#townsquare [role=treeitem]", has_text="strict policy works")
    posted.wait_for()
    assert "Awaiting moderation" not in posted.inner_text()
    # embed.css applied (the stylesheet link is allowed): the widget's own rules are in force.
    assert page.evaluate("getComputedStyle(document.querySelector('#townsquare .ts-bar')).display") == "flex"
    page.reload()
    expect(page.locator("[data-townsquare-count]")).to_have_text("1 comment")  # count.js, same policy
    # Read back from the server: the comment's HTML goes in through the "townsquare" policy.
    expect(page.locator("#townsquare .ts-body strong", has_text="strict policy")).to_have_count(1)
    assert page.evaluate("window.__csp") == []
    assert page.errors == []
