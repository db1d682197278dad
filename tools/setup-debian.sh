#!/bin/sh
# setup-debian.sh - install what building and testing mint needs on Debian 12.
# Runs apt-get as root (directly, or through sudo when not root).
# Usage: sh tools/setup-debian.sh [--cross]
#   --cross adds the aarch64 cross compiler, qemu-user, and the arm64
#   (multiarch) libraries: enough to build a static aarch64 `mint`
#   (make CROSS=aarch64-linux-gnu-) and run every test under qemu
#   (make CROSS=aarch64-linux-gnu- test-cross).
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
PKGS="build-essential clang libpng-dev libjpeg62-turbo-dev zlib1g-dev libevent-dev libcmocka-dev"
export DEBIAN_FRONTEND=noninteractive
if [ "${1:-}" = "--cross" ]; then
    PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
    PKGS="$PKGS libpng-dev:arm64 libjpeg62-turbo-dev:arm64 zlib1g-dev:arm64"
    PKGS="$PKGS libcmocka-dev:arm64 libgomp1:arm64"
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
