#!/usr/bin/env bash
# Load benchmark of the HTTPS admission server against a canned Beast TLS
# server of the same build (the transport's limit on this machine).
#
#   bench/load/run.sh BUILD_DIR [DURATION]
#
# BUILD_DIR must hold cli/asm-egress-webhook and bench/canned_tls_server (a
# Release build: cmake --preset release && cmake --build --preset release).
# Builds nothing. Needs wrk and curl. Prints a table; asserts nothing.
set -euo pipefail

build_dir=${1:?usage: run.sh BUILD_DIR [DURATION]}
duration=${2:-10s}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
webhook="$build_dir/cli/asm-egress-webhook"
canned="$build_dir/bench/canned_tls_server"
threads=${SERVER_THREADS:-2}
export REVIEW_FILE="$root/tests/testdata/review-create-auto-ports.json"
for tool in wrk curl; do
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

declare -A results
max_rss=0
# Interleaved, so that whatever else the machine is doing weighs on both alike.
for connections in 1 8 64; do
  for target in webhook canned; do
    port=$webhook_port
    [[ $target == canned ]] && port=$canned_port
    wrk_threads=2
    (( connections < 2 )) && wrk_threads=1
    # A short warm-up so TLS sessions and caches are in place.
    wrk -t"$wrk_threads" -c"$connections" -d2s -s "$here/post_review.lua" \
      "https://127.0.0.1:$port$url_path" >/dev/null
    wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$here/post_review.lua" \
      "https://127.0.0.1:$port$url_path" >"$work/wrk.out" &
    wrk_pid=$!
    if [[ $target == webhook ]]; then
      while kill -0 "$wrk_pid" 2>/dev/null; do
        rss=$(rss_kb); (( rss > max_rss )) && max_rss=$rss
        sleep 0.2
      done
    fi
    wait "$wrk_pid"
    results[$target,$connections]=$(grep '^RESULT' "$work/wrk.out" | cut -d' ' -f2-)
  done
done

peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$webhook_pid/status")
printf '\n%s, %s per run, server threads %s, wrk 2 threads (1 at 1 connection)\n' \
  "$(nproc) cores" "$duration" "$threads"
printf '| connections | webhook req/s | canned req/s | webhook/canned | webhook p50 ms | webhook p99 ms | canned p50 ms | canned p99 ms | errors (webhook/canned) |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for connections in 1 8 64; do
  read -r w_rps w_p50 w_p99 w_err <<<"${results[webhook,$connections]}"
  read -r c_rps c_p50 c_p99 c_err <<<"${results[canned,$connections]}"
  ratio=$(awk -v w="$w_rps" -v c="$c_rps" 'BEGIN { printf "%.0f%%", 100 * w / c }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s/%s |\n' "$connections" "$w_rps" "$c_rps" \
    "$ratio" "$w_p50" "$w_p99" "$c_p50" "$c_p99" "$w_err" "$c_err"
done
printf '\nwebhook RSS under load: max %s MiB sampled (VmRSS), peak %s MiB (VmHWM)\n' \
  "$(awk -v k="$max_rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
  "$(awk -v k="$peak_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
printf 'webhook start-to-ready (exec to first 200 from /readyz): %s ms\n' "$ready_ms"
