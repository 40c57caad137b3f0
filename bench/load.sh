#!/usr/bin/env bash
# Load benchmark: the demo data served by a release build, measured with wrk
# at 64 connections on `GET /api/v1/teams/platform/oncall` and the team rota
# page. Needs wrk (apt-get install -y wrk) and the local Postgres.
#
#   bash bench/load.sh            # 15 s per endpoint
#   DURATION=30s bash bench/load.sh
#
# It uses its own database (rota_bench, recreated each run) and port 8099,
# sends traffic only to 127.0.0.1, and stops the server when done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${DURATION:-15s}
PORT=${PORT:-8099}
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rota_bench}
export ROTA_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${DATABASE_URL##*/}" >/dev/null

target/release/rota serve --demo 2>/tmp/rota-bench.log &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$BASE/readyz" >/dev/null || { echo "the server did not start; see /tmp/rota-bench.log" >&2; exit 1; }

token=$(target/release/rota token create --email alex@example.com --label bench)

# Sign in through the form to get a session cookie for the page.
jar=$(mktemp)
csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fs -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&email=alex%40example.com&password=rota-demo-password&next=/" "$BASE/login"
cookie=$(awk '$6 == "rota_session" { print $6 "=" $7 }' "$jar")
rm -f "$jar"

echo "== GET /api/v1/teams/platform/oncall (64 connections, $DURATION)"
wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$BASE/api/v1/teams/platform/oncall" \
  | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
echo "== GET /teams/platform (64 connections, $DURATION)"
wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $cookie" "$BASE/teams/platform" \
  | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
