#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - `make demo`: the whole drvproxy story in a Debian 6.12 guest.
#
# Builds the modules and the static helpers, boots the Debian kernel under
# QEMU, and runs tools/demo/demo-guest.sh there: load the framework and the
# demo host driver, move data through /dev/drvproxy_demo, swap in
# drvproxy_demo_v2 while a reader keeps the device open, show the new
# behaviour and the sysfs swap state, unload the companion (live revert),
# unload the host.  Everything it builds goes under ~/.cache/drvproxy.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/lib.sh"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

KDIR=$(debian_kdir)
KERNEL=$(debian_kernel)
if [ -z "$KDIR" ] || [ -z "$KERNEL" ]; then
	echo "demo: no Debian 6.12 kernel and headers; run tools/bootstrap.sh (as root)" >&2
	exit 1
fi

say "Building drvproxy against ${KDIR#/usr/src/}"
src=$BUILD/demo
sync_sources "$REPO" "$src"
log=$BUILD/logs/demo-build.log
mkdir -p "$(dirname "$log")"
if ! make -C "$KDIR" M="$src" modules > "$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "demo: module build failed; full log: $log" >&2
	exit 1
fi
data=$BUILD/demo-guest
rm -rf "$data"
mkdir -p "$data/bin"
make -s -C "$src/tools/testing/selftests/drvproxy" DRVPROXY_TOP="$src" >> "$log" 2>&1
cp "$src/tools/testing/selftests/drvproxy/bin/"* "$data/bin/"
if [ -f "$src/tools/drvproxyctl/Makefile" ] &&
   make -s -C "$src/tools/drvproxyctl" STATIC=1 >> "$log" 2>&1; then
	cp "$src/tools/drvproxyctl/drvproxyctl" "$data/bin/" 2>/dev/null || true
fi
cp "$REPO/tools/demo/demo-guest.sh" "$data/"
echo "modules: $(cd "$src" && find module -name '*.ko' | sort | tr '\n' ' ')"

say "Booting ${KERNEL#/boot/} under QEMU (TCG, 2 vCPUs)"
exec "$REPO/tools/guest/run.sh" -k "$KERNEL" -m "$src/module" -d "$data" -t 300 \
	-l "$BUILD/logs/demo.console.log" -c 'sh ./demo-guest.sh'
