#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-ui.sh - the demo device's user interface under bad input (bad
# ioctls, bad pointers, zero-length and huge reads and writes), under
# implementation version 1 and under version 2.
. "$(dirname "$0")/functions.sh"

setup
ktap_header 2
load_mod drvproxy_demo
"$TOOL" ui > /tmp/ui1
rc=$?
sed 's/^/    /' /tmp/ui1
[ $rc = 0 ] && ktap_ok "user interface of version 1" || ktap_not_ok "user interface of version 1"
load_mod drvproxy_demo_v2
"$TOOL" ui > /tmp/ui2
rc=$?
sed 's/^/    /' /tmp/ui2
[ $rc = 0 ] && ktap_ok "user interface of version 2" || ktap_not_ok "user interface of version 2"
ktap_finish
