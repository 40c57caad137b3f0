#!/usr/bin/env bash
# Read benchmark (issue 17, targets 1 and 5): the who's-on-call API, GET
# /api/v1/me, the team rota page and the Now page, each against an axum
# hello world (bench/hello.rs) built with the same axum and tokio and run
# beside Rota. Rounds interleave hello and Rota, so every ratio is taken
# under the same load of the machine.
#
#   bash bench/reads.sh                      # 3 rounds of 5 s per endpoint
#   ROUNDS=5 DURATION=10s bash bench/reads.sh
#
# Aims: on-call ≥ 0.4× hello with p99 ≤ 5 ms; rota page ≥ 0.1× hello; Now
# page ≥ the rota page with no non-2xx; /me ≥ 20,000 req/s (64 connections).
# Uses the database rota_bench_reads (recreated), ports 18097 (Rota) and
# 18096 (hello), traffic to 127.0.0.1 only; stops both servers on exit.
PORT=${PORT:-18097}
HELLO_PORT=${HELLO_PORT:-18096}
BENCH_DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rota_bench_reads}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
if [[ -z "${HELLO_BIN:-}" ]]; then
  (cd "$(dirname "${BASH_SOURCE[0]}")/.." && cargo build --release --quiet --example hello)
  HELLO_BIN="${CARGO_TARGET_DIR:-target}/release/examples/hello"
fi
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"

HELLO_LISTEN="127.0.0.1:$HELLO_PORT" "$HELLO_BIN" &
hello=$!
trap 'kill $hello 2>/dev/null; wait $hello 2>/dev/null || true; stop_server' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HELLO_PORT/" >/dev/null 2>&1 && break; sleep 0.1; done

token=$("$ROTA_BIN" token create --email alex@example.com --label bench-reads)
jar="$scratch/cookies"
csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fs -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&email=alex%40example.com&password=rota-demo-password&next=/" "$BASE/login"
cookie=$(awk '$6 == "rota_session" { print $6 "=" $7 }' "$jar")
[[ -n "$cookie" ]] || { echo "could not sign in" >&2; exit 1; }

# name|url|header
targets=(
  "hello|http://127.0.0.1:$HELLO_PORT/|X-Bench: 1"
  "oncall|$BASE/api/v1/teams/platform/oncall|Authorization: Bearer $token"
  "me|$BASE/api/v1/me|Authorization: Bearer $token"
  "rota|$BASE/teams/platform|Cookie: $cookie"
  "now|$BASE/|Cookie: $cookie"
)
for t in "${targets[@]}"; do
  IFS='|' read -r name url header <<<"$t"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$header" "$url")
  [[ "$code" == 200 ]] || { echo "$name answers $code, not 200" >&2; exit 1; }
done

# One wrk run: prints "req/s p99_ms non2xx".
run() {
  local out rps p99 bad
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$2" "$1")
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' <<<"$out")
  bad=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  echo "$rps $p99 ${bad:-0}"
}

declare -A sum bad
echo "== $ROUNDS rounds of $DURATION per endpoint, $CONNECTIONS connections, wrk -t2; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  line="round $round:"
  declare -A rps=()
  for t in "${targets[@]}"; do
    IFS='|' read -r name url header <<<"$t"
    read -r r p n < <(run "$url" "$header")
    rps[$name]=$r
    sum[$name]=$(awk -v a="${sum[$name]:-0}" -v b="$r" 'BEGIN { print a + b }')
    bad[$name]=$(( ${bad[$name]:-0} + n ))
    line+=" $name $(printf '%.0f' "$r")/s p99 ${p}ms"
  done
  echo "$line"
  awk -v h="${rps[hello]}" -v o="${rps[oncall]}" -v r="${rps[rota]}" -v n="${rps[now]}" \
    'BEGIN { printf "  ratios: oncall %.2f× hello (aim 0.4), rota %.3f× hello (aim 0.1), now %.2f× rota (aim 1)\n", o / h, r / h, n / r }'
done
awk -v h="${sum[hello]}" -v o="${sum[oncall]}" -v m="${sum[me]}" -v r="${sum[rota]}" -v n="${sum[now]}" -v k="$ROUNDS" \
  'BEGIN { printf "== mean: hello %.0f/s, oncall %.0f/s (%.2f×), me %.0f/s (aim 20000), rota %.0f/s (%.3f×), now %.0f/s (%.2f× rota)\n", h / k, o / k, o / h, m / k, r / k, r / h, n / k, n / r }'
echo "== non-2xx: oncall ${bad[oncall]}, me ${bad[me]}, rota ${bad[rota]}, now ${bad[now]} (aim 0)"
