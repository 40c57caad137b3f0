#!/usr/bin/env bash
# Organisation benchmark (issue 17, target 4): an organisation of TEAMS
# teams (500), ten people each (5,000), a weekly rotation per team over five
# years (about 288k shifts), 2,000 pages per team (1M) and a handoff per
# past week (130k); then, from a release build, at 16 connections:
#   1. team metrics for 52 weeks (the page and the API)       aim ≥ 1,000 req/s
#   2. handoff search "disk" in one team                       aim p50 ≤ 10 ms
#   3. the admins' overview, 52 weeks, 50 teams a page         aim ≤ 100 ms
#   4. the hourly schedule job with every rotation to extend   aim ≤ 1 s
#   5. the on-call directory of every team (issue 14)          aim ≤ 20 ms
#
#   bash bench/org.sh                  # build (under 10 minutes) and measure
#   KEEP=1 bash bench/org.sh           # measure the organisation built before
#   TEAMS=50 DURATION=5s bash bench/org.sh
#
# Uses its own database (rota_bench_org) and port 8097, sends traffic only
# to 127.0.0.1, and stops the server when done. Needs the local Postgres,
# psql, curl and wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TEAMS=${TEAMS:-500}
DURATION=${DURATION:-10s}
PORT=${PORT:-8097}
BASE="http://127.0.0.1:$PORT"
SERVER=${BENCH_DATABASE_SERVER:-postgres://postgres@127.0.0.1:5432}
DB=${BENCH_DATABASE:-rota_bench_org}
export DATABASE_URL="$SERVER/$DB"
export ROTA_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
export ROTA_TOKEN_RATE=1000000 ROTA_TOKEN_BURST=1000000 ROTA_INTEGRATION_RATE=1000000 ROTA_INTEGRATION_BURST=1000000
export ROTA_PASSWORD=bench-password-long-enough
ADMIN=bench-admin@example.com

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
if [[ -z "${ROTA_BIN:-}" ]]; then
  cargo build --release --quiet
  ROTA_BIN="${CARGO_TARGET_DIR:-target}/release/rota"
fi

server=
scratch=$(mktemp -d)
rss() { awk -v f="${2:-VmRSS}" '$1 == f":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }
stop_server() {
  if [[ -n "$server" ]]; then
    echo "== server memory: peak $(rss "$server" VmHWM) MB, now $(rss "$server") MB"
    kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
  fi
  server=
}
trap 'stop_server; rm -rf "$scratch"' EXIT
start_server() {
  "$ROTA_BIN" serve 2>>/tmp/rota-bench-org.log &
  server=$!
  for _ in $(seq 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fs "$BASE/readyz" >/dev/null || { echo "the server did not start; see /tmp/rota-bench-org.log" >&2; exit 1; }
}

built=$(psql -tA "$DATABASE_URL" -c "SELECT count(*) FROM teams" 2>/dev/null || echo 0)
if [[ "${KEEP:-}" == 1 && "$built" -gt 0 ]]; then
  echo "== KEEP=1: measuring the organisation already in $DB ($built teams)"
  start_server
  token=$("$ROTA_BIN" token create --email "$ADMIN" --label bench)
else
  started=$(date +%s)
  psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
  "$ROTA_BIN" migrate >/dev/null
  "$ROTA_BIN" user create --email "$ADMIN" --name "Bench Admin" --admin >/dev/null
  echo "== building: $TEAMS teams, $((TEAMS * 10)) people"
  psql "$DATABASE_URL" -q -v teams="$TEAMS" -v admin="$ADMIN" -f bench/org-people.sql
  start_server
  token=$("$ROTA_BIN" token create --email "$ADMIN" --label bench)
  # Each team's rotation through the API, so its shifts are what Rota
  # writes: from five years ago to the horizon, ten people each.
  start=$(date -u -d '1820 days ago' +%F)
  echo "== building: $TEAMS rotations through the API (from $start)"
  seq "$TEAMS" | xargs -P 4 -I{} bash -c '
    i={}; p=""
    for k in $(seq $(( (i - 1) * 10 + 1 )) $(( i * 10 ))); do p="$p${p:+,}\"p$k@example.com\""; done
    curl -fs -o /dev/null -H "Authorization: Bearer $0" -H "content-type: application/json" \
      -X POST "$1/api/v1/teams/team-$i/rotations" \
      -d "{\"slug\": \"weekly\", \"name\": \"Weekly\", \"start_date\": \"$2\", \"participants\": [$p]}" \
      || { echo "rotation of team-$i failed" >&2; exit 255; }' "$token" "$BASE" "$start"
  echo "== building: pages, recovery days, handoffs"
  psql "$DATABASE_URL" -q -f bench/org-data.sql
  echo "== built in $(( $(date +%s) - started )) s (aim: under 600 s)"
fi

jar="$scratch/cookies"
csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fs -b "$jar" -c "$jar" -o /dev/null \
  -d "csrf=$csrf&email=bench-admin%40example.com&password=$ROTA_PASSWORD&next=/" "$BASE/login"
cookie=$(awk '$6 == "rota_session" { print $6 "=" $7 }' "$jar")

measure() {
  local label=$1; shift
  echo "== $label (16 connections, $DURATION)"
  wrk -t2 -c16 -d"$DURATION" --latency "$@" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" | sed 's/^/   /'
}
# p50/p95 of REQUESTS sequential requests (latency, not throughput), in ms.
latency() {
  local n=${REQUESTS:-50} times
  times=$(for _ in $(seq "$n"); do curl -fs -o /dev/null -w '%{time_total}\n' "$@"; done | sort -n)
  echo "$times" | awk -v n="$n" 'NR == int(n * 0.5) { p50 = $1 } NR == int(n * 0.95) { p95 = $1 }
    END { printf "p50 %.1f ms, p95 %.1f ms\n", p50 * 1000, p95 * 1000 }'
}

echo "== load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
curl -fs -o /dev/null -H "Cookie: $cookie" "$BASE/teams/team-1/metrics?weeks=52"
measure "1. GET /teams/team-1/metrics?weeks=52 (aim ≥ 1,000 req/s)" -H "Cookie: $cookie" "$BASE/teams/team-1/metrics?weeks=52"
measure "1. GET /api/v1/teams/team-1/metrics?weeks=52" -H "Authorization: Bearer $token" "$BASE/api/v1/teams/team-1/metrics?weeks=52"

search="$BASE/api/v1/teams/team-1/handoffs?q=disk"
echo "== 2. handoff search \"disk\" in team-1, one at a time (aim p50 ≤ 10 ms): $(latency -H "Authorization: Bearer $token" "$search")"
echo "   (for scale, GET /api/v1/me the same way: $(latency -H "Authorization: Bearer $token" "$BASE/api/v1/me"))"
measure "2. handoff search \"disk\"" -H "Authorization: Bearer $token" "$search"

pages=$(( (TEAMS + 49) / 50 ))
echo "== 3. admin overview, 52 weeks, each of its $pages pages once (first read, then again):"
for round in first again; do
  for p in $(seq "$pages"); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "Cookie: $cookie" "$BASE/admin/metrics?weeks=52&page=$p"
  done | sort -n | awk -v r="$round" '{ t[NR] = $1 } END { printf "   %s: p50 %.0f ms, max %.0f ms\n", r, t[int((NR + 1) / 2)] * 1000, t[NR] * 1000 }'
done
page=$(( pages > 1 ? 2 : 1 ))
measure "3. GET /admin/metrics?weeks=52&page=$page (aim ≤ 100 ms)" -H "Cookie: $cookie" "$BASE/admin/metrics?weeks=52&page=$page"
echo "   bad page: $(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$BASE/admin/metrics?page=zero"), past the end: $(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$BASE/admin/metrics?page=$((pages + 1))")"
echo "   server memory after the overview: peak $(rss "$server" VmHWM) MB, now $(rss "$server") MB"

echo "== 5. the on-call directory, every team ($TEAMS), one at a time (aim p50 ≤ 20 ms):"
echo "   page /oncall: $(latency -H "Cookie: $cookie" "$BASE/oncall") ($(curl -fs -H "Cookie: $cookie" "$BASE/oncall" | wc -c) bytes)"
echo "   API /api/v1/oncall: $(latency -H "Authorization: Bearer $token" "$BASE/api/v1/oncall")"
stop_server

# The job with work to do: every rotation's last week removed first, so
# each one is extended by a week; then again, with nothing to do.
psql "$DATABASE_URL" -qc "DELETE FROM shifts s USING (SELECT version_id, max(week_index) AS w FROM shifts GROUP BY version_id) l
                          WHERE s.version_id = l.version_id AND s.week_index = l.w"
for round in "every rotation extended" "nothing to extend"; do
  t0=$(date +%s.%N)
  out=$("$ROTA_BIN" extend-schedules)
  echo "== 4. rota extend-schedules, $TEAMS rotations, $round: $(echo "$(date +%s.%N) - $t0" | bc) s ($out) (aim ≤ 1 s)"
done
