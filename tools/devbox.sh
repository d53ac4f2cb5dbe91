#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# devbox.sh - the README's "On a development box" section, typed as a user
# would, in a full Debian VM (systemd, udev, kmod, sudo, dkms), booted
# under QEMU; not the busybox guest the other tests use.
#
# Usage: tools/devbox.sh [--cached] [SUITE]
#
#   --cached  only say, by the exit status, whether SUITE's VM image is
#             made already (0) or a run would make it first (1)
#   SUITE   bookworm (default): Debian 12 booting its newest 6.12 kernel
#           (the release of the installed 6.12 headers, tools/lib.sh);
#           newest: Debian testing/unstable, whichever tools/chroot.sh
#           found newer, booting its newest kernel (linux-image-amd64).
#
# The VM image is made once per suite and kernel and cached in
# $DRVPROXY_CACHE/devbox/<suite>/ (debootstrap from the machine's Debian
# mirror, then the kernel, its headers, gcc, make, libc6-dev, sudo and dkms
# installed with apt inside; a user "dev" who may sudo; a disk image made
# with mke2fs -d, so nothing is ever mounted on this machine).  Each run
# boots it with the disk as a snapshot (the image never changes), the
# tracked files of this tree as a tar archive on a second disk, and a
# systemd unit that unpacks them into ~dev/drvproxy and runs
# tools/guest/devbox-guest.sh: every command line of the README section,
# as "dev", in order, with the checks between them.  Its KTAP goes to the
# serial console; this script prints it and exits 0 when every case
# passed.  Console log: $BUILD/logs/devbox-<suite>.console.log.
#
# Environment: DEVBOX_TIMEOUT (default 1800 s), DRVPROXY_DEBIAN_MIRROR.
# Needs root (debootstrap, chroot), only to build the image.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/lib.sh
. "$REPO/tools/lib.sh"

die() { echo "devbox.sh: $*" >&2; exit 2; }
log() { echo "devbox.sh: $*" >&2; }

cached_only=0
if [ "${1:-}" = --cached ]; then
	cached_only=1
	shift
fi
SUITE=${1:-bookworm}
TIMEOUT=${DEVBOX_TIMEOUT:-1800}
LOGDIR=$BUILD/logs
mkdir -p "$LOGDIR"

MIRROR=$(debian_mirror)

# The suite to debootstrap, its apt sources and the kernel package to boot.
case $SUITE in
bookworm)
	rel=$(debian_kver)
	[ -n "$rel" ] || die "no Debian 6.12 kernel with headers installed; run tools/bootstrap.sh"
	dist=bookworm
	kernel_pkgs="linux-image-$rel linux-headers-$rel"
	sources="deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian*}/debian-security bookworm-security main"
	;;
newest)
	ch=$("$REPO/tools/chroot.sh" prepare | tail -n 1) || die "tools/chroot.sh prepare failed"
	dist=${ch##*/chroot-}
	kernel_pkgs="linux-image-amd64 linux-headers-amd64"
	sources="deb $MIRROR $dist main"
	;;
*) die "SUITE is bookworm or newest, not '$SUITE'" ;;
esac
PACKAGES="systemd-sysv udev kmod sudo dkms make gcc libc6-dev initramfs-tools ca-certificates"


# in_root DIR CMD...: CMD chrooted in DIR with /proc, /sys and /dev mounted
# in a private mount namespace (gone with the command, also when killed).
in_root() {
	local root=$1
	shift
	unshare --mount --propagation private sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" &&
			mount --rbind /dev "$root/dev" && exec chroot "$root" "$@"' sh "$root" "$@"
}

