#!/usr/bin/env bash
# Side-by-side benchmark: Townsquare against Isso 0.14 and the constant-response ceiling, in one run.
#
#   bash bench/run.sh [PHASE...]    PHASE: isso limit base scale ratios (default: all, in that order)
#
#   isso    ../shared/bench/peer_isso.sh install base scale: Isso 0.14 in its own venv, the same
#           scenarios (results in $WORK/isso.jsonl)
#   limit   ../shared/bench/limit.sh install gen uvicorn: the same-size thread body served as a
#           constant by uvicorn (2 workers) — what no real server can beat ($WORK/limit.jsonl)
#   base    $ROUNDS x: fresh SQLite DB, start Townsquare, fixture, a_read, c_counts, b_write
#           (+ the *_wrk cross-checks when wrk is installed); stop
#   notox   $ROUNDS x: fresh SQLite DB with the toxicity model off in the bench site's rules,
#           b_write only ($WORK/townsquare_notox.jsonl)
#   scale   $SCALE_ROUNDS x: fresh DB, d_seed_direct (100,000 comments by direct SQL, server
#           stopped), start Townsquare, $SCALE_SCENARIOS; stop
#   ratios  bench/ratios.py: Townsquare/Isso and Townsquare/ceiling against the targets
#
# Knobs (environment): WORK (default /tmp/townsquare-bench), PORT (Townsquare, 8470),
# ISSO_PORT (8480), LIMIT_PORT (8491), ROUNDS (1), SCALE_ROUNDS (1), DURATION (seconds per
# measured loop, overrides every scenario's `duration`; unset: the scenario file's values),
# QUIET_WAIT (up to this many seconds per scenario waiting for other processes to go quiet, 60),
# SCALE_SCENARIOS (d_read_big_c1,d_read_big_c4,d_counts_big), ISSO_PHASES ("install base scale"),
# WORKERS (Townsquare worker processes, 2).
#
# Loopback only. Every server is started in the background and stopped by the PID recorded at
# start (TERM, then KILL after 10 s; its worker PIDs recorded at start get KILL if still alive),
# also on error or Ctrl-C. Every load loop is bounded in time and count (scenarios.json); every
# wait loop here is bounded too. Rate limits are switched off for the benchmark server only
# (TOWNSQUARE_RATE_LIMITS=off); the bench site raises the moderation pipeline's per-author and
# per-address limits, which all-from-127.0.0.1 load would otherwise trip.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench" && pwd)}
WORK=${WORK:-/tmp/townsquare-bench}
PORT=${PORT:-8470}
ISSO_PORT=${ISSO_PORT:-8480}
LIMIT_PORT=${LIMIT_PORT:-8491}
ROUNDS=${ROUNDS:-1}
SCALE_ROUNDS=${SCALE_ROUNDS:-1}
DURATION=${DURATION:-}
QUIET_WAIT=${QUIET_WAIT:-60}
SCALE_SCENARIOS=${SCALE_SCENARIOS:-d_read_big_c1,d_read_big_c4,d_counts_big}
ISSO_PHASES=${ISSO_PHASES:-install base scale}
WORKERS=${WORKERS:-2}
PY=$ROOT/.venv/bin/python
TS=$ROOT/.venv/bin/townsquare
ADAPTER=$ROOT/bench/adapters/townsquare.py
RAW=$WORK/townsquare.jsonl
BASE_URL=http://127.0.0.1:$PORT
SITE_SETTINGS='{"moderation_rules": {"author_rate": 1000000, "ip_rate": 1000000, "min_submit_seconds": 0, "repeat_window": 0}}'
# The same with the toxicity model switched off in the site's rules (phase notox).
NOTOX_SETTINGS='{"moderation_rules": {"author_rate": 1000000, "ip_rate": 1000000, "min_submit_seconds": 0, "repeat_window": 0, "toxicity": false}}'
EXTRA=()
[ -n "$DURATION" ] && EXTRA=(--set "duration=$DURATION")

SERVER_PID=""
WORKER_PIDS=""
DBDIR=""
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

fresh_db() {  # [site settings]
  DBDIR=$(mktemp -d "$WORK/db.XXXXXX")
  DB_URL="sqlite:///$DBDIR/townsquare.db"
  "$TS" migrate --db "$DB_URL" >/dev/null
  "$TS" site add bench --origin '*' --db "$DB_URL" --settings "${1:-$SITE_SETTINGS}" >/dev/null
  log "fresh database $DB_URL"
}

