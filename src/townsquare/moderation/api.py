"""Moderation JSON API: the pre-submit check, reader reports, and the moderator API (API keys).

Moderator routes take `Authorization: Bearer tsm_…`, a key made with
`townsquare moderation api-key EMAIL`; they act as that moderator and are audited as such.
"""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from townsquare.errors import Invalid, Unauthorized
from townsquare.moderation import actions, audit, auth, public, queue, reports, site_words
from townsquare.moderation import stats as dashboard_stats
from townsquare.moderation.auth import Actor
from townsquare.store.comments import Comment
from townsquare.web.api import bearer, client, core
from townsquare.web.inputs import Id, Line, PathId, QueryId, Text

router = APIRouter(prefix="/api/v1", tags=["moderation"])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CheckBody(Body):
    site: Line = Field(max_length=64)
    text: Text = Field(max_length=100_000)


class ReportBody(Body):
    reason: Literal[reports.REASONS] = "other"  # type: ignore[valid-type]
    note: Text = Field("", max_length=1000)


class Reason(Body):
    reason: Text = Field("", max_length=2000)


class RejectBody(Body):
    reason: Text = Field(min_length=1, max_length=2000)


class EditBody(Body):
    text: Text = Field(min_length=1, max_length=100_000)
    reason: Text = Field("", max_length=2000)


class FeatureBody(Body):
    featured: bool = True
    reason: Text = Field("", max_length=2000)


class PinBody(Body):
    pinned: bool = True
    reason: Text = Field("", max_length=2000)


class BanBody(Body):
    site: Line | None = Field(None, max_length=64, description="with `email`")
    comment_id: Id | None = Field(None, description="ban this comment's author: kind author (the signed-in "
                                  "reader, or else the address it came from), identity (the signed-in reader), "
                                  "ip (the address it came from) or email (the address typed)")
    kind: Literal["author", "identity", "email", "ip"] = "author"
    email: Line | None = Field(None, max_length=320, description="with kind email and no comment_id")
    seconds: int | None = Field(None, gt=0, le=actions.MAX_BAN_SECONDS, description="omit for a ban for good")
    reason: Text = Field("", max_length=2000)


class TrustBody(Body):
    trusted: bool = True
    reason: Text = Field("", max_length=2000)


class CloseBody(Body):
    closed: bool = True
    reason: Text = Field("", max_length=2000)


class CloseAtBody(Body):
    at: float | None = Field(description="when the thread stops taking comments, in epoch seconds (a time past "
                             "closes it at once); null: no time of its own, the site's `close_after_days` applies")
    reason: Text = Field("", max_length=2000)


class SlowModeBody(Body):
    seconds: int = Field(ge=0, le=actions.MAX_SLOW_MODE)
    reason: Text = Field("", max_length=2000)


class WordsBody(Body):
    # Counted and checked by site_words (the admin page shares the rules), after blanks and duplicates go.
    banned_words: list[Line]
    suspect_words: list[Line]


def _json(data, status: int = 200) -> Response:
    return Response(orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS), status_code=status, media_type="application/json")


# -- public ------------------------------------------------------------------------------------------
@router.post("/moderation/check")
def check(body: CheckBody, request: Request) -> Response:
    """What moderation would decide for this draft from a new author, before it is posted:
    `{decision: publish|hold|reject, nudge, scores: {toxicity, insult, identity_attack, threat,
    profanity}, reasons: [{phase, label, detail, spans}], check_token}`. `nudge` is true when the
    widget should show the reasons once and let the author rephrase or post anyway. `check_token`
    (null when the text was not scored) may go with the post of the same text on this site within
    ten minutes, so that it is not scored twice. Nothing is stored."""
    return _json(public.check(core(request), body.site, body.text, client(request).ip))


