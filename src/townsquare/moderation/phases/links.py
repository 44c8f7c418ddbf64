"""Links: a blocked domain rejects; more links than the site allows holds the comment."""

import re

from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.results import PhaseResult, Reason, passed
from townsquare.moderation.settings import ModerationSettings

NAME = "links"

# Scheme URLs, www. hosts, and bare host names under common top-level domains
# ("example.com/x"); a bare name like "Node.js" is not a link.
_URL = re.compile(
    r"""(?xi)
    (?:https?://|www\.)[^\s<>()\[\]"']+
    | (?<![\w@.])(?:[a-z0-9-]+\.)+(?:com|net|org|info|biz|io|co|ru|cn|xyz|top|online|site|ly|me|tv|uk|de|us)
      (?:/[^\s<>()\[\]"']*)?(?![\w@])
    """
)
_HOST = re.compile(r"^(?:https?://)?([^/:?#\s]+)", re.I)


def find_links(text: str) -> list[tuple[tuple[int, int], str]]:
    """Each link's span and its lower-case host without `www.`."""
    found = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?")
        host = _HOST.match(url).group(1).lower().removeprefix("www.")
        found.append(((m.start(), m.start() + len(url)), host))
    return found


def _matches(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in (d.lower().removeprefix("www.") for d in domains))


def check(draft: Draft, facts: Facts, settings: ModerationSettings) -> PhaseResult:
    links = find_links(draft.text)
    blocked = [(span, host) for span, host in links if _matches(host, settings.blocked_domains)]
    if blocked:
        hosts = ", ".join(sorted({h for _, h in blocked}))
        return PhaseResult(NAME, 1.0, "reject", (Reason("blocked_domain", f"links to {hosts}", tuple(s for s, _ in blocked)),))
    counted = [(span, host) for span, host in links if not _matches(host, settings.allowed_domains)]
    if not counted:
        return passed(NAME)
    score = min(1.0, len(counted) / (settings.max_links + 1))
    if len(counted) > settings.max_links:
        detail = f"{len(counted)} links (at most {settings.max_links}): " + ", ".join(sorted({h for _, h in counted}))
        return PhaseResult(NAME, score, "hold", (Reason("too_many_links", detail, tuple(s for s, _ in counted)),))
    return passed(NAME, score)
