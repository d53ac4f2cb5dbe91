#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build.sh - build an image companion: a newer build of a host driver's own
# source that services the running driver endpoint by endpoint (the
# `make companion` target).
#
# Usage: tools/companion/build.sh [-k KDIR] [-o OLD] [-s SYMVERS] SRC TARGET NAME [MAKEVAR=VALUE...]
#        make companion SRC=... TARGET=... NAME=... [OLD=...] [KDIR=...]
#
#   SRC      the host module's source directory as edited (its Kbuild, or a
#            Makefile in kbuild syntax, lists "TARGET-y := a.o b.o")
#   TARGET   the host module's name (the running one), e.g. drvproxy_demo
#   NAME     the companion module's name, e.g. drvproxy_demo_fix1
#   -k KDIR  kernel build tree (default: the top Makefile's KDIR)
#   -o OLD   directory with the running host's build: TARGET.ko (its build
#            id binds the companion to that build) and its object files;
#            without it nothing is compared, every endpoint is installed and
#            the companion applies to any build
#   -s SYMVERS  Module.symvers with drvproxy's exports (default: $SYMVERS,
#            else the first one found in OLD or a parent of it, else the
#            repo's top level)
#   MAKEVAR=VALUE  passed to the kernel make (W=1, C=1, V=1)
#
# Steps, each timed:
#   1. copy SRC to $BUILD/companion/NAME/src (default BUILD is
#      ~/.cache/drvproxy/build; never inside the repo) and write a Kbuild
#      there that builds NAME from TARGET's objects with
#      -DDRVPROXY_IMAGE_COMPANION and drvproxy.lds (SRC's own ccflags-y and
#      ldflags-y are kept, with paths into SRC pointed at the copy);
#   2. build it (pass 1);
#   3. compare every endpoint's compiled implementation (__dpx_impl_<name>)
#      with OLD's (tools/companion/epdiff.py): objdump -d of both,
#      normalised (no addresses; branch targets relative to their function;
#      relocation symbol names kept; string literals, constants and local
#      objects resolved to their contents or names), plus the side-table
#      entries of the function.  An endpoint is unchanged only when its body
#      is identical AND every module-local function or data object it
#      references, transitively, is too (inlined helpers are in the body);
#      A changed endpoint that nothing in OLD refers to but its descriptor
#      (no ops table, call or export) is unreachable: nothing can call it.
#      For each changed endpoint the comparison also lists what the image's
#      code of it uses of the module (functions, writable and const data,
#      THIS_MODULE), all the image's own copies, and warns where that
#      differs from the running driver's;
#   4. if any endpoint is unchanged or unreachable, build again with
#      -D__DPX_UNCHANGED_<name>=1 or -D__DPX_UNREACHABLE_<name>=1 for each
#      (pass 2): drvproxy then skips those replacements and the running
#      host's code stays in place.
#
# The companion carries OLD's build id (TARGET.ko's drvproxy_build_id note,
# from the host's link with --build-id=sha1); drvproxy refuses to apply it
# to any other build, and when TARGET is loaded on this machine the build
# stops here if it is not that build ($DRVPROXY_SYSFS_ROOT/kernel/drvproxy/
# drivers/*/build_id; DRVPROXY_SYSFS_ROOT defaults to /sys).  The image is compiled with
# -D__DISABLE_EXPORTS: the running host owns its exports.
#
# Prints a report: changed / unchanged / new / unreachable / removed
# endpoints with the reason, what each changed one uses, warnings, the output .ko ($BUILD/companion/NAME/NAME.ko) and the
# time of each step.  The report is also in $BUILD/companion/NAME/report.txt
# and the per-endpoint results in endpoints.tsv (status, name, reason).
# Exit status: 0, 1 when a build fails, 2 on a usage error.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tools/lib.sh"

