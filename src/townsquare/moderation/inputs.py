"""What the pipeline looks at: the draft being posted and the facts the store knows around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from townsquare.moderation.toxicity import ToxicityResult


@dataclass(frozen=True)
class Draft:
    text: str
    created: float
    author_name: str = ""
    author_email: str | None = None
    # The keyed hash of the e-mail address the author typed: it groups an author's comments, but
    # proves nothing (anyone may type anyone's address), so trust never rests on it.
    author_key: str | None = None
    ip_hash: str | None = None
    # A signed-in reader's verified identity (`readers.identity_key`): trust, bans, history and
    # the author rate follow it instead of the address. None for guests.
    identity: str | None = None
    # A signed-in reader with the publisher's `staff` badge on a site that lets such readers skip
    # moderation like staff (`staff_skip_moderation`).
    staff_badge: bool = False
    # Set when a signed-in staff account posts.
    user_id: int | None = None
    thread_id: int | None = None
    parent_id: int | None = None
    # An edit of an existing comment (not a new post), and which comment, so it is not
    # compared with itself.
    is_edit: bool = False
    comment_id: int | None = None
    # Widget traps: a hidden field people never fill, and seconds between form render and submit.
    honeypot: str | None = None
    form_age: float | None = None


@dataclass(frozen=True)
class PastComment:
    text: str
    created: float
    status: str
    thread_id: int


@dataclass(frozen=True)
class Ancestor:
    """A comment above the draft in its branch, nearest parent first."""

    id: int
    author_key: str | None
    author_name: str
    text: str
    # The toxicity scores stored with its moderation decision (None if it never had any).
    scores: dict[str, float] | None


@dataclass(frozen=True)
class Ban:
    kind: str  # ip | identity | email (author: an e-mail ban made before bans followed addresses)
    reason: str
    expires: float | None


@dataclass(frozen=True)
class Facts:
    thread_closed: bool = False
    # Seconds an author must wait between two comments in this thread (0: no slow mode).
    slow_mode: int = 0
    author_last_in_thread: float | None = None
    # The author's (or, without an author key, the hashed IP's) recent comments, newest first.
    recent: tuple[PastComment, ...] = ()
    author_post_times: tuple[float, ...] = ()
    # Comments from the draft's hashed IP within the rate window (counted up to the site's limit).
    ip_posts: int = 0
    author_total: int = 0
    # Published comments under the author's e-mail from the draft's address (see facts.gather).
    author_published: int = 0
    author_rejected: int = 0
    trusted: bool = False
    staff: bool = False
    bans: tuple[Ban, ...] = ()
    ancestors: tuple[Ancestor, ...] = ()
    toxicity: ToxicityResult | None = None
    # Why the toxicity model could not score this draft, if it could not.
    toxicity_error: str | None = None
