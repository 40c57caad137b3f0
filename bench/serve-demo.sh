# Sourced by the benchmarks: builds a release Rota, serves the demo on its
# own database (rota_bench, recreated) and port 8099, and stops it on exit.
# Sends traffic only to 127.0.0.1. Needs wrk and the local Postgres.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${DURATION:-15s}
PORT=${PORT:-8099}
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rota_bench}
export ROTA_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
# The benchmarks measure Rota, not its per-token limits (which answer 429).
export ROTA_TOKEN_RATE=1000000 ROTA_TOKEN_BURST=1000000 ROTA_INTEGRATION_RATE=1000000 ROTA_INTEGRATION_BURST=1000000

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
# ROTA_BIN runs a binary built elsewhere (say, of another commit, to compare).
if [[ -z "${ROTA_BIN:-}" ]]; then
  cargo build --release --quiet
  ROTA_BIN="${CARGO_TARGET_DIR:-target}/release/rota"
fi
psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${DATABASE_URL##*/}" >/dev/null

"$ROTA_BIN" serve --demo >"/tmp/rota-bench-$PORT.log" 2>&1 &
server=$!
scratch=$(mktemp -d)
# The server's resident memory (VmRSS now, VmHWM its peak), in MB.
rss() { awk -v f="${2:-VmRSS}" '$1 == f":" { printf "%.0f", $2 / 1024 }' "/proc/${1:-$server}/status" 2>/dev/null; }
stop_server() {
  echo "== server memory: peak $(rss "$server" VmHWM) MB, now $(rss "$server") MB (aim: peak at most 128 MB)"
  kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$scratch"
}
trap stop_server EXIT
for _ in $(seq 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$BASE/readyz" >/dev/null || { echo "the server did not start; see /tmp/rota-bench-$PORT.log" >&2; exit 1; }
