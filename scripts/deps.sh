#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need, when
# missing. Called by `make check` and `make demo`, so a fresh Debian machine
# needs nothing else. Idempotent and quiet when everything is present.
set -eu
pkgs="make gcc binutils libdw-dev libelf-dev elfutils libsodium-dev pkg-config
 qemu-user
 gcc-i686-linux-gnu libc6-dev-i386-cross
 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
 gcc-s390x-linux-gnu libc6-dev-s390x-cross
 gcc-powerpc-linux-gnu libc6-dev-powerpc-cross
 clang libclang-rt-14-dev
 iproute2 python3
 redis-tools redis-server gnuplot-nox"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
