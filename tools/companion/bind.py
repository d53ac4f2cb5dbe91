#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# bind.py - link an image companion's code to the running driver's own
# symbols (tools/companion/build.sh).
#
# Usage:
#   bind.py plan --old OLD.ko --new NEW.ko --results endpoints.tsv
#                --host TARGET --out DIR [--rename NEW=OLD]
#   bind.py link --plan DIR/bindings.tsv NEW.ko
#
# plan: the code an image runs is its installed (changed) endpoints and the
# image functions they reach that changed or are new.  Everything else that
# code uses is the running driver's: functions compiled identically in both
# builds, data objects identical in both (size, initial bytes, relocations;
# writable data and const tables alike) and THIS_MODULE.  A static is
# matched in the same source file; a function's static local is matched as
# kpatch-build correlates them: the running build's function of the same
# name uses exactly one static local of that name (GCC numbers them per
# build, "count.3"), which has the same size; its initial bytes may differ
# (a warning): it is the same variable, with the running driver's value.  Each
# becomes a binding "__dpx_bind.<name>.<pos>": <name> is the symbol in the
# running driver and <pos> which of its symbols of that name, in symbol
# table order (the order /proc/kallsyms lists a module's symbols).  Writes
# DIR/bindings.tsv (kind, name, pos, the image's symbol, the endpoints that
# use it) and DIR/dpx_bindings.c, which build.sh compiles into the image:
# a weak reference to each binding symbol, the table drvproxy checks
# (struct drvproxy_binding, ended by an entry without a name) and a
# modinfo "drvproxy_host" naming TARGET.
# Data that differs between the builds, or is new, stays the image's own;
# so do string literals.  Prints "binds" and "keeps" lines per endpoint.
#
# link: rewrites NEW.ko in place: every relocation inside that code whose
# target is a bound symbol of the image is pointed at the binding symbol
# instead, its addend moved to keep the offset into the object.  The
# binding symbols stay weak and undefined: a plain insmod resolves them to
# 0 and drvproxy refuses the image; drvproxyctl load writes the running
# driver's addresses into them first.
#
# Exit status 0, 1 when something cannot be bound safely, 2 on a usage or
# tool error.
import argparse
import os
import re
import struct
import sys

# epdiff.py beside this file; no __pycache__ written into the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import epdiff  # noqa: E402

SHF_ALLOC, SHF_EXEC = epdiff.SHF_ALLOC, epdiff.SHF_EXEC
PREFIX = "__dpx_bind."
# Several symbols of one name in the running build's file.
AMBIGUOUS = object()
# A static local of a function: never bound (old_counterpart()).
STATIC_LOCAL = object()
STT_FILE = 4
COLD = re.compile(r"\.cold(\.\d+)?$")


def kallsyms_pos(mod, sym):
    """Which of @mod's symbols named like @sym it is, counting those
    /proc/kallsyms lists (defined, allocated, not in init sections)."""
    o = mod.objs[0]
    pos = 0
    for s in o.symbols:
        if s is sym:
            return pos
        if s.name == sym.name and 0 < s.shndx < len(o.sections):
            sec = o.sections[s.shndx]
            if sec.flags & SHF_ALLOC and not sec.name.startswith(".init"):
                pos += 1
    raise ValueError(f"{sym.name}: not in the running build's symbol table")


def source_files(o):
    """{id(symbol): the source file of a local symbol}: in a linked .ko the
    local symbols of each object follow that object's STT_FILE symbol."""
    files, cur = {}, None
    for s in o.symbols:
        if s.type == STT_FILE:
            cur = s.name
        elif s.bind == epdiff.STB_LOCAL:
            files[id(s)] = cur
    return files


def old_counterpart(cmp, res):
    """The running build's symbol for the image's function or data @res:
    a global of the same name, or a static of the same name in the same
    source file.  None when it has none (new), AMBIGUOUS when it has
    several.  For a static local ("count.3": GCC numbers them per build)
    STATIC_LOCAL: the name says nothing, its function does
    (Planner._static_local())."""
    o, sym, kind = res
    old = cmp.old.objs[0]
    if kind == "data" and epdiff.NUMBERED.search(sym.name) and sym.bind == epdiff.STB_LOCAL:
        return STATIC_LOCAL
    cands = [s for s in old.symbols if s.name == sym.name and s.type == sym.type and
             s.bind == sym.bind and 0 < s.shndx < len(old.sections)]
    if sym.bind == epdiff.STB_LOCAL:
        if not hasattr(o, "files"):
            o.files = source_files(o)
        if not hasattr(old, "files"):
            old.files = source_files(old)
        cands = [s for s in cands if old.files.get(id(s)) == o.files.get(id(sym))]
    if len(cands) > 1:
        return AMBIGUOUS
    return cands[0] if cands else None


