# asm-egress-webhook container image.
#
#   buildah bud -t asm-egress-webhook .        (or: docker build / podman build)
#   buildah bud --build-arg BASE_IMAGE=registry.example/debian:bookworm-slim ...
#
# Two stages: "build" compiles the Release binary on Debian 12 with the same
# packages as the README; the runtime stage holds that binary, the shared
# libraries it links (as listed by ldd) and the dynamic loader, and nothing
# else: no shell, no package manager. tests/image/run.sh builds and runs it.

ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# The package list lives in build.sh alone; copying it first keeps the
# installed packages in a layer of their own, reused while only sources change.
COPY build.sh ./
RUN ./build.sh deps && rm -rf /var/lib/apt/lists/*
COPY . .
# Only the executable: the test suites and benchmarks need packages the
# image does not. Warnings stay warnings here: -Werror is the developers' and
# CI's gate, and an image built FROM another BASE_IMAGE (another compiler)
# must not fail on a new diagnostic.
RUN ./build.sh release -DASM_EGRESS_WARNINGS_AS_ERRORS=OFF \
 && strip --strip-unneeded build/release/cli/asm-egress-webhook

# Assemble the runtime file system in /rootfs: the binary, every library ldd
# names (symlinks resolved, paths kept, so the loader finds them in its
# built-in multiarch directories without an ld.so.cache), a passwd entry for
# the non-root user, and a writable /tmp. Running the binary chrooted there
# proves that nothing it needs at start-up was left behind.
RUN set -eu; \
    bin=build/release/cli/asm-egress-webhook; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp; \
    cp "$bin" /rootfs/usr/local/bin/asm-egress-webhook; \
    for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do \
      cp -L --parents "$lib" /rootfs/; \
    done; \
    printf 'nonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'nonroot:x:65532:\n' > /rootfs/etc/group; \
    chmod 1777 /rootfs/tmp; \
    chroot /rootfs /usr/local/bin/asm-egress-webhook version; \
    echo "runtime files:"; find /rootfs -type f -exec ls -l {} +

# Runtime: FROM scratch rather than the Debian base, because the webhook
# needs only glibc, libstdc++/libgcc, OpenSSL, yaml-cpp and prometheus-cpp's
# core library at run time (Boost.JSON is linked in; prometheus-cpp's pull
# and push libraries, with civetweb and curl, are not linked); everything else in a base image (shell, apt,
# coreutils) would only be attack surface and CVE noise. The libraries come from the build stage's
# Debian 12, so they are exactly the ones the binary was linked against. The
# preStop hook uses "asm-egress-webhook sleep N" since there is no sleep(1).
FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin
USER 65532:65532
EXPOSE 8443
LABEL org.opencontainers.image.title="asm-egress-webhook" \
      org.opencontainers.image.description="Admission webhook for Alibaba Cloud Service Mesh ASMEgressTrafficPolicy"
ENTRYPOINT ["asm-egress-webhook", "serve"]
