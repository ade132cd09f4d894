#!/usr/bin/env bash
# Runs certs/make-certs.sh and checks what it made with openssl: the chain
# verifies, the serving certificate names every Service DNS name and is for
# serving only, the keys match and stay private, and bad input is refused.
# Usage: make_certs_test.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: make_certs_test.sh SOURCE_DIR}
script=$src/certs/make-certs.sh
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@" >/dev/null; then ok "$what"; else bad "$what"; fi; }

command -v openssl >/dev/null || { echo "openssl not found: apt-get install openssl"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

svc=egress-asm-egress-webhook ns=webhooks
bundle=$("$script" -s "$svc" -n "$ns" -o "$work/out" -a IP:127.0.0.1 2>"$work/stderr")
rc=$?
check "script exits 0" test "$rc" -eq 0
check "stdout is one base64 line" test "$(printf '%s\n' "$bundle" | wc -l)" -eq 1
check "stdout decodes to ca.crt" cmp -s <(printf '%s' "$bundle" | base64 -d) "$work/out/ca.crt"
check "chain verifies" openssl verify -CAfile "$work/out/ca.crt" "$work/out/tls.crt"
check "purpose sslserver verifies" openssl verify -purpose sslserver -CAfile "$work/out/ca.crt" "$work/out/tls.crt"
for name in "$svc" "$svc.$ns" "$svc.$ns.svc" "$svc.$ns.svc.cluster.local"; do
  check "valid for $name" openssl verify -verify_hostname "$name" -CAfile "$work/out/ca.crt" "$work/out/tls.crt"
done
check "valid for IP 127.0.0.1 (-a)" openssl verify -verify_ip 127.0.0.1 -CAfile "$work/out/ca.crt" "$work/out/tls.crt"
if openssl verify -verify_hostname "other.$ns.svc" -CAfile "$work/out/ca.crt" "$work/out/tls.crt" >/dev/null 2>&1; then
  bad "not valid for other.$ns.svc"
else
  ok "not valid for other.$ns.svc"
fi
sans=$(openssl x509 -in "$work/out/tls.crt" -noout -ext subjectAltName)
check "exactly the SANs asked for" test "$(echo "$sans" | tail -n +2 | tr -d ' ')" = \
  "DNS:$svc,DNS:$svc.$ns,DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local,IPAddress:127.0.0.1"
check "serving cert is not a CA" grep -q 'CA:FALSE' <(openssl x509 -in "$work/out/tls.crt" -noout -ext basicConstraints)
check "CA cert is a CA" grep -q 'CA:TRUE' <(openssl x509 -in "$work/out/ca.crt" -noout -ext basicConstraints)
check "serverAuth usage" grep -q 'TLS Web Server Authentication' <(openssl x509 -in "$work/out/tls.crt" -noout -ext extendedKeyUsage)
check "key matches certificate" cmp -s <(openssl x509 -in "$work/out/tls.crt" -noout -pubkey) <(openssl pkey -in "$work/out/tls.key" -pubout)
check "tls.key is private (0600)" test "$(stat -c %a "$work/out/tls.key")" = 600
check "ca.key is private (0600)" test "$(stat -c %a "$work/out/ca.key")" = 600
check "valid for at least 800 days" openssl x509 -in "$work/out/tls.crt" -noout -checkend $((800 * 86400))

# A second run into the same folder refuses to overwrite; -f makes a new CA.
if "$script" -s "$svc" -n "$ns" -o "$work/out" >/dev/null 2>&1; then bad "refuses to overwrite"; else ok "refuses to overwrite"; fi
bundle2=$("$script" -f -s "$svc" -n "$ns" -o "$work/out" 2>/dev/null)
check "-f replaces with a new CA" test -n "$bundle2" -a "$bundle2" != "$bundle"

# Bad input: exit 2, nothing written.
for args in "-s Bad_Name" "-n -dash" "-d 0" "-a URI:x" "-z"; do
  # shellcheck disable=SC2086
  "$script" $args -o "$work/bad" >/dev/null 2>&1
  rc=$?
  check "refuses '$args' (exit 2)" test "$rc" -eq 2
done
check "nothing written on bad input" test ! -e "$work/bad/tls.crt"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
