#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# chroot.sh - a cached Debian testing/unstable chroot for building against
# the newest Debian kernel, whose headers need their own compiler and host
# tools (they call gcc-16 and include their -common half by absolute path).
#
# Usage: tools/chroot.sh prepare      create the chroot unless cached; print
#                                     its directory on the last line
#        tools/chroot.sh refresh      discover the suite again and upgrade
#                                     (or create) its chroot
#        tools/chroot.sh kdir         the newest generic amd64 headers dir
#                                     in the chroot (the same path inside)
#        tools/chroot.sh run DIR CMD...
#                                     run CMD in the chroot, in DIR, with DIR
#                                     bind-mounted at the same path
#        tools/chroot.sh image        the kernel image of the kdir release,
#                                     downloaded once into the cache
#                                     (linux-binary-unsigned-<release>,
#                                     never installed); prints its path
#        tools/chroot.sh source       the linux-source tarball of the kdir
#                                     release (linux-source-<major.minor>),
#                                     downloaded once into the cache, never
#                                     installed; prints its path (the KUnit
#                                     kernel of tools/kunit-kernel.sh newest)
#        tools/chroot.sh rt-kdir      the newest PREEMPT_RT headers of
#                                     Debian stable (trixie: 6.12-rt),
#                                     unpacked into the chroot once (dpkg
#                                     -x, with their kbuild; and the gcc
#                                     they call, installed in the chroot)
#        tools/chroot.sh rt-image     that release's kernel image, into the
#                                     cache; prints its path
#        tools/chroot.sh debootstrap SUITE DIR
#                                     debootstrap (minbase) SUITE into DIR
#                                     (tools/devbox.sh's VM images)
#
# The suite is whichever of testing and unstable offers the newer
# linux-headers-amd64 (testing when equal), asked through a private apt list
# in the cache: the machine's own apt sources are never changed.  The mirror
# is the machine's Debian mirror (DRVPROXY_DEBIAN_MIRROR overrides it).  The
# chroot lives in $DRVPROXY_CACHE/chroot-<suite>; only kbuild runs there.
# The mounts are made in a private mount namespace, so they vanish with the
# command, also when it is killed.  `run` also binds, each at its own path,
# the directories listed (space-separated) in DRVPROXY_CHROOT_BIND: a
# kernel tree outside DIR that a module build needs.  Needs root
# (debootstrap, chroot).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/lib.sh
. "$REPO/tools/lib.sh"

# Packages the builds need: kbuild, the header's own compiler (a dependency
# of linux-headers-*), perl for kernel-doc (W=1), python3 and patch for
# make companion and the selftests' image companions, dkms for make check's
# DKMS build, flex and bison for the KUnit kernel built from the release's
# linux-source (kconfig's parser).  (rt-kdir installs the compiler the
# stable -rt headers call.)
PACKAGES="make gcc linux-headers-amd64 libelf-dev bc perl python3 rsync patch dkms flex bison"

die() { echo "chroot.sh: $*" >&2; exit 1; }
log() { echo "chroot.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot)"
mkdir -p "$DRVPROXY_CACHE"

MIRROR=$(debian_mirror)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# A snapshot mirror serves Release files past their Valid-Until date; the
# private lists live in root's cache, which apt's sandbox user cannot read.
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)

# apt_in DIR TOOL ARGS...: apt-get/apt-cache with the private list, lists
# and cache in DIR.
apt_in() {
	local dir=$1 tool=$2
	shift 2
	"$tool" "${APT_OPTS[@]}" -o Dir::Etc::sourcelist="$dir/sources.list" \
		-o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache="$dir/cache" -o Dir::State::status=/dev/null "$@"
}

# A private list of testing and unstable.
APTDIR=$DRVPROXY_CACHE/apt-newest
private_apt() { apt_in "$APTDIR" "$@"; }

# The PREEMPT_RT kernel of Debian stable, from a private list of its own.
RT_SUITE=trixie
RTAPTDIR=$DRVPROXY_CACHE/apt-$RT_SUITE
rt_apt() { apt_in "$RTAPTDIR" "$@"; }

