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
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"

token=$("$ROTA_BIN" token create --email alex@example.com --label bench)

# Sign in through the form to get a session cookie for the page.
jar="$scratch/cookies"
csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fs -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&email=alex%40example.com&password=rota-demo-password&next=/" "$BASE/login"
cookie=$(awk '$6 == "rota_session" { print $6 "=" $7 }' "$jar")

echo "== GET /api/v1/teams/platform/oncall (64 connections, $DURATION)"
wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$BASE/api/v1/teams/platform/oncall" \
  | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
echo "== GET /teams/platform (64 connections, $DURATION)"
wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $cookie" "$BASE/teams/platform" \
  | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
