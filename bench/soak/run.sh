#!/usr/bin/env bash
# Soak and faults under load, against the built server on loopback. Prints
# numbers; asserts nothing (a scenario prints FAIL lines when its condition
# does not hold and the script exits 1).
#
#   bench/soak/run.sh [soak|cert-swap|broken-pair|sigterm|mtls|all] [--seconds N] [--connections N]
#
# Environment: WEBHOOK (default build/release/cli/asm-egress-webhook, built
# with ./build.sh release), BODY (default tests/testdata/review-create-auto-ports.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scenario="${1:-all}"
shift || true
seconds=120
connections=8
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
webhook="${WEBHOOK:-$root/build/release/cli/asm-egress-webhook}"
body="${BODY:-$root/tests/testdata/review-create-auto-ports.json}"
[ -x "$webhook" ] || { echo "no server at $webhook (./build.sh release, or set WEBHOOK)" >&2; exit 2; }

work="$(mktemp -d /tmp/asm-egress-soak.XXXXXX)"
client="$work/load_client"
g++ -std=c++20 -O2 -o "$client" "$here/load_client.cpp" -lssl -lcrypto -pthread
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
metric() { curl -s --cacert "$work/pki/ca.crt" "https://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
serial() {
  openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null
}

# A CA, and pairs issued by it (ECDSA P-256), with openssl's command line.
make_ca() {
  mkdir -p "$work/$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$work/$1/ca.key" -out "$work/$1/ca.crt" 2>/dev/null
}
issue() {  # issue CA_DIR OUT_DIR serverAuth|clientAuth
  mkdir -p "$2"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$2/tls.key" -out "$2/tls.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=%s\n' "$3" >"$2/ext"
  openssl x509 -req -in "$2/tls.csr" -CA "$work/$1/ca.crt" -CAkey "$work/$1/ca.key" \
    -CAcreateserial -days 2 -extfile "$2/ext" -out "$2/tls.crt" 2>/dev/null
}

# Serving files behind a symlinked folder, the way a mounted Secret rotates.
prepare_serving_pki() {
  rm -rf "$work/pki" "$work/other" "$work/client" "$work/stranger"
  make_ca pki
  issue pki "$work/pki/gen1" serverAuth
  issue pki "$work/pki/gen2" serverAuth
  ln -sfn "$work/pki/gen1" "$work/pki/live"
}

start_server() {
  "$webhook" serve --secure-port 0 --bind-address 127.0.0.1 \
    --tls-cert-file "$work/pki/live/tls.crt" --tls-private-key-file "$work/pki/live/tls.key" \
    "$@" 2>"$work/server.log" &
  server_pid=$!
  port=""
  for _ in $(seq 1 200); do
    port=$(grep -o '"port":[0-9]*' "$work/server.log" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$work/server.log"; echo "server did not start" >&2; exit 1; }
}

stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" || true
  server_pid=""
}

load() {  # load SECONDS [CA [CERT KEY]]
  "$client" "$port" "$body" "$1" "$connections" "${@:2}" || true
}

run_soak() {
  echo "== soak: $connections connections for ${seconds}s, RSS every $((seconds / 12))s"
  prepare_serving_pki
  start_server
  echo "RSS at start: $(rss "$server_pid") KiB"
  load "$seconds" "$work/pki/ca.crt" >"$work/soak.out" &
  local load_pid=$! samples=()
  for _ in $(seq 1 12); do
    sleep $((seconds / 12))
    samples+=("$(rss "$server_pid")")
  done
  wait "$load_pid" || true
  echo "RSS samples (KiB): ${samples[*]}"
  cat "$work/soak.out"
  grep -q ' lost=0 ' "$work/soak.out" && grep -q ' non2xx=0 ' "$work/soak.out" || fail "soak had errors"
  # Flat after warm-up: the last sample within 5 MiB of the third.
  [ $((samples[11] - samples[2])) -le 5120 ] || fail "RSS grew after warm-up: ${samples[2]} -> ${samples[11]} KiB"
  stop_server
}

run_cert_swap() {
  echo "== certificate and key swapped under load ($connections connections, 10s)"
  prepare_serving_pki
  start_server
  local before after
  before=$(serial)
  REQUESTS_PER_CONNECTION=20 load 10 "$work/pki/ca.crt" >"$work/swap.out" &
  local load_pid=$!
  sleep 3
  ln -sfn "$work/pki/gen2" "$work/pki/live.new" && mv -T "$work/pki/live.new" "$work/pki/live"
  sleep 3
  after=$(serial)
  wait "$load_pid" || true
  cat "$work/swap.out"
  echo "served certificate: before $before, after $after"
  [ "$before" != "$after" ] || fail "the new certificate is not served"
  grep -q ' lost=0 ' "$work/swap.out" && grep -q ' non2xx=0 ' "$work/swap.out" &&
    grep -q ' handshake_failed=0 ' "$work/swap.out" || fail "requests failed during the swap"
  stop_server
}

run_broken_pair() {
  echo "== replaced by a broken pair under load ($connections connections, 10s)"
  prepare_serving_pki
  start_server
  local before after failures
  before=$(serial)
  REQUESTS_PER_CONNECTION=20 load 10 "$work/pki/ca.crt" >"$work/broken.out" &
  local load_pid=$!
  sleep 3
  # The certificate of gen1 with the key of gen2: a pair that does not match.
  mkdir -p "$work/pki/broken" && cp "$work/pki/gen1/tls.crt" "$work/pki/broken/" &&
    cp "$work/pki/gen2/tls.key" "$work/pki/broken/"
  ln -sfn "$work/pki/broken" "$work/pki/live.new" && mv -T "$work/pki/live.new" "$work/pki/live"
  sleep 4
  after=$(serial)
  failures=$(metric asm_egress_webhook_certificate_reload_failures_total)
  wait "$load_pid" || true
  cat "$work/broken.out"
  echo "served certificate: before $before, after $after; reload failures metric: $failures"
  grep '"level":"error"' "$work/server.log" | head -2
  [ "$before" = "$after" ] || fail "the served certificate changed"
  [ "${failures:-0}" -ge 1 ] || fail "the reload-failure metric was not raised"
  grep -q 'cannot be loaded' "$work/server.log" || fail "no error logged"
  grep -q ' lost=0 ' "$work/broken.out" && grep -q ' non2xx=0 ' "$work/broken.out" || fail "requests failed"
  stop_server
}

run_sigterm() {
  local grace=10
  echo "== SIGTERM under load ($connections connections; drain 2s, grace ${grace}s)"
  prepare_serving_pki
  start_server --shutdown-drain-period 2s --shutdown-grace-period "${grace}s"
  load 8 "$work/pki/ca.crt" >"$work/sigterm.out" &
  local load_pid=$!
  sleep 3
  local started exit_code=0
  started=$(date +%s%N)
  kill -TERM "$server_pid"
  wait "$server_pid" || exit_code=$?
  local took_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  server_pid=""
  wait "$load_pid" || true
  cat "$work/sigterm.out"
  echo "exit code $exit_code after ${took_ms} ms (grace ${grace}s)"
  [ "$exit_code" -eq 0 ] || fail "exit code $exit_code"
  [ "$took_ms" -le $((grace * 1000)) ] || fail "exit after the grace period"
  grep -q ' lost=0 ' "$work/sigterm.out" && grep -q ' non2xx=0 ' "$work/sigterm.out" || fail "reviews lost"
}

run_mtls() {
  echo "== client certificates enforced under load ($connections connections, 5s each)"
  prepare_serving_pki
  issue pki "$work/client" clientAuth
  make_ca other
  issue other "$work/stranger" clientAuth
  start_server --client-ca-file "$work/pki/ca.crt"
  echo "with a certificate from the client CA:"
  load 5 "$work/pki/ca.crt" "$work/client/tls.crt" "$work/client/tls.key" | tee "$work/mtls-ok.out"
  echo "without a certificate:"
  load 5 "$work/pki/ca.crt" | tee "$work/mtls-none.out"
  echo "with a certificate from another CA:"
  load 5 "$work/pki/ca.crt" "$work/stranger/tls.crt" "$work/stranger/tls.key" | tee "$work/mtls-other.out"
  grep -q ' lost=0 ' "$work/mtls-ok.out" && grep -q ' non2xx=0 ' "$work/mtls-ok.out" || fail "verified client refused"
  grep -q '^ok=0 ' "$work/mtls-none.out" && grep -q 'status_401=' "$work/mtls-none.out" || fail "no certificate was not refused with 401"
  grep -q '^ok=0 ' "$work/mtls-other.out" || fail "a certificate from another CA was accepted"
  stop_server
}

case "$scenario" in
  soak) run_soak ;;
  cert-swap) run_cert_swap ;;
  broken-pair) run_broken_pair ;;
  sigterm) run_sigterm ;;
  mtls) run_mtls ;;
  all) run_soak; run_cert_swap; run_broken_pair; run_sigterm; run_mtls ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
exit "$status"