# The release of the newest linux-headers-*-rt-amd64 of $RT_SUITE, updating
# its list once per chroot (rt-kdir) and reusing it after (rt-image).
rt_release() {
	if [ ! -s "$RTAPTDIR/release" ]; then
		mkdir -p "$RTAPTDIR/lists/partial" "$RTAPTDIR/cache/archives/partial"
		echo "deb [signed-by=$KEYRING] $MIRROR $RT_SUITE main" > "$RTAPTDIR/sources.list"
		rt_apt apt-get -qq update >&2 || die "apt-get update of $RT_SUITE against $MIRROR failed"
		rt_apt apt-cache depends linux-headers-rt-amd64 2>/dev/null |
			sed -n 's/^ *Depends: linux-headers-\(.*-rt-amd64\)$/\1/p' | head -n 1 > "$RTAPTDIR/release"
	fi
	[ -s "$RTAPTDIR/release" ] || { rm -f "$RTAPTDIR/release"; die "no linux-headers-rt-amd64 in $RT_SUITE"; }
	cat "$RTAPTDIR/release"
}

# rt_unpack RELEASE: its headers, their -common-rt half and their kbuild,
# unpacked into $CH (the paths the headers name are the same inside).
rt_unpack() {
	local rel=$1 ver=${1%-rt-amd64} tmp=$CH.rt.tmp deb
	[ -e "$CH/usr/src/linux-headers-$rel/.drvproxy-unpacked" ] && return 0
	rm -rf "$tmp"
	mkdir -p "$tmp"
	(cd "$tmp" && rt_apt apt-get -qq download "linux-headers-$rel" \
		"linux-headers-$ver-common-rt" "linux-kbuild-$ver") >&2 ||
		die "apt-get download of the $rel headers failed"
	for deb in "$tmp"/*.deb; do
		dpkg -x "$deb" "$CH" || die "dpkg -x $deb failed"
	done
	rm -rf "$tmp"
	# The compiler they name (CONFIG_CC_VERSION_TEXT's gcc-N), from the
	# chroot's own release.
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="[^ ]*gcc-\([0-9]*\) .*/gcc-\1/p' \
		"$CH/usr/src/linux-headers-$rel/.config")
	if [ -n "$cc" ] && [ ! -x "$CH/usr/bin/$cc" ]; then
		in_chroot "" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq \
			--no-install-recommends install "$cc" >> "$CH.log" 2>&1 ||
			die "installing $cc (the $rel headers' compiler) in $CH failed; see $CH.log"
	fi
	touch "$CH/usr/src/linux-headers-$rel/.drvproxy-unpacked"
}

