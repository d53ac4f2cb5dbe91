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
# link: rewrites NEW.ko in place: every relocation inside that code, or in
# a jump-label entry that describes an instruction of it (its static key),
# whose target is a bound symbol of the image is pointed at
# the binding symbol instead, its addend moved to keep the offset into the
# object.  The
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
# Side tables whose entries for the image's code are linked too: a jump
# label's static key.  The kernel links a module's jump labels to a key of
# another module (jump_label_add_module()); a static call site is
# registered only through a key the module can resolve itself, so static
# calls are left alone.
REBOUND_TABLES = ("__jump_table",)


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
        self.parents = {}       # dependency -> [(object, function) using it]
        self.locals = []        # (endpoint, static local of its code)
        # Local names the image has several of (one per source file): a
        # binding is by name, so none of them is bound.
        counts = {}
        for sym in new.objs[0].symbols:
            if sym.bind == epdiff.STB_LOCAL and sym.type in (epdiff.STT_OBJECT, epdiff.STT_FUNC):
                counts[sym.name] = counts.get(sym.name, 0) + 1
        self.dups = {n for n, c in counts.items() if c > 1}

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

    @staticmethod
    def _locals_named(fn, deps, base):
        """The static locals named base.N among @fn's dependencies."""
        return {d[2] for d in deps if d[0] == "data" and epdiff.NUMBERED.search(d[2])
                and epdiff.NUMBERED.sub("", d[2]) == base}

    def _correlate(self, parent, base):
        """The running build's static local base.N of the image function
        @parent's counterpart, as kpatch-build correlates them: both
        functions use exactly one static local of that name.  None when
        the counterpart uses none (new, or the function is), AMBIGUOUS when
        either uses several."""
        po, psym = parent
        _t, ndeps = self.cmp.nnew.function(po, psym)
        if len(self._locals_named(psym, ndeps, base)) != 1:
            return AMBIGUOUS
        pold = old_counterpart(self.cmp, (po, psym, "func"))
        if pold in (None, AMBIGUOUS, STATIC_LOCAL):
            return None
        old = self.cmp.old.objs[0]
        if not hasattr(old, "files"):
            old.files = source_files(old)
        _t, odeps = self.cmp.nold.function(old, pold)
        names = self._locals_named(pold, odeps, base)
        # A global function has no file of its own in the symbol table:
        # then the name must be unique in the whole module.
        pfile = old.files.get(id(pold))
        cands = [s for s in old.symbols if s.name in names and
                 s.bind == epdiff.STB_LOCAL and 0 < s.shndx < len(old.sections) and
                 (pfile is None or old.files.get(id(s)) == pfile)]
        if len(cands) > 1:
            return AMBIGUOUS
        return cands[0] if cands else None

    def _static_local(self, res):
        """The running build's static local that is the image's @res: every
        image function that uses it (self.parents) must correlate to the
        same one.  None or AMBIGUOUS as _correlate()."""
        o, sym, _kind = res
        base = epdiff.NUMBERED.sub("", sym.name)
        found = {id(x): x for x in (self._correlate(p, base) for p in
                                    self.parents.get(("data", o.name, sym.name), ()))}
        if len(found) != 1:
            return AMBIGUOUS if found else None
        return next(iter(found.values()))

    def _local(self, ep, res):
        """Bind a static local of the image's code to the running
        driver's, or keep the image's own, with a warning.  A constant one
        whose contents changed stays the image's: the running one holds
        the old contents for good."""
        o, sym, _kind = res
        base = epdiff.NUMBERED.sub("", sym.name)
        sec = o.sections[sym.shndx]
        writable = sec.flags & epdiff.SHF_WRITE or sec.type == epdiff.SHT_NOBITS
        osym = AMBIGUOUS if sym.name in self.dups else self._static_local(res)
        why = {None: "new", AMBIGUOUS: "not one of that name in the function"}.get(osym)
        if why is None and osym.size != sym.size:
            why = "its size changed"
        elif why is None and not self._same_data(res, osym):
            if not writable:
                why = "a constant whose contents changed"
            else:
                self.warnings.append((ep, f"{base}: a static local whose initial value"
                                      " changed; this code uses the running driver's,"
                                      " with its value now"))
        if why is None:
            self._bind(ep, "static local", res, osym)
            return
        self.keeps.setdefault(ep, []).append(f"{base} (a static local, {why})")
        if not sec.name.startswith(".data.once"):  # a WARN_ONCE() flag: harmless
            self.warnings.append((ep, f"{base}: a function's static local ({why}); this"
                                  " code uses the image's own"))

    def finish(self):
        """The static locals, once the code of every endpoint is known."""
        for ep, res in self.locals:
            self._local(ep, res)

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
                    # Decided once every function using it is known.
                    self.locals.append((ep, res))
                    continue
                if sym.name in self.dups:
                    osym = AMBIGUOUS
                if osym is AMBIGUOUS and sym.name != "__this_module":
                    self.keeps.setdefault(ep, []).append(f"{sym.name} (several of that name)")
                    # A WARN_ONCE() flag of its own is harmless.
                    if not o.sections[sym.shndx].name.startswith(".data.once"):
                        self.warnings.append((ep, f"{sym.name}: the running build or the"
                                              " image has several symbols of that name;"
                                              " this code uses the image's own"))
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
                        sym.name not in self.dups and self._same_function(res, osym):
                    self._bind(ep, "function", res, osym)
                    continue
            self.code.setdefault(sym.name, set()).add(ep)
            _t, deps = self.cmp.nnew.function(o, sym)
            key = ("f", o.name, sym.name)
            nxt = set(deps) | {("gfunc", None, e) for e in self.cmp.nnew.eprefs.get(key, ())}
            if "__this_module" in self.cmp.nnew.externs.get(key, ()):
                nxt.add(("gdata", None, "__this_module"))
            for d in sorted(nxt, key=lambda d: (d[2], d[0])):
                if (o, sym) not in self.parents.setdefault(d, []):
                    self.parents[d].append((o, sym))
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
    planner.finish()
    for line in planner.write(args.out, args.host):
        print(line)
    return 0


