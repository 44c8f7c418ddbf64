"""Import benchmark: a generated Disqus export into SQLite, against Isso's own Disqus importer.

    .venv/bin/python bench/import_bench.py [--comments 1000000] [--threads 10000]
                                           [--isso-venv /tmp/isso-import-venv] [--isso-timeout 3600]

Generates a Disqus XML export (threads first, then posts; about a third of the posts are replies,
a fifth of the authors have no email), then runs, each in its own process on a fresh database:
- `townsquare import disqus FILE --site bench` (the check pass and the load, as a user runs it);
- `isso -c CFG import --empty-id -t disqus FILE` (Isso 0.14 in its own venv; install it with
  `python3 -m venv /tmp/isso-import-venv && /tmp/isso-import-venv/bin/pip install isso==0.14.0`).
Prints wall time and peak memory (max RSS of the process) of each, and the ratio.
Targets: Townsquare under 2 minutes and 300 MB for 1,000,000 comments.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 120
TARGET_MB = 300
WORDS = ("the council vote budget minister report said would not this that with from readers election "
         "police hospital school river bridge tax strike court judge market price water energy army "
         "peace talks border village city mayor street protest union farmers weather storm festival "
         "Grüße Москва 東京 café naïve — “quoted” &").split()


def generate(path: Path, comments: int, threads: int, seed: int = 6) -> None:
    rng = random.Random(seed)
    start = datetime(2014, 1, 1, tzinfo=timezone.utc).timestamp()
    recent: list[list[int]] = [[] for _ in range(threads)]  # last few post ids per thread, for replies
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
                'xmlns:dsq="http://disqus.com/disqus-internals">\n'
                '  <category dsq:id="1"><forum>bench</forum><title>General</title><isDefault>true</isDefault></category>\n')
        for t in range(threads):
            f.write(f'  <thread dsq:id="{t + 1}">\n    <id/>\n    <forum>bench</forum>\n    <category dsq:id="1"/>\n'
                    f'    <link>https://bench.example/articles/{t + 1}/</link>\n'
                    f'    <title>Article {t + 1}: {escape(" ".join(rng.choices(WORDS, k=6)))}</title>\n'
                    f'    <createdAt>{_iso(start + t * 600)}</createdAt>\n'
                    f'    <isClosed>{"true" if t % 50 == 0 else "false"}</isClosed>\n    <isDeleted>false</isDeleted>\n'
                    '  </thread>\n')
        for c in range(comments):
            t = rng.randrange(threads)
            parent = rng.choice(recent[t]) if recent[t] and rng.random() < 0.35 else None
            author = rng.randrange(50_000)
            email = f"reader{author}@mail.example" if author % 5 else ""
            body = escape(" ".join(rng.choices(WORDS, k=rng.randint(8, 60))))
            f.write(f'  <post dsq:id="{c + 1}">\n    <id/>\n'
                    f'    <message><![CDATA[<p>{body}</p><p>{body[:80]}</p>]]></message>\n'
                    f'    <createdAt>{_iso(start + 6_000_000 + c * 30)}</createdAt>\n'
                    f'    <isDeleted>{"true" if c % 97 == 0 else "false"}</isDeleted>\n'
                    f'    <isSpam>{"true" if c % 89 == 0 else "false"}</isSpam>\n'
                    f'    <author><email>{email}</email><name>Reader {author}</name>'
                    f'<isAnonymous>{"false" if email else "true"}</isAnonymous></author>\n'
                    f'    <ipAddress>10.{author % 256}.{c % 256}.1</ipAddress>\n'
                    f'    <thread dsq:id="{t + 1}"/>\n'
                    + (f'    <parent dsq:id="{parent}"/>\n' if parent else "")
                    + '  </post>\n')
            recent[t] = (recent[t] + [c + 1])[-8:]
        f.write("</disqus>\n")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def measure(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None, cwd: Path | None = None) -> dict:
    """Wall time and peak RSS of one child process (killed when it runs past `timeout`)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return {"seconds": None, "timed_out": timeout, "peak_mb": usage.ru_maxrss / 1024,
                    "cpu_seconds": usage.ru_utime + usage.ru_stime}
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{stderr[-2000:]}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime}


