#!/usr/bin/env bash
# Who is on call during an alert storm: GET /api/v1/teams/platform/oncall
# with wrk at 64 connections, first quiet, then while webhook deliveries
# arrive at a steady rate (distinct pages as in bench/ingest.sh, each with
# a responder, so recovery days are derived). Prints both throughputs and
# their ratio; Rota aims to keep at least 80%.
#
#   bash bench/oncall-during-ingest.sh             # 10 s each, 100 pages/s
#   DURATION=20s RATE=200 bash bench/oncall-during-ingest.sh
#   ROTA_BIN=/path/to/rota bash bench/oncall-during-ingest.sh   # another build
#
# The deliveries are paced (wrk's delay()) rather than flat out: on a small
# machine an unpaced flood takes the CPU itself, which no cache can give back.
# Uses its own database (BENCH_DATABASE_URL, default rota_bench, recreated)
# and port (PORT, default 8099), sends traffic
# only to 127.0.0.1, and stops everything it starts on exit. Needs wrk.
RATE=${RATE:-100}
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pages-lua.sh"

token=$("$ROTA_BIN" token create --email alex@example.com --label bench)
hook=$(curl -fs -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"label": "bench"}' "$BASE/api/v1/teams/platform/integration-tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n "$hook" ]] || { echo "could not create an integration token" >&2; exit 1; }

# Each connection waits 125 ms between pages, so the rate holds however
# long a page takes to answer (a page waits for its commit): with 8
# connections and 8 ms, 20 ms answers made 1000/s into ~300/s.
connections=$((RATE / 8 < 8 ? 8 : RATE / 8))
write_pages_lua "$scratch/pages.lua" "$hook" $((connections * 1000 / RATE))

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
oncall() {
  wrk -t1 -c64 -d"$DURATION" -H "Authorization: Bearer $token" "$BASE/api/v1/teams/platform/oncall" \
    | tee "$scratch/oncall.out" | rps
}

echo "== quiet: GET /api/v1/teams/platform/oncall (64 connections, $DURATION)"
quiet=$(oncall)
grep -E "Non-2xx|Socket errors" "$scratch/oncall.out" || true
echo "   $quiet requests/s"

seconds=${DURATION%s}
echo "== the same while POST /api/v1/teams/platform/pages arrives at about $RATE/s ($connections connections)"
wrk -t1 -c"$connections" -d"$((seconds + 2))s" -s "$scratch/pages.lua" "$BASE" > "$scratch/ingest.out" &
ingest=$!
trap 'kill $ingest $server 2>/dev/null || true; wait $ingest $server 2>/dev/null || true; rm -rf "$scratch"' EXIT
sleep 1
busy=$(oncall)
grep -E "Non-2xx|Socket errors" "$scratch/oncall.out" || true
wait $ingest
echo "   $busy requests/s; pages delivered: $(rps < "$scratch/ingest.out")/s" \
  "$(grep -E "Non-2xx|Socket errors" "$scratch/ingest.out" | tr -s ' ' || true)"
echo "== during deliveries / quiet: $(awk -v b="$busy" -v q="$quiet" 'BEGIN { printf "%.0f%%", 100 * b / q }') (aim: at least 80%)"