@router.post("/comments/{comment_id}/report")
def report(comment_id: PathId, body: ReportBody, request: Request) -> Response:
    """Report a comment (`reason`: spam, abuse, hate, harassment, personal_data, off_topic, other).
    One report per reader counts; at the site's `reports_to_hold` the comment is held for review.
    The reader is the signed-in reader (`X-Townsquare-Session`) if a session is sent, else the
    `X-Townsquare-Voter` token if sent, else the address; an address counts once whatever tokens
    it sends, so `reports_to_hold` means distinct readers' addresses. Answers `{reported: true,
    status, counted}`: `counted` is false when this reader (or address) had reported it already.
    The widget's "Report" button sends it."""
    who = client(request)
    result = public.report(core(request), comment_id, ip=who.ip, voter_token=who.voter_token, reason=body.reason,
                           note=body.note, session=who.session)
    return _json({"reported": True, "status": result["status"], "counted": result["counted"]})


# -- moderators ------------------------------------------------------------------------------------------
def _actor(request: Request, authorization: str | None) -> Actor:
    key = bearer(authorization)
    found = auth.key_actor(core(request).engine, key) if key and key.startswith(auth.API_KEY_PREFIX) else None
    if found is None:
        raise Unauthorized("Send a moderator API key as 'Authorization: Bearer tsm_…'.")
    return found


Auth = Annotated[str | None, Header()]


@router.get("/moderation/queue")
def list_queue(request: Request, authorization: Auth = None,
               tab: Annotated[Literal[queue.TABS], Query()] = "pending",  # type: ignore[valid-type]
               site: Annotated[str | None, Query(max_length=64)] = None,
               before: QueryId | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 25) -> Response:
    """One page of a queue tab (pending, reported, rejected, published, all), newest first; pass
    `before=<next_before>` for the next page. Each item has its decision (scores, reasons with
    spans), parent, the author's recent history, open reports and whether its branch is heated."""
    the_core = core(request)
    actor = _actor(request, authorization)
    result = queue.for_actor(the_core.engine, the_core.settings, actor, tab, site_name=site, before=before, limit=limit)
    return _json({"items": [_item(i) for i in result.items], "next_before": result.next_before})


@router.get("/moderation/stats", response_model=dashboard_stats.Stats)
def stats(request: Request, site: Annotated[str, Query(min_length=1, max_length=64)], authorization: Auth = None,
          days: Annotated[int, Query(ge=1, le=dashboard_stats.MAX_DAYS)] = 30,
          thread: Annotated[Line | None, Query(min_length=1, max_length=2000)] = None) -> dashboard_stats.Stats:
    """The dashboard's figures for a site over the last `days` UTC days (today included): per day
    the comments posted by their status now (`held` = pending), reader reports, votes and distinct
    commenters; the queue now (`pending`, `oldest_age_s`); the phases that held the period's
    pending comments; a ten-bucket histogram of the stored toxicity scores; the ten threads with
    the most comments in the period. With `thread=<uri>`, the same figures for that thread of the
    site only (`thread` names it; `top_threads` is empty; an unknown thread is a 404). Figures may
    be up to five seconds old."""
    the_core = core(request)
    actor = _actor(request, authorization)
    return dashboard_stats.for_site(the_core.engine, the_core.settings, actor, site, days, thread_uri=thread)


def _item(item: dict) -> dict:
    """A queue item for the API: no e-mail address or hashed IP."""
    parent = item["parent"]
    return {
        "id": item["id"], "site": item["site_name"], "status": item["status"], "created": item["created"],
        "featured": item["featured"],
        "edited": item["edited"], "parent_id": item["parent_id"], "text": item["text"], "html": item["html"],
        "author": {"name": item["author_name"], "key": item["author_key"], "trusted": item["trusted"],
                   "verified": item["identity_id"] is not None},
        "thread": {"id": item["thread_id"], "uri": item["uri"], "title": item["thread_title"],
                   "closed": item["thread_closed"], "slow_mode": item["slow_mode"]},
        "decision": item["decision"], "heated": item["heated"],
        "parent": {"id": parent.id, "author": parent.author_name, "text": parent.text} if parent else None,
        "history": [{"id": h.id, "status": h.status, "created": h.created, "text": h.text} for h in item["history"]],
        "reports": [{"reason": r.reason, "note": r.note, "created": r.created} for r in item["reports"]],
    }


