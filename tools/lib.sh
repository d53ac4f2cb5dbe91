# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# lib.sh - helpers shared by drvproxy's tools scripts.  Source it, do not run it:
#   . "$REPO/tools/lib.sh"
#
# Discovers kernels and headers at run time (never a hard-coded point release)
# and defines the cache layout:
#   DRVPROXY_CACHE  cache root (default ~/.cache/drvproxy)
#   BUILD           build/log root (default $DRVPROXY_CACHE/build)

DRVPROXY_CACHE=${DRVPROXY_CACHE:-$HOME/.cache/drvproxy}
BUILD=${BUILD:-$DRVPROXY_CACHE/build}

# Newest Debian 6.12 amd64 kernel release with both an image in /boot and a
# headers tree in /usr/src, e.g. "6.12.117+deb12-amd64"; empty if none.
debian_kver() {
	ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null |
		sed 's|^/usr/src/linux-headers-||' | sort -V |
		while read -r v; do
			[ -e "/boot/vmlinuz-$v" ] && echo "$v"
		done | tail -n 1
}

# Headers dir (KDIR) and kernel image for debian_kver.
debian_kdir() {
	local v
	v=$(debian_kver)
	[ -n "$v" ] && echo "/usr/src/linux-headers-$v"
}
debian_kernel() {
	local v
	v=$(debian_kver)
	[ -n "$v" ] && echo "/boot/vmlinuz-$v"
}

# Newest installed Debian 6.1 amd64 headers dir; empty if none.
kdir_61() {
	ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1
}

# Copy the repo's sources to $1 for an out-of-tree build that cannot clobber
# the repo or another build: no .git, no build outputs.  Files are compared
# by content and written with the current time, not the source's: a build
# dir last used by another tree (another commit, a clean clone) may hold
# objects newer than a changed source's own mtime, and make would keep them.
sync_sources() {
	local repo=$1 dest=$2
	mkdir -p "$dest"
	rsync -rlpD --checksum --delete \
		--exclude=.git --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' \
		--exclude=Module.symvers --exclude=modules.order --exclude='.tmp_*' \
		--exclude=bin/ \
		"$repo/" "$dest/"
}
