#!/usr/bin/env bash
# Exam day on this machine (release build): N candidates in one session against one `zhifa serve`,
# on SQLite and on PostgreSQL. All start within 60 s, save an answer every 10 s each for 60 s,
# hand in within 60 s; the load generator then checks every acknowledged answer in the database.
# Usage: scripts/loadtest-exam.sh [candidates] [sqlite|postgres|both]
# KILL_AFTER=S: SIGKILL the server S seconds into the run and start it again at once; the
# generator's final check then shows whether every acknowledged answer survived.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
WHICH="${2:-both}"
PG="${ZHIFA_TEST_PG:-postgres://postgres@127.0.0.1:5432}"
cargo build --release --locked -q
BIN="$PWD/target/release/zhifa"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
export ZHIFA_LOG=warn ZHIFA_ADMIN_PASSWORD='Bench-Pass-2026'
ulimit -n 65536 2>/dev/null || true

run() {
  local name="$1"
  echo "== $name: $N candidates"
  # demo rosters hold some auxiliary and non-serving staff, who may not sit the exam
  "$BIN" demo-data --officers $((N * 3 / 2)) >/dev/null
  "$BIN" exam demo --candidates "$N" --tickets tickets.csv --minutes 30
  ZHIFA_BIND=127.0.0.1:18082 "$BIN" serve >serve.log 2>&1 &
  echo $! >server.pid
  until curl -sf http://127.0.0.1:18082/healthz >/dev/null; do sleep 0.05; done
  local killer=""
  if [ -n "${KILL_AFTER:-}" ]; then
    (
      sleep "$KILL_AFTER"
      kill -9 "$(cat server.pid)"
      echo "== SIGKILL at ${KILL_AFTER} s; restarting"
      ZHIFA_BIND=127.0.0.1:18082 "$BIN" serve >>serve.log 2>&1 &
      echo $! >server.pid
      until curl -sf http://127.0.0.1:18082/healthz >/dev/null; do sleep 0.05; done
      echo "== serving again"
    ) &
    killer=$!
  fi
  "$BIN" loadtest exam --tickets tickets.csv --url http://127.0.0.1:18082 --ramp 60 --answering 60 --interval 10 || true
  if [ -n "$killer" ]; then wait "$killer" 2>/dev/null || true; fi
  kill "$(cat server.pid)" 2>/dev/null || true
  sleep 1
}

if [ "$WHICH" != postgres ]; then
  (export ZHIFA_DATA_DIR="$WORK/sqlite"; unset DATABASE_URL; run SQLite)
fi
if [ "$WHICH" != sqlite ]; then
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS zhifa_loadtest WITH (FORCE)" -qc "CREATE DATABASE zhifa_loadtest"
  (export ZHIFA_DATA_DIR="$WORK/pg" DATABASE_URL="$PG/zhifa_loadtest"; run PostgreSQL)
fi