class Planner:
    def __init__(self, old, new, rename):
        self.cmp = epdiff.Comparer(old, new, rename)
        self.code = {}          # image function name -> endpoints running it
        self.binds = {}         # image symbol name -> [kind, host sym, endpoints]
        self.keeps = {}         # endpoint -> [what stays the image's]
        self.warnings = []      # (endpoint, text)
        self.parent = {}        # dependency -> (object, function) first using it

    def _same_data(self, res, osym):
        """Same size, bytes and relocation targets (by name): the running
        driver's copy is what the image's would be.  Not transitive: an
        ops table naming the same functions is the same table, and the
        running driver's entries are its wrappers, which dispatch to
        whatever is installed."""
        o, sym, _kind = res
        told, _d = self.cmp.nold.data(self.cmp.old.objs[0], osym)
        tnew, _d = self.cmp.nnew.data(o, sym)
        return told == tnew

    def _same_function(self, res, osym):
        o, sym, _kind = res
        return self.cmp.same(("func", self.cmp.old.objs[0].name, osym.name),
                             ("func", o.name, sym.name), sym.name) is None

    def _keep(self, ep, res, osym):
        """Data the image keeps as its own: new, or not the same as the
        running build's.  New writable data, and writable data or tables
        that differ, get a warning: the running driver's code never sees
        the image's copy."""
        o, sym, _kind = res
        sec = o.sections[sym.shndx]
        name = epdiff.NUMBERED.sub("", sym.name)
        writable = sec.flags & epdiff.SHF_WRITE or sec.type == epdiff.SHT_NOBITS
        table = any(sym.value <= r[0] < sym.value + sym.size for r in sec.relocs)
        why = "differs from the running build's" if osym else "new"
        self.keeps.setdefault(ep, []).append(f"{name} ({why})")
        if osym is None and writable:
            self.warnings.append((ep, f"{name} is new data: the image's own, set from its"
                                  " initialiser each time the image is loaded, unknown to"
                                  " the running driver's code"))
        elif osym is not None and (writable or table):
            self.warnings.append((ep, f"{name} differs from the running build's (size,"
                                  " initial value or relocations): this code uses the"
                                  " image's own copy, the running driver's code its own"))

    def _static_local(self, res):
        """The running build's static local that is the image's @res (a
        dependency of the image function self.parent names), as
        kpatch-build correlates them: that function's counterpart in the
        running build uses exactly one static local of the same name, in
        the same source file.  None when it uses none (new, or the function
        is), AMBIGUOUS when it uses several."""
        o, sym, _kind = res
        parent = self.parent.get(("data", o.name, sym.name))
        if parent is None:
            return None
        pold = old_counterpart(self.cmp, (parent[0], parent[1], "func"))
        if pold in (None, AMBIGUOUS, STATIC_LOCAL):
            return None
        old = self.cmp.old.objs[0]
        if not hasattr(old, "files"):
            old.files = source_files(old)
        base = epdiff.NUMBERED.sub("", sym.name)
        _t, odeps = self.cmp.nold.function(old, pold)
        names = {d[2] for d in odeps if d[0] == "data" and epdiff.NUMBERED.search(d[2])
                 and epdiff.NUMBERED.sub("", d[2]) == base}
        cands = [s for s in old.symbols if s.name in names and
                 s.bind == epdiff.STB_LOCAL and 0 < s.shndx < len(old.sections) and
                 old.files.get(id(s)) == old.files.get(id(pold))]
        if len(cands) > 1:
            return AMBIGUOUS
        return cands[0] if cands else None

    def _local(self, ep, res):
        """Bind a static local of the image's code to the running
        driver's, or keep the image's own, with a warning."""
        o, sym, _kind = res
        base = epdiff.NUMBERED.sub("", sym.name)
        once = o.sections[sym.shndx].name.startswith(".data.once")
        osym = self._static_local(res)
        if osym not in (None, AMBIGUOUS) and osym.size == sym.size:
            self._bind(ep, "static local", res, osym)
            if not self._same_data(res, osym):
                self.warnings.append((ep, f"{base}: a static local whose initial value"
                                      " changed; this code uses the running driver's,"
                                      " with its value now"))
            return
        why = {None: "new", AMBIGUOUS: "several in the running function"}.get(
            osym, "its size changed")
        self.keeps.setdefault(ep, []).append(f"{base} (a static local, {why})")
        if not once:        # a WARN_ONCE() flag of its own is harmless
            self.warnings.append((ep, f"{base}: a function's static local ({why}); this"
                                  " code uses the image's own"))

    def _bind(self, ep, kind, res, osym):
        entry = self.binds.setdefault(res[1].name, [kind, osym, set()])
        entry[2].add(ep)

    def endpoint(self, ep):
        new = self.cmp.new
        start = ("func", new.endpoints[ep].name, "__dpx_impl_" + ep)
        seen, queue = {start}, [start]
        while queue:
            dep = queue.pop(0)
            res = self.cmp.nnew.resolve(dep, None)
            if res is None:
                continue
            o, sym, kind = res
            if kind == "section":
                continue        # string literals, unnamed constants
            if kind == "data":
                osym = old_counterpart(self.cmp, res)
                if osym is STATIC_LOCAL:
                    self._local(ep, res)
                    continue
                if osym is AMBIGUOUS and sym.name != "__this_module":
                    self.keeps.setdefault(ep, []).append(
                        f"{sym.name} (several in the running build)")
                    # A WARN_ONCE() flag of its own is harmless.
                    if not o.sections[sym.shndx].name.startswith(".data.once"):
                        self.warnings.append((ep, f"{sym.name}: the running build has"
                                              " several symbols of that name; this code"
                                              " uses the image's own"))
                    continue
                if sym.name == "__this_module" or (osym and self._same_data(res, osym)):
                    self._bind(ep, "module" if sym.name == "__this_module" else "data",
                               res, osym)
                else:
                    self._keep(ep, res, osym)
                continue
            # A cold part ("f.cold") is a fragment of its function, which
            # jumps into it and is jumped back to: it runs with its parent.
            if dep != start and not COLD.search(sym.name):
                osym = old_counterpart(self.cmp, res)
                if osym not in (None, AMBIGUOUS, STATIC_LOCAL) and \
                        self._same_function(res, osym):
                    self._bind(ep, "function", res, osym)
                    continue
            self.code.setdefault(sym.name, set()).add(ep)
            _t, deps = self.cmp.nnew.function(o, sym)
            key = ("f", o.name, sym.name)
            nxt = set(deps) | {("gfunc", None, e) for e in self.cmp.nnew.eprefs.get(key, ())}
            if "__this_module" in self.cmp.nnew.externs.get(key, ()):
                nxt.add(("gdata", None, "__this_module"))
            for d in sorted(nxt, key=lambda d: (d[2], d[0])):
                self.parent.setdefault(d, (o, sym))
                if d not in seen:
                    seen.add(d)
                    queue.append(d)

    def write(self, out, host):
        old = self.cmp.old
        rows, lines = [], []
        for n, name in enumerate(sorted(self.binds)):
            kind, osym, eps = self.binds[name]
            if osym is None:        # __this_module of an image: the host's own
                osym = next(s for s in old.objs[0].symbols if s.name == "__this_module")
            pos = kallsyms_pos(old, osym)
            rows.append((kind, osym.name, pos, name, n, ",".join(sorted(eps))))
        with open(os.path.join(out, "bindings.tsv"), "w") as f:
            for kind, hname, pos, name, n, eps in rows:
                f.write(f"{kind}\t{hname}\t{pos}\t{name}\t{','.join(sorted(self.code))}\t{eps}\n")
        with open(os.path.join(out, "dpx_bindings.c"), "w") as f:
            f.write("// SPDX-License-Identifier: GPL-2.0\n"
                    "/* Generated by tools/companion/bind.py: the running driver's"
                    " symbols this image uses. */\n"
                    "#include <linux/module.h>\n#include <drvproxy.h>\n\n")
            for kind, hname, pos, name, n, eps in rows:
                f.write(f"extern const char __dpx_b{n}[]"
                        f" __asm__(\"{PREFIX}{hname}.{pos}\") __weak;\n")
            f.write("\nconst struct drvproxy_binding __dpx_image_bindings[] = {\n")
            for kind, hname, pos, name, n, eps in rows:
                f.write(f"\t{{ \"{hname}\", {pos}, __dpx_b{n} }},\n")
            f.write("\t{ }\n};\n\n"
                    f"MODULE_INFO(drvproxy_host, \"{host}\");\n")
        for ep in sorted({e for r in rows for e in r[5].split(",")} | set(self.keeps)):
            mine = [f"{epdiff.NUMBERED.sub('', r[1]) if r[0] == 'static local' else r[1]}"
                    f" ({r[0]})" for r in rows if ep in r[5].split(",")]
            if mine:
                lines.append(f"binds\t{ep}\t{', '.join(mine)}")
            if ep in self.keeps:
                lines.append(f"keeps\t{ep}\t{', '.join(self.keeps[ep])}")
        lines += [f"warning\t{ep}\t{w}" for ep, w in sorted(set(self.warnings))]
        return lines


