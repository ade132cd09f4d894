#!/usr/bin/env bash
# Runs the chart tests (Go's text/template + sprig, or the real helm when it
# is on PATH) offline, from Debian's Go packages, with the build cache under
# the build folder so nothing is written to the source tree or $HOME.
# Usage: go_test.sh SOURCE_DIR BUILD_DIR [go test flags...]
set -euo pipefail
src=${1:?usage: go_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: go_test.sh SOURCE_DIR BUILD_DIR}
shift 2

need="apt-get install -y golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev"
if ! command -v go >/dev/null 2>&1; then
  echo "chart tests: 'go' not found; install the Go toolchain and libraries: $need" >&2
  exit 1
fi
gocode=/usr/share/gocode
for pkg in github.com/Masterminds/sprig sigs.k8s.io/yaml; do
  if [[ ! -d $gocode/src/$pkg ]]; then
    echo "chart tests: $gocode/src/$pkg not found; install: $need" >&2
    exit 1
  fi
done

# Debian installs Go libraries as a GOPATH tree, not as modules, so the tests
# build in GOPATH mode against /usr/share/gocode: no module proxy, no network.
export GO111MODULE=off GOPATH=$gocode GOFLAGS= GOPROXY=off GOTOOLCHAIN=local
export GOCACHE=$build/go-cache GOTMPDIR=$build/go-tmp
mkdir -p "$GOCACHE" "$GOTMPDIR"
export ASM_EGRESS_CHART_DIR=$src/charts/asm-egress-webhook
export ASM_EGRESS_TESTDATA_DIR=$src/tests/testdata
cd "$src/tests/chart"
exec go test -count=1 "$@" .
