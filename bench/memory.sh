#!/usr/bin/env bash
# Memory benchmark: the server's resident memory (RSS, from /proc) after
#  1. `rota serve --demo` has seeded the demo (eleven password hashes), and
#  2. 64 sign-ins at once (each an Argon2 check taking 19 MiB while it runs),
# then its peak (VmHWM) over the whole run. Aim: at most 64 MB after each
# step, at most 128 MB at the peak. See bench/soak.sh for memory over time.
#
#   bash bench/memory.sh
#   ROTA_BIN=/path/to/rota bash bench/memory.sh    # another build
#
# Uses its own database (rota_bench, recreated) and port 8099, sends traffic
# only to 127.0.0.1, and stops the server when done. Needs curl.
# Measure memory, not the per-address guessing defence (which answers 429).
export ROTA_SIGN_IN_FAILURES=1000000
source "$(dirname "${BASH_SOURCE[0]}")/serve-demo.sh"
SIGN_INS=${SIGN_INS:-64}

# Give the allocator a moment to hand back what the seeding freed.
sleep 2
echo "== after serve --demo: $(rss) MB (aim: at most 64 MB)"

# One sign-in through the form: fetch the form (its CSRF token), post it,
# and print the status (303 = signed in). The sign-ins are spread over the
# demo's accounts: many attempts on one account at once are made to wait
# (up to 10 s each) by the guessing defence, which is not what this measures.
accounts=(admin alex priya sam jo ravi maria dan lena tom)
sign_in() {
  local jar="$scratch/jar-$1" csrf email="${accounts[$(( $1 % ${#accounts[@]} ))]}%40example.com"
  csrf=$(curl -fs -m 60 -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
  curl -s -m 60 -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}\n' \
    -d "csrf=$csrf&email=$email&password=rota-demo-password&next=/" "$BASE/login"
}
started=$(date +%s.%N)
pids=()
for i in $(seq "$SIGN_INS"); do sign_in "$i" > "$scratch/status-$i" & pids+=($!); done
wait "${pids[@]}"   # not a bare wait: that would wait for the server too
took=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo "== $SIGN_INS sign-ins at once: $(cat "$scratch"/status-* | sort | uniq -c | awk '{ printf "%s × %s  ", $1, $2 }')in ${took} s"
sleep 2
echo "== after $SIGN_INS sign-ins: $(rss) MB (aim: at most 64 MB)"
