# Shared by the bench scripts that run on SQLite or PostgreSQL (sourced, from the repository
# root): tools, the release build, a work directory, fresh databases and a stopwatch.
# With DATABASE_URL=postgres://…/any, `fresh NAME` makes a throwaway PostgreSQL database.
for t in curl jq sqlite3; do command -v "$t" >/dev/null || apt-get install -y -qq "$t" >/dev/null; done
cargo build --release --locked -q
BIN="$PWD/target/release/zhifa"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export ZHIFA_LOG=warn ZHIFA_ADMIN_PASSWORD='Bench-Pass-2026'
PG_BASE="${DATABASE_URL:-}"

fresh() { # fresh database named $1 in $WORK/$1
  mkdir -p "$WORK/$1"
  export ZHIFA_DATA_DIR="$WORK/$1/data"
  if [ -n "$PG_BASE" ]; then
    local base="${PG_BASE%/*}"
    psql "$base/postgres" -qc "DROP DATABASE IF EXISTS zhifa_bench_$1 WITH (FORCE)" -qc "CREATE DATABASE zhifa_bench_$1"
    export DATABASE_URL="$base/zhifa_bench_$1"
  fi
}
secs() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
