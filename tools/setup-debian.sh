#!/bin/sh
# setup-debian.sh - install what building and testing mint needs on Debian 12.
# Runs apt-get as root (directly, or through sudo when not root).
# Usage: sh tools/setup-debian.sh [--cross]
#   --cross adds the aarch64 cross compiler and qemu-user (NEON kernel tests:
#   make CROSS=aarch64-linux-gnu- test-kernels), then the arm64 (multiarch)
#   libraries for a static aarch64 `mint` and every test under qemu
#   (make CROSS=aarch64-linux-gnu- test-cross); if the package mirror has no
#   arm64 packages, that last part is reported and skipped.
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
PKGS="build-essential clang libclang-rt-14-dev pkg-config libpng-dev libjpeg62-turbo-dev zlib1g-dev libevent-dev libsodium-dev libcmocka-dev dataset-fashion-mnist"
export DEBIAN_FRONTEND=noninteractive
# Wait (up to 10 min) for another apt/dpkg (unattended-upgrades, a second
# shell) to release its lock instead of failing at once.
APT="apt-get -o DPkg::Lock::Timeout=600"
CROSS=0
if [ "${1:-}" = "--cross" ]; then
    CROSS=1
    PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
fi
$SUDO $APT update -qq
# shellcheck disable=SC2086
$SUDO $APT install -y -qq --no-install-recommends $PKGS
if [ "$CROSS" = 1 ]; then
    ARM="libpng-dev:arm64 libjpeg62-turbo-dev:arm64 zlib1g-dev:arm64 libsodium-dev:arm64 libcmocka-dev:arm64 libgomp1:arm64"
    # shellcheck disable=SC2086
    if ! { $SUDO dpkg --add-architecture arm64 && $SUDO $APT update -qq &&
           $SUDO $APT install -y -qq --no-install-recommends $ARM; }; then
        echo "setup-debian.sh: WARNING: arm64 multiarch libraries could not be installed;" \
             "only the NEON kernel tests can run (make CROSS=aarch64-linux-gnu- test-kernels)" >&2
    fi
fi
