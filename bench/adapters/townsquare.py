"""Townsquare adapter for the shared benchmark harness (`../shared/bench/load.py`).

Endpoint shapes (JSON API v1):
  create comment  POST /api/v1/comments  {site, uri, title, parent_id?, text, author: {name}}
                                         -> 201 {comment: {id, status, ...}, edit_token}
  fetch thread    GET  /api/v1/threads?site=S&uri=U&limit=5000&reply_limit=5000
                                         -> {total, comments: [{..., replies: [...]}]} (nested tree)
  counts          POST /api/v1/counts    {site, uris: [...]}  -> {counts: {uri: n}}

Options (--adapter-opt K=V):
  site=NAME   the site the benchmark posts to (default "bench"; create it first with
              `townsquare site add bench --origin '*'`)
  db=URL      the server's database (SQLAlchemy URL, or a path to a SQLite file): enables the
              database-level lost-write check and `bulk_seed`. Needs the `townsquare` package
              importable, i.e. run load.py with the project's venv.

The thread is read in one request (limit and reply_limit at the API's maximum, 5,000), so the
answer carries every comment, as Isso's does.
"""

from __future__ import annotations

import time

MAX_PAGE = 5000  # the API's upper bound for `limit` and `reply_limit`


class Adapter:
    name = "townsquare"

    def __init__(self, base_url, opts):
        self.base_url = base_url
        self.site = opts.get("site", "bench")
        db = opts.get("db")
        if db and "://" not in db:
            db = f"sqlite:///{db}"
        self.db = db

    # -- requests -------------------------------------------------------------------------
    def create_comment(self, uri, text, author, parent=None, title=None):
        body = {"site": self.site, "uri": uri, "title": title or uri, "text": text, "author": {"name": author}}
        if parent is not None:
            body["parent_id"] = parent
        return {"method": "POST", "path": "/api/v1/comments", "json": body}

    def fetch_thread(self, uri):
        return {"method": "GET", "path": "/api/v1/threads",
                "params": {"site": self.site, "uri": uri, "limit": MAX_PAGE, "reply_limit": MAX_PAGE}}

    def counts(self, uris):
        return {"method": "POST", "path": "/api/v1/counts", "json": {"site": self.site, "uris": list(uris)}}

    # -- response parsing -----------------------------------------------------------------
    def created_id(self, resp):
        """The new comment's id, only if it was published: a held (pending) comment is not
        visible to readers, so the harness should not count it as a successful write."""
        try:
            comment = resp.json()["comment"]
        except (ValueError, KeyError, TypeError):
            return None
        return comment.get("id") if comment.get("status") == "published" else None

    def thread_size(self, resp):
        todo = list(resp.json().get("comments", []))
        n = 0
        while todo:  # iterative: a reply chain may be deeper than Python's recursion limit
            c = todo.pop()
            n += 1
            todo.extend(c.get("replies") or [])
        return n

    def parse_counts(self, resp, uris):
        counts = resp.json()["counts"]
        return [counts.get(u, 0) for u in uris]

    # -- database-level verification ---------------------------------------------------------
    def _engine(self):
        from townsquare.store.db import make_engine

        return make_engine(self.db)

    def verify_ids(self, ids, uris):
        """Every id acknowledged with 2xx must be a published comment of one of `uris`."""
        if not self.db:
            return {}
        from sqlalchemy import func, select

        from townsquare.store.tables import comments, sites, threads

        wanted = set(ids)
        engine = self._engine()
        try:
            with engine.connect() as conn:
                site_id = conn.execute(select(sites.c.id).where(sites.c.name == self.site)).scalar_one()
                present, rows, statuses = set(), 0, {}
                for k in range(0, len(uris), 200):
                    chunk = uris[k:k + 200]
                    q = (select(comments.c.id, comments.c.status)
                         .join(threads, threads.c.id == comments.c.thread_id)
                         .where(threads.c.site_id == site_id, threads.c.uri.in_(chunk)))
                    for cid, status in conn.execute(q):
                        rows += 1
                        statuses[status] = statuses.get(status, 0) + 1
                        if cid in wanted and status == "published":
                            present.add(cid)
                counted = conn.execute(
                    select(func.coalesce(func.sum(threads.c.comment_count), 0))
                    .where(threads.c.site_id == site_id, threads.c.uri.in_(uris))).scalar_one()
        finally:
            engine.dispose()
        return {"db_rows": rows, "db_statuses": statuses, "db_acked_present": len(present),
                "db_comment_count_sum": counted, "lost_writes_db": len(wanted) - len(present)}

    # -- bulk load (kind "seed_direct") ---------------------------------------------------------
    def bulk_seed(self, plan, timeout=1800, mode="sql"):
        """Load `plan` without HTTP into Townsquare's own tables. Returns {"import_s": s, ...}.

        mode "sql": one transaction: the threads, then every comment with its Markdown rendered
        by Townsquare's own renderer (as a posted comment is), replies under a top-level
        comment of the same thread, `threads.comment_count` and `threads.version` as the same
        comments posted one by one would leave them. The server must be stopped; the schema
        must exist (`townsquare migrate`) and the site too (`townsquare site add`).
        `import_s` covers rendering and inserting; `render_s` is the rendering alone."""
        if mode != "sql":
            raise SystemExit(f"townsquare adapter: bulk_seed mode {mode!r} not supported (only 'sql')")
        if not self.db:
            raise SystemExit("townsquare adapter: bulk_seed needs --adapter-opt db=URL")
        from sqlalchemy import bindparam, func, insert, select, text, update

        from townsquare.domain.render import render_markdown
        from townsquare.store.comments import recount_replies
        from townsquare.store.tables import comments, sites, threads

        engine = self._engine()
        t0 = time.perf_counter()
        try:
            with engine.begin() as conn:
                site_id = conn.execute(select(sites.c.id).where(sites.c.name == self.site)).scalar_one()
                next_id = (conn.execute(select(func.max(comments.c.id))).scalar() or 0) + 1
                base = time.time() - len(plan) - 60
                uris = list(dict.fromkeys(c["uri"] for c in plan))
                conn.execute(insert(threads), [
                    {"site_id": site_id, "uri": u, "title": f"Title {u}", "url": "", "closed": False,
                     "created": base - 1, "comment_count": 0, "version": 0} for u in uris])
                tids = dict(conn.execute(
                    select(threads.c.uri, threads.c.id).where(threads.c.site_id == site_id)).all())
                tops: dict[str, list[int]] = {u: [] for u in uris}
                per_thread: dict[int, int] = {}
                rows = []
                render_s = 0.0
                for n, c in enumerate(plan):
                    u = c["uri"]
                    cid = next_id + n
                    parent = tops[u][(n * 7919) % len(tops[u])] if c["reply"] and tops[u] else None
                    if parent is None:
                        tops[u].append(cid)
                    r0 = time.perf_counter()
                    html = render_markdown(c["text"])
                    render_s += time.perf_counter() - r0
                    tid = tids[u]
                    per_thread[tid] = per_thread.get(tid, 0) + 1
                    rows.append({
                        "id": cid, "thread_id": tid, "parent_id": parent, "author_name": c["author"],
                        "author_email": None, "author_website": None, "author_key": None, "ip_hash": None,
                        "text": c["text"], "quote": None, "html": html, "status": "published",
                        "created": base + n, "edited": None, "likes": 0, "dislikes": 0, "moderation": None,
                    })
                for k in range(0, len(rows), 10_000):
                    conn.execute(insert(comments), rows[k:k + 10_000])
                recount_replies(conn, list(per_thread))  # as posting them would have kept them
                conn.execute(
                    update(threads).where(threads.c.id == bindparam("tid")).values(
                        comment_count=threads.c.comment_count + bindparam("n"),
                        version=threads.c.version + bindparam("n")),
                    [{"tid": tid, "n": n} for tid, n in per_thread.items()])
                if conn.dialect.name == "postgresql":  # explicit ids: move the sequence past them
                    conn.execute(text("SELECT setval(pg_get_serial_sequence('comments', 'id'), "
                                      "(SELECT MAX(id) FROM comments))"))
            elapsed = time.perf_counter() - t0
            with engine.connect() as conn:
                n_rows = conn.execute(select(func.count()).select_from(comments)).scalar_one()
        finally:
            engine.dispose()
        return {"import_s": round(elapsed, 2), "render_s": round(render_s, 2), "db_rows": n_rows,
                "method": "direct SQL into Townsquare's tables (html rendered by townsquare.domain.render), "
                          "one transaction"}

