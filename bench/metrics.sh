#!/usr/bin/env bash
# Metrics benchmark: a team with two years of rotation and 20,000 pages
# (bench/metrics-data.sql), served by a release build. Measures the team
# metrics page (default 12 weeks, and 52 weeks) and the API, one request
# at a time, so the figure is the server's time per request.
#
#   bash bench/metrics.sh            # 10 s per measurement
#   DURATION=30s bash bench/metrics.sh
#
# Uses its own database (rota_bench, recreated each run) and port 8099,
# sends traffic only to 127.0.0.1, and stops the server when done.
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"
DURATION=${DURATION:-10s}

export ROTA_PASSWORD=bench-password-long-enough
"$ROTA_BIN" user create --email bench-admin@example.com --name "Bench Admin" --admin >/dev/null
token=$("$ROTA_BIN" token create --email bench-admin@example.com --label bench)
call() { curl -fs -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }

call -X POST "$BASE/api/v1/teams" -d '{"slug": "bench", "name": "Bench", "timezone": "Europe/London"}'
people=()
for i in 1 2 3 4 5 6; do
  call -X POST "$BASE/api/v1/users" -d "{\"email\": \"b$i@example.com\", \"name\": \"Bench $i\", \"timezone\": \"Europe/London\"}"
  call -X PUT "$BASE/api/v1/teams/bench/members/b$i@example.com" -d '{"role": "member"}'
  people+=("\"b$i@example.com\"")
done
start=$(date -u -d '730 days ago' +%F)
call -X POST "$BASE/api/v1/teams/bench/rotations" \
  -d "{\"slug\": \"weekly\", \"name\": \"Weekly\", \"start_date\": \"$start\", \"participants\": [$(IFS=,; echo "${people[*]}")]}"
psql "$DATABASE_URL" -q -f bench/metrics-data.sql

jar="$scratch/cookies"
csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fs -b "$jar" -c "$jar" -o /dev/null \
  -d "csrf=$csrf&email=bench-admin%40example.com&password=$ROTA_PASSWORD&next=/" "$BASE/login"
cookie=$(awk '$6 == "rota_session" { print $6 "=" $7 }' "$jar")

measure() {
  local label=$1; shift
  echo "== $label (1 connection, $DURATION)"
  wrk -t1 -c1 -d"$DURATION" --latency "$@" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket errors"
}
measure "GET /teams/bench/metrics (12 weeks)" -H "Cookie: $cookie" "$BASE/teams/bench/metrics"
measure "GET /teams/bench/metrics?weeks=52" -H "Cookie: $cookie" "$BASE/teams/bench/metrics?weeks=52"
measure "GET /api/v1/teams/bench/metrics (12 weeks)" -H "Authorization: Bearer $token" "$BASE/api/v1/teams/bench/metrics"
measure "GET /teams/bench/metrics/pay.csv?weeks=52" -H "Cookie: $cookie" "$BASE/teams/bench/metrics/pay.csv?weeks=52"
