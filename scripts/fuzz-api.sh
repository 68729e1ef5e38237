#!/usr/bin/env bash
# API fuzzing gate: schemathesis against the OpenAPI document the service generates
# (GET /api/openapi.json), on a fresh SQLite database, signed in as the administrator.
# Fails on any 5xx, any answer whose status the document doesn't list for the operation, and
# any JSON body that doesn't match the documented schema. Bounded and reproducible: a fixed
# seed, at most $ZHIFA_FUZZ_EXAMPLES cases per operation and phase, a time budget.
#
# Not fuzzed, because they would end the fuzzer's own session or lock out its account in the
# middle of the run: DELETE /api/v1/auth/token, POST /api/v1/me/password,
# POST /api/v1/users/{id}/active, POST /api/v1/users/{id}/password. Everything else is.
#
# Usage: scripts/fuzz-api.sh   (needs python3 with venv and curl; installs schemathesis into
# ~/.cache). ZHIFA_FUZZ_SEED, ZHIFA_FUZZ_EXAMPLES, ZHIFA_FUZZ_MAX_TIME and ZHIFA_FUZZ_CHECKS
# (e.g. `all`) change the run; ZHIFA_FUZZ_DATABASE_URL=postgres://…/empty_db runs it on
# PostgreSQL instead (an empty database you made for it).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
seed="${ZHIFA_FUZZ_SEED:-20261122}"
examples="${ZHIFA_FUZZ_EXAMPLES:-50}"
budget="${ZHIFA_FUZZ_MAX_TIME:-300}"
checks="${ZHIFA_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}"
password='Fuzz-Gate-2026!' # the policy refuses one that contains the user name

echo "-- schemathesis $SCHEMATHESIS_VERSION"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/zhifa/schemathesis-$SCHEMATHESIS_VERSION"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "-- build (debug, as cargo test builds it)"
# `cargo test` unifies the dev-dependencies' features into the binary it builds; a plain
# `cargo build` would compile tokio, actix and zhifa a second time without them. After the
# test step this is a no-op.
cargo test --locked --no-run -q
bin="target/debug/zhifa"

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
echo "-- zhifa serve on $base (data in $work)"
env -u DATABASE_URL \
  ${ZHIFA_FUZZ_DATABASE_URL:+DATABASE_URL="$ZHIFA_FUZZ_DATABASE_URL"} \
  ZHIFA_CONFIG="$work/none.toml" \
  ZHIFA_DATA_DIR="$work/data" \
  ZHIFA_BIND="127.0.0.1:$port" \
  ZHIFA_ADMIN_PASSWORD="$password" \
  ZHIFA_LOG="${ZHIFA_LOG:-warn}" \
  "$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$work/server.log"
    echo "zhifa serve exited before answering"
    exit 1
  fi
  sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null

api() { # METHOD PATH [JSON] → the answer's body; fails on a non-2xx
  curl -fsS -X "$1" "$base$2" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+--data "$3"}
}
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

token="$(curl -fsS -X POST "$base/api/v1/auth/token" -H 'Content-Type: application/json' \
  --data "{\"username\": \"admin\", \"password\": \"$password\"}" | json "['token']")"

echo "-- seed: a unit, a sub-unit, an officer with a photo"
unit="$(api POST /api/v1/units '{"code": "FZ001", "name": "模糊测试市司法局", "region_code": "110101"}' | json "['id']")"
api POST /api/v1/units "{\"code\": \"FZ002\", \"name\": \"模糊测试区执法大队\", \"region_code\": \"110102\", \"parent_id\": $unit}" >/dev/null
officer="$(api POST /api/v1/officers "{\"name\": \"张三\", \"id_number\": \"110101198506151230\", \"unit_id\": $unit, \"employment_type\": \"行政编制\", \"post\": \"科员\"}" | json "['id']")"
python3 - "$work/photo.png" <<'PY'
import struct, sys, zlib
w, h = 100, 120  # the smallest photo the card accepts
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = b"".join(b"\x00" + b"\xee\xee\xee" * w for _ in range(h))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
curl -fsS -X PUT "$base/api/v1/officers/$officer/photo" -H "Authorization: Bearer $token" \
  -H 'Content-Type: image/png' --data-binary "@$work/photo.png"

echo "-- schemathesis run (seed $seed, $examples examples per operation, at most ${budget}s)"
started=$SECONDS
# (a hard bound rather than --max-time, under which schemathesis keeps fuzzing until it is spent)
# (run from the temporary directory: schemathesis keeps its replay cache in ./.schemathesis)
# (one worker: CPython 3.11's `ast` keeps its recursion counter per interpreter, not per thread,
#  so hypothesis describing strategies in two threads at once fails with "AST constructor
#  recursion depth mismatch" — a crash of the tool, not a finding)
(cd "$work" && timeout --signal=INT --kill-after=10 "$budget" \
  "$venv/bin/schemathesis" run "$base/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks "$checks" \
  --exclude-operation-id delete_token \
  --exclude-operation-id change_password \
  --exclude-operation-id set_active \
  --exclude-operation-id reset_password \
  --phases examples,coverage,fuzzing \
  --max-examples "$examples" \
  --seed "$seed" \
  --request-timeout 30 \
  --workers 1 \
  --suppress-health-check too_slow) \
  || {
    status=$?
    [ "$status" -eq 124 ] && echo "schemathesis did not finish within ${budget}s"
    echo "== server log (last 50 lines)"
    tail -n 50 "$work/server.log"
    exit "$status"
  }
echo "-- schemathesis passed in $((SECONDS - started))s"
