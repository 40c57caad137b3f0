#!/usr/bin/env bash
# Paging benchmark (issue 12): 1,000 pages firing within about a second
# across 50 teams (20 each), every person reached by a generic webhook to a
# local receiver (bench/paging_receiver.rs) that notes when each request
# arrives. Each team escalates to the primary at once and to the secondary
# after one minute. Measures:
#   1. from the page received (its escalation's start) to the first request
#      that tells its primary of it (alone or in a bundle)  aim p99 ≤ 1 s
#   2. how late the secondary's step is, from its due time to the request
#      that tells the secondary                              aim p99 ≤ 5 s
#   3. the server's memory before, after the burst and after the steps
#      (aim: flat, under 128 MB)
#
#   bash bench/paging.sh
#   PAGES=2000 bash bench/paging.sh
#
# Uses its own database (rota_bench_paging, recreated) and ports 8096 and
# 18097, sends traffic only to 127.0.0.1, and stops both servers when done.
# Needs the local Postgres, psql, curl, wrk and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TEAMS=50
PAGES=${PAGES:-1000}
PORT=${PORT:-8096}
RPORT=${RECEIVER_PORT:-18097}
BASE="http://127.0.0.1:$PORT"
SERVER=${BENCH_DATABASE_SERVER:-postgres://postgres@127.0.0.1:5432}
export DATABASE_URL="$SERVER/rota_bench_paging"
export ROTA_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
export ROTA_TOKEN_RATE=1000000 ROTA_TOKEN_BURST=1000000 ROTA_INTEGRATION_RATE=1000000 ROTA_INTEGRATION_BURST=1000000
export ROTA_OUTGOING_ALLOW_HOSTS="127.0.0.1:$RPORT"
ADMIN=bench-admin@example.com

for tool in wrk python3 psql curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
if [[ -z "${ROTA_BIN:-}" ]]; then
  cargo build --release --quiet --bins --example paging_receiver
  ROTA_BIN="${CARGO_TARGET_DIR:-target}/release/rota"
fi
RECEIVER_BIN="$(dirname "$ROTA_BIN")/examples/paging_receiver"

scratch=$(mktemp -d)
server= receiver=
rss() { awk -v f="${2:-VmRSS}" '$1 == f":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }
stop() {
  [[ -n "$server" ]] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
  [[ -n "$receiver" ]] && { kill "$receiver" 2>/dev/null; wait "$receiver" 2>/dev/null || true; }
  rm -rf "$scratch"
}
trap stop EXIT
[[ -n "${DEBUG:-}" ]] && trap 'cp -r "$scratch" /tmp/paging-scratch; stop' EXIT

psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS rota_bench_paging" >/dev/null
"$ROTA_BIN" migrate >/dev/null
ROTA_PASSWORD=bench-password-long-enough "$ROTA_BIN" user create --email "$ADMIN" --name "Bench Admin" --admin >/dev/null
psql "$DATABASE_URL" -q -v teams="$TEAMS" -v admin="$ADMIN" -f bench/org-people.sql

RECEIVER_LISTEN="127.0.0.1:$RPORT" RECEIVER_LOG="$scratch/received" "$RECEIVER_BIN" &
receiver=$!
"$ROTA_BIN" serve 2>>/tmp/rota-bench-paging.log &
server=$!
for _ in $(seq 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$BASE/readyz" >/dev/null || { echo "the server did not start; see /tmp/rota-bench-paging.log" >&2; exit 1; }
token=$("$ROTA_BIN" token create --email "$ADMIN" --label bench)

echo "== setting up $TEAMS teams: a rotation of ten, primary at once and secondary after a minute"
start=$(date -u -d '15 days ago' +%F)
seq "$TEAMS" | xargs -P 4 -I{} bash -c '
  i={}; p=""
  for k in $(seq $(( (i - 1) * 10 + 1 )) $(( i * 10 ))); do p="$p${p:+,}\"p$k@example.com\""; done
  curl -fs -o /dev/null -H "Authorization: Bearer $0" -H "content-type: application/json" \
    -X POST "$1/api/v1/teams/team-$i/rotations" \
    -d "{\"slug\": \"weekly\", \"name\": \"Weekly\", \"start_date\": \"$2\", \"participants\": [$p]}" \
    || { echo "rotation of team-$i failed" >&2; exit 255; }
  curl -fs -o /dev/null -H "Authorization: Bearer $0" -H "content-type: application/json" \
    -X PUT "$1/api/v1/teams/team-$i/escalation" \
    -d "{\"steps\": [{\"target\": \"primary\", \"after_minutes\": 0}, {\"target\": \"secondary\", \"after_minutes\": 1}], \"repeat\": 0}" \
    || { echo "escalation of team-$i failed" >&2; exit 255; }
  curl -fs -H "Authorization: Bearer $0" -H "content-type: application/json" \
    -X POST "$1/api/v1/teams/team-$i/integration-tokens" -d "{\"label\": \"bench\"}" \
    | sed -n "s/.*\"token\":\"\([^\"]*\)\".*/team-$i \1/p" | awk 1' "$token" "$BASE" "$start" > "$scratch/tokens"
made=$(wc -l < "$scratch/tokens")
[[ "$made" == "$TEAMS" ]] || { echo "only $made of $TEAMS teams were set up" >&2; exit 1; }
# Everyone's webhook to the receiver, confirmed (the confirmation round
# trip is measured by the tests, not here).
psql "$DATABASE_URL" -qc "INSERT INTO contact_methods (user_id, kind, label, target, secret, verified_at, created_at)
  SELECT id, 'webhook', 'bench', 'http://127.0.0.1:$RPORT/hook/' || id, 'bench-secret', now(), now()
  FROM users WHERE email LIKE 'p%@example.com'"

lua="$scratch/pages.lua"
{
  echo "local tokens = {}"
  awk '{ printf "tokens[#tokens + 1] = {\"%s\", \"%s\"}\n", $1, $2 }' "$scratch/tokens"
  cat <<LUA
local n, done, limit, shown = 0, 0, math.ceil($PAGES / 2), false
id = 0
local fired = os.date("!%Y-%m-%dT%H:%M:%SZ")
request = function()
  n = n + 1
  local t = tokens[(n % #tokens) + 1]
  local body = string.format('{"dedup_key": "bench-%d-%d", "summary": "bench page %d-%d", "fired_at": "%s", "notify": true}',
    id, n, id, n, fired)
  return wrk.format("POST", "/api/v1/teams/" .. t[1] .. "/pages",
    {["Authorization"] = "Bearer " .. t[2], ["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status ~= 201 and not shown then shown = true; io.stderr:write("first refusal: " .. status .. " " .. body .. "\n") end
  done = done + 1
  if done >= limit then wrk.thread:stop() end
end
setup_id = 0
setup = function(thread) setup_id = setup_id + 1; thread:set("id", setup_id) end
LUA
} > "$lua"

before=$(rss "$server")
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; server memory before: $before MB"
echo "== $PAGES pages across $TEAMS teams, 32 connections"
wrk -t2 -c32 -d30s --latency -s "$lua" "$BASE" | grep -E "requests in|Requests/sec|99%|Non-2xx|Socket errors" | sed 's/^/   /'
sleep 5
burst=$(rss "$server")
echo "   server memory after the burst: $burst MB"
echo "== waiting for the secondaries' step (a minute after each page)"
for _ in $(seq 24); do
  sleep 5
  left=$(psql -tA "$DATABASE_URL" -c "SELECT count(*) FROM escalations WHERE due_at IS NOT NULL")
  [[ "$left" == 0 ]] && break
done
sleep 3
after=$(rss "$server")

echo "   the pages arrived over $(psql -tA "$DATABASE_URL" -c "SELECT round(extract(epoch FROM max(started_at) - min(started_at))::numeric, 1) FROM escalations") s"
psql -tA -F $'\t' "$DATABASE_URL" -c "SELECT e.page_id, extract(epoch FROM e.started_at) * 1e6, m.step, m.user_id,
    extract(epoch FROM e.started_at + make_interval(mins => CASE m.step WHEN 0 THEN 0 ELSE 1 END)) * 1e6
  FROM escalations e JOIN page_messages m ON m.page_id = e.page_id
  JOIN pages p ON p.id = e.page_id
  WHERE p.dedup_key LIKE '%bench-%' AND m.state IN ('sent', 'delivered')" > "$scratch/steps"
python3 - "$scratch/steps" "$scratch/received" <<'PY'
import json, sys
steps = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
told = {}  # (page, person) -> first arrival (µs)
requests = 0
for line in open(sys.argv[2]):
    at, path, body = line.rstrip("\n").split("\t", 2)
    requests += 1
    person = path.rsplit("/", 1)[-1]
    try:
        b = json.loads(body)
    except ValueError:
        continue
    pages = [b["page"]] if isinstance(b.get("page"), dict) else []
    pages += [p for p in b.get("pages") or [] if isinstance(p, dict)]
    for p in pages:
        key = (str(p.get("id")), person)
        told.setdefault(key, (int(at), len(pages) > 1))
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * len(xs) + 0.5)) - 1))] if xs else float("nan")
first, late, missing, alone, bundled = [], [], 0, [], []
for page, started, step, user, due in steps:
    at = told.get((page, user))
    if at is None:
        missing += 1
        continue
    at, in_bundle = at
    if step == "0":
        first.append((at - float(started)) / 1e3)
        (bundled if in_bundle else alone).append(first[-1])
    else:
        late.append((at - float(due)) / 1e3)
pages = len({s[0] for s in steps})
print(f"   pages escalated: {pages}; provider requests: {requests}; steps never told: {missing}")
print(f"== 1. page received → first request to its primary: p50 {pct(first, .5):.0f} ms, "
      f"p99 {pct(first, .99):.0f} ms, max {max(first or [0]):.0f} ms (aim p99 ≤ 1,000 ms)")
print(f"   told alone: {len(alone)}, p50 {pct(alone, .5):.0f} ms, p99 {pct(alone, .99):.0f} ms; "
      f"in a bundle: {len(bundled)}, p50 {pct(bundled, .5):.0f} ms, p99 {pct(bundled, .99):.0f} ms")
print(f"== 2. secondary's step, due → told: p50 {pct(late, .5):.0f} ms, "
      f"p99 {pct(late, .99):.0f} ms, max {max(late or [0]):.0f} ms (aim p99 ≤ 5,000 ms)")
PY
echo "== 3. server memory: before $before MB, after the burst $burst MB, after the steps $after MB," \
  "peak $(rss "$server" VmHWM) MB (aim: flat, under 128 MB)"
