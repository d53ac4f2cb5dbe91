#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build.sh - the image companions test-image.sh loads, built on the host
# with `make companion` from patched copies of the demo driver's source.
#
# Usage: image/build.sh TREE KDIR MODDIR [DATADIR]
#
#   TREE     a built copy of the repo (tools/check.sh's Debian build): its
#            module/demo holds the objects of the host the guest runs, its
#            Module.symvers drvproxy's exports
#   KDIR     the kernel build tree TREE was built against
#   MODDIR   where the companion .ko files go (the guest's /lib/drvproxy)
#   DATADIR  where each companion's build report (NAME.report) and endpoint
#            results (NAME.tsv) go (default MODDIR)
#
# Companions (each from TREE's module/ with the patches applied in order):
#   drvproxy_demo_image        demo-1.1.patch: the 1.1 servicing update
#                              (state layout 2, migrates both ways)
#   drvproxy_demo_image_nomig  demo-1.1.patch + demo-1.1-nomigrate.patch:
#                              layout 2 without migration, must be refused
#   drvproxy_demo_image_otherbuild  demo-1.1.patch, made with OLD another
#                              build of the host (the demo rebuilt from the
#                              1.1 source, as after a make once the source
#                              was edited): must be refused
#   drvproxy_detect_image      detect/detect-1.1.patch over detect/detect.c,
#                              whose host drvproxy_detect is built here
#                              too: an image that must use the running
#                              driver's data, table, helper and module
#                              (both .ko in MODDIR; report and results in
#                              detect.report and detect.tsv)
# Also in DATADIR: host.build_id, the build id of TREE's drvproxy_demo.ko;
# refusal.out and refusal.status, what make companion said and its exit
# status when the running drvproxy_demo (a stand-in sysfs tree,
# DRVPROXY_SYSFS_ROOT) is another build than OLD; nobuildid.out and
# nobuildid.status, the same for an OLD whose .ko was linked without
# --build-id; on arm64 anchors.out and anchors.status, the same for an OLD
# drvproxy_detect compiled with section anchors (anchors.skip elsewhere).
# Sources are patched in $BUILD/selftests-image-src (never in the repo).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 3 ] || { sed -n '7,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
TREE=$(cd "$1" && pwd)
KDIR=$2
MODDIR=$3
DATADIR=${4:-$3}
. "$TREE/tools/lib.sh"
SCRATCH=$BUILD/selftests-image-src
mkdir -p "$MODDIR" "$DATADIR" "$SCRATCH/nosysfs"
# A drvproxy_demo loaded on the build machine is not the one under test.
export DRVPROXY_SYSFS_ROOT=$SCRATCH/nosysfs

# patched NAME PATCH...: TREE's module/ with the patches, in $SCRATCH/NAME.
patched() {
	local name=$1 p
	shift
	rm -rf "${SCRATCH:?}/$name"
	sync_sources "$TREE/module" "$SCRATCH/$name/module"
	for p in "$@"; do
		echo "image/build.sh: $name: applying $p"
		patch -s -p1 -d "$SCRATCH/$name" < "$HERE/$p"
	done
}

# companion NAME PATCH...: OLD is $OLD (default TREE's demo build).
companion() {
	local name=$1 old=${OLD:-$TREE/module/demo}

	patched "$@"
	echo "\$ make companion SRC=$SCRATCH/$name/module/demo TARGET=drvproxy_demo NAME=$name OLD=$old"
	make -s --no-print-directory -C "$TREE" companion KDIR="$KDIR" \
		SRC="$SCRATCH/$name/module/demo" TARGET=drvproxy_demo NAME="$name" \
		OLD="$old"
	cp "$BUILD/companion/$name/$name.ko" "$MODDIR/"
	cp "$BUILD/companion/$name/report.txt" "$DATADIR/$name.report"
	cp "$BUILD/companion/$name/endpoints.tsv" "$DATADIR/$name.tsv"
}

companion drvproxy_demo_image demo-1.1.patch
companion drvproxy_demo_image_nomig demo-1.1.patch demo-1.1-nomigrate.patch

# Another build of the host: the demo built from the 1.1 source as a host.
patched otherhost demo-1.1.patch
echo "\$ make -C $KDIR M=$SCRATCH/otherhost/module/demo modules"
make -s -C "$KDIR" M="$SCRATCH/otherhost/module/demo" KBUILD_EXTRA_SYMBOLS="$TREE/Module.symvers" \
	modules > /dev/null
OLD=$SCRATCH/otherhost/module/demo companion drvproxy_demo_image_otherbuild demo-1.1.patch

# The build id of the host the guest runs, and make companion's refusal
# when the running host is not OLD (a sysfs stand-in says so).
python3 "$TREE/tools/companion/build_id.py" "$TREE/module/demo/drvproxy_demo.ko" \
	> "$DATADIR/host.build_id"