@router.post("/moderation/comments/{comment_id}/approve")
def approve(comment_id: PathId, body: Reason, request: Request, authorization: Auth = None) -> Response:
    """Publish a held, reported or rejected comment."""
    return _act(request, authorization, lambda a: actions.approve(_engine(request), a, comment_id, body.reason))


@router.post("/moderation/comments/{comment_id}/reject")
def reject(comment_id: PathId, body: RejectBody, request: Request, authorization: Auth = None) -> Response:
    """Reject a comment, saying why."""
    return _act(request, authorization, lambda a: actions.reject(_engine(request), a, comment_id, body.reason))


@router.patch("/moderation/comments/{comment_id}")
def edit(comment_id: PathId, body: EditBody, request: Request, authorization: Auth = None) -> Response:
    """Change a comment's text (the audit log keeps the text before and after)."""
    return _act(request, authorization, lambda a: actions.edit(_engine(request), a, comment_id, body.text, body.reason))


@router.post("/moderation/comments/{comment_id}/feature")
def feature(comment_id: PathId, body: FeatureBody, request: Request, authorization: Auth = None) -> Response:
    """Make a published comment an editor's pick (`featured: false` stops). Picks carry
    `featured: true` in every answer; `GET /api/v1/threads?sort=picks` lists a thread's picks,
    newest first. Audit-logged (feature, unfeature)."""
    return _act(request, authorization,
                lambda a: actions.feature(_engine(request), a, comment_id, body.featured, body.reason))


@router.delete("/moderation/comments/{comment_id}/feature")
def unfeature(comment_id: PathId, request: Request, authorization: Auth = None) -> Response:
    """Stop featuring a comment (the same as `featured: false`)."""
    return _act(request, authorization, lambda a: actions.feature(_engine(request), a, comment_id, False))


@router.post("/moderation/comments/{comment_id}/pin")
def pin(comment_id: PathId, body: PinBody, request: Request, authorization: Auth = None) -> Response:
    """Pin a published top-level comment to the top of its thread (`pinned: false` unpins it).
    A thread has one pinned comment: pinning another replaces it. The pinned comment opens the
    first page of every sort, with `pinned: true`. Audit-logged (pin, unpin)."""
    return _act(request, authorization,
                lambda a: {**_shown(actions.pin(_engine(request), a, comment_id, body.pinned, body.reason)),
                           "pinned": body.pinned})


@router.delete("/moderation/comments/{comment_id}/pin")
def unpin(comment_id: PathId, request: Request, authorization: Auth = None) -> Response:
    """Unpin a comment (the same as `pinned: false`)."""
    return _act(request, authorization,
                lambda a: {**_shown(actions.pin(_engine(request), a, comment_id, False)), "pinned": False})


@router.post("/moderation/comments/{comment_id}/trust")
def trust(comment_id: PathId, body: TrustBody, request: Request, authorization: Auth = None) -> Response:
    """Mark (or unmark) the comment's author as trusted on its site: the signed-in reader who
    posted it, or for a guest's comment the hashed address it was posted from (never the e-mail
    address typed, which anyone may type)."""
    return _act(request, authorization,
                lambda a: actions.set_trusted(_engine(request), a, comment_id, body.trusted, body.reason))


@router.post("/moderation/bans", status_code=201)
def ban(body: BanBody, request: Request, authorization: Auth = None) -> Response:
    """Ban the author of `comment_id` (by `kind` author, identity, email or ip), or an `email` on `site`;
    for `seconds` or for good."""
    the_core = core(request)

    def do(actor: Actor):
        if body.comment_id is not None:
            return actions.ban_comment_author(the_core.engine, actor, body.comment_id, body.kind,
                                              seconds=body.seconds, reason=body.reason)
        if body.kind != "email" or not body.email or not body.site:
            raise Invalid("Give a comment_id, or kind 'email' with an email and a site.", field="comment_id")
        return actions.ban_email(the_core.engine, actor, body.site, body.email,
                                 lambda e: the_core.signer.hash("email", e), seconds=body.seconds, reason=body.reason)

    return _act(request, authorization, lambda a: {"ban_id": do(a)}, 201)


