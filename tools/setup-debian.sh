#!/bin/sh
# setup-debian.sh - install what building and testing mint needs on Debian 12.
# Runs apt-get as root (directly, or through sudo when not root).
# Usage: sh tools/setup-debian.sh [--cross]   (--cross adds the aarch64
# cross compiler and qemu-user for the NEON kernel tests)
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
PKGS="build-essential clang libpng-dev libjpeg62-turbo-dev zlib1g-dev libevent-dev libcmocka-dev"
if [ "${1:-}" = "--cross" ]; then
    PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