usage() {
	sed -n '8,24p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

die() {
	echo "companion: $1" >&2
	exit "${2:-1}"
}

KDIR=${KDIR:-}
OLD=""
SYMVERS=${SYMVERS:-}
while getopts "k:o:s:h" opt; do
	case $opt in
	k) KDIR=$OPTARG ;;
	o) OLD=$OPTARG ;;
	s) SYMVERS=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || usage
SRC=$1 TARGET=$2 NAME=$3
shift 3
[ -n "$SRC" ] && [ -n "$TARGET" ] && [ -n "$NAME" ] || die "SRC, TARGET and NAME are required (make companion SRC=... TARGET=... NAME=...)" 2
MAKEVARS=("$@")

[ -d "$SRC" ] || die "SRC '$SRC' is not a directory" 2
SRC=$(cd "$SRC" && pwd)
[ -n "$KDIR" ] || KDIR=$(debian_kdir || true)
[ -n "$KDIR" ] && [ -d "$KDIR" ] || die "no kernel build tree (KDIR='$KDIR'); pass -k KDIR" 2
case $NAME in
*[!A-Za-z0-9_]* | "") die "NAME '$NAME' is not a module name (letters, digits, _)" 2 ;;
esac
[ "$NAME" != "$TARGET" ] || die "NAME must differ from TARGET (both modules are loaded at once)" 2
if [ -n "$OLD" ]; then
	[ -d "$OLD" ] || die "OLD '$OLD' is not a directory" 2
	OLD=$(cd "$OLD" && pwd)
fi

# build_id_of KO: the hex build id in KO's drvproxy_build_id note, or "".
build_id_of() {
	python3 "$REPO/tools/companion/build_id.py" "$1"
}

# The running build's id, when TARGET is loaded on this machine.
running_build_id() {
	local d
	for d in "${DRVPROXY_SYSFS_ROOT:-/sys}"/kernel/drvproxy/drivers/*/; do
		[ -f "$d/owner" ] && [ "$(cat "$d/owner")" = "$TARGET" ] || continue
		cat "$d/build_id" 2> /dev/null
		return 0
	done
	return 1
}

HOST_BUILD=""
if [ -n "$OLD" ]; then
	[ -f "$OLD/$TARGET.ko" ] ||
		die "OLD has no $TARGET.ko: copy the running module file there with its objects (its build id says which build the companion is made from)" 2
	HOST_BUILD=$(build_id_of "$OLD/$TARGET.ko") || die "$OLD/$TARGET.ko is not an ELF64 module" 2
	[ -n "$HOST_BUILD" ] ||
		die "$OLD/$TARGET.ko has no build id: link the host with 'ldflags-y += -T .../drvproxy.lds --build-id=sha1' (Documentation/howto.rst)" 2
	if RUNNING=$(running_build_id); then
		[ "$RUNNING" = "$HOST_BUILD" ] ||
			die "OLD is build $HOST_BUILD of $TARGET, but the running $TARGET is build ${RUNNING:-(none)}: pass the running build's files as OLD" 2
	fi
fi

OUT=$BUILD/companion/$NAME
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
case $OUT/ in
"$REPO"/*) die "build directory $OUT is inside the repo; set BUILD elsewhere" 2 ;;
esac
WORK=$OUT/src

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
T_START=$(now)
TIMES=()
step_done() {
	local t
	t=$(now)
	TIMES+=("$1 $(secs "$STEP_T0" "$t") s")
	STEP_T0=$t
}
STEP_T0=$T_START

# check_no_anchors OBJ: arm64's GCC reaches a file's statics from one
# section anchor by default, so an access's relocation names the anchor,
# not the object; then neither the comparison nor the binding can tell
# which object the running build's code uses.  The DWARF producer string
# records the flags an object was compiled with.
check_no_anchors() {
	local producers
	[ "$(readelf -h "$1" | sed -n 's/^ *Machine: *//p')" = AArch64 ] || return 0
	producers=$(readelf --debug-dump=info --dwarf-depth=1 "$1" 2> /dev/null |
		grep DW_AT_producer || true)
	if [ -z "$producers" ]; then
		echo "companion: warning: $1 has no debug information: cannot tell whether it was compiled with -fno-section-anchors (Documentation/servicing.rst)" >&2
	elif echo "$producers" | grep -qv -- -fno-section-anchors; then
		die "$1 was compiled with section anchors (arm64's default): which object its code uses is not in its relocations; compile the host with 'ccflags-y += -fno-section-anchors' (Documentation/servicing.rst)" 2
	fi
}

