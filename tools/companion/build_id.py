#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# build_id.py - print the build id (hex) a drvproxy host module carries in
# its drvproxy_build_id section (the GNU build id note of its link with
# --build-id, which drvproxy.lds keeps), or nothing when it has none (a
# host linked without --build-id has only the section's padding there).
#
# Usage: build_id.py MODULE.ko
# Exit status 0, or 1 when MODULE.ko is not an ELF64 file.
import struct
import sys


def build_id(path):
    blob = open(path, "rb").read()
    if blob[:4] != b"\x7fELF" or blob[4] != 2:
        return None
    shoff = struct.unpack_from("<Q", blob, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3A)
    hdr = [struct.unpack_from("<IIQQQQIIQQ", blob, shoff + i * shentsize) for i in range(shnum)]
    names = blob[hdr[shstrndx][4]:hdr[shstrndx][4] + hdr[shstrndx][5]]
    for h in hdr:
        if names[h[0]:names.index(b"\0", h[0])] != b"drvproxy_build_id":
            continue
        data = blob[h[4]:h[4] + h[5]]
        if len(data) < 16:
            continue
        namesz, descsz, ntype = struct.unpack_from("<III", data, 0)
        if len(data) >= 16 + descsz and namesz == 4 and ntype == 3 and data[12:16] == b"GNU\0":
            return data[16:16 + descsz].hex()
    return ""


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_id.py MODULE.ko")
    found = build_id(sys.argv[1])
    if found is None:
        sys.exit(1)
    if found:
        print(found)
