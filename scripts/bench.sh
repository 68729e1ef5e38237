#!/usr/bin/env bash
# Repeatable measurements for the roster (release build, this machine):
#   1. import a 73,450-row XLSX on SQLite and on PostgreSQL (wall time, peak memory)
#   2. roster search with 50 concurrent clients (requests/s, p99) on SQLite
#   3. `zhifa serve` start-up on an existing database (time until /healthz answers)
# Usage: scripts/bench.sh [officers]     (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-73450}"
PG="${ZHIFA_TEST_PG:-postgres://postgres@127.0.0.1:5432}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q
BIN="$PWD/target/release/zhifa"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
export ZHIFA_LOG=warn ZHIFA_ADMIN_PASSWORD='Bench-Pass-2026'

echo "== sheet: $N officers"
ZHIFA_DATA_DIR="$WORK/sqlite" "$BIN" demo-data --officers "$N" --sheet roster.xlsx
ZHIFA_DATA_DIR="$WORK/scratch" "$BIN" demo-data --officers "$N" --seed 7 --sheet roster2.xlsx >/dev/null
ls -l roster.xlsx roster2.xlsx

echo "== import on SQLite"
/usr/bin/time -f "wall %e s, peak RSS %M KB" env ZHIFA_DATA_DIR="$WORK/sqlite" "$BIN" import officers roster.xlsx | tail -3

echo "== import on PostgreSQL"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS zhifa_bench WITH (FORCE)" -qc "CREATE DATABASE zhifa_bench"
DATABASE_URL="$PG/zhifa_bench" "$BIN" demo-data --officers "$N" --sheet /dev/null >/dev/null
/usr/bin/time -f "wall %e s, peak RSS %M KB" env DATABASE_URL="$PG/zhifa_bench" "$BIN" import officers roster.xlsx | tail -3

serve_and_wait() {
  local t0 t1
  if curl -sf http://127.0.0.1:18080/healthz >/dev/null 2>&1; then
    echo "port 18080 is already serving: stop that server first" >&2
    exit 1
  fi
  t0=$(date +%s%N)
  env "$@" ZHIFA_BIND=127.0.0.1:18080 "$BIN" serve >/dev/null 2>&1 &
  until curl -sf http://127.0.0.1:18080/healthz >/dev/null; do sleep 0.005; done
  t1=$(date +%s%N)
  echo "ready in $(( (t1 - t0) / 1000000 )) ms"
}

bench_search() {
  local token unit
  token=$(curl -sf -XPOST http://127.0.0.1:18080/api/v1/auth/token -H 'content-type: application/json' \
    -d '{"username":"admin","password":"Bench-Pass-2026"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
  unit=$(curl -sf "http://127.0.0.1:18080/api/v1/units" -H "Authorization: Bearer $token" \
    | python3 -c 'import json,sys;u=[x for x in json.load(sys.stdin)["items"] if x["path"].count("/")==4];print(u[len(u)//2]["id"])')
  echo "-- name prefix (王), page of 50"
  wrk -t2 -c50 -d15s --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:18080/api/v1/officers?q=%E7%8E%8B&per_page=50" | grep -E "Requests/sec|99%|50%|Non-2xx"
  echo "-- unit filter (a department with its sub-units), page of 50"
  wrk -t2 -c50 -d15s --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:18080/api/v1/officers?unit_id=$unit&per_page=50" | grep -E "Requests/sec|99%|50%|Non-2xx"
}

# Other writes while a big import runs: the import plans outside the write lock and holds it
# only for its short write phase; a write that still finds the lock busy gets 503 + Retry-After.
writes_during_import() {
  local token unit t0 body
  token=$(curl -sf -XPOST http://127.0.0.1:18080/api/v1/auth/token -H 'content-type: application/json' \
    -d '{"username":"admin","password":"Bench-Pass-2026"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
  # a unit of its own to rename, so the import's rows are unaffected
  unit=$(curl -sf -XPOST "http://127.0.0.1:18080/api/v1/units" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"code\":\"BENCH$RANDOM\",\"name\":\"基准测试单位\",\"region_code\":\"220700\"}" \
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  t0=$(date +%s%N)
  curl -s -o import.json -w "%{http_code}" -XPOST -H "Authorization: Bearer $token" --data-binary @roster2.xlsx \
    "http://127.0.0.1:18080/api/v1/imports/officers?filename=roster2.xlsx&apply=true&skip_invalid=true" > import.status &
  local imp=$!
  : > writes.txt
  local i=0
  while kill -0 "$imp" 2>/dev/null; do
    i=$((i + 1))
    body="{\"name\":\"基准测试单位$i\"}"
    curl -s -o /dev/null -w "%{http_code} %{time_total}\n" -XPATCH -H "Authorization: Bearer $token" \
      -H 'content-type: application/json' -d "$body" "http://127.0.0.1:18080/api/v1/units/$unit" >> writes.txt
    sleep 0.2
  done
  wait "$imp" || true
  if [ "$(cat import.status)" != 200 ]; then
    echo "import answered $(cat import.status): $(head -c 300 import.json)"
  else
    echo "import (HTTP, $(python3 -c 'import json;r=json.load(open("import.json"));print(r["new_count"], "new,", r["update_count"], "updated")')): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  fi
  python3 - <<'PY'
import collections
rows = [l.split() for l in open("writes.txt") if l.strip()]
codes = collections.Counter(r[0] for r in rows)
times = sorted(float(r[1]) for r in rows)
print(f"unit renames during the import: {len(rows)}, statuses {dict(codes)}, "
      f"median {times[len(times)//2]*1000:.0f} ms, max {times[-1]*1000:.0f} ms" if rows else "no writes sent")
PY
}

echo "== serve on SQLite (existing database)"
serve_and_wait ZHIFA_DATA_DIR="$WORK/sqlite"
bench_search
echo "-- writes during a second $N-row import"
writes_during_import
kill %1 2>/dev/null || true; wait 2>/dev/null || true

echo "== serve on PostgreSQL (existing database)"
serve_and_wait DATABASE_URL="$PG/zhifa_bench"
bench_search
echo "-- writes during a second $N-row import"
writes_during_import
kill %1 2>/dev/null || true; wait 2>/dev/null || true
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS zhifa_bench WITH (FORCE)"
