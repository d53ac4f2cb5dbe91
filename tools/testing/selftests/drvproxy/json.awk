# SPDX-License-Identifier: GPL-2.0
#
# json.awk - a strict JSON parser for the selftests (busybox awk; the guest
# has no jq or python).  It prints every scalar of its input on one line as
#
#   <document>.<key or index>...=<value>
#
# e.g. "0.drivers.0.endpoints.3.current=demo_v2_read".  Strings are printed
# decoded (\uXXXX above ASCII as '?'), numbers, true, false and null as
# written, empty objects and arrays as "={}" and "=[]".  Several documents in
# a row (JSON Lines) are numbered 0, 1, ...  At the first syntax error it
# prints "json.awk: ..." on stderr and exits 1, so a test that greps its
# output fails on malformed JSON.
#
# Usage: awk -f json.awk [FILE]

function fail(msg)
{
	printf "json.awk: %s at offset %d\n", msg, pos > "/dev/stderr"
	failed = 1
	exit 1
}

function ws(	c)
{
	while (pos <= n) {
		c = substr(s, pos, 1)
		if (c != " " && c != "\t" && c != "\n" && c != "\r")
			return
		pos++
	}
}

function hexval(h,	i, v, d)
{
	v = 0
	for (i = 1; i <= 4; i++) {
		d = index("0123456789abcdef", tolower(substr(h, i, 1)))
		if (!d)
			fail("bad \\u escape")
		v = v * 16 + d - 1
	}
	return v
}

# A string at pos (on its opening quote); returns it decoded.
function str(	out, c, e, v)
{
	out = ""
	pos++
	for (;;) {
		c = substr(s, pos, 1)
		if (c == "")
			fail("unterminated string")
		if (c == "\"") {
			pos++
			return out
		}
		if (c == "\n" || c == "\t" || c == "\r")
			fail("control character in a string")
		if (c == "\\") {
			e = substr(s, pos + 1, 1)
			if (e == "\"" || e == "\\" || e == "/")
				out = out e
			else if (e == "n")
				out = out "\n"
			else if (e == "t")
				out = out "\t"
			else if (e == "r")
				out = out "\r"
			else if (e == "b" || e == "f")
				out = out " "
			else if (e == "u") {
				v = hexval(substr(s, pos + 2, 4))
				out = out (v >= 32 && v < 127 ? sprintf("%c", v) : "?")
				pos += 4
			} else
				fail("bad escape \\" e)
			pos += 2
			continue
		}
		out = out c
		pos++
	}
}

function object(path,	k, c)
{
	pos++
	ws()
	if (substr(s, pos, 1) == "}") {
		pos++
		print path "={}"
		return
	}
	for (;;) {
		ws()
		if (substr(s, pos, 1) != "\"")
			fail("object key expected")
		k = str()
		ws()
		if (substr(s, pos, 1) != ":")
			fail("':' expected")
		pos++
		value(path "." k)
		ws()
		c = substr(s, pos, 1)
		pos++
		if (c == "}")
			return
		if (c != ",")
			fail("',' or '}' expected")
	}
}

function array(path,	i, c)
{
	pos++
	ws()
	if (substr(s, pos, 1) == "]") {
		pos++
		print path "=[]"
		return
	}
	for (i = 0;; i++) {
		value(path "." i)
		ws()
		c = substr(s, pos, 1)
		pos++
		if (c == "]")
			return
		if (c != ",")
			fail("',' or ']' expected")
	}
}

function value(path,	c, w)
{
	ws()
	c = substr(s, pos, 1)
	if (c == "{")
		return object(path)
	if (c == "[")
		return array(path)
	if (c == "\"") {
		w = str()
		print path "=" w
		return
	}
	w = substr(s, pos, 5)
	if (w == "false") {
		pos += 5
		print path "=false"
		return
	}
	w = substr(s, pos, 4)
	if (w == "true" || w == "null") {
		pos += 4
		print path "=" w
		return
	}
	# Numbers are short: look at the next 40 characters only.
	if (match(substr(s, pos, 40), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) {
		print path "=" substr(s, pos, RLENGTH)
		pos += RLENGTH
		return
	}
	fail(c == "" ? "unexpected end of input" : "unexpected '" c "'")
}

{ s = s $0 "\n" }

END {
	if (failed)
		exit 1
	n = length(s)
	pos = 1
	docs = 0
	ws()
	while (pos <= n) {
		value(docs)
		docs++
		ws()
	}
	if (!docs)
		fail("no JSON document")
}
