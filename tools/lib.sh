# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# lib.sh - helpers shared by drvproxy's tools scripts.  Source it, do not run it:
#   . "$REPO/tools/lib.sh"
#
# Discovers kernels and headers at run time (never a hard-coded point release)
# and defines the cache layout:
#   DRVPROXY_CACHE  cache root (default ~/.cache/drvproxy)
#   BUILD           build/log root (default $DRVPROXY_CACHE/build)

DRVPROXY_CACHE=${DRVPROXY_CACHE:-$HOME/.cache/drvproxy}
BUILD=${BUILD:-$DRVPROXY_CACHE/build}

# The Debian archive mirror the tools download from: DRVPROXY_DEBIAN_MIRROR,
# else the machine's own, from its apt sources (one-line and deb822
# formats), else deb.debian.org.
debian_mirror() {
	local m=${DRVPROXY_DEBIAN_MIRROR:-}
	[ -n "$m" ] || m=$( {
		sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
		sed -nE 's/^[[:space:]]*URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
			tr ' ' '\n'
	} | grep -E '^https?://.*/debian/?$' | head -n 1)
	echo "${m:-http://deb.debian.org/debian}"
}

# Newest Debian 6.12 amd64 kernel release with both an image in /boot and a
# headers tree in /usr/src, e.g. "6.12.117+deb12-amd64"; empty if none.
debian_kver() {
	ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null |
		sed 's|^/usr/src/linux-headers-||' | sort -V |
		while read -r v; do
			[ -e "/boot/vmlinuz-$v" ] && echo "$v"
		done | tail -n 1
}

# Headers dir (KDIR) and kernel image for debian_kver.
debian_kdir() {
	local v
	v=$(debian_kver)
	[ -n "$v" ] && echo "/usr/src/linux-headers-$v"
}
debian_kernel() {
	local v
	v=$(debian_kver)
	[ -n "$v" ] && echo "/boot/vmlinuz-$v"
}

# Newest installed Debian 6.1 amd64 headers dir; empty if none.
kdir_61() {
	ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1
}

# image_for_kdir KDIR: the Debian kernel image of the release KDIR's
# headers are for (/usr/src/linux-headers-<release>): /boot/vmlinuz-<release>
# if installed, else unpacked from linux-image-<release>-unsigned, which
# apt downloads into $DRVPROXY_CACHE/images/<release>/ once (never
# installed).  Prints the path; fails with a reason on stderr.
image_for_kdir() {
	local rel=${1#/usr/src/linux-headers-} dir deb
	[ -e "/boot/vmlinuz-$rel" ] && { echo "/boot/vmlinuz-$rel"; return 0; }
	dir=$DRVPROXY_CACHE/images/$rel
	if [ ! -e "$dir/boot/vmlinuz-$rel" ]; then
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		(cd "$dir.tmp" && apt-get download -q "linux-image-$rel-unsigned") >&2 || {
			echo "image_for_kdir: apt-get download linux-image-$rel-unsigned failed" >&2
			return 1
		}
		deb=$(ls "$dir.tmp"/*.deb)
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.tmp" "./boot/vmlinuz-$rel" || {
			echo "image_for_kdir: no boot/vmlinuz-$rel in $deb" >&2
			return 1
		}
		rm -f "$deb"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir/boot/vmlinuz-$rel"
}

# Copy the repo's sources to $1 for an out-of-tree build that cannot clobber
# the repo or another build: no .git, no build outputs.  Files are compared
# by content and written with the current time, not the source's: a build
# dir last used by another tree (another commit, a clean clone) may hold
# objects newer than a changed source's own mtime, and make would keep them.
sync_sources() {
	local repo=$1 dest=$2
	mkdir -p "$dest"
	rsync -rlpD --checksum --delete \
		--exclude=.git --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' \
		--exclude=Module.symvers --exclude=modules.order --exclude='.tmp_*' \
		--exclude=bin/ \
		"$repo/" "$dest/"
}

# ktap_leaves FILE: one "KIND<TAB>DESCRIPTION" line per leaf KTAP result in
# FILE, KIND "ok", "notok" or "skip" ("# SKIP" directive; the description
# keeps it, with its reason).  A result line is a parent (summary of its
# subtests, not counted) when the result line before it is indented deeper;
# everything else is a leaf.  So flat and nested KTAP count the same way.
ktap_leaves() {
	awk '
		match($0, /^[ \t]*(ok|not ok) [0-9]+/) {
			line = $0
			sub(/^[ \t]*/, "", line)
			indent = length($0) - length(line)
			kind = (line ~ /^not ok/) ? "notok" : "ok"
			if (line ~ /#[ \t]*[Ss][Kk][Ii][Pp]/)
				kind = "skip"
			desc = line
			sub(/^(ok|not ok) [0-9]+[ \t]*(- )?/, "", desc)
			if (have && prev > indent) { prev = indent; next }
			have = 1; prev = indent
			print kind "\t" desc
		}' "$1"
}

# ktap_plan_errors FILE [REQUIRE]: one line per KTAP document or subtest in
# FILE whose plan ("1..N") does not match the number of results at its
# level: a result that never came (a test that died, a producer that
# miscounts) is a failure, not a pass.  A level without a plan is not
# checked (KUnit's parameterised cases have none), except, with REQUIRE=1,
# the top level when it has results.
ktap_plan_errors() {
	awk -v need="${2:-0}" '
		function indent_of(s,  t) { t = s; sub(/^[ \t]*/, "", t); return length(s) - length(t) }
		function where(i) { return i ? " (subtest indented " i ", ending at line " NR ")" : "" }
		function close_level(i) {
			if (i in plan) {
				if (plan[i] != count[i])
					print "plan 1.." plan[i] ", but " count[i] " results" where(i)
			} else if (need && !i && count[i])
				print count[i] " results, but no plan"
			delete plan[i]; delete count[i]; delete open[i]
		}
		# Close every level deeper than i.
		function close_deeper(i,  j) { for (j in open) if (j + 0 > i) close_level(j + 0) }
		/^[ \t]*K?TAP version / { i = indent_of($0); close_deeper(i - 1); open[i] = 1; count[i] += 0; next }
		/^[ \t]*1\.\.[0-9]+/ {
			i = indent_of($0)
			if (i in plan) close_level(i)
			close_deeper(i)
			line = $0; sub(/^[ \t]*1\.\./, "", line); sub(/[^0-9].*$/, "", line)
			plan[i] = line + 0; count[i] += 0; open[i] = 1
			next
		}
		/^[ \t]*(ok|not ok) [0-9]+/ { i = indent_of($0); close_deeper(i); count[i]++; open[i] = 1 }
		END { for (j in open) close_level(j + 0) }' "$1"
}

# split_selftests LOG DIR: the console LOG of tools/guest/selftests-guest.sh,
# split per script into DIR/<script>.out, with the script's "rc=N" in
# DIR/<script>.out.rc (absent: the script did not finish).
split_selftests() {
	rm -rf "${2:?}"
	mkdir -p "$2"
	awk -v dir="$2" '
		/DRVPROXY-SELFTEST-BEGIN / { out = dir "/" $NF ".out"; next }
		/DRVPROXY-SELFTEST-END / {
			if (out != "") { close(out); print $NF > (out ".rc"); close(out ".rc") }
			out = ""; next
		}
		out != "" { print > out }' "$1"
}