@router.delete("/moderation/bans/{ban_id}")
def unban(ban_id: PathId, request: Request, authorization: Auth = None) -> Response:
    """Lift a ban."""
    return _act(request, authorization, lambda a: actions.lift_ban(_engine(request), a, ban_id))


@router.post("/moderation/threads/{thread_id}/close")
def close(thread_id: PathId, body: CloseBody, request: Request, authorization: Auth = None) -> Response:
    """Close (or reopen with `closed: false`) a thread for new comments. Reopening also drops a
    close time of its own already past; a thread the site's `close_after_days` closed answers 409
    until it has a later close time (`close-at`). A closed thread refuses comments, edits and
    deletions with a 403 problem saying so (`closed: true`), and reads show `thread.closed`."""
    the_core = core(request)
    return _act(request, authorization, lambda a: actions.close_thread(
        the_core.engine, a, thread_id, body.closed, body.reason, the_core.settings))


@router.post("/moderation/threads/{thread_id}/close-at")
def close_at(thread_id: PathId, body: CloseAtBody, request: Request, authorization: Auth = None) -> Response:
    """Close the thread automatically at `at` (epoch seconds), in place of the site's
    `close_after_days` (counted from the thread's first comment); `at: null` removes the thread's
    own time. Audit-logged (close_at)."""
    the_core = core(request)
    return _act(request, authorization,
                lambda a: actions.close_at(the_core.engine, a, thread_id, body.at, body.reason, the_core.settings))


@router.post("/moderation/threads/{thread_id}/slow-mode")
def slow_mode(thread_id: PathId, body: SlowModeBody, request: Request, authorization: Auth = None) -> Response:
    """Let each author post once per `seconds` in this thread (0 turns slow mode off)."""
    return _act(request, authorization,
                lambda a: actions.slow_mode(_engine(request), a, thread_id, body.seconds, body.reason))


@router.get("/moderation/audit")
def audit_log(request: Request, authorization: Auth = None,
              actor: Annotated[str | None, Query(max_length=320)] = None,
              action: Annotated[str | None, Query(max_length=32)] = None,
              target: Annotated[str | None, Query(max_length=64)] = None,
              before: QueryId | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    """The audit log of the sites you moderate, newest first, filtered by actor, action or target."""
    who = _actor(request, authorization)
    rows = audit.entries(_engine(request), audit.Filters(tuple(who.site_ids), actor, action, target, before, limit))
    return _json({"entries": rows, "next_before": rows[-1].id if len(rows) == limit else None})


@router.get("/moderation/sites/{site}/words")
def get_words(site: str, request: Request, authorization: Auth = None) -> Response:
    """The site's word lists: `{banned_words, suspect_words}` (the instance defaults where the site has none)."""
    the_core = core(request)
    actor = _actor(request, authorization)
    return _json(site_words.in_force(the_core.engine, the_core.settings, actor, site))


@router.put("/moderation/sites/{site}/words")
def put_words(site: str, body: WordsBody, request: Request, authorization: Auth = None) -> Response:
    """Replace the site's word lists. A banned word rejects a comment, a suspect word holds it;
    `*` at the start or end of an entry is a wildcard, and letters also match leetspeak forms.
    Blank entries and duplicates are dropped; at most 1,000 entries of 100 characters per list.
    Applies from the next comment; the audit log records what was added and removed."""
    defaults = core(request).settings.site_defaults
    return _act(request, authorization, lambda a: site_words.save(_engine(request), a, defaults, site, body.model_dump()))


def _shown(comment: Comment) -> dict:
    return {"comment": {"id": comment.id, "status": comment.status, "text": comment.text, "html": comment.html,
                        "edited": comment.edited, "featured": comment.featured}}


def _engine(request: Request):
    return core(request).engine


def _act(request: Request, authorization: str | None, do, status: int = 200) -> Response:
    """Run `do(actor)` (an action, which opens its own transaction) as the key's owner."""
    result = do(_actor(request, authorization))
    if isinstance(result, Comment):
        result = _shown(result)
    return _json(result if result is not None else {"ok": True}, status)
