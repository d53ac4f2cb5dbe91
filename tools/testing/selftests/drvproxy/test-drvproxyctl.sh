#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-drvproxyctl.sh - drvproxyctl against the real /sys/kernel/drvproxy:
# exit status 2 before drvproxy is loaded and after it is removed; status
# and history compared with golden text for a known state (the worker's
# call count and the timestamps normalised); --json parsed (json.awk) for
# key values; watch seeing swaps as they happen; usage errors, unknown
# drivers, a non-root user, --sysfs / DRVPROXYCTL_SYSFS on a fake tree and
# a malformed file, each with its documented exit status.
#
# drvproxyctl is built static from tools/drvproxyctl/ into bin/ by the
# Makefile here.  functions.sh's setup loads drvproxy.ko, so the "not
# loaded" tests run before it.
. "$(dirname "$0")/functions.sh"

CTL=${CTL:-$(cd "$(dirname "$0")" && pwd)/bin/drvproxyctl}
JSON="awk -f $(dirname "$0")/json.awk"
T=/tmp/dpxctl.$$

# expect_rc RC CMD...: CMD exits RC; its stdout and stderr go to $T.out
# and $T.err.
expect_rc() {
	want=$1
	shift
	"$@" > $T.out 2> $T.err
	rc=$?
	[ $rc = "$want" ] && return 0
	echo "# $*: exit $rc, want $want"
	sed 's/^/#   /' $T.err | head -n 5
	return 1
}

# step DESC CMD...: run CMD; say which step failed.
step() {
	step_desc=$1
	shift
	"$@" && return 0
	echo "# failed: $step_desc"
	return 1
}

# same TEXT FILE: FILE holds exactly TEXT; a diff as diagnostics if not.
same() {
	printf '%s\n' "$1" > $T.want
	cmp -s $T.want "$2" && return 0
	diff -u $T.want "$2" | sed 's/^/# /'
	return 1
}

# has FILE LINE...: FILE has every LINE (whole lines).
has() {
	f=$1
	shift
	for l in "$@"; do
		grep -qxF -- "$l" "$f" || { echo "# $f lacks \"$l\""; return 1; }
	done
}

# The demo worker ticks every 100 ms: replace its call count by N, in the
# same width, so the rest of the table (alignment included) is compared.
norm_worker() {
	awk '/^drvproxy_demo +demo_worker / && match($0, / +[0-9]+ +[0-9]+ +[0-9]+/) {
		pre = substr($0, 1, RSTART - 1)
		rest = substr($0, RSTART)
		match(rest, /^ +[0-9]+/)
		n = RLENGTH
		$0 = pre sprintf("%" n "s", "N") substr(rest, n + 1)
	} { print }'
}

# History: times and durations vary; squeeze the padding they move.
norm_history() {
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\.[0-9]{6}/TIME/; s/[0-9]+ us/D us/' |
		tr -s ' '
}

# A watch screen's swap lines, without their time stamps.
norm_events() {
	sed -n -E 's/^  [0-9:]{8}  (.*)$/\1/p; s/^            (.*)$/   \1/p'
}

# A small fake tree: driver "fake" with two endpoints, one replaced by the
# layer fake_v2, and driver "bare" without a proxy extension.
mkfake() {
	r=$1
	mkdir -p $r/drivers/fake/endpoints/fake_read $r/drivers/fake/endpoints/fake_write \
		$r/drivers/fake/layers/fake_v2 $r/drivers/bare
	echo 1 > $r/enabled
	echo 3 > $r/generation
	d=$r/drivers/fake
	echo fake_host > $d/owner
	echo 4096 > $d/text_size
	echo 2 > $d/generation
	echo idle > $d/transition
	echo "fake0 fake1" > $d/devices
	echo 1 > $d/opens
	echo fake_v2 > $d/stack
	printf '%s\n' "1700000000.000100 apply fake_v2 live gen=2 result=0 duration_us=15" \
		"1700000001.500000 apply fake_v3 stalled gen=2 result=-22 duration_us=7" > $d/history
	e=$d/endpoints/fake_read
	echo 0 > $e/id
	echo "ssize_t(struct file *, char *, size_t, loff_t *)" > $e/signature
	echo "fake_read [fake_host]" > $e/original
	echo "fake_v2_read [fake_v2]" > $e/current
	echo 12 > $e/calls
	echo 1 > $e/in_flight
	echo 1 > $e/swaps
	e=$d/endpoints/fake_write
	echo 1 > $e/id
	echo "ssize_t(struct file *, const char *, size_t, loff_t *)" > $e/signature
	echo "fake_write [fake_host]" > $e/original
	echo "fake_write [fake_host]" > $e/current
	echo 3 > $e/calls
	echo 0 > $e/in_flight
	echo 0 > $e/swaps
	l=$d/layers/fake_v2
	echo live > $l/mode
	echo 0 > $l/replace
	echo 1 > $l/order
	echo 2 > $l/generation
	echo 1700000000000100000 > $l/applied_at
	echo 1 > $l/nr_endpoints
	echo 1 > $l/enabled
	d=$r/drivers/bare
	echo bare_host > $d/owner
	echo 100 > $d/text_size
	echo 0 > $d/generation
	echo none > $d/transition
	echo > $d/devices
	echo 0 > $d/opens
	echo > $d/stack
	: > $d/history
}

