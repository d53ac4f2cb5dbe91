#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# devbox-guest.sh - run the README's "On a development box" section in a
# full Debian VM (tools/devbox.sh boots it and a systemd unit runs this as
# root, with the tree unpacked in ~dev/drvproxy).
#
# Every command line of the section's code blocks runs, in order, as the
# user "dev" in ~dev/drvproxy, exactly as written (sudo where the README
# says sudo): each is one KTAP case, "ok N README: <line>" when it exits 0.
# After some lines a check of what the README promises there follows
# (the device node udev made and its mode, what a read returns, taint,
# what drvproxyctl shows, what modules_install and DKMS installed, that
# modprobe finds the modules, that removal leaves nothing).  The output is
# KTAP; the exit status 0 when every case passed.
set -u

HOME_DIR=/home/dev
TREE=$HOME_DIR/drvproxy
OUT=/tmp/devbox-out
n=0
failed=0

result() { # result OK DESCRIPTION [DIAGNOSTIC-FILE]
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
		[ -z "${3:-}" ] || sed 's/^/# /' "$3" | tail -n 15
	fi
}

check() { # check DESCRIPTION SHELL-CONDITION
	if sh -c "$2" > "$OUT.check" 2>&1; then
		result 1 "$1"
	else
		result 0 "$1" "$OUT.check"
	fi
}

as_dev() { su - dev -c "cd $TREE && $1"; }

rel=$(uname -r)
mods=/lib/modules/$rel

# The checks that follow a README line, keyed by the line.
after() {
	case $1 in
	"sudo insmod module/demo/drvproxy_demo.ko")
		check "udev made /dev/drvproxy_demo, mode 0600, owner root (howto.rst)" \
			'[ "$(stat -c "%a %U" /dev/drvproxy_demo)" = "600 root" ] && udevadm info /dev/drvproxy_demo'
		check "loading them tainted the kernel O (out-of-tree) and E (unsigned)" \
			't=$(cat /proc/sys/kernel/tainted); [ $((t & 4096)) != 0 ] && [ $((t & 8192)) != 0 ]'
		;;
	"echo hello | sudo tee /dev/drvproxy_demo; sudo head -c 6 /dev/drvproxy_demo")
		check "the read returned what was written" 'grep -qx "hello" '"$OUT"
		;;
	"sudo insmod module/demo/drvproxy_demo_v2.ko"*)
		check "an applied companion taints K (livepatch)" \
			'[ $(($(cat /proc/sys/kernel/tainted) & 32768)) != 0 ]'
		;;
	"tools/drvproxyctl/drvproxyctl status")
		check "drvproxyctl status shows the companion's layer" 'grep -q drvproxy_demo_v2 '"$OUT"
		;;
	"sudo rmmod drvproxy_demo drvproxy")
		check "nothing of drvproxy is loaded" '! grep -q "^drvproxy" /proc/modules'
		;;
	"sudo make modules_install")
		check "modules_install put exactly the framework, the demo and its companions in updates/" \
			'[ "$(cd '"$mods"'/updates && find . -name "*.ko*" | sed "s|.*/||; s|\.ko.*||" | sort | tr "\n" " ")" = "drvproxy drvproxy_demo drvproxy_demo_v2 drvproxy_demo_v3 " ]'
		check "modules_install ran depmod: modinfo finds drvproxy_demo" 'modinfo -n drvproxy_demo | grep -q /updates/'
		;;
	"sudo modprobe drvproxy_demo"*)
		check "modprobe loaded drvproxy_demo and, first, drvproxy" \
			'grep -q "^drvproxy_demo " /proc/modules && grep -q "^drvproxy " /proc/modules'
		;;
	"sudo modprobe -r drvproxy_demo drvproxy")
		check "modprobe -r unloaded both" '! grep -q "^drvproxy" /proc/modules'
		;;
	"sudo make modules_uninstall")
		check "modules_uninstall removed them: modprobe finds none" \
			'! modinfo drvproxy_demo && ! modinfo drvproxy'
		;;
	"sudo dkms install drvproxy/"*)
		check "DKMS installed them where modprobe finds them" 'modinfo -n drvproxy_demo'
		check "then modprobe as above loads them" \
			'modprobe drvproxy_demo && grep -q "^drvproxy_demo " /proc/modules && modprobe -r drvproxy_demo drvproxy'
		;;
	"sudo dkms remove drvproxy/"*)
		check "dkms remove and the rm leave no module, source or DKMS entry behind" \
			'! modinfo drvproxy_demo && [ -z "$(dkms status drvproxy)" ] && ! ls -d /usr/src/drvproxy-*'
		;;
	esac
}

# The command lines of the section's code blocks, in order.
lines=$TREE/.devbox-lines
awk '/^## On a development box/ { s = 1; next }
     /^## / { s = 0 }
     s && /^```/ { b = !b; next }
     s && b && NF' "$TREE/README.md" > "$lines"

echo "TAP version 13"
echo "# $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"); $(wc -l < "$lines") README lines"
while IFS= read -r line; do
	if as_dev "$line" < /dev/null > "$OUT" 2>&1; then
		result 1 "README: $line"
	else
		result 0 "README: $line" "$OUT"
	fi
	after "$line"
done < "$lines"
check "the kernel logged no warning, BUG or oops" \
	'! dmesg | grep -E "WARNING:|BUG:|Oops|general protection"'
echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
