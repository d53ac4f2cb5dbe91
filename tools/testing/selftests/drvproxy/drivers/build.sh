#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build.sh - build the real drivers converted to drvproxy, their plain
# upstream builds and their upstream test clients, for test-driver-*.sh.
#
# Usage: build.sh SRC KDIR TREE MODOUT DATAOUT
#
#   SRC      an unpacked kernel source (linux-source-6.12) the drivers and
#            their test clients come from
#   KDIR     the kernel build directory to build the modules against
#   TREE     the drvproxy build tree already built against KDIR (its
#            Module.symvers has drvproxy's exports)
#   MODOUT   where the converted modules and companions go (the guest's
#            module directory)
#   DATAOUT  the selftests directory of the guest: DATAOUT/drivers/<name>/
#            gets plain/<module>.ko (the unconverted driver, same source),
#            bin/ (the upstream test client, static) and stock/ (the
#            kernel's own modules the tests load beside the driver)
#
# Each drivers/<name>/ holds "upstream", <name>.patch (the conversion,
# against that file) and a Kbuild for the converted module and its
# companions, and optionally image.patch: a later upstream change to the
# driver, against the same file.  With it, the converted build is serviced
# as Documentation/servicing.rst says: its source with the change applied
# is built with make companion (OLD: the converted build) into
# MODOUT/<module>_image.ko, its report into DATAOUT/drivers/<name>/.
# "upstream" has the source file's path in SRC, the plain
# module's name and the test client's source path on its first line, and
# on an optional second line "stock:" and the names of modules of KDIR's
# kernel (from /lib/modules/<release>, or the image image_for_kdir
# unpacked) that the tests need, such as a consumer of the driver's
# exports.  A patch that no longer applies exactly (no fuzz) fails the
# build.
#
# The conversions are of SRC's version of the drivers: against a KDIR of
# another kernel version nothing is built, and DATAOUT/drivers/SKIP says
# why (the tests skip with that reason).
set -eu

[ $# -eq 5 ] || { sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
SRC=$1 KDIR=$2 TREE=$3 MODOUT=$4 DATAOUT=$5
HERE=$(cd "$(dirname "$0")" && pwd)
INCLUDE=$(cd "$HERE/../../../../../module/include" 2>/dev/null && pwd) ||
	INCLUDE=$TREE/module/include

src_version() {
	sed -n 's/^VERSION = //p; s/^PATCHLEVEL = //p' "$SRC/Makefile" | paste -sd.
}

[ -f "$SRC/Makefile" ] || { echo "build.sh: $SRC is not a kernel source" >&2; exit 1; }
[ -r "$KDIR/include/config/kernel.release" ] ||
	{ echo "build.sh: $KDIR is not a kernel build directory" >&2; exit 1; }
mkdir -p "$MODOUT" "$DATAOUT/drivers"
rm -f "$DATAOUT/drivers/SKIP"
krel=$(cat "$KDIR/include/config/kernel.release")
want=$(src_version)
case $krel in
"$want" | "$want".* | "$want"-* | "$want"+*) ;;
*)
	echo "the converted drivers are linux-source-$want's; this kernel is $krel" \
		> "$DATAOUT/drivers/SKIP"
	echo "build.sh: $(cat "$DATAOUT/drivers/SKIP"): nothing built"
	exit 0
	;;
esac

# stock_module NAME DEST: the kernel's own NAME.ko, uncompressed, into DEST.
stock_module() {
	local f base
	for base in "/lib/modules/$krel" "${DRVPROXY_CACHE:-$HOME/.cache/drvproxy}/images/$krel/lib/modules/$krel"; do
		f=$(find "$base/kernel" -name "$1.ko*" 2> /dev/null | head -n 1)
		[ -n "$f" ] && break
	done
	[ -n "$f" ] || { echo "build.sh: no $1.ko of $krel" >&2; return 1; }
	case $f in
	*.xz) xz -dc "$f" > "$2/$1.ko" ;;
	*.zst) zstd -qdc "$f" > "$2/$1.ko" ;;
	*.gz) gzip -dc "$f" > "$2/$1.ko" ;;
	*) cp "$f" "$2/$1.ko" ;;
	esac
}

# image_of DIR WORK MODULE OUT: the image companion of WORK/conv, the
# running build, from its source with DIR/image.patch.
image_of() {
	local name=${3}_image

	mkdir -p "$2/image"
	cp "$2/conv/"*.c "$2/conv/Kbuild" "$2/image/"
	patch --quiet --fuzz=0 --no-backup-if-mismatch -p2 -d "$2/image" \
		-i "$1/image.patch" "${3}_main.c"
	echo "\$ make companion SRC=$2/image TARGET=$3 NAME=$name OLD=$2/conv"
	# The companion's work directory beside the converted build's; a
	# driver loaded on the build machine is not the one under test.
	mkdir -p "$2/nosysfs"
	BUILD=$2 DRVPROXY_SYSFS_ROOT=$2/nosysfs "$TREE/tools/companion/build.sh" \
		-k "$KDIR" -o "$2/conv" -s "$TREE/Module.symvers" "$2/image" "$3" "$name" \
		W=1 DRVPROXY_INCLUDE="$INCLUDE"
	cp "$2/companion/$name/$name.ko" "$MODOUT/"
	cp "$2/companion/$name/report.txt" "$4/image.report"
}

for dir in "$HERE"/*/; do
	name=$(basename "$dir")
	[ -f "$dir/upstream" ] || continue
	read -r file plainmod client < "$dir/upstream"
	stock=$(sed -n 's/^stock://p' "$dir/upstream")
	work=$TREE-drivers/$name
	out=$DATAOUT/drivers/$name
	rm -rf "$work"
	mkdir -p "$work/conv" "$work/plain" "$out/plain" "$out/bin" "$out/stock"

	# The converted driver: the upstream file, patched, and the companions.
	cp "$SRC/$file" "$work/conv/${plainmod}_main.c"
	patch --quiet --fuzz=0 --no-backup-if-mismatch -p2 -d "$work/conv" \
		-i "$dir/$name.patch" "${plainmod}_main.c"
	find "$dir" -maxdepth 1 -name '*.c' -exec cp {} "$work/conv/" \;
	cp "$dir/Kbuild" "$work/conv/"
	make -C "$KDIR" M="$work/conv" W=1 DRVPROXY_INCLUDE="$INCLUDE" \
		KBUILD_EXTRA_SYMBOLS="$TREE/Module.symvers" modules
	cp "$work/conv/"*.ko "$MODOUT/"
	[ -f "$dir/image.patch" ] && image_of "$dir" "$work" "$plainmod" "$out"

	# The same upstream file, unconverted, as the baseline.
	cp "$SRC/$file" "$work/plain/$plainmod.c"
	echo "obj-m += $plainmod.o" > "$work/plain/Kbuild"
	make -C "$KDIR" M="$work/plain" modules
	cp "$work/plain/$plainmod.ko" "$out/plain/"

	# The upstream test client, unchanged, static for the busybox guest.
	gcc -O2 -static -I"$SRC/$(dirname "$client")" -o "$out/bin/$(basename "$client" .c)" \
		"$SRC/$client"

	for m in $stock; do
		stock_module "$m" "$out/stock"
	done
done