# as_nobody CMD...: run CMD as uid 65534 (busybox su; the guest's passwd
# has only root, so a line for nobody is added for the call).
as_nobody() {
	cp /etc/passwd $T.passwd
	grep -q '^nobody:' /etc/passwd ||
		echo "nobody:x:65534:65534:nobody:/:/bin/sh" >> /etc/passwd
	su -s /bin/sh nobody -c "$*"
	r=$?
	cp $T.passwd /etc/passwd
	return $r
}

cleanup() {
	cleanup_modules
	rm -rf $T $T.*
}

# ---- before drvproxy is loaded ----

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP must be root"; exit $ksft_skip; }
[ -x "$CTL" ] || { echo "1..0 # SKIP $CTL not built"; exit $ksft_skip; }
cleanup_modules
is_loaded drvproxy && "$TOOL" rmmod drvproxy > /dev/null
ktap_header 19

ktap_result "not loaded: status exits 2 and says so" eval 'expect_rc 2 $CTL &&
	grep -q "drvproxy is not loaded: /sys/kernel/drvproxy does not exist" $T.err &&
	[ ! -s $T.out ]'
ktap_result "not loaded: history, watch and --json exit 2 too" eval 'expect_rc 2 $CTL history &&
	expect_rc 2 $CTL watch -n 1 && expect_rc 2 $CTL --json status && [ ! -s $T.out ]'

setup
trap cleanup EXIT

ktap_result "no drivers yet" eval 'expect_rc 0 $CTL &&
	same "drvproxy: enabled, generation 0, 0 drivers" $T.out &&
	expect_rc 0 $CTL history && same "no transitions recorded" $T.out'

# A known state: the host, one write of two bytes, one read of them.  dd
# writes with write(2) only (a shell's printf may probe the device with
# isatty(), an ioctl, depending on its stdio state).
load_mod drvproxy_demo
printf hi | dd of=$DEV conv=notrunc 2> /dev/null
"$TOOL" readn 2 > /dev/null
"$CTL" status > $T.status1
sed 's/^/# /' $T.status1
ktap_result "status before a swap matches the golden text" eval 'norm_worker < $T.status1 > $T.n &&
	same "drvproxy: enabled, generation 1, 1 driver

driver drvproxy_demo: owner drvproxy_demo, generation 1, transition idle, state layout 1
  stack (bottom first): none
  devices: drvproxy_demo (0 open)

DRIVER         ENDPOINT           CURRENT            MODULE         CALLS  IN-FLIGHT  SWAPS
drvproxy_demo  demo_compat_ioctl  demo_compat_ioctl  drvproxy_demo      0          0      0
drvproxy_demo  demo_fasync        demo_fasync        drvproxy_demo      0          0      0
drvproxy_demo  demo_ioctl         demo_ioctl         drvproxy_demo      0          0      0
drvproxy_demo  demo_llseek        demo_llseek        drvproxy_demo      0          0      0
drvproxy_demo  demo_mmap          demo_mmap          drvproxy_demo      0          0      0
drvproxy_demo  demo_open          demo_open          drvproxy_demo      2          0      0
drvproxy_demo  demo_poll          demo_poll          drvproxy_demo      0          0      0
drvproxy_demo  demo_read          demo_read          drvproxy_demo      1          0      0
drvproxy_demo  demo_release       demo_release       drvproxy_demo      2          0      0
drvproxy_demo  demo_worker        demo_worker        drvproxy_demo      N          0      0
drvproxy_demo  demo_write         demo_write         drvproxy_demo      1          0      0" $T.n'

load_mod drvproxy_demo_v2
"$CTL" status > $T.status2
sed 's/^/# /' $T.status2
ktap_result "status after a swap matches the golden text" eval 'norm_worker < $T.status2 > $T.n &&
	same "drvproxy: enabled, generation 2, 1 driver

