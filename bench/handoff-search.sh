#!/usr/bin/env bash
# Handoff search benchmark: 10,000 handoffs in one team, searched through
#  1. the search query alone, with pgbench (1 client, the query exactly as
#     `db::handoffs::search` runs it, snippets included), and
#  2. the API, GET /api/v1/teams/platform/handoffs?q=…&limit=…, timed with curl one
#     request at a time (latency, not throughput), from a release build.
# Three searches: a common word, a word in one handoff of ten, and a rare
# two-word phrase; each for the best 20 (the default) and the best 50 (the
# most one call returns). The goal: under 50 ms.
#
#   bash bench/handoff-search.sh
#   N=20000 REQUESTS=200 PROFILE=debug bash bench/handoff-search.sh
#
# Uses its own database (rota_bench_handoffs, recreated) and port 8098,
# sends traffic only to 127.0.0.1, and stops the server when done. Needs
# the local Postgres, psql, pgbench and curl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${N:-10000}
REQUESTS=${REQUESTS:-100}
PROFILE=${PROFILE:-release}
PORT=${PORT:-8098}
BASE="http://127.0.0.1:$PORT"
SERVER=${BENCH_DATABASE_SERVER:-postgres://postgres@127.0.0.1:5432}
export DATABASE_URL="$SERVER/rota_bench_handoffs"
export ROTA_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
bin="${CARGO_TARGET_DIR:-target}/$PROFILE/rota"

if [ "$PROFILE" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS rota_bench_handoffs" 2>/dev/null
"$bin" migrate >/dev/null 2>&1
"$bin" demo >/dev/null 2>&1
echo "== generating $N handoffs for team platform"
psql "$DATABASE_URL" -q -v team=platform -v n="$N" -f bench/handoff-search.sql

team_id=$(psql -tA "$DATABASE_URL" -c "SELECT id FROM teams WHERE slug = 'platform'")
queries=("disk" "kafka" "zeppelin exporter")
for q in "${queries[@]}"; do
  matches=$(psql -tA "$DATABASE_URL" -v q="$q" <<< "SELECT count(*) FROM handoffs WHERE search @@ websearch_to_tsquery('english', :'q')")
  echo "== SQL: \"$q\" ($matches matches), pgbench 1 client, 5 s"
  for lim in 20 50; do
    printf '   best %s: ' "$lim"
    pgbench -n -M extended -c 1 -T 5 -D team_id="$team_id" -D q="$q" -D lim="$lim" -f bench/handoff-search-query.sql "$DATABASE_URL" \
      | grep -E "latency average"
  done
done

"$bin" serve 2>/tmp/rota-bench-handoffs.log &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
token=$("$bin" token create --email alex@example.com --label bench)

for q in "${queries[@]}"; do
  encoded=$(printf '%s' "$q" | sed 's/ /+/g')
  for lim in 20 50; do
    url="$BASE/api/v1/teams/platform/handoffs?q=$encoded&limit=$lim"
    count=$(curl -fs -H "Authorization: Bearer $token" "$url" | grep -o '"week_start"' | wc -l)
    times=$(for _ in $(seq "$REQUESTS"); do
      curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$url"
    done | sort -n)
    p50=$(echo "$times" | awk -v n="$REQUESTS" 'NR == int(n * 0.5) { printf "%.1f", $1 * 1000 }')
    p95=$(echo "$times" | awk -v n="$REQUESTS" 'NR == int(n * 0.95) { printf "%.1f", $1 * 1000 }')
    max=$(echo "$times" | tail -n1 | awk '{ printf "%.1f", $1 * 1000 }')
    echo "== API: \"$q\", best $lim ($count results), $REQUESTS requests one at a time: p50 ${p50} ms, p95 ${p95} ms, max ${max} ms"
  done
done
