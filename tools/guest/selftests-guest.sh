#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# selftests-guest.sh - run drvproxy's kselftest-style scripts inside the
# Debian-kernel QEMU guest.
#
# Usage (in the guest, via tools/check.sh stage selftests):
#   sh ./selftests-guest.sh [DIR]       (DIR defaults to /data/selftests)
#
# Runs every DIR/test-*.sh in name order, from DIR, each under a timeout
# (default 120 s; a kselftest "settings" file in DIR with timeout=N overrides
# it, 0 = none).  Each script prints KTAP and exits 0 (pass), 4 (skip) or
# anything else (fail); its output is framed for the host as
#   DRVPROXY-SELFTEST-BEGIN <script>
#   ...output...
#   DRVPROXY-SELFTEST-END <script> rc=<exit status>      (124 = timeout)
# Exit status: 0 if every script exited 0 or 4, else 1.
set -u

DIR=${1:-/data/selftests}
timeout_s=120
if [ -r "$DIR/settings" ]; then
	t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$DIR/settings" | tail -n 1)
	[ -n "$t" ] && timeout_s=$t
fi

cd "$DIR" || exit 1
rc=0
n=0
bad=0
for script in ./test-*.sh; do
	[ -f "$script" ] || continue
	name=$(basename "$script")
	n=$((n + 1))
	echo "DRVPROXY-SELFTEST-BEGIN $name"
	[ -x "$script" ] || chmod +x "$script"
	if [ "$timeout_s" = 0 ]; then
		"$script" 2>&1
	else
		timeout "$timeout_s" "$script" 2>&1
	fi
	src=$?
	# busybox timeout reports a killed child as 143 (SIGTERM); call it 124
	# like coreutils and kselftest's runner do.
	[ "$timeout_s" != 0 ] && [ "$src" = 143 ] && src=124
	echo "DRVPROXY-SELFTEST-END $name rc=$src"
	case $src in
	0|4) ;;
	*) rc=1; bad=$((bad + 1)) ;;
	esac
done
echo "selftests-guest: $n scripts run, $bad failed"
exit $rc