# The guest's unit: unpack the tree from the second disk and run the README
# section as dev; the console gets everything; then power off.
write_unit() {
	cat > "$1/etc/systemd/system/drvproxy-devbox.service" <<'EOF'
[Unit]
Description=drvproxy: the README's development-box section
After=multi-user.target systemd-udev-settle.service
Wants=systemd-udev-settle.service

[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStart=/bin/sh -c 'rm -rf /home/dev/drvproxy && mkdir -p /home/dev/drvproxy && tar -xf /dev/vdb -C /home/dev/drvproxy && chown -R dev:dev /home/dev/drvproxy && sh /home/dev/drvproxy/tools/guest/devbox-guest.sh; echo DRVPROXY-DEVBOX-EXIT=$?'
ExecStopPost=/bin/systemctl poweroff --no-block

[Install]
WantedBy=multi-user.target
EOF
}

build_image() {
	local root=$DIR/root.tmp
	log "making the $SUITE VM image (debootstrap $dist from $MIRROR; a few minutes, once)"
	rm -rf "$root" "$DIR"/disk-*.img "$DIR"/vmlinuz "$DIR"/initrd.img
	mkdir -p "$root"
	"$REPO/tools/chroot.sh" debootstrap "$dist" "$root" > "$LOGDIR/devbox-$SUITE.build.log" 2>&1 ||
		die "debootstrap $dist failed; see $LOGDIR/devbox-$SUITE.build.log"
	printf '%s\n' "$sources" > "$root/etc/apt/sources.list"
	# A snapshot mirror serves Release files past their Valid-Until date
	# (as in tools/chroot.sh).
	echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99drvproxy"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	echo devbox > "$root/etc/hostname"
	echo "/dev/vda / ext4 defaults 0 1" > "$root/etc/fstab"
	# shellcheck disable=SC2086 # word lists
	in_root "$root" sh -c "export DEBIAN_FRONTEND=noninteractive
		apt-get -qq update && apt-get -y -qq --no-install-recommends install $PACKAGES $kernel_pkgs &&
		apt-get clean &&
		useradd -m -s /bin/bash dev && echo 'dev ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/dev &&
		passwd -d root" >> "$LOGDIR/devbox-$SUITE.build.log" 2>&1 ||
		die "installing the packages in the $SUITE image failed; see $LOGDIR/devbox-$SUITE.build.log"
	write_unit "$root"
	ln -s /etc/systemd/system/drvproxy-devbox.service \
		"$root/etc/systemd/system/multi-user.target.wants/drvproxy-devbox.service"
	cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n 1)" "$DIR/vmlinuz"
	cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -n 1)" "$DIR/initrd.img"
	mke2fs -q -t ext4 -L devbox -d "$root" "$IMG.tmp" 4G ||
		die "mke2fs -d of the $SUITE image failed"
	mv "$IMG.tmp" "$IMG"
	rm -rf "$root"
}

# The image's key: what goes into it (the suite, its kernel, the packages,
# the unit and how the image is made).  A change of any makes a new one.
key=$( { echo "$dist $kernel_pkgs $PACKAGES"; declare -f write_unit build_image; } |
	sha256sum | cut -c1-12)
DIR=$DRVPROXY_CACHE/devbox/$SUITE
IMG=$DIR/disk-$key.img
[ "$cached_only" = 0 ] || { [ -s "$IMG" ]; exit; }
mkdir -p "$DIR"
if [ ! -s "$IMG" ]; then
	[ "$(id -u)" = 0 ] || die "making the VM image needs root (debootstrap, chroot)"
	build_image
fi

# The tree as a user has it: its tracked files (all files when this is not
# a git checkout).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drvproxy-devbox.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if git -C "$REPO" rev-parse --git-dir > /dev/null 2>&1; then
	git -C "$REPO" ls-files -z | tar -C "$REPO" --null -T - -cf "$tmp/tree.tar"
else
	tar -C "$REPO" --exclude='*.o' --exclude='*.ko' -cf "$tmp/tree.tar" .
fi

# No getty on the serial console: its vhangup() would cut the unit's
# output off there.
console=$LOGDIR/devbox-$SUITE.console.log
log "booting the $SUITE VM ($(basename "$(readlink -f "$DIR/vmlinuz")"), $IMG); console: $console"
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -nodefaults -nographic -serial stdio -no-reboot \
	-machine pc -accel tcg -cpu max,la57=off -smp 2 -m 2048 \
	-kernel "$DIR/vmlinuz" -initrd "$DIR/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 quiet systemd.show_status=0 systemd.mask=serial-getty@ttyS0.service panic=-1" \
	-drive "file=$IMG,if=virtio,format=raw,snapshot=on" \
	-drive "file=$tmp/tree.tar,if=virtio,format=raw,readonly=on" \
	< /dev/null 2>&1 | sed -u 's/\r//g' > "$console"
rc=${PIPESTATUS[0]}
# The KTAP, without the terminal sequences a newer systemd writes to the
# console in front of a line.
sed -n '/TAP version 13/,/DRVPROXY-DEVBOX-EXIT=/{s/.*\(TAP version 13\)/\1/;s/.*\(DRVPROXY-DEVBOX-EXIT=[0-9]*\).*/\1/;p}' "$console"
exit_line=$(sed -n 's/.*DRVPROXY-DEVBOX-EXIT=\([0-9]*\).*/\1/p' "$console" | tail -n 1)
if [ -z "$exit_line" ]; then
	[ "$rc" = 124 ] && log "TIMEOUT: the VM did not finish within $TIMEOUT s" ||
		log "FAIL: the VM stopped without running the section (last line: $(tail -n 1 "$console"))"
	exit 1
fi
exit "$exit_line"