# kbuild_var DIR FILE EXPR: evaluate EXPR (e.g. "$(foo-y)") after including
# the kbuild file DIR/FILE, with $(src) and $(obj) being DIR and the
# MAKEVAR=VALUE arguments set, as kbuild sees them.
kbuild_var() {
	make -s --no-print-directory -f - dpx-print "${MAKEVARS[@]}" <<-EOF
	src := $1
	obj := $1
	srctree := $KDIR
	KERNELRELEASE := companion
	include $1/$2
	\$(info $3)
	dpx-print: ; @:
	EOF
}

kbuild_file() {
	if [ -f "$1/Kbuild" ]; then echo Kbuild; elif [ -f "$1/Makefile" ]; then echo Makefile; fi
}

# objects_of DIR MODULE: the object list of composite module MODULE.
objects_of() {
	local f
	f=$(kbuild_file "$1")
	[ -n "$f" ] || return 0
	kbuild_var "$1" "$f" "\$($2-y) \$($2-objs)" 2> /dev/null | tr -s ' ' '\n' | sed '/^$/d'
}

# Point paths into SRC at the copy, leave the others absolute: a word may
# be "-I/path", "-include /path" split in two, "-T", "/path/x.lds", ...
remap_flags() {
	local w prefix path real seen=" "
	for w in "$@"; do
		prefix=""
		path=$w
		case $w in
		-I/* | -L/*) prefix=${w:0:2} path=${w:2} ;;
		/*) ;;
		*) printf '%s ' "$w"; continue ;;
		esac
		real=$(realpath -m "$path")
		case $real/ in
		"$SRC"/*) real=$WORK${real#"$SRC"} ;;
		esac
		# An include directory once is enough.
		case $seen in
		*" $prefix$real "*) [ "$prefix" = -I ] && continue ;;
		esac
		seen="$seen$prefix$real "
		printf '%s%s ' "$prefix" "$real"
	done
}

# ------------------------------------------------------------ 1. copy ---

KB=$(kbuild_file "$SRC")
[ -n "$KB" ] || die "$SRC has neither a Kbuild nor a Makefile" 2
mapfile -t OBJS < <(objects_of "$SRC" "$TARGET")
[ ${#OBJS[@]} -gt 0 ] ||
	die "$SRC/$KB does not list the objects of $TARGET ('$TARGET-y := a.o b.o'; a companion needs a composite module)" 2
# The flags as SRC's Kbuild has them, $(src) being SRC.
read -ra CCFLAGS <<< "$(kbuild_var "$SRC" "$KB" '$(ccflags-y)' 2> /dev/null)"
read -ra LDFLAGS <<< "$(kbuild_var "$SRC" "$KB" '$(ldflags-y)' 2> /dev/null)"
LDS=$REPO/module/include/drvproxy.lds
# dpx_bindings.o once bind.py has planned the bindings (pass 2).
BINDINGS=""

rsync -a --delete --exclude=/Kbuild --exclude=/Kbuild.host --exclude='*.o' --exclude='*.ko' \
	--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' --exclude=Module.symvers \
	--exclude=modules.order --exclude='.tmp_*' "$SRC/" "$WORK/"
cp "$SRC/$KB" "$WORK/Kbuild.host"
[ "$KB" = Kbuild ] || rm -f "$WORK/Kbuild"

# drvproxy.h from this repo unless SRC's flags already find one.
CC_REMAPPED=$(remap_flags ${CCFLAGS[@]+"${CCFLAGS[@]}"} "-I$REPO/module/include")
LD_REMAPPED=$(remap_flags ${LDFLAGS[@]+"${LDFLAGS[@]}"})
case " $LD_REMAPPED" in
*drvproxy.lds*) ;;
*) LD_REMAPPED="$LD_REMAPPED-T $LDS" ;;
esac

# write_kbuild [STATUS:NAME...]: STATUS unchanged or unreachable.
write_kbuild() {
	local n
	{
		echo "# SPDX-License-Identifier: GPL-2.0"
		echo "# Generated by tools/companion/build.sh: $NAME, an image companion of"
		echo "# $TARGET built from $SRC ($KB kept as Kbuild.host)."
		echo "obj-m := $NAME.o"
		echo "$NAME-y := ${OBJS[*]} $BINDINGS"
		echo "ccflags-y := $CC_REMAPPED-DDRVPROXY_IMAGE_COMPANION -D__DISABLE_EXPORTS"
		# Every call between functions a relocation bind.py can point
		# at the running driver's function, and every access to an
		# object one of its own: no section anchor (arm64) reaching
		# several objects from one address.
		echo "ccflags-y += -ffunction-sections -fno-section-anchors"
		[ -z "$HOST_BUILD" ] || echo "ccflags-y += -D__DPX_HOST_BUILD_ID=\\\"$HOST_BUILD\\\""
		for n in "$@"; do
			case $n in
			unchanged:*) echo "ccflags-y += -D__DPX_UNCHANGED_${n#*:}=1" ;;
			unreachable:*) echo "ccflags-y += -D__DPX_UNREACHABLE_${n#*:}=1" ;;
			esac
		done
		echo "ldflags-y := $LD_REMAPPED"
	} > "$WORK/Kbuild.new"
	# Only touch Kbuild when it changes.
	cmp -s "$WORK/Kbuild.new" "$WORK/Kbuild" 2> /dev/null || mv "$WORK/Kbuild.new" "$WORK/Kbuild"
	rm -f "$WORK/Kbuild.new"
}

# drvproxy's exports for modpost.
if [ -z "$SYMVERS" ]; then
	d=${OLD:-}
	while [ -n "$d" ] && [ "$d" != / ]; do
		if [ -f "$d/Module.symvers" ] && grep -q drvproxy_layer_apply "$d/Module.symvers"; then
			SYMVERS=$d/Module.symvers
			break
		fi
		d=$(dirname "$d")
	done
	[ -n "$SYMVERS" ] || SYMVERS=$REPO/Module.symvers
fi
[ -f "$SYMVERS" ] && grep -q drvproxy_layer_apply "$SYMVERS" ||
	die "no Module.symvers with drvproxy's exports ($SYMVERS); build drvproxy first (make) or pass -s SYMVERS" 2
SYMVERS=$(realpath "$SYMVERS")
step_done "copy"

# ------------------------------------------------------------ builds ---

LOG=$OUT/make.log
: > "$LOG"
build() {
	echo "\$ make -C $KDIR M=$WORK KBUILD_EXTRA_SYMBOLS=$SYMVERS ${MAKEVARS[*]} modules" >> "$LOG"
	if ! make -C "$KDIR" M="$WORK" KBUILD_EXTRA_SYMBOLS="$SYMVERS" \
		${MAKEVARS[@]+"${MAKEVARS[@]}"} modules >> "$LOG" 2>&1; then
		grep -E 'error|Error|undefined!' "$LOG" | head -n 20 >&2
		die "build of $NAME failed (pass $1); see $LOG"
	fi
}

write_kbuild
build 1
step_done "pass 1 build"

# ------------------------------------------------------------ compare ---

RESULTS=$OUT/endpoints.tsv
UNCHANGED=()
SKIPPED=()
if [ -n "$OLD" ]; then
	mapfile -t OLD_OBJS < <(objects_of "$OLD" "$TARGET")
	[ ${#OLD_OBJS[@]} -gt 0 ] || OLD_OBJS=("${OBJS[@]}")
	old_list="" new_list=""
	for o in "${OLD_OBJS[@]}"; do
		[ -f "$OLD/$o" ] || die "OLD has no $o: pass the directory holding the running $TARGET's objects" 2
		old_list=$old_list,$OLD/$o
		check_no_anchors "$OLD/$o"
	done
	for o in "${OBJS[@]}"; do
		new_list=$new_list,$WORK/$o
	done
	python3 "$REPO/tools/companion/epdiff.py" --old "${old_list#,}" --new "${new_list#,}" \
		--rename "$NAME=$TARGET" > "$RESULTS" ||
		die "endpoint comparison failed (tools/companion/epdiff.py)"
	# What the installed endpoints' code uses of the running driver.
	python3 "$REPO/tools/companion/bind.py" plan --old "$OLD/$TARGET.ko" \
		--new "$WORK/$NAME.ko" --results "$RESULTS" --host "$TARGET" --out "$OUT" \
		--rename "$NAME=$TARGET" >> "$RESULTS" ||
		die "binding the image to the running build failed (tools/companion/bind.py plan)"
	cp "$OUT/dpx_bindings.c" "$WORK/dpx_bindings.c"
	BINDINGS=dpx_bindings.o
	mapfile -t UNCHANGED < <(awk -F '\t' '$1 == "unchanged" { print $2 }' "$RESULTS")
	mapfile -t SKIPPED < <(awk -F '\t' '$1 == "unchanged" || $1 == "unreachable" { print $1 ":" $2 }' "$RESULTS")
else
	# Nothing to compare with: every endpoint is installed.
	nm "$WORK/$NAME.o" | sed -n 's/.* t __dpx_impl_\(.*\)$/changed\t\1\tnot compared (no OLD build given)/p' |
		sort -u > "$RESULTS"
fi
step_done "compare"

if [ -n "$BINDINGS" ] || [ ${#SKIPPED[@]} -gt 0 ]; then
	write_kbuild ${SKIPPED[@]+"${SKIPPED[@]}"}
	build 2
	step_done "pass 2 build"
fi
cp "$WORK/$NAME.ko" "$OUT/$NAME.ko"
if [ -n "$BINDINGS" ]; then
	python3 "$REPO/tools/companion/bind.py" link --plan "$OUT/bindings.tsv" "$OUT/$NAME.ko" ||
		die "linking the image to the running build failed (tools/companion/bind.py link)"
	step_done "link"
fi

# ------------------------------------------------------------ report ---

{
	echo "companion $NAME: image of $TARGET from $SRC (${OBJS[*]})"
	echo "  compared with: ${OLD:-nothing (no OLD build given: every endpoint is installed)}"
	echo "  made from build: ${HOST_BUILD:-any (no OLD build given: drvproxy does not check the build)}"
	for s in changed new unreachable removed unchanged; do
		awk -F '\t' -v s="$s" '$1 == s { printf "  %-11s %-22s %s\n", $1, $2, $3 }' "$RESULTS"
	done
	awk -F '\t' '$1 == "uses" { printf "  uses        %-22s %s\n", $2, $3 }' "$RESULTS"
	awk -F '\t' '$1 == "binds" { printf "  binds       %-22s %s\n", $2, $3 }' "$RESULTS"
	awk -F '\t' '$1 == "keeps" { printf "  keeps       %-22s %s\n", $2, $3 }' "$RESULTS"
	awk -F '\t' '$1 == "warning" { printf "  warning     %-22s %s\n", $2, $3 }' "$RESULTS"
	printf '  installs %s, skips %s unchanged, %s unreachable, %s new\n' \
		"$(grep -c '^changed' "$RESULTS" || true)" "${#UNCHANGED[@]}" \
		"$(grep -c '^unreachable' "$RESULTS" || true)" "$(grep -c '^new' "$RESULTS" || true)"
	echo "output: $OUT/$NAME.ko"
	TIMES+=("total $(secs "$T_START" "$(now)") s")
	printf 'times: %s\n' "$(IFS=,; echo "${TIMES[*]}" | sed 's/,/, /g')"
} | tee "$OUT/report.txt"
