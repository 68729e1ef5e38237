#!/usr/bin/env bash
# The register's heavy days at a municipality's size (release build, SQLite by default):
#  1. the annual review of every valid certificate: `zhifa review run YEAR --dry-run` (preview),
#     then `zhifa review run YEAR` (preview and apply), on the demo register with its review
#     history and this year's first reviews;
#  2. the dashboard page (GET /) with that register: 30 requests, median and worst;
#  3. bulk issuance from a batch's results: ISSUE candidates who passed (the exam sitting itself
#     is written straight into the database: this measures the issuance, not the exam), preview
#     over the API, then the confirmation until its job has finished.
# Usage: scripts/bench-reviews.sh [officers] [issue]   (DATABASE_URL=postgres://… for PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-73450}"
ISSUE="${2:-10000}"
YEAR="$(date +%Y)"
. scripts/bench-common.sh

echo "== roster, register and review history: $N officers"
fresh review
"$BIN" demo-data --officers "$N" --certificates
echo "== annual review $YEAR"
t0=$(secs); "$BIN" review run "$YEAR" --dry-run | grep -E "^待审|^（只预览" ; t1=$(secs)
printf "preview (dry run): %s s\n" "$(since "$t0" "$t1")"
t0=$(secs); "$BIN" review run "$YEAR" | grep -E "^待审|^已审定"; t1=$(secs)
printf "preview and apply: %s s\n" "$(since "$t0" "$t1")"

echo "== dashboard with this register"
ZHIFA_BIND=127.0.0.1:18083 "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
until curl -sf http://127.0.0.1:18083/healthz >/dev/null; do sleep 0.05; done
JAR="$WORK/cookies"
csrf=$(curl -s -c "$JAR" -b "$JAR" http://127.0.0.1:18083/login | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -s -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "username=admin" --data-urlencode "password=$ZHIFA_ADMIN_PASSWORD" --data-urlencode "csrf=$csrf" http://127.0.0.1:18083/login
for i in $(seq 1 30); do
  curl -s -o /dev/null -b "$JAR" -w '%{http_code} %{time_total}\n' http://127.0.0.1:18083/
done >"$WORK/dash.txt"
echo "non-200 answers: $(grep -vc '^200 ' "$WORK/dash.txt" || true)"
sort -k2 -n "$WORK/dash.txt" | awk '{t[NR]=$2} END {printf "dashboard: median %.0f ms, worst %.0f ms (%d requests)\n", t[int((NR+1)/2)]*1000, t[NR]*1000, NR}'
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

echo "== bulk issuance: $ISSUE certificates from a batch's results"
fresh issue
"$BIN" demo-data --officers "$N" >/dev/null
# demo rosters hold some auxiliary and non-serving staff: ask for more candidates than needed
"$BIN" exam demo --candidates $((ISSUE * 5 / 4)) --tickets "$WORK/tickets.csv" --minutes 30 >/dev/null
SQL="INSERT INTO exam_attempts (candidate_id, started_at, deadline, submitted_at, closed_by, score, passed, start_audited)
     SELECT id, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'candidate', 90, true, true FROM exam_candidates"
if [ -n "$PG_BASE" ]; then psql "$DATABASE_URL" -qc "$SQL"; else sqlite3 "$ZHIFA_DATA_DIR/zhifa.db" "$SQL"; fi
ZHIFA_BIND=127.0.0.1:18083 "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
until curl -sf http://127.0.0.1:18083/healthz >/dev/null; do sleep 0.05; done
API=http://127.0.0.1:18083/api/v1
TOKEN=$(curl -s "$API/auth/token" -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$ZHIFA_ADMIN_PASSWORD\"}" | jq -r .token)
if [ -n "$PG_BASE" ]; then BATCH=$(psql "$DATABASE_URL" -tAc "SELECT max(id) FROM exam_batches");
else BATCH=$(sqlite3 "$ZHIFA_DATA_DIR/zhifa.db" "SELECT max(id) FROM exam_batches"); fi
t0=$(secs)
curl -s -H "Authorization: Bearer $TOKEN" "$API/exam/batches/$BATCH/certificates" >"$WORK/preview.json"
t1=$(secs)
jq "{officer_ids: [.will_issue[:$ISSUE][].officer_id]}" "$WORK/preview.json" >"$WORK/confirm.json"
printf "preview: %s s (%s eligible, %s refused)\n" "$(since "$t0" "$t1")" "$(jq '.will_issue|length' "$WORK/preview.json")" "$(jq '.refused|length' "$WORK/preview.json")"
t0=$(secs)
curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d @"$WORK/confirm.json" "$API/exam/batches/$BATCH/certificates" >"$WORK/issued.json"
JOB=$(jq -r .job.id "$WORK/issued.json")
until [ "$(curl -s -H "Authorization: Bearer $TOKEN" "$API/jobs/$JOB" | jq -r .state)" = "完成" ]; do sleep 0.1; done
t1=$(secs)
curl -s -H "Authorization: Bearer $TOKEN" "$API/jobs/$JOB" | jq -c '{state, total, done, skipped}'
printf "issued %s certificates in %s s (confirmation to finished job)\n" "$(jq '.officer_ids|length' "$WORK/confirm.json")" "$(since "$t0" "$t1")"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
