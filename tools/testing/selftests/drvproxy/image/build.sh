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
mkdir -p "$MODDIR" "$DATADIR"

# companion NAME PATCH...
companion() {
	local name=$1 p
	shift
	rm -rf "${SCRATCH:?}/$name"
	sync_sources "$TREE/module" "$SCRATCH/$name/module"
	for p in "$@"; do
		echo "image/build.sh: $name: applying $p"
		patch -s -p1 -d "$SCRATCH/$name" < "$HERE/$p"
	done
	echo "\$ make companion SRC=$SCRATCH/$name/module/demo TARGET=drvproxy_demo NAME=$name OLD=$TREE/module/demo"
	make -s --no-print-directory -C "$TREE" companion KDIR="$KDIR" \
		SRC="$SCRATCH/$name/module/demo" TARGET=drvproxy_demo NAME="$name" \
		OLD="$TREE/module/demo"
	cp "$BUILD/companion/$name/$name.ko" "$MODDIR/"
	cp "$BUILD/companion/$name/report.txt" "$DATADIR/$name.report"
	cp "$BUILD/companion/$name/endpoints.tsv" "$DATADIR/$name.tsv"
}

companion drvproxy_demo_image demo-1.1.patch
companion drvproxy_demo_image_nomig demo-1.1.patch demo-1.1-nomigrate.patch
