#!/usr/bin/env bash
# Builds the Dockerfile for real and runs the image on loopback, the way a
# cluster would: generated certificates mounted read-only, a review sent over
# TLS verified against the CA for the Service's DNS name, /healthz, /readyz
# and /metrics read, the preStop command run inside the container, and a
# SIGTERM that must end the container with exit code 0. Then the server in
# certificates.mode self against the tests' fake API server (run on the
# host; ASM_EGRESS_FAKE_API_SERVER names it, else it is built in build/dev):
# the Secret created, the caBundles injected and put back, a second replica
# reusing the pair, no call refused by the chart's RBAC.
#
#   tests/image/run.sh            (as root; installs what it needs with apt-get)
#
# No registry and no Docker engine are reachable here: the base image is made
# with debootstrap and imported into podman's local storage, and Debian's
# buildah builds the Dockerfile (see docs in the shared container-build notes).
# The base tarball and the build layers are cached under
# $ASM_EGRESS_IMAGE_CACHE (default /var/cache/asm-egress-webhook), so a rerun
# only rebuilds what changed.
#
# Duration on this 2-core machine: first run about 8-10 minutes (debootstrap
# ~1.5 min, packages in the build stage ~1.5 min, the C++ build ~5 min); a
# rerun after a source change about 5 minutes (only the compile reruns); with
# an unchanged tree about 10 s. Every wait is bounded; the script ends
# with "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${ASM_EGRESS_IMAGE_CACHE:-/var/cache/asm-egress-webhook}
image=localhost/asm-egress-webhook:test
base_image=docker.io/library/debian:bookworm-slim
base_tar=$cache/debian-bookworm-minbase.tar
build_timeout=${ASM_EGRESS_IMAGE_BUILD_TIMEOUT:-2400}
name=asm-egress-image-test-$$
svc=asm-egress-webhook ns=image-test
host=$svc.$ns.svc

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 && $passed -gt 0 ]] && exit 0
  exit 1
}
die() { bad "$*"; finish; }
log() { echo "--- $*"; }

# --- prerequisites ---------------------------------------------------------
tools=(buildah podman debootstrap runc newuidmap fuse-overlayfs curl openssl jq)
missing=()
for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing ${missing[*]}; run as root or: apt-get install -y buildah podman debootstrap runc uidmap fuse-overlayfs curl openssl jq"
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get install -y -qq buildah podman debootstrap runc uidmap fuse-overlayfs curl openssl jq >/dev/null ||
    { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq buildah podman debootstrap runc uidmap fuse-overlayfs curl openssl jq >/dev/null; } ||
    die "apt-get install of the container tools failed"
fi

