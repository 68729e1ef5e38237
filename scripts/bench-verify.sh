#!/usr/bin/env bash
# Verification and cards at a municipality's size (release build; SQLite unless DATABASE_URL):
#  1. `zhifa loadtest verify` against `zhifa serve` on a register of OFFICERS officers (91,230
#     give about 73,450 certificates): GET /api/v1/verify/{number} for random numbers over 32
#     kept-alive connections, then /healthz the same way (the ratio), then POST /api/v1/verify
#     with 1,000 numbers, one call at a time;
#  2. offline verification of one payload (`zhifa verify-qr --repeat`), Ed25519 and SM2;
#  3. cards: a city of CITY officers (12,720 give about 8,241 valid certificates), every one with
#     a photo, printed into A4 sheets (`zhifa cards print --unit SY`), and one card alone.
# Usage: scripts/bench-verify.sh [officers] [city-officers] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
OFFICERS="${1:-91230}"
CITY="${2:-12720}"
SECONDS_EACH="${3:-15}"
. scripts/bench-common.sh

echo "== register: $OFFICERS officers"
fresh verify
"$BIN" demo-data --officers "$OFFICERS" --certificates | grep -E "^执法证"
# the load generator's own address must not be limited: it is one client
ZHIFA_VERIFY_RATE_LIMIT=0 ZHIFA_API_KEY_RATE_LIMIT=0 ZHIFA_BIND=127.0.0.1:18084 "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
until curl -sf http://127.0.0.1:18084/healthz >/dev/null; do sleep 0.05; done
"$BIN" loadtest verify --url http://127.0.0.1:18084 --connections 32 --seconds "$SECONDS_EACH" --batches 300

echo "== offline verification of one payload"
mkdir -p "$WORK/offline"
curl -sf http://127.0.0.1:18084/api/v1/keys >"$WORK/offline/keys.json"
curl -sf http://127.0.0.1:18084/api/v1/status-list >"$WORK/offline/list.json"
TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$ZHIFA_ADMIN_PASSWORD\"}" http://127.0.0.1:18084/api/v1/auth/token | jq -r .token)
NUMBER=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18084/api/v1/certificates?state=%E6%9C%89%E6%95%88" | jq -r '.items[0].number')
LINK=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18084/api/v1/certificates/$NUMBER/qr" | jq -r .link)
echo "Ed25519 (status list of $(jq .size "$WORK/offline/list.json") bits):"
"$BIN" verify-qr "$LINK" --keys "$WORK/offline/keys.json" --status-list "$WORK/offline/list.json" --repeat 2000 | head -2
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
ZHIFA_SIGNING_ALGORITHM=sm2 ZHIFA_VERIFY_RATE_LIMIT=0 ZHIFA_BIND=127.0.0.1:18084 "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
until curl -sf http://127.0.0.1:18084/healthz >/dev/null; do sleep 0.05; done
curl -sf http://127.0.0.1:18084/api/v1/keys >"$WORK/offline/keys.json"
curl -sf http://127.0.0.1:18084/api/v1/status-list >"$WORK/offline/list.json"
LINK=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18084/api/v1/certificates/$NUMBER/qr" | jq -r .link)
echo "SM2 with SM3:"
"$BIN" verify-qr "$LINK" --keys "$WORK/offline/keys.json" --status-list "$WORK/offline/list.json" --repeat 500 | head -2
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

echo "== cards: a city of $CITY officers, every one with a photo"
fresh cards
"$BIN" demo-data --officers "$CITY" --certificates --photos SY | grep -E "^执法证|^示例证件照"
export ZHIFA_CARD_SUPERVISOR="吉林省人民政府监制"
t0=$(secs)
/usr/bin/time -f "peak memory %M KB" "$BIN" cards print "$WORK/city.pdf" --unit SY --layout a4
t1=$(secs)
printf "A4 sheets of the whole city (whole command): %s s, %s MB\n" "$(since "$t0" "$t1")" "$(du -m "$WORK/city.pdf" | cut -f1)"
# one card over the API, the server warm: 20 requests, median and worst
ZHIFA_BIND=127.0.0.1:18085 "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
until curl -sf http://127.0.0.1:18085/healthz >/dev/null; do sleep 0.05; done
TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$ZHIFA_ADMIN_PASSWORD\"}" http://127.0.0.1:18085/api/v1/auth/token | jq -r .token)
ONE=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18085/api/v1/certificates?state=%E6%9C%89%E6%95%88" | jq -r '.items[0].number')
for i in $(seq 1 20); do
  curl -s -o "$WORK/one.pdf" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"numbers\":[\"$ONE\"],\"layout\":\"card\"}" http://127.0.0.1:18085/api/v1/cards
done >"$WORK/one.txt"
echo "non-200 answers: $(grep -vc '^200 ' "$WORK/one.txt" || true)"
sort -k2 -n "$WORK/one.txt" | awk '{t[NR]=$2} END {printf "one card with its photo (POST /api/v1/cards): median %.0f ms, worst %.0f ms\n", t[int((NR+1)/2)]*1000, t[NR]*1000}'
printf "one card PDF: %s bytes\n" "$(stat -c %s "$WORK/one.pdf")"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