driver drvproxy_demo: owner drvproxy_demo, generation 2, transition idle, state layout 1
  stack (bottom first): drvproxy_demo_v2 (live)
  devices: drvproxy_demo (0 open)

DRIVER         ENDPOINT           CURRENT            MODULE            CALLS  IN-FLIGHT  SWAPS
drvproxy_demo  demo_compat_ioctl  demo_compat_ioctl  drvproxy_demo         0          0      0
drvproxy_demo  demo_fasync        demo_fasync        drvproxy_demo         0          0      0
drvproxy_demo  demo_ioctl         demo_v2_ioctl      drvproxy_demo_v2      0          0      1  *
drvproxy_demo  demo_llseek        demo_llseek        drvproxy_demo         0          0      0
drvproxy_demo  demo_mmap          demo_mmap          drvproxy_demo         0          0      0
drvproxy_demo  demo_open          demo_open          drvproxy_demo         2          0      0
drvproxy_demo  demo_poll          demo_poll          drvproxy_demo         0          0      0
drvproxy_demo  demo_read          demo_v2_read       drvproxy_demo_v2      1          0      1  *
drvproxy_demo  demo_release       demo_release       drvproxy_demo         2          0      0
drvproxy_demo  demo_worker        demo_v2_worker     drvproxy_demo_v2      N          0      1  *
drvproxy_demo  demo_write         demo_write         drvproxy_demo         1          0      0

* not the original implementation" $T.n'

ktap_result "status --json: valid JSON with the state's key values" eval 'expect_rc 0 $CTL --json &&
	$JSON $T.out > $T.flat && has $T.flat "0.sysfs=/sys/kernel/drvproxy" "0.enabled=true" \
	"0.generation=2" "0.drivers.0.name=drvproxy_demo" "0.drivers.0.owner=drvproxy_demo" \
	"0.drivers.0.generation=2" "0.drivers.0.transition=idle" "0.drivers.0.state_layout=1" \
	"0.drivers.0.devices.0=drvproxy_demo" "0.drivers.0.opens=0" \
	"0.drivers.0.stack.0=drvproxy_demo_v2" "0.drivers.0.layers.0.module=drvproxy_demo_v2" \
	"0.drivers.0.layers.0.mode=live" "0.drivers.0.layers.0.nr_endpoints=3" \
	"0.drivers.0.layers.0.enabled=true" "0.drivers.0.endpoints.7.name=demo_read" \
	"0.drivers.0.endpoints.7.current=demo_v2_read" \
	"0.drivers.0.endpoints.7.current_module=drvproxy_demo_v2" \
	"0.drivers.0.endpoints.7.original=demo_read" "0.drivers.0.endpoints.7.swapped=true" \
	"0.drivers.0.endpoints.7.calls=1" "0.drivers.0.endpoints.7.swaps=1" \
	"0.drivers.0.endpoints.7.in_flight=0" \
	"0.drivers.0.endpoints.7.signature=ssize_t(struct file *, char *, size_t, loff_t *)" \
	"0.drivers.0.endpoints.7.kind=process redispatch" \
	"0.drivers.0.endpoints.10.name=demo_write" "0.drivers.0.endpoints.10.swapped=false" &&
	[ $(grep -c "^0\.drivers\.0\.endpoints\.[0-9]*\.name=" $T.flat) = 11 ]'

# The checker must be able to fail: truncated or damaged output is rejected.
ktap_result "json.awk rejects malformed JSON" eval '$CTL --json | head -c 300 > $T.bad &&
	! $JSON $T.bad > /dev/null 2>&1 && $CTL --json | sed "s/\"enabled\": true/enabled: true/" > $T.bad &&
	! $JSON $T.bad > /dev/null 2>&1 && printf "{\"a\": 1,}" > $T.bad && ! $JSON $T.bad > /dev/null 2>&1'

ktap_result "status DRIVER shows that driver; an unknown one exits 4" eval 'expect_rc 0 $CTL status drvproxy_demo &&
	norm_worker < $T.out > $T.n && norm_worker < $T.status2 > $T.n2 && cmp -s $T.n $T.n2 &&
	expect_rc 4 $CTL status drvproxy_demo nosuch && [ ! -s $T.out ] &&
	has $T.err "drvproxyctl: no such driver: nosuch" "drvproxyctl: registered drivers: drvproxy_demo" &&
	expect_rc 4 $CTL history nosuch && expect_rc 4 $CTL --json watch -n 1 nosuch'