start_server() {
  [ -n "$SERVER_PID" ] && { log "server already running"; return 1; }
  if ss -ltnH "sport = :$PORT" 2>/dev/null | grep -q .; then
    log "port $PORT is already in use by another process; choose another PORT"; return 1
  fi
  log "starting Townsquare ($WORKERS workers, rate limits off) on $BASE_URL"
  (cd "$DBDIR" && exec env TOWNSQUARE_RATE_LIMITS=off "$TS" serve --host 127.0.0.1 --port "$PORT" \
      --workers "$WORKERS" --db "$DB_URL") > "$DBDIR/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if curl -fsS --max-time 2 "$BASE_URL/healthz" >/dev/null 2>&1; then
      WORKER_PIDS=$(ps -o pid= --ppid "$SERVER_PID" | tr -s ' \n' ' ')
      log "Townsquare up: master $SERVER_PID, children $WORKER_PIDS"
      # The first post loads the toxicity model in each worker: do it before anything is timed.
      for i in $(seq 1 $((WORKERS * 4))); do
        curl -fsS --max-time 60 -o /dev/null -H 'content-type: application/json' "$BASE_URL/api/v1/comments" \
          -d "{\"site\":\"bench\",\"uri\":\"/warmup\",\"text\":\"warm-up comment $i\",\"author\":{\"name\":\"warmup\"}}" || true
      done
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { log "server died, see $DBDIR/server.log"; tail -20 "$DBDIR/server.log" >&2; SERVER_PID=""; return 1; }
    sleep 0.2
  done
  log "server did not answer within 60 s"; stop_server; return 1
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    log "stopping Townsquare master $SERVER_PID"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    for p in $WORKER_PIDS; do   # only the children recorded at start, if they are still ours
      if kill -0 "$p" 2>/dev/null && grep -qE 'townsquare|multiprocessing' "/proc/$p/cmdline" 2>/dev/null; then
        kill -KILL "$p" 2>/dev/null || true
      fi
    done
    SERVER_PID=""; WORKER_PIDS=""
  fi
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

load() {  # run-label scenario-list [results file]
  local run=$1 only=$2 out=${3:-$RAW}
  local pidopt=()
  [ -n "$SERVER_PID" ] && pidopt=(--server-pid "$SERVER_PID")
  local cmd=("$PY" "$SHARED/load.py" run --base-url "$BASE_URL" --adapter "$ADAPTER"
    --adapter-opt "db=$DB_URL" --label townsquare --run "$run" --only "$only" --out "$out"
    --quiet-wait "$QUIET_WAIT" "${pidopt[@]}" "${EXTRA[@]}")
  echo "${cmd[*]}" >> "$WORK/commands.log"
  "${cmd[@]}"
}

phase_isso() {
  log "Isso 0.14: $ISSO_PHASES"
  local extra="" raw=$WORK/isso.jsonl results=$WORK/isso_results.md
  [ -n "$DURATION" ] && extra="--set duration=$DURATION"
  # (one environment prefix: its assignments apply left to right, so WORK must not feed RAW)
  # shellcheck disable=SC2086
  WORK=$WORK/peer PORT=$ISSO_PORT ROUNDS=$ROUNDS SCALE_ROUNDS=$SCALE_ROUNDS QUIET_WAIT=$QUIET_WAIT \
    SCALE_SCENARIOS=$SCALE_SCENARIOS EXTRA=$extra RAW=$raw RESULTS=$results \
    "$SHARED/peer_isso.sh" $ISSO_PHASES
}

phase_limit() {
  log "ceiling: constant response from uvicorn"
  local extra="" raw=$WORK/limit.jsonl results=$WORK/limit_results.md
  [ -n "$DURATION" ] && extra="--set duration=$DURATION"
  WORK=$WORK/limit UVICORN_PORT=$LIMIT_PORT ROUNDS=$ROUNDS QUIET_WAIT=$QUIET_WAIT QUIET_SECS=4 \
    WRK_DURATION=${DURATION:-20} EXTRA=$extra RAW=$raw RESULTS=$results \
    "$SHARED/limit.sh" install gen uvicorn
}

phase_base() {
  local sc="fixture,a_read,c_counts,b_write"
  command -v wrk >/dev/null && sc="fixture,a_read,a_read_wrk,c_counts,c_counts_wrk,b_write"
  for r in $(seq 1 "$ROUNDS"); do
    fresh_db; start_server
    load "r$r" "$sc"
    stop_server
  done
}

phase_notox() {  # posting with the toxicity model switched off in the site's rules
  for r in $(seq 1 "$ROUNDS"); do
    fresh_db "$NOTOX_SETTINGS"; start_server
    load "r$r" b_write "$WORK/townsquare_notox.jsonl"
    stop_server
  done
}

phase_scale() {
  for r in $(seq 1 "$SCALE_ROUNDS"); do
    fresh_db
    load "r$r" d_seed_direct
    start_server
    load "r$r" "$SCALE_SCENARIOS"
    stop_server
  done
}

phase_ratios() {
  "$PY" "$ROOT/bench/ratios.py" --townsquare "$RAW" --notox "$WORK/townsquare_notox.jsonl" \
    --isso "$WORK/isso.jsonl" --limit "$WORK/limit.jsonl" \
    | tee "$WORK/ratios.md"
  log "ratios in $WORK/ratios.md; full tables: $SHARED/load.py report $RAW $WORK/isso.jsonl $WORK/limit.jsonl"
}

mkdir -p "$WORK"
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(isso limit base notox scale ratios)
for ph in "${phases[@]}"; do
  case $ph in
    isso|limit|base|notox|scale|ratios) "phase_$ph" ;;
    *) echo "unknown phase $ph (isso limit base notox scale ratios)" >&2; exit 2 ;;
  esac
done
