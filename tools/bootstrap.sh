#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bootstrap.sh - install exactly what drvproxy's build, guest and KUnit runs need.
#
# Idempotent and quiet when nothing is missing.  Discovers the newest Debian
# 6.12 amd64 kernel image with apt-cache instead of naming a point release, and
# installs the headers of exactly that version.  Prints the headers' build
# directory on the last line when called with --print-kdir.
set -eu

die() { echo "bootstrap: $*" >&2; exit 1; }

[ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 ||
	die "this is not a Debian-like system (no /etc/debian_version or apt-get); install qemu-system-x86, busybox-static, cpio, sparse, linux-source-6.12 and a 6.12 kernel image + headers by hand"

run_apt() {
	if [ "$(id -u)" != 0 ]; then
		die "missing packages: $*; run as root (or: sudo $0)"
	fi
	if [ ! -e /var/lib/apt/lists/lock ] || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ] || [ "${BOOTSTRAP_UPDATED:-0}" = 0 ]; then
		apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
		BOOTSTRAP_UPDATED=1
	fi
	echo "bootstrap: installing $*" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
		die "apt-get install $* failed"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# The newest 6.12 generic amd64 image Debian offers (or the newest installed one
# when apt lists are unavailable).
newest_kver() {
	{
		apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64-unsigned$' 2>/dev/null |
			sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb[0-9]*-amd64\)-unsigned .*/\1/p'
		ls /boot 2>/dev/null | sed -n 's/^vmlinuz-\(6\.12\.[0-9]*+deb[0-9]*-amd64\)$/\1/p'
	} | sort -V | tail -n 1
}

newest_61_headers() {
	apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
		awk '{print $1}' | sort -V | tail -n 1
}

want=""
# The arm64 guest (make check): a cross compiler with its static libc, and
# QEMU's arm64 system emulator.
for p in qemu-system-x86 busybox-static cpio sparse linux-source-6.12 \
	 build-essential bc bison flex libelf-dev libssl-dev dwarves python3 \
	 kmod xz-utils rsync gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
	 qemu-system-arm; do
	installed "$p" || want="$want $p"
done

kver=$(newest_kver)
if [ -z "$kver" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	BOOTSTRAP_UPDATED=1
	kver=$(newest_kver)
fi
[ -n "$kver" ] || die "no linux-image-6.12.*-amd64-unsigned found in apt; is bookworm-security (or backports) enabled?"
installed "linux-image-$kver-unsigned" || [ -e "/boot/vmlinuz-$kver" ] || want="$want linux-image-$kver-unsigned"
installed "linux-headers-$kver" || want="$want linux-headers-$kver"

if [ "${BOOTSTRAP_WITH_61:-0}" = 1 ]; then
	h61=$(newest_61_headers)
	[ -n "$h61" ] && { installed "$h61" || want="$want $h61"; }
fi

# shellcheck disable=SC2086
[ -z "$want" ] || run_apt $want

[ -e "/boot/vmlinuz-$kver" ] || die "/boot/vmlinuz-$kver missing after install"
[ -d "/usr/src/linux-headers-$kver" ] || die "linux-headers-$kver missing after install"
if [ "${1:-}" = --print-kdir ]; then
	echo "/usr/src/linux-headers-$kver"
fi