ktap_result "usage errors exit 1, --help documents the exit codes" eval 'expect_rc 1 $CTL bogus &&
	grep -q "unknown command .bogus." $T.err && expect_rc 1 $CTL status -n 2 &&
	expect_rc 1 $CTL watch -n 0 && expect_rc 1 $CTL watch -i x && expect_rc 1 $CTL --color=maybe &&
	expect_rc 1 $CTL --no-such-option && expect_rc 0 $CTL --help &&
	has $T.out "  0  success" "  1  usage error" \
	"  2  drvproxy is not loaded (the sysfs directory does not exist)" \
	"  3  permission denied reading the sysfs files" \
	"  4  no such driver (a DRIVER named on the command line is not registered)" &&
	expect_rc 0 $CTL help && expect_rc 0 $CTL --version && grep -q "^drvproxyctl [0-9]" $T.out'

# A stacked stalled companion, and a refused one: history shows all three.
load_mod drvproxy_demo_v3
load_failing_mod drvproxy_demo_badsig
ktap_result "history matches the golden text" eval 'expect_rc 0 $CTL history &&
	sed "s/^/# /" $T.out && norm_history < $T.out > $T.n &&
	same "DRIVER TIME (UTC) OP MODULE MODE GEN DURATION RESULT
drvproxy_demo TIME apply drvproxy_demo_v2 live 2 D us ok
drvproxy_demo TIME apply drvproxy_demo_v3 stalled 3 D us ok
drvproxy_demo TIME apply drvproxy_demo_badsig live 3 D us -22 EINVAL" $T.n'

ktap_result "history --json: valid JSON with the records" eval 'expect_rc 0 $CTL history --json drvproxy_demo &&
	$JSON $T.out > $T.flat && has $T.flat "0.drivers.0.name=drvproxy_demo" \
	"0.drivers.0.history.0.op=apply" "0.drivers.0.history.0.module=drvproxy_demo_v2" \
	"0.drivers.0.history.0.mode=live" "0.drivers.0.history.0.generation=2" \
	"0.drivers.0.history.0.result=0" "0.drivers.0.history.1.mode=stalled" \
	"0.drivers.0.history.2.module=drvproxy_demo_badsig" "0.drivers.0.history.2.result=-22" &&
	grep -qE "^0\.drivers\.0\.history\.0\.time=[0-9]+\.[0-9]{6}$" $T.flat'

