#!/usr/bin/env bash
# One entry point for building, running and testing on Debian 12. Every
# command installs the Debian packages it needs first (as root, or via sudo).
#
#   ./build.sh run         build (Release) and start the server with its embedded
#                          defaults: a generated development certificate, loopback
#   ./build.sh test        build (Debug) and run every test suite with ctest
#   ./build.sh test-asan   the same suites under AddressSanitizer + UBSan
#   ./build.sh test-tsan   the server suites under ThreadSanitizer
#   ./build.sh test-image  build the container image and test it (buildah/podman)
#   ./build.sh bench       Release build, then the decision micro-benchmark
#   ./build.sh release     Release build of the executable only (the Dockerfile
#                          uses this; extra arguments go to CMake)
#   ./build.sh deps        install the build packages only (the Dockerfile uses this)
set -euo pipefail
cd "$(dirname "$0")"

# What the build needs (the Dockerfile's build stage installs the same).
BUILD_PACKAGES=(build-essential cmake ninja-build pkg-config ca-certificates
  libboost1.81-dev libboost-json1.81-dev libcli11-dev libyaml-cpp-dev libssl-dev
  prometheus-cpp-dev)
# What the tests need on top: GoogleTest, an independent JSON Patch
# implementation, Go with sprig for rendering the Helm chart, openssl and curl
# for certificate and end-to-end checks, clang for the fuzz targets.
TEST_PACKAGES=(libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
  openssl curl clang libclang-rt-14-dev python3)
BENCH_PACKAGES=(libbenchmark-dev wrk jq curl)
IMAGE_PACKAGES=(buildah podman debootstrap runc uidmap fuse-overlayfs jq)
# The image test runs the server against the tests' fake API server, built on
# the host in build/dev, whose configuration needs the test libraries.
FAKE_API_PACKAGES=(libgtest-dev libgmock-dev nlohmann-json3-dev libbenchmark-dev)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

jobs() { nproc 2>/dev/null || echo 2; }

build_preset() {
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j "$(jobs)"
}

case "${1:-}" in
  run)
    install_packages "${BUILD_PACKAGES[@]}"
    cmake --preset release -DASM_EGRESS_BUILD_TESTS=OFF -DASM_EGRESS_BUILD_BENCH=OFF >/dev/null
    cmake --build --preset release -j "$(jobs)" --target asm-egress-webhook
    shift
    exec ./build/release/cli/asm-egress-webhook serve --bind-address 127.0.0.1 "$@"
    ;;
  deps)
    install_packages "${BUILD_PACKAGES[@]}"
    ;;
  release)
    install_packages "${BUILD_PACKAGES[@]}"
    shift
    cmake --preset release -DASM_EGRESS_BUILD_TESTS=OFF -DASM_EGRESS_BUILD_BENCH=OFF "$@" >/dev/null
    cmake --build --preset release -j "$(jobs)" --target asm-egress-webhook
    ;;
  test)
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build_preset dev
    ctest --preset dev -j "$(jobs)"
    ;;
  test-asan)
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build_preset asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --preset asan -j "$(jobs)"
    ;;
  test-tsan)
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build_preset tsan
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --preset tsan -j "$(jobs)"
    ;;
  test-image)
    install_packages "${IMAGE_PACKAGES[@]}" "${BUILD_PACKAGES[@]}" "${FAKE_API_PACKAGES[@]}" openssl curl
    cmake --preset dev >/dev/null
    cmake --build --preset dev -j "$(jobs)" --target fake_api_server
    ASM_EGRESS_FAKE_API_SERVER=$PWD/build/dev/tests/kube/fake_api_server exec bash tests/image/run.sh
    ;;
  bench)
    install_packages "${BUILD_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
    cmake --preset release -DASM_EGRESS_BUILD_TESTS=OFF >/dev/null
    cmake --build --preset release -j "$(jobs)"
    ./build/release/bench/decision_bench
    ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
