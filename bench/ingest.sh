#!/usr/bin/env bash
# Ingestion benchmark: pages per second and latency through the webhook
# endpoints, with wrk at 32 connections.
#  1. distinct pages: POST /api/v1/teams/platform/pages, each with a new
#     dedup key, fired at times spread over the last seven weeks of the
#     demo's rota (nights, weekends and working hours alike), each with a
#     responder, so recovery days are derived as they would be;
#  2. a storm: distinct pages all fired within one night hour, so one
#     responder gets every one (thousands in a run), and the rate as a
#     share of (1) (aim: at least 80%);
#  3. duplicates: the Alertmanager sample posted again and again.
#
#   bash bench/ingest.sh           # 15 s each
#   DURATION=30s bash bench/ingest.sh
#
# Uses its own database (BENCH_DATABASE_URL, default rota_bench, recreated)
# and port (PORT, default 8099), sends traffic
# only to 127.0.0.1, and stops the server when done. Needs wrk.
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pages-lua.sh"

manager=$("$ROTA_BIN" token create --email alex@example.com --label bench)
hook=$(curl -fs -H "Authorization: Bearer $manager" -H 'content-type: application/json' \
  -d '{"label": "bench"}' "$BASE/api/v1/teams/platform/integration-tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

lua="$scratch/request.lua"
write_pages_lua "$lua" "$hook"

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
echo "== distinct pages: POST /api/v1/teams/platform/pages (32 connections, $DURATION)"
wrk -t2 -c32 -d"$DURATION" --latency -s "$lua" "$BASE" > "$scratch/distinct.out"
grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" "$scratch/distinct.out"
# The recovery job derives within a second or so of the last page.
sleep 2
echo "   pages stored: $(psql -tA "$DATABASE_URL" -c 'SELECT count(*) FROM pages')," \
  "recovery days: $(psql -tA "$DATABASE_URL" -c 'SELECT count(*) FROM recovery_days')"

write_pages_lua "$lua" "$hook" 0 storm
echo "== storm: the same, every page fired within one night hour: one responder (32 connections, $DURATION)"
wrk -t2 -c32 -d"$DURATION" --latency -s "$lua" "$BASE" > "$scratch/storm.out"
grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" "$scratch/storm.out"
sleep 2
psql -tA "$DATABASE_URL" -c "SELECT '   storm pages of its busiest responder: ' || count(*) FROM pages
  WHERE dedup_key LIKE 'storm-%' GROUP BY responder_id ORDER BY count(*) DESC LIMIT 1"
echo "   storm / distinct: $(awk -v s="$(rps "$scratch/storm.out")" -v d="$(rps "$scratch/distinct.out")" \
  'BEGIN { printf "%.0f%%", 100 * s / d }') (aim: at least 80%)"

sample=$(tr -d '\n' < tests/fixtures/samples/alertmanager-firing.json)
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $hook"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$sample]]
LUA
echo "== duplicates: POST /api/v1/hooks/alertmanager, one body again and again (32 connections, $DURATION)"
wrk -t2 -c32 -d"$DURATION" --latency -s "$lua" "$BASE/api/v1/hooks/alertmanager" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
echo "   alertmanager pages stored: $(psql -tA "$DATABASE_URL" -c "SELECT count(*) FROM pages WHERE source = 'alertmanager'")"
