#!/usr/bin/env bash
# Memory soak: ten minutes of mixed use (who is on call, the rota page,
# the Now page, pages arriving, a sign-in every few seconds) while the
# server's resident memory is sampled every 30 s. Aim: flat (the last
# samples no higher than the first ones after warm-up, give or take a few
# MB) and at most 128 MB throughout.
#
#   bash bench/soak.sh              # 10 minutes
#   SOAK=120 bash bench/soak.sh     # 2 minutes
#
# Uses its own database (rota_bench, recreated) and port 8099, sends traffic
# only to 127.0.0.1, and stops everything it starts. Needs wrk and curl.
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pages-lua.sh"
SOAK=${SOAK:-600}
EVERY=${EVERY:-30}

token=$("$ROTA_BIN" token create --email alex@example.com --label bench)
hook=$(curl -fs -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"label": "soak"}' "$BASE/api/v1/teams/platform/integration-tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
sign_in() {
  local jar=$1 csrf
  csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
  curl -s -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&email=alex%40example.com&password=rota-demo-password&next=/" "$BASE/login"
}
sign_in "$scratch/cookies"
cookie=$(awk '$6 == "rota_session" { print $6 "=" $7 }' "$scratch/cookies")
write_pages_lua "$scratch/pages.lua" "$hook" 100   # 4 connections × 10/s

children=()
trap 'kill "${children[@]}" 2>/dev/null || true; wait "${children[@]}" 2>/dev/null || true; stop_server' EXIT
wrk -t1 -c8 -d"${SOAK}s" -H "Authorization: Bearer $token" "$BASE/api/v1/teams/platform/oncall" > "$scratch/oncall.out" &
children+=($!)
wrk -t1 -c4 -d"${SOAK}s" -H "Cookie: $cookie" "$BASE/teams/platform" > "$scratch/rota.out" &
children+=($!)
wrk -t1 -c4 -d"${SOAK}s" -H "Cookie: $cookie" "$BASE/" > "$scratch/now.out" &
children+=($!)
wrk -t1 -c4 -d"${SOAK}s" -s "$scratch/pages.lua" "$BASE" > "$scratch/pages.out" &
children+=($!)
( end=$((SECONDS + SOAK)); i=0
  while ((SECONDS < end)); do sign_in "$scratch/soak-jar-$((i++ % 8))"; sleep 3; done ) &
children+=($!)

echo "== RSS every ${EVERY} s over $SOAK s of mixed load (MB):"
samples=()
for ((t = EVERY; t <= SOAK; t += EVERY)); do
  sleep "$EVERY"
  samples+=("$(rss)")
  printf '   %4d s: %s MB\n' "$t" "${samples[-1]}"
done
wait "${children[@]:0:4}" 2>/dev/null || true
for f in oncall rota now pages; do
  printf '   %-6s %s req/s %s\n' "$f" "$(sed -n 's/^Requests\/sec: *//p' "$scratch/$f.out")" \
    "$(grep -E 'Non-2xx' "$scratch/$f.out" | tr -s ' ' || true)"
done
n=${#samples[@]}
if ((n >= 4)); then
  early=$(printf '%s\n' "${samples[@]:1:2}" | sort -n | tail -n1)
  late=$(printf '%s\n' "${samples[@]: -2}" | sort -n | tail -n1)
  echo "== early (after warm-up) at most $early MB, late at most $late MB, peak $(rss "$server" VmHWM) MB"
fi