watch_once() {
	esc=$(printf '\033')
	expect_rc 0 "$CTL" watch -n 1 &&
		[ "$(grep -c "^${esc}\[H${esc}\[2Jdrvproxyctl watch: every 1.0 s, refresh 1 of 1, " $T.out)" = 1 ] &&
		[ "$(grep -c "$esc" $T.out)" = 1 ] &&
		grep -q "^drvproxy_demo  demo_ioctl  *demo_v3_ioctl  *drvproxy_demo_v3 " $T.out &&
		grep -qx "swaps seen: 0" $T.out
}
ktap_result "watch -n 1: one screen drawn in place" watch_once

# watch_until_first OUT CMD...: start CMD in the background, writing OUT,
# and return once its first screen or line is there.
watch_until_first() {
	out=$1
	shift
	# Not just the truncation by the redirection: that happens in the
	# background job, maybe after the first check below.
	rm -f "$out"
	"$@" > "$out" 2>&1 &
	WATCH=$!
	loop_until "[ -s $out ]"
}

watch_sees_revert() {
	step "watch started" watch_until_first $T.w "$CTL" watch -i 0.5 -n 8 || return 1
	step "rmmod drvproxy_demo_v3" "$TOOL" rmmod drvproxy_demo_v3 || return 1
	step "watch exits 0" wait $WATCH || return 1
	norm_events < $T.w | tail -n 2 > $T.n
	same "drvproxy_demo: generation 3 -> 4, stack: drvproxy_demo_v2
   demo_ioctl: demo_v3_ioctl [drvproxy_demo_v3] -> demo_v2_ioctl [drvproxy_demo_v2]" $T.n &&
		grep -q "^drvproxy_demo  demo_ioctl  *demo_v2_ioctl .*<- changed$" $T.w &&
		grep -qx "swaps seen: 1 (newest last)" $T.w &&
		[ "$(grep -c "refresh [0-9] of 8" $T.w)" = 8 ]
}
ktap_result "watch lists a revert that happens while it runs" watch_sees_revert

# A swap and its revert between two refreshes still move the generation.
watch_sees_round_trip() {
	step "watch started" watch_until_first $T.w "$CTL" watch -i 8 -n 2 || return 1
	step "insmod drvproxy_demo_v3" "$TOOL" insmod $MODDIR/drvproxy_demo_v3.ko || return 1
	step "rmmod drvproxy_demo_v3" "$TOOL" rmmod drvproxy_demo_v3 || return 1
	step "watch exits 0" wait $WATCH || return 1
	norm_events < $T.w | tail -n 1 > $T.n
	same "drvproxy_demo: generation 4 -> 6, stack: drvproxy_demo_v2" $T.n
}
ktap_result "watch notices a swap and revert between two refreshes" watch_sees_round_trip

watch_json() {
	step "watch started" watch_until_first $T.w "$CTL" watch --json -i 0.5 -n 6 || return 1
	step "rmmod drvproxy_demo_v2" "$TOOL" rmmod drvproxy_demo_v2 || return 1
	step "watch exits 0" wait $WATCH || return 1
	step "output parses" $JSON $T.w > $T.flat || return 1
	step "6 refreshes" [ "$(grep -c "^[0-9]*\.refresh=" $T.flat)" = 6 ] || return 1
	doc=$(sed -n "s/^\([0-9]*\)\.swaps\.0\.event=swap$/\1/p" $T.flat)
	[ -n "$doc" ] || { echo "# no swap event"; return 1; }
	has $T.flat "$doc.swaps.0.driver=drvproxy_demo" "$doc.swaps.0.from_generation=6" \
		"$doc.swaps.0.to_generation=7" "$doc.swaps.0.stack=[]" \
		"$doc.status.drivers.0.generation=7" "0.swaps=[]" "0.loaded=true" &&
		grep -qx "$doc\.swaps\.0\.changes\.[0-9]\.endpoint=demo_read" $T.flat &&
		grep -qx "$doc\.swaps\.0\.changes\.[0-9]\.to=demo_read" $T.flat &&
		grep -qx "$doc\.swaps\.0\.changes\.[0-9]\.from=demo_v2_read" $T.flat &&
		grep -qx "$doc\.swaps\.0\.changes\.[0-9]\.to_module=drvproxy_demo" $T.flat &&
		[ "$(grep -c "^$doc\.swaps\.0\.changes\.[0-9]*\.endpoint=" $T.flat)" = 3 ]
}
ktap_result "watch --json: one document per refresh, the swap with its changes" watch_json

non_root() {
	mkdir -p $T.deny $T.nobody && mkfake $T.deny && chmod 700 $T.deny &&
		chmod 777 $T.nobody || return 1
	as_nobody "$CTL > $T.nobody/out" || { echo "# nobody cannot read the real tree"; return 1; }
	grep -q "^driver drvproxy_demo: " $T.nobody/out || return 1
	as_nobody "$CTL --sysfs $T.deny 2> $T.nobody/err"
	rc=$?
	[ $rc = 3 ] || { echo "# exit $rc, want 3"; return 1; }
	grep -q "cannot read $T.deny/enabled: Permission denied" $T.nobody/err
}
ktap_result "a non-root user reads the tree; an unreadable one exits 3" non_root

ktap_result "--sysfs and DRVPROXYCTL_SYSFS read another tree" eval 'mkdir -p $T.fake && mkfake $T.fake &&
	expect_rc 0 $CTL --sysfs $T.fake && cp $T.out $T.fakeout &&
	same "drvproxy: enabled, generation 3, 2 drivers

driver bare: owner bare_host, generation 0, transition none
  stack (bottom first): none
  devices: none (0 open)
  no proxy extension: no endpoints

driver fake: owner fake_host, generation 2, transition idle
  stack (bottom first): fake_v2 (live)
  devices: fake0 fake1 (1 open)

DRIVER  ENDPOINT    CURRENT       MODULE     CALLS  IN-FLIGHT  SWAPS
fake    fake_read   fake_v2_read  fake_v2       12          1      1  *
fake    fake_write  fake_write    fake_host      3          0      0

* not the original implementation" $T.out &&
	DRVPROXYCTL_SYSFS=$T.fake $CTL > $T.out && cmp -s $T.out $T.fakeout &&
	expect_rc 0 $CTL --sysfs $T.fake --json && $JSON $T.out > $T.flat &&
	has $T.flat "0.drivers.1.endpoints.0.name=fake_read" "0.drivers.1.endpoints.0.kind=null" &&
	expect_rc 2 $CTL --sysfs $T.nonexistent && grep -q "$T.nonexistent does not exist" $T.err'

ktap_result "a malformed file exits 5" eval 'echo abc > $T.fake/generation &&
	expect_rc 5 $CTL --sysfs $T.fake && grep -q "generation: \"abc\" is not a number" $T.err'

unload_mod drvproxy_demo
"$TOOL" rmmod drvproxy > /dev/null
ktap_result "after rmmod drvproxy: exit 2 again" eval 'expect_rc 2 $CTL &&
	grep -q "drvproxy is not loaded" $T.err'
ktap_finish
