#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kunit-kernel.sh - build (or reuse from cache) drvproxy's x86_64 KUnit kernel.
#
# Usage: tools/kunit-kernel.sh [--force] [--print-src] [--help] [VARIANT]
#
#   VARIANT       which kernel configuration (default: "default"):
#                   default  kunit/.kunitconfig alone (PREEMPT, KASAN,
#                            lockdep, PROVE_RCU)
#                   NAME     kunit/.kunitconfig with kunit/variants/NAME.config
#                            applied on top: a line there replaces the line
#                            for the same option in .kunitconfig.  Variants:
#                            none (PREEMPT_NONE without PREEMPT_COUNT) and
#                            rt (PREEMPT_RT); see the files' comments.
#                 newest   kunit/.kunitconfig alone, on the linux-source of
#                          the newest Debian kernel (testing/unstable: 7.2
#                          today), built inside that release's chroot with
#                          its compiler (tools/chroot.sh prepare, source)
#   (no option)   make sure the KUnit kernel exists and print its build dir as
#                 the LAST stdout line.  That dir is a KDIR for out-of-tree
#                 module builds (make -C <dir> M=...); the kernel image is
#                 <dir>/arch/x86/boot/bzImage and the example test module is
#                 <dir>/lib/kunit/kunit-example-test.ko.
#   --force       rebuild even when the cache says the build is complete
#                 (incremental: reuses the objects already in the build dir).
#   --print-src   only unpack linux-source-6.12 (once) and print its dir; used
#                 by tools/check.sh for checkpatch.pl and kunit.py parse.
#
# The kernel is configured from kunit/.kunitconfig (plus the variant's
# fragment) and built by the source's
# own tools/testing/kunit/kunit.py (configurator/builder only: the guest is
# booted by tools/guest/run.sh).  Everything lives under
#   ${DRVPROXY_CACHE:-~/.cache/drvproxy}/src/linux-source-6.12-<pkgversion>/
#   ${DRVPROXY_CACHE:-~/.cache/drvproxy}/kunit-kernel/<key>/
# (for newest: ${DRVPROXY_CACHE:-~/.cache/drvproxy}/kunit-kernel/src/ holds
# the source, so that one bind mount shows the chroot both trees, and a
# module build against it runs in the chroot too:
#   DRVPROXY_CHROOT_BIND=<cache>/kunit-kernel tools/chroot.sh run ...)
# where <key> hashes the source package version, the .kunitconfig contents,
# the variant's name and fragment (none for "default", whose key is what it
# was before variants existed) and this script's build-affecting settings
# (KEY_BITS below).  A complete cache
# costs seconds: kunit.py is not run at all.
#
# Environment:
#   DRVPROXY_CACHE          cache root (default ~/.cache/drvproxy)
#   DRVPROXY_LINUX_TARBALL  source tarball (default /usr/src/linux-source-6.12.tar.xz)
#   DRVPROXY_JOBS           make jobs (default: nproc)
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${DRVPROXY_CACHE:-$HOME/.cache/drvproxy}
TARBALL=${DRVPROXY_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
SRCPKG=linux-source-6.12
KUNITCONFIG=$REPO/kunit/.kunitconfig
JOBS=${DRVPROXY_JOBS:-$(nproc)}
# Anything that changes the produced kernel but is not in .kunitconfig or the
# source version.  Bump the version tag to invalidate every cached kernel.
KEY_BITS="v1 arch=x86_64 builder=kunit.py-build"

die() { echo "kunit-kernel: ERROR: $*" >&2; exit 1; }
say() { echo "kunit-kernel: $*" >&2; }

usage() { sed -n '4,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' >&2; }

force=0
print_src=0
variant=""
for arg in "$@"; do
	case $arg in
	--force) force=1 ;;
	--print-src) print_src=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) usage; die "unknown argument '$arg'" ;;
	*)
		[ -z "$variant" ] || die "more than one variant given ('$variant', '$arg')"
		variant=$arg ;;
	esac
