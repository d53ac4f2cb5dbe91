#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# arm64.sh - what building for and booting Debian's arm64 kernels needs, from
# Debian's own packages, unpacked into the cache (never installed).
#
# Usage: tools/arm64.sh kdir AMD64_KDIR   the arm64 headers of the release
#                                         AMD64_KDIR is for (e.g.
#                                         /usr/src/linux-headers-6.12.118+deb12-amd64
#                                         gives ...-arm64), ready for a cross
#                                         build; prints their directory
#        tools/arm64.sh image AMD64_KDIR  that release's arm64 kernel Image
#                                         (linux-image-<release>-unsigned);
#                                         prints its path
#        tools/arm64.sh busybox           an arm64 static busybox (Debian's
#                                         busybox-static); prints its path
#
# Debian's cross-build layout: the arm64 headers (linux-headers-<rel>-arm64)
# include their -common half by absolute path (/usr/src/linux-headers-
# <ver>-common, architecture-independent and already installed with the
# amd64 headers of the same release), and their scripts/ and tools/ are
# links to ../../lib/linux-kbuild-<ver>, which must be the build machine's
# (amd64) kbuild: that is the one installed with the amd64 headers, linked
# beside the unpacked arm64 headers.  The compiler is gcc-aarch64-linux-gnu
# (tools/bootstrap.sh installs it); callers pass ARCH=arm64
# CROSS_COMPILE=aarch64-linux-gnu-, which 6.1's headers need (6.12's set
# them themselves).
#
# The packages come from a private apt list of the machine's Debian mirror
# (DRVPROXY_DEBIAN_MIRROR overrides it) for the release the amd64 headers
# are from, with arm64 as its only architecture, in
# $DRVPROXY_CACHE/arm64/apt; the machine's own apt sources and dpkg
# architectures are never changed.  Everything unpacks below
# $DRVPROXY_CACHE/arm64/root.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/lib.sh
. "$REPO/tools/lib.sh"

die() { echo "arm64.sh: $*" >&2; exit 1; }

TOP=$DRVPROXY_CACHE/arm64
APTDIR=$TOP/apt
ROOT=$TOP/root
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

MIRROR=$(debian_mirror)
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

APT_OPTS=(-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root
	  -o APT::Architecture=arm64 -o APT::Architectures=arm64
	  -o Dir::Etc::sourcelist="$APTDIR/sources.list" -o Dir::Etc::sourceparts=/dev/null
	  -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache"
	  -o Dir::State::status=/dev/null)

# The private list: the suite and its security updates (where Debian's
# newest stable kernels are), arm64 only.  Updated once a day at most.
apt_update() {
	local stamp=$APTDIR/updated
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
	{
		echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE main"
		echo "deb [arch=arm64 signed-by=$KEYRING] ${MIRROR%/debian*}/debian-security $SUITE-security main"
	} > "$APTDIR/sources.list"
	[ -n "$(find "$stamp" -mmin -1440 2>/dev/null)" ] && return 0
	apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update of $SUITE (arm64) against $MIRROR failed"
	touch "$stamp"
}

# fetch PKG...: download PKG... (arm64) into a scratch directory; prints it.
fetch() {
	local tmp
	tmp=$(mktemp -d "$TOP/.fetch.XXXXXX")
	if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" -qq download "$@") >&2; then
		# The list may predate the package (a newer release): update once.
		rm -f "$APTDIR/updated"
		apt_update
		(cd "$tmp" && apt-get "${APT_OPTS[@]}" -qq download "$@") >&2 ||
			{ rm -rf "$tmp"; die "apt-get download $* (arm64) failed"; }
	fi
	echo "$tmp"
}

# release AMD64_KDIR: the arm64 release of the same kernel.
release() {
	local rel=${1#/usr/src/linux-headers-}
	[ -d "$1" ] && [ "$rel" != "$1" ] && [ "${rel%-amd64}" != "$rel" ] ||
		die "'$1' is not a Debian amd64 headers directory (/usr/src/linux-headers-<release>-amd64)"
	echo "${rel%-amd64}-arm64"
}

cmd_kdir() {
	local amd=$1 rel kdir kbuild common tmp deb
	rel=$(release "$amd")
	kdir=$ROOT/usr/src/linux-headers-$rel
	if [ ! -e "$kdir/.drvproxy-unpacked" ]; then
		apt_update
		tmp=$(fetch "linux-headers-$rel")
		for deb in "$tmp"/*.deb; do
			dpkg -x "$deb" "$ROOT" || die "dpkg -x $deb failed"
		done
		rm -rf "$tmp"
		touch "$kdir/.drvproxy-unpacked"
	fi
	# The kbuild the arm64 headers link to, as the amd64 headers' own.
	kbuild=$(readlink "$kdir/scripts") || die "$kdir/scripts is not a link to a kbuild"
	kbuild=${kbuild%/scripts}
	kbuild=/usr/lib/${kbuild##*/}
	[ -d "$kbuild" ] || die "$kbuild missing: the amd64 linux-kbuild of ${rel%-arm64} (installed with $amd)"
	common=$(sed -n 's|^include \(/.*\)/Makefile$|\1|p' "$kdir/Makefile")
	[ -d "$common" ] || die "$common missing: the -common headers $kdir/Makefile includes (installed with $amd)"
	mkdir -p "$ROOT/usr/lib"
	ln -sfn "$kbuild" "$ROOT/usr/lib/${kbuild##*/}"
	echo "$kdir"
}

cmd_image() {
	local rel image tmp
	rel=$(release "$1")
	image=$ROOT/boot/vmlinuz-$rel
	if [ ! -s "$image" ]; then
		apt_update
		tmp=$(fetch "linux-image-$rel-unsigned")
		mkdir -p "$ROOT"
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$ROOT" "./boot/vmlinuz-$rel" ||
			{ rm -rf "$tmp"; die "no boot/vmlinuz-$rel in linux-image-$rel-unsigned"; }
		rm -rf "$tmp"
	fi
	echo "$image"
}

cmd_busybox() {
	local bb=$TOP/busybox/bin/busybox tmp
	if [ ! -x "$bb" ]; then
		apt_update
		tmp=$(fetch busybox-static)
		rm -rf "$TOP/busybox"
		mkdir -p "$TOP/busybox"
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$TOP/busybox" ./bin/busybox ||
			{ rm -rf "$tmp"; die "no bin/busybox in busybox-static (arm64)"; }
		rm -rf "$tmp"
	fi
	echo "$bb"
}

mkdir -p "$TOP"
case ${1:-} in
kdir) [ $# = 2 ] || die "usage: $0 kdir AMD64_KDIR"; cmd_kdir "$2" ;;
image) [ $# = 2 ] || die "usage: $0 image AMD64_KDIR"; cmd_image "$2" ;;
busybox) [ $# = 1 ] || die "usage: $0 busybox"; cmd_busybox ;;
*) sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