def rela(blob, rsec, k):
    """(offset, info, addend) of relocation @k of @rsec."""
    return struct.unpack_from("<QQq", blob, rsec.offset + k * 24)


def in_code(ranges, shndx, off):
    return any(sh == shndx and lo <= off < hi for sh, lo, hi in ranges)


def side_sites(o, blob, rsec, tsec, ranges):
    """The relocations of the side-table entries (REBOUND_TABLES) that
    describe an instruction of the image's code: an
    entry's key is the running driver's when bound, so that the kernel
    links the image's sites to the driver's key (a static key the driver
    switches switches the image's code too)."""
    size = o.arch.side_tables[tsec.name][0]
    entries = {}
    for k in range(rsec.size // 24):
        off, info, addend = rela(blob, rsec, k)
        entries.setdefault(off - off % size, []).append(k)
    sites = []
    for ks in entries.values():
        for k in ks:
            off, info, addend = rela(blob, rsec, k)
            sym = o.symbols[info >> 32]
            # A site is PC-relative in data: S + A, no instruction end.
            if 0 < sym.shndx < len(o.sections) and \
                    in_code(ranges, sym.shndx, sym.value + addend):
                sites += ks
                break
    return sorted(sites)


def rebind(o, blob, rsec, k, bound, index):
    """Point relocation @k of @rsec at the binding symbol of what it
    reaches, if that is bound; its addend moved to keep the offset into
    the object.  Returns 1 when it did."""
    at = rsec.offset + k * 24
    off, info, addend = rela(blob, rsec, k)
    sym = o.symbols[info >> 32]
    if not 0 < sym.shndx < len(o.sections):
        return 0
    target = sym
    if sym.type in (epdiff.STT_SECTION, epdiff.STT_NOTYPE):
        where = sym.value + addend
        if o.sections[rsec.info].flags & SHF_EXEC and \
                (info & 0xffffffff) in o.arch.pc_relative:
            where += epdiff.insn_end(o, rsec.info, off) - off
        target = o.covering(sym.shndx, where)
        if target is None:
            return 0
    if target.name not in bound:
        return 0
    struct.pack_into("<QQq", blob, at, off,
                     (index[bound[target.name]] << 32) | (info & 0xffffffff),
                     addend + sym.value - target.value)
    return 1


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
        if tsec.flags & SHF_EXEC:
            sites = [k for k in range(rsec.size // 24)
                     if in_code(ranges, tsec.idx, rela(blob, rsec, k)[0])]
        elif tsec.name in REBOUND_TABLES:
            sites = side_sites(o, blob, rsec, tsec, ranges)
        else:
            continue
        for k in sites:
            changed += rebind(o, blob, rsec, k, bound, index)
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