def plan(args):
    rename = tuple(args.rename.split("=", 1)) if args.rename else None
    old = epdiff.Module([args.old])
    new = epdiff.Module([args.new])
    planner = Planner(old, new, rename)
    with open(args.results) as f:
        eps = [line.split("\t")[1] for line in f if line.startswith("changed\t")]
    for ep in eps:
        planner.endpoint(ep)
    for line in planner.write(args.out, args.host):
        print(line)
    return 0


def link(args):
    """Point the image code's relocations at the binding symbols, in place."""
    with open(args.plan) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    bound = {r[3]: f"{PREFIX}{r[1]}.{r[2]}" for r in rows}
    code = set(rows[0][4].split(",")) if rows else set()
    o = epdiff.Object(args.ko)
    index = {s.name: i for i, s in enumerate(o.symbols) if s.name.startswith(PREFIX)}
    missing = sorted(set(bound.values()) - set(index))
    if missing:
        print(f"bind.py: {args.ko} lacks {', '.join(missing)} (dpx_bindings.c not linked in?)",
              file=sys.stderr)
        return 2
    ranges = [(s.shndx, s.value, s.value + s.size) for s in o.symbols
              if s.type == epdiff.STT_FUNC and s.name in code and s.size]
    with open(args.ko, "rb") as f:
        blob = bytearray(f.read())
    changed = 0
    for rsec in o.sections:
        if rsec.type != epdiff.SHT_RELA:
            continue
        tsec = o.sections[rsec.info]
        if not tsec.flags & SHF_EXEC:
            continue
        for k in range(rsec.size // 24):
            at = rsec.offset + k * 24
            off, info, addend = struct.unpack_from("<QQq", blob, at)
            if not any(sh == tsec.idx and lo <= off < hi for sh, lo, hi in ranges):
                continue
            sym = o.symbols[info >> 32]
            if not 0 < sym.shndx < len(o.sections):
                continue
            target = sym
            if sym.type in (epdiff.STT_SECTION, epdiff.STT_NOTYPE):
                where = sym.value + addend
                if (info & 0xffffffff) in o.arch.pc_relative:
                    where += epdiff.insn_end(o, tsec.idx, off) - off
                target = o.covering(sym.shndx, where)
                if target is None:
                    continue
            if target.name not in bound:
                continue
            new_addend = addend + sym.value - target.value
            struct.pack_into("<QQq", blob, at, off,
                             (index[bound[target.name]] << 32) | (info & 0xffffffff),
                             new_addend)
            changed += 1
    with open(args.ko, "wb") as f:
        f.write(blob)
    print(f"bind.py: {changed} relocations of {len(code)} functions now reach"
          f" {len(bound)} symbols of the running driver")
    return 0


def main():
    ap = argparse.ArgumentParser(description="link an image companion to the running driver")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--rename")
    p = sub.add_parser("link")
    p.add_argument("--plan", required=True)
    p.add_argument("ko")
    args = ap.parse_args()
    try:
        return plan(args) if args.cmd == "plan" else link(args)
    except (OSError, ValueError) as e:
        print(f"bind.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