fake=$SCRATCH/sysfs/kernel/drvproxy/drivers/drvproxy_demo
mkdir -p "$fake"
echo drvproxy_demo > "$fake/owner"
cat "$DATADIR/host.build_id" > "$fake/build_id"
status=0
DRVPROXY_SYSFS_ROOT=$SCRATCH/sysfs make -s --no-print-directory -C "$TREE" companion KDIR="$KDIR" \
	SRC="$SCRATCH/drvproxy_demo_image_otherbuild/module/demo" TARGET=drvproxy_demo \
	NAME=drvproxy_demo_image_refused OLD="$SCRATCH/otherhost/module/demo" \
	> "$DATADIR/refusal.out" 2>&1 || status=$?
echo "$status" > "$DATADIR/refusal.status"
sed 's/^/image\/build.sh: refusal: /' "$DATADIR/refusal.out"

# An OLD whose drvproxy_demo.ko was linked without --build-id: its
# drvproxy_build_id section holds only drvproxy.lds's padding.
nobid=$SCRATCH/nobuildid
rm -rf "$nobid"
mkdir -p "$nobid"
cp "$TREE/module/demo/"*.o "$nobid/"
head -c 8 /dev/zero > "$nobid/pad"
# This machine's objcopy reads its own architecture only: an arm64 host
# module needs the cross binutils'.
objcopy=objcopy
readelf -h "$TREE/module/demo/drvproxy_demo.ko" | grep -q 'Machine:.*AArch64' &&
	objcopy=aarch64-linux-gnu-objcopy
$objcopy --update-section drvproxy_build_id="$nobid/pad" "$TREE/module/demo/drvproxy_demo.ko" \
	"$nobid/drvproxy_demo.ko"
status=0
make -s --no-print-directory -C "$TREE" companion KDIR="$KDIR" \
	SRC="$SCRATCH/drvproxy_demo_image/module/demo" TARGET=drvproxy_demo \
	NAME=drvproxy_demo_image_nobuildid OLD="$nobid" > "$DATADIR/nobuildid.out" 2>&1 || status=$?
echo "$status" > "$DATADIR/nobuildid.status"
sed 's/^/image\/build.sh: no build id: /' "$DATADIR/nobuildid.out"

# image/detect: a host built here and its image from detect-1.1.patch.
det=$SCRATCH/detect
rm -rf "$det"
mkdir -p "$det/host" "$det/image"
cp "$HERE/detect/detect.c" "$HERE/detect/detect.h" "$det/host/"
sed "s|\$(src)/../../../../../../module/include|$TREE/module/include|" "$HERE/detect/Kbuild" \
	> "$det/host/Kbuild"
cp "$det/host/detect.c" "$det/host/detect.h" "$det/host/Kbuild" "$det/image/"
patch -s -p1 -d "$det/image" < "$HERE/detect/detect-1.1.patch"
echo "\$ make -C $KDIR M=$det/host modules"
make -s -C "$KDIR" M="$det/host" KBUILD_EXTRA_SYMBOLS="$TREE/Module.symvers" modules > /dev/null
echo "\$ make companion SRC=$det/image TARGET=drvproxy_detect NAME=drvproxy_detect_image OLD=$det/host"
make -s --no-print-directory -C "$TREE" companion KDIR="$KDIR" SRC="$det/image" \
	TARGET=drvproxy_detect NAME=drvproxy_detect_image OLD="$det/host"
cp "$det/host/drvproxy_detect.ko" "$BUILD/companion/drvproxy_detect_image/drvproxy_detect_image.ko" \
	"$MODDIR/"
cp "$BUILD/companion/drvproxy_detect_image/report.txt" "$DATADIR/detect.report"
cp "$BUILD/companion/drvproxy_detect_image/endpoints.tsv" "$DATADIR/detect.tsv"

# arm64 only: an OLD compiled with section anchors, which make companion
# refuses (x86-64 has none).
rm -f "$DATADIR/anchors.out" "$DATADIR/anchors.status" "$DATADIR/anchors.skip"
if readelf -h "$det/host/drvproxy_detect.ko" | grep -q 'Machine:.*AArch64'; then
	rm -rf "$det/anchors"
	mkdir -p "$det/anchors"
	cp "$det/host/detect.c" "$det/host/detect.h" "$det/anchors/"
	sed 's/ -fno-section-anchors//' "$det/host/Kbuild" > "$det/anchors/Kbuild"
	make -s -C "$KDIR" M="$det/anchors" KBUILD_EXTRA_SYMBOLS="$TREE/Module.symvers" \
		modules > /dev/null
	status=0
	make -s --no-print-directory -C "$TREE" companion KDIR="$KDIR" SRC="$det/image" \
		TARGET=drvproxy_detect NAME=drvproxy_detect_anchors OLD="$det/anchors" \
		> "$DATADIR/anchors.out" 2>&1 || status=$?
	echo "$status" > "$DATADIR/anchors.status"
	sed 's/^/image\/build.sh: anchors: /' "$DATADIR/anchors.out"
else
	echo "x86-64 has no section anchors" > "$DATADIR/anchors.skip"
fi
