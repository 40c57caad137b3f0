# Sourced by the benchmarks: write_pages_lua FILE TOKEN [DELAY_MS] writes a
# wrk script posting distinct pages to POST /api/v1/teams/platform/pages,
# each with a new dedup key, fired at times spread over the last seven
# weeks of the demo's rota (nights, weekends and working hours alike), so
# recovery days are derived as they would be. With DELAY_MS, each
# connection waits that long between requests (a steady rate). With a
# fourth argument "storm", every page fires within one night hour two days
# ago: an alert storm on one responder.
write_pages_lua() {
  local file=$1 token=$2 delay=${3:-0} storm=${4:-} start_year start_month start_day
  # The demo's rotations began eight weeks ago: pages from then on have a responder.
  read -r start_year start_month start_day < <(date -u -d '50 days ago' '+%Y %-m %-d')
  cat > "$file" <<LUA
thread_id = 0
local counter = 0
local n = 0
function setup(thread)
  n = n + 1
  thread:set("thread_id", n)
end
$( ((delay > 0)) && printf 'function delay()\n  return %d\nend' "$delay")
function request()
  counter = counter + 1
  -- Spread over the 49 days up to yesterday, at every hour of the day.
  local day = (counter * 7919 + thread_id * 104729) % 49
  local hour = (counter * 13) % 24
  local t = os.time({year = $start_year, month = $start_month, day = $start_day, hour = hour, min = counter % 60}) + day * 86400
$( [[ $storm == storm ]] && printf '  t = os.time({year = %d, month = %d, day = %d, hour = 2, min = 0}) + (counter * 7 + thread_id) %% 3600' $(date -u -d '2 days ago' '+%Y %-m %-d'))
  local fired = os.date("!%Y-%m-%dT%H:%M:00Z", t)
  local resolved = os.date("!%Y-%m-%dT%H:%M:00Z", t + 1800)
  local body = string.format('{"dedup_key":"${storm:-bench}-%d-%d","summary":"bench page","fired_at":"%s","resolved_at":"%s"}',
    thread_id, counter, fired, resolved)
  return wrk.format("POST", "/api/v1/teams/platform/pages",
    {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/json"}, body)
end
LUA
}