# fetch_image APT PACKAGE MEMBER DIR: DIR/MEMBER, the kernel image in
# PACKAGE, downloaded with APT (private_apt or rt_apt) and unpacked once;
# never installed.  Prints its path.  A list older than what the chroot
# has may not know PACKAGE yet: it is updated once before giving up.
fetch_image() {
	local apt=$1 pkg=$2 member=$3 dir=$4
	if [ ! -e "$dir/$member" ]; then
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		(cd "$dir.tmp" && { "$apt" apt-get -qq download "$pkg" ||
			{ "$apt" apt-get -qq update && "$apt" apt-get -qq download "$pkg"; }; }) >&2 ||
			die "apt-get download $pkg failed"
		dpkg-deb --fsys-tarfile "$dir.tmp"/*.deb | tar -x -C "$dir.tmp" "./$member" ||
			die "no $member in $pkg"
		rm -f "$dir.tmp"/*.deb
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir/$member"
}

# The suite with the newest linux-headers-amd64.
discover_suite() {
	local best="" bestv="" s v
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
	{
		echo "deb [signed-by=$KEYRING] $MIRROR testing main"
		echo "deb [signed-by=$KEYRING] $MIRROR unstable main"
	} > "$APTDIR/sources.list"
	private_apt apt-get -qq update >&2 || die "apt-get update against $MIRROR failed"
	for s in testing unstable; do
		v=$(private_apt apt-cache madison linux-headers-amd64 2>/dev/null |
			awk -F' *[|] *' -v s="$s" '$3 ~ (" " s "/") { print $2; exit }')
		[ -n "$v" ] || continue
		log "linux-headers-amd64 in $s: $v"
		if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then
			best=$s
			bestv=$v
		fi
	done
	[ -n "$best" ] || die "no linux-headers-amd64 in testing or unstable at $MIRROR"
	echo "$best"
}

# debootstrap SUITE DIR: the machine's debootstrap, else its .deb unpacked
# into the cache (nothing is installed on the machine).  Bookworm's has no
# script for forky; testing and unstable both work with the sid script.
debootstrap_suite() {
	local d=$DRVPROXY_CACHE/debootstrap
	local args=(--variant=minbase --components=main --keyring="$KEYRING" "$1" "$2" "$MIRROR")

	if command -v debootstrap >/dev/null 2>&1 && [ -e /usr/share/debootstrap/scripts/sid ]; then
		debootstrap "${args[@]}" /usr/share/debootstrap/scripts/sid
		return
	fi
	if [ ! -x "$d/usr/sbin/debootstrap" ]; then
		rm -rf "$d"
		mkdir -p "$d"
		(cd "$d" && apt-get -qq download debootstrap && dpkg -x debootstrap_*.deb .) ||
			{ echo "cannot fetch debootstrap (apt-get download debootstrap)"; return 1; }
	fi
	DEBOOTSTRAP_DIR=$d/usr/share/debootstrap "$d/usr/sbin/debootstrap" "${args[@]}" \
		"$d/usr/share/debootstrap/scripts/sid"
}

# The ready chroot of the suite chosen last; empty if none.
cached_chroot() {
	local suite
	suite=$(cat "$DRVPROXY_CACHE/chroot.suite" 2>/dev/null) || return 0
	[ -e "$DRVPROXY_CACHE/chroot-$suite/.drvproxy-ready" ] && echo "$DRVPROXY_CACHE/chroot-$suite"
	return 0
}

# in_chroot DIR CMD...: CMD in the chroot $CH, in DIR, DIR bind-mounted.
in_chroot() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private /bin/sh -euc '
		ch=$1 dir=$2
		shift 2
		mount -t proc proc "$ch/proc"
		for d in $dir $DRVPROXY_CHROOT_BIND; do
			mkdir -p "$ch$d"
			mount --bind "$d" "$ch$d"
		done
		exec chroot "$ch" /bin/sh -c "cd \"\${0:-/}\" && exec \"\$@\"" "$dir" "$@"
	' sh "$CH" "$dir" "$@"
}
DRVPROXY_CHROOT_BIND=${DRVPROXY_CHROOT_BIND:-}
export DRVPROXY_CHROOT_BIND

# Install (or upgrade) the build packages in $CH; the output goes to $CH.log.
install_packages() {
	echo 'Acquire::Check-Valid-Until "false";' > "$CH/etc/apt/apt.conf.d/99drvproxy"
	in_chroot "" env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get -qq update && apt-get -y -qq --no-install-recommends install $PACKAGES && apt-get -y -qq --no-install-recommends upgrade && apt-get -qq clean" \
		>> "$CH.log" 2>&1 || die "installing $PACKAGES in $CH failed; see $CH.log"
	{ date -u +%FT%TZ; echo "packages: $PACKAGES"; } > "$CH/.drvproxy-ready"
}

# A chroot made before PACKAGES changed gets the missing ones.
packages_current() {
	grep -qxF "packages: $PACKAGES" "$CH/.drvproxy-ready" 2> /dev/null
}

# Create the chroot for $1 (a suite) unless it is ready.
make_chroot() {
	local suite=$1 start=$SECONDS
	CH=$DRVPROXY_CACHE/chroot-$suite
	if [ ! -e "$CH/.drvproxy-ready" ]; then
		rm -rf "$CH"
		log "debootstrap $suite into $CH from $MIRROR (a few minutes, about 1 GB)"
		debootstrap_suite "$suite" "$CH" > "$DRVPROXY_CACHE/chroot-$suite.log" 2>&1 ||
			die "debootstrap failed; see $DRVPROXY_CACHE/chroot-$suite.log"
		install_packages
		log "chroot ready in $((SECONDS - start)) s: $(du -sh "$CH" | cut -f1)"
	fi
	echo "$suite" > "$DRVPROXY_CACHE/chroot.suite"
}

# The release of the kdir headers (7.2.13+deb14-amd64 today).
kdir_release() {
	local ch kdir
	ch=$(cached_chroot)
	[ -n "$ch" ] || die "no chroot yet; run: tools/chroot.sh prepare"
	kdir=$("$0" kdir)
	[ -n "$kdir" ] || die "no headers in $ch"
	echo "${kdir#/usr/src/linux-headers-}"
}

# Serialize preparing: concurrent make checks share the cache.
exec 9> "$DRVPROXY_CACHE/chroot.lock"

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
prepare)
	flock 9
	CH=$(cached_chroot)
	if [ -z "$CH" ]; then
		suite=$(discover_suite)
		make_chroot "$suite"
	elif ! packages_current; then
		log "installing the build packages in $CH ($PACKAGES)"
		install_packages
	fi
	# What an interrupted DKMS check of make check may have left.
	rm -rf "$CH/var/lib/dkms/drvproxy" "$CH"/usr/src/drvproxy-*
	echo "$CH"
	;;
refresh)
	flock 9
	rm -f "$RTAPTDIR/release"
	suite=$(discover_suite)
	make_chroot "$suite"
	install_packages
	echo "$CH"
	;;
kdir)
	CH=$(cached_chroot)
	[ -n "$CH" ] || die "no chroot yet; run: tools/chroot.sh prepare"
	# The generic flavour: not -rt, not -cloud.
	for k in "$CH"/usr/src/linux-headers-*-amd64; do
		case $k in
		*-rt-amd64 | *-cloud-amd64 | *'*'*) ;;
		*) echo "${k#"$CH"}" ;;
		esac
	done | sort -V | tail -n 1
	;;
image)
	rel=$(kdir_release)
	flock 9
	fetch_image private_apt "linux-binary-unsigned-$rel" "usr/lib/modules/$rel/vmlinuz.unsigned" \
		"$DRVPROXY_CACHE/images/$rel"
	;;
source)
	rel=$(kdir_release)
	mm=$(echo "$rel" | sed -n 's/^\([0-9]*\.[0-9]*\)[.-].*/\1/p')
	[ -n "$mm" ] || die "cannot tell the version of $rel"
	flock 9
	fetch_image private_apt "linux-source-$mm" "usr/src/linux-source-$mm.tar.xz" \
		"$DRVPROXY_CACHE/images/linux-source-$rel"
	;;
rt-kdir)
	CH=$(cached_chroot)
	[ -n "$CH" ] || die "no chroot yet; run: tools/chroot.sh prepare"
	flock 9
	rel=$(rt_release)
	rt_unpack "$rel"
	echo "/usr/src/linux-headers-$rel"
	;;
rt-image)
	CH=$(cached_chroot)
	[ -n "$CH" ] || die "no chroot yet; run: tools/chroot.sh prepare"
	flock 9
	rel=$(rt_release)
	fetch_image rt_apt "linux-image-$rel-unsigned" "boot/vmlinuz-$rel" "$DRVPROXY_CACHE/images/$rel"
	;;
debootstrap)
	[ $# = 2 ] || die "usage: chroot.sh debootstrap SUITE DIR"
	unshare --mount --propagation private bash -c "$(declare -f debootstrap_suite)
		$(declare -p DRVPROXY_CACHE KEYRING MIRROR)
		debootstrap_suite \"\$@\"" sh "$1" "$2"
	;;
run)
	[ $# -ge 2 ] || die "usage: chroot.sh run DIR CMD..."
	CH=$(cached_chroot)
	[ -n "$CH" ] || die "no chroot yet; run: tools/chroot.sh prepare"
	dir=$(cd "$1" && pwd)
	shift
	in_chroot "$dir" "$@"
	;;
*)
	sed -n '4,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
