#!/usr/bin/env bash
# Repeatable measurements for the question bank (release build, this machine):
#   1. load the shipped bank into an empty database (SQLite, PostgreSQL)
#   2. import a 5,000-question XLSX in the bureau layout (SQLite, PostgreSQL)
#   3. blueprint feasibility + overlap for a 100-question blueprint over that 5,530-question bank,
#      through the API (POST /api/v1/bank/feasibility), 50 calls: median and slowest
# Usage: scripts/bench-bank.sh [questions]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-5000}"
PG="${ZHIFA_TEST_PG:-postgres://postgres@127.0.0.1:5432}"
cargo build --release --locked -q
BIN="$PWD/target/release/zhifa"
BANK="$PWD/question-bank"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
export ZHIFA_LOG=warn ZHIFA_ADMIN_PASSWORD='Bench-Pass-2026'

"$BIN" demo-data --questions "$N" --sheet bank.xlsx
ls -l bank.xlsx

for backend in sqlite postgres; do
  if [ "$backend" = sqlite ]; then
    export ZHIFA_DATA_DIR="$WORK/sqlite"; unset DATABASE_URL || true
  else
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS zhifa_bench_bank WITH (FORCE)" -qc "CREATE DATABASE zhifa_bench_bank"
    export ZHIFA_DATA_DIR="$WORK/pg" DATABASE_URL="$PG/zhifa_bench_bank"
  fi
  "$BIN" migrate >/dev/null
  echo "== $backend: shipped bank into an empty database"
  /usr/bin/time -f "wall %e s, peak RSS %M KB" "$BIN" import questions "$BANK" | tail -1
  echo "== $backend: $N-question XLSX"
  /usr/bin/time -f "wall %e s, peak RSS %M KB" "$BIN" import questions bank.xlsx | tail -1

  echo "== $backend: feasibility of a 100-question blueprint over the bank (50 calls)"
  ZHIFA_BIND=127.0.0.1:18081 "$BIN" serve >/dev/null 2>&1 &
  SERVER=$!
  until curl -sf http://127.0.0.1:18081/healthz >/dev/null; do sleep 0.05; done
  TOKEN=$(curl -sf -X POST http://127.0.0.1:18081/api/v1/auth/token -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"Bench-Pass-2026"}' | sed -E 's/.*"token":"([0-9a-f]+)".*/\1/')
  BODY='{"sections":[{"part":"公共法律知识","type":"单选","count":40,"points":1},{"part":"公共法律知识","type":"多选","count":20,"points":2},{"part":"公共法律知识","type":"判断","count":20,"points":1},{"part":"专业法律知识","category":"市场监管","type":"单选","count":10,"points":1},{"part":"专业法律知识","category":"市场监管","type":"判断","count":10,"points":1}],"difficulty_mix":[0,40,45,15,0]}'
  curl -sf -X POST http://127.0.0.1:18081/api/v1/bank/feasibility -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "$BODY" | head -c 300; echo
  for _ in $(seq 1 50); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST http://127.0.0.1:18081/api/v1/bank/feasibility \
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$BODY"
  done | sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, slowest %.1f ms\n", a[int((NR+1)/2)]*1000, a[NR]*1000}'
  kill $SERVER; wait $SERVER 2>/dev/null || true
done