done
variant=${variant:-default}
case $variant in
default | newest) FRAGMENT="" ;;
*[!a-z0-9_-]*) die "bad variant name '$variant' (letters, digits, '-', '_')" ;;
*)
	FRAGMENT=$REPO/kunit/variants/$variant.config
	if [ ! -r "$FRAGMENT" ]; then
		known="default newest"
		for f in "$REPO"/kunit/variants/*.config; do
			[ -e "$f" ] && known="$known $(basename "$f" .config)"
		done
		die "unknown variant '$variant': no kunit/variants/$variant.config (variants: $known)"
	fi ;;
esac

# The Debian package version identifies the source exactly (e.g. a new
# security update changes it).  Without dpkg, fall back to size+mtime.
src_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' "$SRCPKG" 2>/dev/null || true)
	[ -n "$v" ] || v=$(stat -c 'file-%s-%Y' "$TARBALL")
	printf '%s\n' "$v" | tr -c 'A-Za-z0-9.+~_\n-' '_'
}

# in_tree DIR CMD...: CMD in DIR, on this machine or, for newest, in the
# chroot with the kunit-kernel cache bound (the source and the build dir).
in_tree() {
	local dir=$1
	shift
	if [ "$variant" = newest ]; then
		# shellcheck disable=SC2016 # expanded by the inner shell
		DRVPROXY_CHROOT_BIND=$CACHE/kunit-kernel "$REPO/tools/chroot.sh" run \
			"$CACHE/kunit-kernel" sh -c 'cd "$0" && exec "$@"' "$dir" "$@"
	else
		(cd "$dir" && "$@")
	fi
}

if [ "$variant" = newest ] && [ "$print_src" = 0 ]; then
	"$REPO/tools/chroot.sh" prepare > /dev/null || die "tools/chroot.sh prepare failed"
	TARBALL=$("$REPO/tools/chroot.sh" source | tail -n 1) || die "tools/chroot.sh source failed"
	# .../images/linux-source-<release>/usr/src/linux-source-<major.minor>.tar.xz
	SRCPKG=$(basename "$TARBALL" .tar.xz)
	PKGVER=${TARBALL%/usr/src/*}
	PKGVER=${PKGVER##*/linux-source-}
	SRCDIR=$CACHE/kunit-kernel/src/$SRCPKG-$PKGVER
else
	[ -r "$TARBALL" ] || die "$TARBALL not found; run tools/bootstrap.sh (installs $SRCPKG)"
	PKGVER=$(src_version)
	SRCDIR=$CACHE/src/$SRCPKG-$PKGVER
fi
[ -r "$TARBALL" ] || die "$TARBALL not found"

