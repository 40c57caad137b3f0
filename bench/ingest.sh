#!/usr/bin/env bash
# Ingestion benchmark: pages per second and latency through the webhook
# endpoints, with wrk at 32 connections.
#  1. distinct pages: POST /api/v1/teams/platform/pages, each with a new
#     dedup key, fired at times spread over the last seven weeks of the
#     demo's rota (nights, weekends and working hours alike), each with a
#     responder, so recovery days are derived as they would be;
#  2. duplicates: the Alertmanager sample posted again and again.
#
#   bash bench/ingest.sh           # 15 s each
#   DURATION=30s bash bench/ingest.sh
#
# Uses its own database (rota_bench, recreated) and port 8099, sends traffic
# only to 127.0.0.1, and stops the server when done. Needs wrk.
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pages-lua.sh"

manager=$("$ROTA_BIN" token create --email alex@example.com --label bench)
hook=$(curl -fs -H "Authorization: Bearer $manager" -H 'content-type: application/json' \
  -d '{"label": "bench"}' "$BASE/api/v1/teams/platform/integration-tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

lua="$scratch/request.lua"
write_pages_lua "$lua" "$hook"

echo "== distinct pages: POST /api/v1/teams/platform/pages (32 connections, $DURATION)"
wrk -t2 -c32 -d"$DURATION" --latency -s "$lua" "$BASE" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
echo "   pages stored: $(psql -tA "$DATABASE_URL" -c 'SELECT count(*) FROM pages')," \
  "recovery days: $(psql -tA "$DATABASE_URL" -c 'SELECT count(*) FROM recovery_days')"

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