work=$(mktemp -d /tmp/asm-egress-image-test.XXXXXX)
cleanup() {
  podman rm -f -t 0 "$name" "$name-self" "$name-self-2" >/dev/null 2>&1
  [[ -n ${fake_pid:-} ]] && kill -TERM "$fake_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The settings this sandbox needs, through files named by environment
# variables rather than edits to /etc: runc (crun refuses the machine's
# hybrid cgroups), cgroupfs, file event log, and ulimits within the
# machine's own caps.
mkdir -p "$cache/storage" "$cache/run"
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$cache/storage"
runroot = "$cache/run"
EOF
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf

# --- base image ------------------------------------------------------------
if ! podman image exists "$base_image" 2>/dev/null; then
  if [[ ! -s $base_tar ]]; then
    mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    [[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    [[ -n $mirror ]] || die "no Debian mirror found in /etc/apt sources"
    log "making the base image with debootstrap from $mirror (about a minute)"
    rootfs=$work/rootfs
    timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
    # apt inside the build stage uses the same mirrors as this machine.
    rm -f "$rootfs/etc/apt/sources.list"
    for f in /etc/apt/sources.list.d/*.sources; do
      grep -q 'debian' "$f" && cp "$f" "$rootfs/etc/apt/sources.list.d/"
    done
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar --numeric-owner -C "$rootfs" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar" ||
      die "could not write $base_tar"
    rm -rf "$rootfs"
  fi
  log "importing $base_tar as $base_image"
  timeout 300 podman import --change 'CMD ["bash"]' "$base_tar" "$base_image" >"$work/import.log" 2>&1 ||
    { cat "$work/import.log"; die "podman import of the base image failed"; }
fi
ok "base image $base_image available"

# --- build -----------------------------------------------------------------
# Keep the cache from growing without bound, but only drop untagged images
# older than a week: the build stage's layers are untagged too (the runtime
# stage starts FROM scratch, so nothing tagged descends from them), and they
# are what makes a rerun fast.
podman image prune -f --filter until=168h >/dev/null 2>&1
log "building $image (timeout ${build_timeout}s; log in the output below on failure)"
start=$SECONDS
if timeout "$build_timeout" buildah bud --pull=never --network host --layers --force-rm \
  -f "$src/Dockerfile" -t "$image" "$src" >"$work/build.log" 2>&1; then
  ok "image builds ($((SECONDS - start)) s)"
else
  tail -60 "$work/build.log"
  die "image build failed"
fi

# --- what the image is ------------------------------------------------------
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ $user == 65532* ]] && ok "runs as user 65532 ($user)" || bad "image user is '$user', want 65532"
entry=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$image")
[[ $entry == '["asm-egress-webhook","serve"]' ]] && ok "entrypoint $entry" || bad "entrypoint $entry"
size=$(podman image inspect --format '{{.Size}}' "$image")
((size < 60 * 1024 * 1024)) && ok "image is small ($((size / 1024 / 1024)) MiB)" || bad "image is $((size / 1024 / 1024)) MiB; the runtime stage should hold only the binary and its libraries"
if podman run --rm --pull=never --network none --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1; then
  bad "the image has a shell"
else
  ok "no shell in the image"
fi
version=$(timeout 30 podman run --rm --pull=never --network none --entrypoint asm-egress-webhook "$image" version 2>&1)
[[ $version == *asm-egress-webhook* ]] && ok "version: $version" || bad "version printed '$version'"
if timeout 30 podman run --rm --pull=never --network none --entrypoint asm-egress-webhook "$image" sleep 0.1 >/dev/null 2>&1; then
  ok "preStop command 'asm-egress-webhook sleep' works"
else
  bad "'asm-egress-webhook sleep' fails in the image"
fi

# --- certificates -----------------------------------------------------------
certs=$work/certs
bundle=$(bash "$src/certs/make-certs.sh" -s "$svc" -n "$ns" -o "$certs" 2>"$work/certs.log") ||
  { cat "$work/certs.log"; die "certs/make-certs.sh failed"; }
# The Secret volume of the chart gives 0440 files to group 65532; here the
# container user reads a private copy.
chmod 0755 "$certs" && chmod 0444 "$certs"/tls.crt "$certs"/tls.key "$certs"/ca.crt && rm -f "$certs/ca.key"
[[ -n $bundle ]] && ok "certificates generated" || bad "no caBundle printed"

# --- run ---------------------------------------------------------------------
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}
port=$(free_port) || die "no free port"
log "starting the container on 127.0.0.1:$port"
if ! podman run -d --name "$name" --pull=never --network host \
  -v "$certs:/etc/asm-egress-webhook/tls:ro" "$image" \
  --bind-address=127.0.0.1 --secure-port="$port" \
  --tls-cert-file=/etc/asm-egress-webhook/tls/tls.crt \
  --tls-private-key-file=/etc/asm-egress-webhook/tls/tls.key \
  --shutdown-drain-period=1s --shutdown-grace-period=10s >/dev/null 2>"$work/run.err"; then
  cat "$work/run.err"
  die "podman run failed"
fi

# Calls go to the Service's DNS name, resolved to loopback, so curl checks
# the certificate exactly as the API server would.
url=https://$host:$port
c() { curl -sS --max-time 10 --cacert "$certs/ca.crt" --resolve "$host:$port:127.0.0.1" "$@"; }

ready=0
for _ in $(seq 1 60); do
  if [[ $(c -o /dev/null -w '%{http_code}' "$url/readyz" 2>/dev/null) == 200 ]]; then ready=1; break; fi
  [[ $(podman inspect --format '{{.State.Running}}' "$name" 2>/dev/null) == true ]] || break
  sleep 0.5
done
if ((ready)); then
  ok "/readyz answers 200 over TLS verified for $host"
else
  podman logs "$name" 2>&1 | tail -30
  die "the server never became ready"
fi

code=$(c -o "$work/healthz" -w '%{http_code}' "$url/healthz")
[[ $code == 200 ]] && ok "/healthz 200" || bad "/healthz answered $code"

review=$src/tests/testdata/review-create-auto-ports.json
uid=$(grep -o '"uid": *"[^"]*"' "$review" | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
post() { c -o "$2" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "@$3" "$url$1?timeout=10s"; }

code=$(post /mutate "$work/mutate.json" "$review")
body=$(tr -d ' \n' <"$work/mutate.json")
if [[ $code == 200 && $body == *'"kind":"AdmissionReview"'* && $body == *"\"uid\":\"$uid\""* && $body == *'"allowed":true'* ]]; then
  ok "/mutate admits the seed's automatic-ports review and echoes the uid"
else
  bad "/mutate answered $code: $(head -c 400 "$work/mutate.json")"
fi
patch=$(sed -n 's/.*"patch": *"\([^"]*\)".*/\1/p' "$work/mutate.json" | base64 -d 2>/dev/null)
if [[ $body == *'"patchType":"JSONPatch"'* && $patch == *10001* && $patch == *10000* ]]; then
  ok "/mutate returns a JSONPatch assigning gateway ports"
else
  bad "no JSONPatch with ports 10000/10001 in the answer: $(head -c 400 "$work/mutate.json")"
fi

# The server's answer is exactly what the offline command prints.
if timeout 30 podman run -i --rm --pull=never --network none --entrypoint asm-egress-webhook "$image" \
  review --mutate <"$review" >"$work/offline.json" 2>/dev/null &&
  [[ "$(cat "$work/offline.json")" == "$(cat "$work/mutate.json")" ]]; then
  # ($(...) drops the command's closing newline; the bodies must match otherwise.)
  ok "/mutate answer is byte-for-byte 'review --mutate' run in the image"
else
  bad "/mutate and 'review --mutate' differ: $(cmp "$work/offline.json" "$work/mutate.json" 2>&1 | head -1)"
fi
seeds_ok=1
for seed in "$src"/tests/testdata/seed-*.yaml; do
  timeout 30 podman run -i --rm --pull=never --network none --entrypoint asm-egress-webhook "$image" \
    check -f - <"$seed" >/dev/null 2>"$work/check.err" || { seeds_ok=0; echo "  $(basename "$seed"): $(head -c 300 "$work/check.err")"; }
done
((seeds_ok)) && ok "'check' in the image admits every seed example" || bad "'check' in the image refused a seed example"

code=$(post /validate "$work/validate.json" "$review")
body=$(tr -d ' \n' <"$work/validate.json")
if [[ $code == 200 && $body == *"\"uid\":\"$uid\""* && $body != *'"patch"'* ]]; then
  ok "/validate answers without a patch"
else
  bad "/validate answered $code: $(head -c 400 "$work/validate.json")"
fi

sed 's/"protocol": *"HTTPS"/"protocol": "UDP"/' "$review" >"$work/bad-review.json"
code=$(post /validate "$work/denied.json" "$work/bad-review.json")
body=$(tr -d ' \n' <"$work/denied.json")
if [[ $code == 200 && $body == *'"allowed":false'* && $body == *'"code":422'* && $body == *'protocol'* ]]; then
  ok "/validate denies protocol UDP with a 422 naming the field"
else
  bad "/validate of a bad policy answered $code: $(head -c 400 "$work/denied.json")"
fi

code=$(c -o "$work/metrics" -w '%{http_code}' "$url/metrics")
if [[ $code == 200 ]] && grep -q '^controller_runtime_webhook_requests_total' "$work/metrics"; then
  ok "/metrics serves Prometheus text with request counters"
else
  bad "/metrics answered $code: $(head -c 300 "$work/metrics")"
fi

# Without the CA the client must refuse: the server really serves our pair.
if curl -sS --max-time 5 --resolve "$host:$port:127.0.0.1" -o /dev/null "$url/healthz" 2>/dev/null; then
  bad "TLS accepted without the CA"
else
  ok "TLS refused without the CA"
fi

# preStop runs in the running container without a shell.
if timeout 30 podman exec "$name" asm-egress-webhook sleep 0.1 >/dev/null 2>&1; then
  ok "preStop command runs in the live container"
else
  bad "podman exec asm-egress-webhook sleep failed"
fi

# --- certificates.mode self, against the fake API server -------------------------
# The server keeps its own certificate through a Kubernetes API: the tests'
# fake API server (tests/kube), built for this machine and run on loopback,
# with the chart's two webhook configurations and exactly the chart's RBAC
# for the webhook's token. The container reaches it over --network host.
fake=${ASM_EGRESS_FAKE_API_SERVER:-$src/build/dev/tests/kube/fake_api_server}
if [[ ! -x $fake ]]; then
  log "building the fake API server (build/dev)"
  (cd "$src" && cmake --preset dev >/dev/null && cmake --build --preset dev --target fake_api_server) \
    >"$work/fake-build.log" 2>&1 || { tail -30 "$work/fake-build.log"; die "cannot build the fake API server"; }
fi
kube=$work/kube
mkdir -p "$kube"
"$fake" --secret "$ns/$svc-tls" --webhook-configuration "$svc" --kubeconfig-out "$kube/kubeconfig" \
  --run-for 600 >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
api_port=
for _ in $(seq 1 100); do
  api_port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$work/fake.out")
  [[ -n $api_port ]] && break
  sleep 0.1
done
[[ -n $api_port ]] || { cat "$work/fake.err"; die "the fake API server did not start"; }
chmod 0755 "$kube" && chmod 0444 "$kube/kubeconfig"
jq -r '.clusters[0].cluster["certificate-authority-data"] | @base64d' "$kube/kubeconfig" >"$work/api-ca.crt"
# The test's own calls use the admin token (no RBAC), as kubectl would.
api() { curl -sS --max-time 10 --cacert "$work/api-ca.crt" -H 'Authorization: Bearer admin-token' "$@"; }
secret_url=https://127.0.0.1:$api_port/api/v1/namespaces/$ns/secrets/$svc-tls
hooks=https://127.0.0.1:$api_port/apis/admissionregistration.k8s.io/v1
bundle_of() { api "$hooks/$1webhookconfigurations/$svc" | jq -r '.webhooks[0].clientConfig.caBundle // ""'; }
ok "fake API server on 127.0.0.1:$api_port"

self_name=$name-self
self_port=$(free_port) || die "no free port"
sans=$host,$svc.$ns,$svc
run_self() {  # container name, port
  podman run -d --name "$1" --pull=never --network host -v "$kube:/etc/kube:ro" "$image" \
    --bind-address=127.0.0.1 --secure-port="$2" \
    --certificate-secret="$ns/$svc-tls" --inject-ca-into="$svc" --tls-san="$sans" \
    --certificate-validity=2160h --kubeconfig=/etc/kube/kubeconfig \
    --shutdown-drain-period=1s --shutdown-grace-period=10s >/dev/null 2>"$work/run-self.err"
}
run_self "$self_name" "$self_port" || { cat "$work/run-self.err"; die "podman run in self mode failed"; }
ready=0
for _ in $(seq 1 120); do
  # Unverified, as the kubelet's probe: nothing trusts the pair yet.
  if [[ $(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$self_port/readyz") == 200 ]]; then
    ready=1
    break
  fi
  [[ $(podman inspect --format '{{.State.Running}}' "$self_name" 2>/dev/null) == true ]] || break
  sleep 0.5
done
if ((ready)); then
  ok "self mode: /readyz answers 200 once the pair is served and injected"
else
  podman logs "$self_name" 2>&1 | tail -30
  die "self mode: the server never became ready"
fi

api "$secret_url" >"$work/secret.json"
if [[ $(jq -r .type "$work/secret.json") == kubernetes.io/tls ]] &&
  [[ $(jq -r '.data | [has("ca.crt"), has("tls.crt"), has("tls.key")] | all' "$work/secret.json") == true ]]; then
  ok "self mode: the server created the kubernetes.io/tls Secret with ca.crt, tls.crt, tls.key"
else
  bad "self mode: the Secret is not what it should be: $(head -c 300 "$work/secret.json")"
fi
ca_b64=$(jq -r '.data["ca.crt"]' "$work/secret.json")
jq -r '.data["ca.crt"] | @base64d' "$work/secret.json" >"$work/self-ca.crt"
if [[ $(bundle_of mutating) == "$ca_b64" && $(bundle_of validating) == "$ca_b64" ]]; then
  ok "self mode: both webhook configurations' caBundle is the Secret's CA"
else
  bad "self mode: caBundle differs from the Secret's ca.crt"
fi

selfurl=https://$host:$self_port
cs() { curl -sS --max-time 10 --cacert "$work/self-ca.crt" --resolve "$host:$self_port:127.0.0.1" "$@"; }
code=$(cs -o "$work/self-mutate.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data-binary "@$review" "$selfurl/mutate?timeout=10s")
if [[ $code == 200 ]] && grep -q '"allowed": *true' "$work/self-mutate.json"; then
  ok "self mode: /mutate answers over TLS verified with the injected CA for $host"
else
  bad "self mode: /mutate answered $code: $(head -c 300 "$work/self-mutate.json")"
fi

# A second replica reuses the pair: the Secret is not written again.
rv=$(jq -r .metadata.resourceVersion "$work/secret.json")
second_port=$(free_port) || die "no free port"
run_self "$self_name-2" "$second_port" || { cat "$work/run-self.err"; bad "podman run of a second replica failed"; }
fingerprint() {  # port
  openssl s_client -connect "127.0.0.1:$1" -servername "$host" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
want_fp=$(jq -r '.data["tls.crt"] | @base64d' "$work/secret.json" | openssl x509 -noout -fingerprint -sha256)
same=0
for _ in $(seq 1 60); do
  [[ $(fingerprint "$second_port") == "$want_fp" ]] && { same=1; break; }
  sleep 0.5
done
if ((same)) && [[ $(fingerprint "$self_port") == "$want_fp" ]] &&
  [[ $(api "$secret_url" | jq -r .metadata.resourceVersion) == "$rv" ]]; then
  ok "self mode: a second replica serves the same pair and leaves the Secret as it is"
else
  podman logs "$self_name-2" 2>&1 | tail -20
  bad "self mode: the second replica serves another pair or rewrote the Secret"
fi
podman rm -f -t 0 "$self_name-2" >/dev/null 2>&1

# Helm, Argo CD or a person overwrites the caBundle: it comes back.
api -X PATCH -H 'Content-Type: application/json-patch+json' \
  --data '[{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": "b3ZlcndyaXR0ZW4="}]' \
  "$hooks/validatingwebhookconfigurations/$svc" >/dev/null
back=0
for _ in $(seq 1 60); do
  [[ $(bundle_of validating) == "$ca_b64" ]] && { back=1; break; }
  sleep 0.5
done
((back)) && ok "self mode: an overwritten caBundle is put back" || bad "self mode: the caBundle stayed overwritten"

cs -o "$work/self-metrics" "$selfurl/metrics"
if grep -q '^asm_egress_webhook_kubernetes_api_requests_total{code="201",resource="secrets",verb="create"} 1' "$work/self-metrics" &&
  grep -q '^asm_egress_webhook_certificate_ready 1' "$work/self-metrics"; then
  ok "self mode: /metrics counts the API calls and reports ready"
else
  bad "self mode: /metrics lacks the API call counts: $(grep asm_egress_webhook_k "$work/self-metrics" | head -5)"
fi

podman kill --signal TERM "$self_name" >/dev/null 2>&1
status=$(timeout 30 podman wait "$self_name" 2>/dev/null)
[[ $status == 0 ]] && ok "self mode: SIGTERM: exit 0" || bad "self mode: SIGTERM: exit status '${status:-none}'"
podman logs "$self_name" >"$work/self.log" 2>&1
podman rm -f -t 0 "$self_name" >/dev/null 2>&1
kill -TERM "$fake_pid" 2>/dev/null
wait "$fake_pid" 2>/dev/null
if grep -q ' 0 forbidden' "$work/fake.err" && ! grep -q '"level":"error"' "$work/self.log"; then
  ok "self mode: no call was refused by the chart's RBAC, no error logged ($(tail -1 "$work/fake.err"))"
else
  grep '"level":"error"' "$work/self.log" | head -5
  bad "self mode: $(tail -1 "$work/fake.err")"
fi

# Only prometheus-cpp's core library is in the image: not its HTTP server
# (civetweb) nor its push client (curl).
cid=$(podman create --pull=never "$image" 2>/dev/null)
files=$(podman export "$cid" 2>/dev/null | tar -t 2>/dev/null)
podman rm -f "$cid" >/dev/null 2>&1
if grep -q 'libprometheus-cpp-core' <<<"$files" && ! grep -qE 'civetweb|libcurl|prometheus-cpp-(pull|push)' <<<"$files"; then
  ok "the image holds prometheus-cpp's core library only"
else
  bad "the image's libraries: $(grep -E 'prometheus|civetweb|curl' <<<"$files" | tr '\n' ' ')"
fi

# --- shutdown ----------------------------------------------------------------
podman kill --signal TERM "$name" >/dev/null 2>&1
start=$SECONDS
status=$(timeout 30 podman wait "$name" 2>/dev/null)
if [[ $status == 0 ]]; then
  ok "SIGTERM: exit 0 after $((SECONDS - start)) s"
else
  podman logs "$name" 2>&1 | tail -20
  bad "SIGTERM: exit status '${status:-none within 30 s}'"
fi
logs=$(podman logs "$name" 2>&1)
[[ $logs == *'"level"'* ]] && ok "logs are JSON lines" || bad "no JSON log lines: $(head -c 300 <<<"$logs")"

finish
