#!/usr/bin/env bash
# Load benchmark of the HTTPS admission server against a canned Beast TLS
# server of the same build (the transport's limit on this machine).
#
#   bench/load/run.sh BUILD_DIR [DURATION] [ROUNDS]
#
# Each (server, connections) run is repeated ROUNDS times (default 3),
# interleaved, and the table gives medians. The CPU columns are each
# server's own CPU time (user + system, from /proc) per request: less
# sensitive than throughput to what else the machine does.
#
# BUILD_DIR must hold cli/asm-egress-webhook and bench/canned_tls_server (a
# Release build: cmake --preset release && cmake --build --preset release).
# Builds nothing. Needs wrk, curl and jq (./build.sh bench installs them).
# Prints a table; asserts nothing.
set -euo pipefail

build_dir=${1:?usage: run.sh BUILD_DIR [DURATION] [ROUNDS]}
duration=${2:-10s}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
webhook="$build_dir/cli/asm-egress-webhook"
canned="$build_dir/bench/canned_tls_server"
threads=${SERVER_THREADS:-2}
fixture="$root/tests/testdata/review-create-auto-ports.json"
for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
[[ -x $webhook && -x $canned ]] || { echo "build $webhook and $canned first" >&2; exit 1; }

work=$(mktemp -d /tmp/asm-egress-load.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The API server sends compact JSON (Go's encoding/json), not the fixture's
# pretty-printed text.
export REVIEW_FILE="$work/review.json"
jq -c . "$fixture" >"$REVIEW_FILE"

# Waits for the {"port":N} log line of a server and prints N.
port_from_log() {
  local log=$1
  for _ in $(seq 1 500); do
    if port=$(grep -o '"port":[0-9]*' "$log" 2>/dev/null | head -1 | cut -d: -f2) && [[ -n $port ]]; then
      echo "$port"
      return
    fi
    sleep 0.01
  done
  echo "no port in $log" >&2
  exit 1
}

now_ms() { date +%s%3N; }

# Certificates first, so start-to-ready does not include key generation.
"$webhook" serve --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$work/certs" \
  --shutdown-drain-period 0 >"$work/warmup.log" 2>&1 &
warm_pid=$!
port_from_log "$work/warmup.log" >/dev/null
kill -TERM "$warm_pid"; wait "$warm_pid" || true

start=$(now_ms)
"$webhook" serve --secure-port 0 --bind-address 127.0.0.1 --cert-dir "$work/certs" \
  --threads "$threads" 2>"$work/webhook.log" &
webhook_pid=$!
pids+=("$webhook_pid")
webhook_port=$(port_from_log "$work/webhook.log")
until curl -sf --cacert "$work/certs/ca.crt" "https://localhost:$webhook_port/readyz" >/dev/null; do
  sleep 0.005
done
ready_ms=$(( $(now_ms) - start ))

url_path="/mutate?timeout=10s"
curl -sf --cacert "$work/certs/ca.crt" -H 'Content-Type: application/json' \
  --data-binary @"$REVIEW_FILE" "https://localhost:$webhook_port$url_path" >"$work/response.json"

"$canned" "$work/certs" "$threads" "$work/response.json" 2>"$work/canned.log" &
pids+=("$!")
canned_port=$(port_from_log "$work/canned.log")

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$webhook_pid/status"; }

# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
canned_pid=${pids[-1]}

# Per round and connection count: "req/s p50 p99 errors cpu_us_per_request".
declare -A results
max_rss=0
run_one() {  # target connections round
  local target=$1 connections=$2 round=$3 port=$webhook_port pid=$webhook_pid
  if [[ $target == canned ]]; then port=$canned_port; pid=$canned_pid; fi
  local wrk_threads=2
  (( connections < 2 )) && wrk_threads=1
  # A short warm-up so TLS sessions and caches are in place.
  wrk -t"$wrk_threads" -c"$connections" -d2s -s "$here/post_review.lua" \
    "https://127.0.0.1:$port$url_path" >/dev/null
  local before
  before=$(cpu_ticks "$pid")
  wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$here/post_review.lua" \
    "https://127.0.0.1:$port$url_path" >"$work/wrk.out" &
  local wrk_pid=$!
  if [[ $target == webhook ]]; then
    while kill -0 "$wrk_pid" 2>/dev/null; do
      rss=$(rss_kb); (( rss > max_rss )) && max_rss=$rss
      sleep 0.2
    done
  fi
  wait "$wrk_pid"
  local after requests
  after=$(cpu_ticks "$pid")
  requests=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
  results[$target,$connections,$round]="$(grep '^RESULT' "$work/wrk.out" | cut -d' ' -f2-) $(
    awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
      'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}

# Interleaved, so that whatever else the machine is doing weighs on both
# alike, in alternating order; each figure is the median over the rounds.
for (( round = 1; round <= rounds; round++ )); do
  for connections in 1 8 64; do
    if (( round % 2 )); then order=(webhook canned); else order=(canned webhook); fi
    for target in "${order[@]}"; do run_one "$target" "$connections" "$round"; done
  done
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# field N (1: req/s, 2: p50, 3: p99, 4: errors, 5: CPU us/request) over the rounds
column_median() {  # target connections N
  for (( round = 1; round <= rounds; round++ )); do
    echo "${results[$1,$2,$round]}" | awk -v n="$3" '{ print $n }'
  done | median
}
ratio_median() {  # connections
  for (( round = 1; round <= rounds; round++ )); do
    read -r w _ <<<"${results[webhook,$1,$round]}"
    read -r c _ <<<"${results[canned,$1,$round]}"
    awk -v w="$w" -v c="$c" 'BEGIN { print 100 * w / c }'
  done | median
}
errors_total() {  # target connections
  for (( round = 1; round <= rounds; round++ )); do
    echo "${results[$1,$2,$round]}" | awk '{ print $4 }'
  done | awk '{ s += $1 } END { print s }'
}

peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$webhook_pid/status")
printf '\n%s cores, %s per run, %s rounds (medians), server threads %s, wrk 2 threads (1 at 1 connection)\n' \
  "$(nproc)" "$duration" "$rounds" "$threads"
printf '| connections | webhook req/s | canned req/s | webhook/canned | webhook p50 ms | webhook p99 ms | canned p50 ms | canned p99 ms | webhook CPU us/req | canned CPU us/req | errors (webhook/canned) |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for connections in 1 8 64; do
  printf '| %s | %.0f | %.0f | %.0f%% | %s | %s | %s | %s | %s | %s | %s/%s |\n' "$connections" \
    "$(column_median webhook "$connections" 1)" "$(column_median canned "$connections" 1)" \
    "$(ratio_median "$connections")" \
    "$(column_median webhook "$connections" 2)" "$(column_median webhook "$connections" 3)" \
    "$(column_median canned "$connections" 2)" "$(column_median canned "$connections" 3)" \
    "$(column_median webhook "$connections" 5)" "$(column_median canned "$connections" 5)" \
    "$(errors_total webhook "$connections")" "$(errors_total canned "$connections")"
done
printf '\nwebhook RSS under load: max %s MiB sampled (VmRSS), peak %s MiB (VmHWM)\n' \
  "$(awk -v k="$max_rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
  "$(awk -v k="$peak_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
printf 'webhook start-to-ready (exec to first 200 from /readyz): %s ms\n' "$ready_ms"
