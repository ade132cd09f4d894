#!/usr/bin/env bash
# Makes a private CA and a serving certificate for the webhook's Service, for
# installs that use neither cert-manager nor the chart's built-in generator.
#
#   certs/make-certs.sh [-s SERVICE] [-n NAMESPACE] [-o DIR] [-d DAYS] [-a SAN]... [-f]
#
# Writes DIR/ca.crt, DIR/ca.key, DIR/tls.crt and DIR/tls.key (ECDSA P-256),
# the serving certificate valid for SERVICE, SERVICE.NAMESPACE,
# SERVICE.NAMESPACE.svc and SERVICE.NAMESPACE.svc.cluster.local (plus any
# -a SAN, e.g. -a DNS:localhost -a IP:127.0.0.1). Prints the base64 CA bundle
# (the webhook configurations' caBundle) on stdout, and nothing else; progress
# goes to stderr. See certs/README.md.
set -euo pipefail

service=asm-egress-webhook
namespace=asm-egress-webhook
outdir=./webhook-certs
days=825
force=0
extra_sans=()

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while getopts ':s:n:o:d:a:fh' opt; do
  case "$opt" in
    s) service=$OPTARG ;;
    n) namespace=$OPTARG ;;
    o) outdir=$OPTARG ;;
    d) days=$OPTARG ;;
    a) extra_sans+=("$OPTARG") ;;
    f) force=1 ;;
    h) usage ;;
    *) echo "make-certs.sh: bad option -$OPTARG" >&2; usage ;;
  esac
done

label='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ $service =~ $label ]] || { echo "make-certs.sh: service '$service' is not a DNS-1123 label" >&2; exit 2; }
[[ $namespace =~ $label ]] || { echo "make-certs.sh: namespace '$namespace' is not a DNS-1123 label" >&2; exit 2; }
[[ $days =~ ^[1-9][0-9]*$ ]] || { echo "make-certs.sh: days '$days' is not a positive number" >&2; exit 2; }
for san in "${extra_sans[@]+"${extra_sans[@]}"}"; do
  [[ $san =~ ^(DNS|IP):[^,]+$ ]] || { echo "make-certs.sh: -a '$san' must be DNS:name or IP:address" >&2; exit 2; }
done
command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }

mkdir -p "$outdir"
if [[ $force != 1 ]]; then
  for f in ca.crt ca.key tls.crt tls.key; do
    if [[ -e $outdir/$f ]]; then
      echo "make-certs.sh: $outdir/$f exists; use -f to replace it" >&2
      exit 1
    fi
  done
fi

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fqdn="$service.$namespace.svc"
sans="DNS:$service,DNS:$service.$namespace,DNS:$fqdn,DNS:$fqdn.cluster.local"
for san in "${extra_sans[@]+"${extra_sans[@]}"}"; do sans="$sans,$san"; done

echo "make-certs.sh: CA and serving certificate for $fqdn, valid $days days, in $outdir" >&2

openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout "$work/ca.key" -out "$work/ca.crt" -days "$days" \
  -subj "/CN=$service.$namespace webhook CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" 2>/dev/null

openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout "$work/tls.key" -out "$work/tls.csr" -subj "/CN=$fqdn" 2>/dev/null

cat >"$work/serving.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $sans
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT

openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
  -extfile "$work/serving.ext" -out "$work/tls.crt" 2>/dev/null

openssl verify -CAfile "$work/ca.crt" "$work/tls.crt" >/dev/null

chmod 0644 "$work/ca.crt" "$work/tls.crt"
chmod 0600 "$work/ca.key" "$work/tls.key"
for f in ca.crt ca.key tls.crt tls.key; do mv -f "$work/$f" "$outdir/$f"; done

base64 -w0 "$outdir/ca.crt"
echo
