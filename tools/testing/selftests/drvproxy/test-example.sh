#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-example.sh - the echo example of Documentation/howto.rst
# (module/examples/echo/): the converted driver behaves exactly as the plain
# one, and its companion swaps its read in and out live, with a file held
# open across the swap, the message kept, and sysfs telling the truth.
. "$(dirname "$0")/functions.sh"

PLAIN=/dev/drvproxy_echo_plain
ECHO=/dev/drvproxy_echo
EDRV=$SYSFS/drivers/drvproxy_echo
T=/tmp/echo.$$

cleanup() {
	for m in drvproxy_echo_rot13 drvproxy_echo drvproxy_echo_plain; do
		is_loaded $m && "$TOOL" rmmod $m > /dev/null
	done
	cleanup_modules
	rm -f $T.*
}

# reads DEV TEXT: reading DEV from the start gives TEXT.
reads() {
	v=$(cat "$1")
	[ "$v" = "$2" ] || { echo "# $1 reads \"$v\", want \"$2\""; return 1; }
}

# The same user actions on either device ($1).
case_empty() { cat "$1"; }
case_message() { echo hello, world > "$1" && cat "$1"; }
case_overwrite() { printf xy > "$1" && cat "$1"; }
# More than fits: each write keeps at most 256 bytes and says so.
case_long() { printf '%0300d' 0 > "$1"; cat "$1" | wc -c; }
case_seek() { echo 0123456789 > "$1" && dd if="$1" bs=1 skip=4 count=3 2> /dev/null; }
case_opens() { for i in 1 2 3; do echo $i > "$1"; done; cat "$1" "$1"; }

# same_on_both CASE...: each case gives the same output and exit status on
# the plain and on the converted device.
same_on_both() {
	for c in "$@"; do
		$c $PLAIN > $T.plain 2>&1
		rp=$?
		$c $ECHO > $T.conv 2>&1
		rc=$?
		[ $rp = $rc ] && cmp -s $T.plain $T.conv && continue
		echo "# $c: plain (exit $rp) and converted (exit $rc) differ:"
		diff $T.plain $T.conv | sed 's/^/#   /' | head -n 10
		return 1
	done
}

setup
trap cleanup EXIT
ktap_header 11

load_mod drvproxy_echo_plain
load_mod drvproxy_echo

ktap_result "converted driver: same reads and writes as the plain one" eval '
	same_on_both case_empty case_message case_overwrite case_long case_seek case_opens &&
	[ "$(case_message $ECHO)" = "hello, world" ] && [ "$(case_seek $ECHO)" = 456 ]'

ktap_result "sysfs shows the driver and its two endpoints" eval '
	check_sysfs_value $EDRV/owner drvproxy_echo &&
	check_sysfs_value $EDRV/devices drvproxy_echo &&
	[ "$(ls $EDRV/endpoints | tr "\n" " ")" = "echo_read echo_write " ] &&
	check_sysfs_value $EDRV/endpoints/echo_read/current "echo_read [drvproxy_echo]" &&
	check_sysfs_value $EDRV/endpoints/echo_read/signature "ssize_t(struct file *, char *, size_t, loff_t *)"'

echo "Hello, World" > $ECHO
# Two files opened before the swap: 3 is read under the companion, 4 only
# after its revert.
exec 3< $ECHO
exec 4< $ECHO
start_test "companion swaps read in and out, live"
load_mod drvproxy_echo_rot13
ktap_result "with the companion a read is ROT13" reads $ECHO "Uryyb, Jbeyq"
ktap_result "a file opened before the swap reads the new code" eval '[ "$(cat <&3)" = "Uryyb, Jbeyq" ]'
ktap_result "sysfs: read swapped, write untouched" eval '
	check_sysfs_value $EDRV/endpoints/echo_read/current "echo_rot13_read [drvproxy_echo_rot13]" &&
	check_sysfs_value $EDRV/endpoints/echo_read/original "echo_read [drvproxy_echo]" &&
	check_sysfs_value $EDRV/endpoints/echo_read/swaps 1 &&
	check_sysfs_value $EDRV/endpoints/echo_write/current "echo_write [drvproxy_echo]" &&
	check_sysfs_value $EDRV/stack drvproxy_echo_rot13 && check_sysfs_value $EDRV/generation 2'
echo "abc" > $ECHO
ktap_result "a write under the companion is read back ROT13" reads $ECHO "nop"
ktap_result "the host cannot go while a file is open or the companion applied" eval '
	! "$TOOL" rmmod drvproxy_echo > /dev/null'
unload_mod drvproxy_echo_rot13
ktap_result "after the revert the original read returns the same message" reads $ECHO "abc"
ktap_result "a file held open across swap and revert reads the original" eval '
	[ "$(cat <&4)" = abc ]'
exec 3<&-
exec 4<&-
unload_mod drvproxy_echo
check_result "% insmod drvproxy_echo_rot13.ko
drvproxy: drvproxy_echo: drvproxy_echo_rot13 applied (live, 1 endpoints, generation 2)
% rmmod drvproxy_echo_rot13
drvproxy: drvproxy_echo: drvproxy_echo_rot13 reverted (generation 3)
% rmmod drvproxy_echo"
ktap_result "the plain driver is untouched by all this" reads $PLAIN 3
ktap_finish