def run_townsquare(file: Path, work: Path) -> dict:
    db = work / "townsquare.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    setup = (
        "import sys\n"
        "from townsquare.store import sites as site_store\n"
        "from townsquare.store.db import make_engine, migrate\n"
        "engine = make_engine(sys.argv[1])\n"
        "migrate(engine)\n"
        "with engine.begin() as conn:\n"
        "    site_store.create(conn, 'bench', 'Bench', [], {})\n"
    )
    subprocess.run([sys.executable, "-c", setup, url], check=True, env=_env())
    command = ("import sys, typer; from townsquare.importers.cli import import_command;"
               "app = typer.Typer(); app.command()(import_command); app()")
    result = measure([sys.executable, "-c", command, "disqus", str(file), "--site", "bench", "--db", url],
                     timeout=3600, env=_env() | {"COLUMNS": "100"})
    result["db_mb"] = db.stat().st_size / 1e6
    return result


def run_isso(file: Path, work: Path, venv: Path, timeout: float) -> dict | None:
    isso = venv / "bin" / "isso"
    if not isso.exists():
        print(f"Isso not found at {isso}; skipping the comparison.")
        return None
    db = work / "isso.db"
    db.unlink(missing_ok=True)
    cfg = work / "isso.cfg"
    cfg.write_text(f"[general]\ndbpath = {db}\nhost = https://bench.example/\n")
    # Without --empty-id Isso imports nothing from threads whose <id> is empty (isso#135).
    result = measure([str(isso), "-c", str(cfg), "import", "--empty-id", "-t", "disqus", str(file)],
                     timeout=timeout, cwd=work)
    with sqlite3.connect(db) as conn:
        result["imported"] = conn.execute("SELECT count(*) FROM comments").fetchone()[0]
    return result


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT / "src")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--comments", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=10_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/townsquare-import-bench"))
    ap.add_argument("--isso-venv", type=Path, default=Path("/tmp/isso-import-venv"))
    ap.add_argument("--isso-timeout", type=float, default=3600, help="seconds before Isso's import is stopped")
    ap.add_argument("--no-isso", action="store_true", help="only measure Townsquare")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    file = args.work / f"disqus-{args.comments}-{args.threads}.xml"
    if not file.exists():
        print(f"generating {file} …", flush=True)
        generate(file, args.comments, args.threads)
    print(f"file: {file} ({file.stat().st_size / 1e6:,.0f} MB, {args.comments:,} comments, {args.threads:,} threads)")

    ours = run_townsquare(file, args.work)
    scale = args.comments / 1_000_000
    print(f"townsquare import: {ours['seconds']:.1f} s ({args.comments / ours['seconds']:,.0f} comments/s), "
          f"CPU {ours['cpu_seconds']:.1f} s, peak memory {ours['peak_mb']:.0f} MB, database {ours['db_mb']:,.0f} MB")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall time above CPU time means the process waited for a core)")
    print(f"  targets for 1,000,000 comments: < {TARGET_SECONDS} s (this run scaled: {ours['seconds'] / scale:.0f} s), "
          f"< {TARGET_MB} MB")
    if args.no_isso:
        return
    theirs = run_isso(file, args.work, args.isso_venv, args.isso_timeout)
    if theirs is None:
        return
    if theirs["seconds"] is None:
        done = theirs["imported"]
        print(f"isso import: stopped after {theirs['timed_out']:.0f} s with {done:,} of {args.comments:,} comments "
              f"stored, CPU {theirs['cpu_seconds']:.1f} s, peak memory {theirs['peak_mb']:.0f} MB")
        if done:
            projected = theirs["timed_out"] * args.comments / done
            print(f"  at that rate the whole file takes about {projected:,.0f} s: "
                  f"ratio (isso time / townsquare time) about {projected / ours['seconds']:.0f}x")
    else:
        print(f"isso import: {theirs['seconds']:.1f} s, CPU {theirs['cpu_seconds']:.1f} s, "
              f"peak memory {theirs['peak_mb']:.0f} MB")
        print(f"ratio (isso time / townsquare time): {theirs['seconds'] / ours['seconds']:.1f}x; "
              f"memory ratio: {theirs['peak_mb'] / ours['peak_mb']:.1f}x")


if __name__ == "__main__":
    main()
