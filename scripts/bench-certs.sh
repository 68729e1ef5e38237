#!/usr/bin/env bash
# The certificates register at a municipality's size (SQLite, release build): `zhifa demo-data
# --officers N --certificates` makes a roster and its register, `zhifa export certificates` writes
# it to XLSX, and `zhifa import certificates` reads that file into a fresh database holding the
# same roster (same seed, same ID numbers): the import a bureau moving to zhifa runs.
# Usage: scripts/bench-certs.sh [officers]   (DATABASE_URL=postgres://…/any for PostgreSQL: two
# throwaway databases are made next to it)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-73450}"
cargo build --release --locked -q
BIN="$PWD/target/release/zhifa"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export ZHIFA_LOG=warn
TIME="/usr/bin/time"
[ -x "$TIME" ] || { apt-get install -y -qq time >/dev/null 2>&1 || true; }
PG_BASE="${DATABASE_URL:-}"
unset DATABASE_URL
db() { # the database URL for $1 (a, b): a SQLite file under $WORK, or a fresh PostgreSQL database
  if [ -n "$PG_BASE" ]; then
    local base="${PG_BASE%/*}"
    psql "$base/postgres" -qc "DROP DATABASE IF EXISTS zhifa_bench_certs_$1 WITH (FORCE)" -qc "CREATE DATABASE zhifa_bench_certs_$1" >&2
    echo "$base/zhifa_bench_certs_$1"
  else
    echo "sqlite://$WORK/$1/data/zhifa.db"
  fi
}
mkdir -p "$WORK/a/data" "$WORK/b/data"
A="$(db a)"; B="$(db b)"
echo "== roster and register, $N officers"
(cd "$WORK/a" && ZHIFA_DATA_DIR="$WORK/a/data" DATABASE_URL="$A" "$BIN" demo-data --officers "$N" --certificates)
echo "== export"
(cd "$WORK/a" && ZHIFA_DATA_DIR="$WORK/a/data" DATABASE_URL="$A" "$TIME" -f "export: %e s wall, peak %M KB" "$BIN" export certificates certs.xlsx)
ls -la "$WORK/a/certs.xlsx" | awk '{print "file: " $5 " bytes"}'
echo "== the same roster in a fresh database, then the import"
(cd "$WORK/b" && ZHIFA_DATA_DIR="$WORK/b/data" DATABASE_URL="$B" "$BIN" demo-data --officers "$N" >/dev/null)
(cd "$WORK/b" && ZHIFA_DATA_DIR="$WORK/b/data" DATABASE_URL="$B" "$TIME" -f "import: %e s wall, peak %M KB" "$BIN" import certificates "$WORK/a/certs.xlsx")