# Unpack the tarball once.  Extract into a temporary dir and rename, so an
# interrupted unpack never looks complete.
ensure_src() {
	[ -f "$SRCDIR/.drvproxy-unpacked" ] && return 0
	local top=${SRCDIR%/*}
	mkdir -p "$top"
	exec 8>"$top/.lock"
	flock 8
	if [ ! -f "$SRCDIR/.drvproxy-unpacked" ]; then
		local tmp=$top/.unpack.$$
		rm -rf "$tmp" "$SRCDIR"
		mkdir -p "$tmp"
		say "unpacking $TARBALL (once) into $SRCDIR"
		tar -xJf "$TARBALL" -C "$tmp"
		[ -d "$tmp/$SRCPKG" ] || die "$TARBALL does not contain $SRCPKG/"
		mv "$tmp/$SRCPKG" "$SRCDIR"
		rmdir "$tmp"
		touch "$SRCDIR/.drvproxy-unpacked"
	fi
	exec 8>&-
}

if [ "$print_src" = 1 ]; then
	ensure_src
	echo "$SRCDIR"
	exit 0
fi

[ -r "$KUNITCONFIG" ] || die "$KUNITCONFIG not found"

# The default kernel's key hashes exactly what it hashed before variants
# existed, so its cached build stays valid; a variant adds its name and
# fragment.
KEY=$( {
	printf 'pkgver=%s\nbits=%s\n' "$PKGVER" "$KEY_BITS"
	cat "$KUNITCONFIG"
	if [ -n "$FRAGMENT" ]; then
		printf 'variant=%s\n' "$variant"
		cat "$FRAGMENT"
	elif [ "$variant" = newest ]; then
		printf 'variant=%s builder=chroot\n' "$variant"
	fi
} | sha256sum | cut -c1-16)
BUILD=$CACHE/kunit-kernel/$KEY
STAMP=$BUILD/.drvproxy-build-complete
LOG=$CACHE/kunit-kernel/$KEY.build.log
mkdir -p "$CACHE/kunit-kernel"

# config_name LINE: the option a "CONFIG_X=v" or "# CONFIG_X is not set" line
# sets, or nothing for any other line.
config_name() {
	case $1 in
	CONFIG_*=*) printf '%s\n' "${1%%=*}" ;;
	"# CONFIG_"*" is not set") local n=${1#\# }; printf '%s\n' "${n%% *}" ;;
	esac
}

# The kunitconfig kunit.py builds from and verify_config checks against: for
# a variant, .kunitconfig without the options the fragment sets, then the
# fragment (kunit.py refuses two values for one option, so the override is
# done here).
if [ "$variant" = newest ]; then
	# A copy the chroot can read (it sees the cache, not the repository).
	CONFIG_IN=$CACHE/kunit-kernel/$KEY.kunitconfig
	cp "$KUNITCONFIG" "$CONFIG_IN"
elif [ -z "$FRAGMENT" ]; then
	CONFIG_IN=$KUNITCONFIG
else
	CONFIG_IN=$CACHE/kunit-kernel/$KEY.kunitconfig
	overridden=" "
	while IFS= read -r line; do
		name=$(config_name "$line")
		[ -z "$name" ] || overridden="$overridden$name "
	done < "$FRAGMENT"
	{
		echo "# Generated by tools/kunit-kernel.sh: kunit/.kunitconfig with kunit/variants/$variant.config on top."
		while IFS= read -r line; do
			name=$(config_name "$line")
			case $overridden in
			*" $name "*) [ -z "$name" ] || continue ;;
			esac
			printf '%s\n' "$line"
		done < "$KUNITCONFIG"
		echo "# ---- kunit/variants/$variant.config ----"
		cat "$FRAGMENT"
	} > "$CONFIG_IN.tmp.$$"
	mv "$CONFIG_IN.tmp.$$" "$CONFIG_IN"
fi

# Check that every option requested in $CONFIG_IN is in the produced
# .config with exactly the requested value ("# CONFIG_X is not set" and
# "CONFIG_X=n" mean: not set).  olddefconfig silently drops options with unmet
# dependencies, so this is the only reliable guard.
verify_config() {
	local config=$BUILD/.config bad=0 line name want have what=.kunitconfig
	[ -z "$FRAGMENT" ] || what=".kunitconfig + variants/$variant.config"
	[ -r "$config" ] || die "$config missing"
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			name=${line%%=*}
			want=${line#*=} ;;
		"# CONFIG_"*" is not set")
			name=${line#\# }
			name=${name%% *}
			want=n ;;
		*) continue ;;
		esac
		have=$(sed -n "s/^$name=//p" "$config" | tail -n 1)
		[ -n "$have" ] || have=n
		if [ "$have" != "$want" ]; then
			echo "kunit-kernel: ERROR: $name: $what asks for '$want' but the built .config has '$have' (unmet dependency?)" >&2
			bad=1
		fi
	done < "$CONFIG_IN"
	[ "$bad" = 0 ] || die "kernel config ($variant) does not match $what (see above); fix the fragment"
}

cache_complete() {
	[ -f "$STAMP" ] && [ -f "$BUILD/arch/x86/boot/bzImage" ] && [ -f "$BUILD/Module.symvers" ]
}

# Serialise concurrent builds of the same key (e.g. two check.sh runs).
exec 9>"$CACHE/kunit-kernel/$KEY.lock"
flock 9

if [ "$force" = 0 ] && cache_complete; then
	verify_config
	say "reusing cached kernel $BUILD ($variant)"
	echo "$BUILD"
	exit 0
fi

ensure_src
rm -f "$STAMP"
mkdir -p "$BUILD"
say "building KUnit kernel $variant (key $KEY, $JOBS jobs; cold build takes ~5 min on 2 cores); log: $LOG"
start=$(date +%s)
set -o pipefail
if ! in_tree "$SRCDIR" python3 ./tools/testing/kunit/kunit.py build --arch=x86_64 \
	--build_dir="$BUILD" --kunitconfig="$CONFIG_IN" --jobs="$JOBS" 2>&1 |
	tee "$LOG" >&2; then
	die "kunit.py build failed; see $LOG"
fi
set +o pipefail
[ -f "$BUILD/arch/x86/boot/bzImage" ] || die "no bzImage after build; see $LOG"
[ -f "$BUILD/Module.symvers" ] || die "no Module.symvers after build; see $LOG"
verify_config
echo "key=$KEY variant=$variant pkgver=$PKGVER built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(($(date +%s) - start))" > "$STAMP"
say "built in $(($(date +%s) - start)) s"
echo "$BUILD"
