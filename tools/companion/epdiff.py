#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# epdiff.py - which endpoints of a newer build of a drvproxy host driver are
# compiled identically to the running build (tools/companion/build.sh's
# detector).
#
# Usage: epdiff.py --old OBJ.o[,OBJ.o...] --new OBJ.o[,OBJ.o...] [--rename NEW=OLD]
#
# OLD are the object files of the running host module, NEW those of the
# image companion built from the edited source (-DDRVPROXY_IMAGE_COMPANION).
# Prints one line per endpoint, tab-separated:
#
#   changed|unchanged|new|unreachable|removed <TAB> name <TAB> reason
#
# then, for each changed endpoint, "uses <TAB> name <TAB> what" lines: what
# the image's code of it reaches in the module (functions, writable data,
# const data and tables, THIS_MODULE), which bind.py links to the running
# driver's own where it can.
# An endpoint that differs but that nothing in OLD refers to except its
# descriptor (no ops table, call, export) is "unreachable": nothing can
# call it.  Exit status 0, or 2 on a usage or tool error.
#
# Method.  An endpoint's implementation is the function __dpx_impl_<name>
# (DRVPROXY_ENDPOINT() generates it in both builds).  Each function is
# disassembled with "objdump -d -z --no-show-raw-insn" and normalised:
#
#   - only the bytes of the symbol's st_size count (the NOP padding and
#     alignment after a function belong to nobody);
#   - instruction addresses are dropped; a branch or RIP-relative operand
#     that the assembler resolved becomes "<.+0xOFF>" inside the function
#     itself and "<sym+0xOFF>" elsewhere, never an absolute address;
#   - relocations (read from the ELF file, attached to the instruction they
#     patch) keep their type and symbol name; a relocation against a section
#     or a local label is resolved to what it points at: a string literal
#     becomes its text, a mergeable constant its bytes, a function or data
#     object its name plus offset (GCC's numbered suffixes of static
#     objects, "__key.12", are dropped; clone suffixes of functions are not;
#     with --rename NEW=OLD the image's module name in a string counts as
#     the host's, so pr_fmt(KBUILD_MODNAME) prefixes are not a change);
#   - entries of the side tables that describe an instruction of the
#     function (__jump_table, __ex_table, .static_call_sites,
#     .altinstructions and __bug_table) are appended, so a different static
#     key or fixup counts; __bug_table's file name and line number do not (a
#     line shift or another build directory is not a change) and neither do
#     alternative replacement bodies (the same macro at the same site
#     generates them).
#
# An endpoint is unchanged when its normalised body is identical in both
# builds AND every module-local function or data object it references is
# unchanged too, transitively: static helpers and GCC clones
# ("demo_read_common.constprop.0"), functions of other objects of the same
# module, and data (size, bytes, relocations).  Inlined helpers are part of
# the body already.  A call to another endpoint by name is a call through
# that endpoint's wrapper in the running host, which dispatches to whatever
# implementation is current: it is not a dependency.  Everything else
# differs: the endpoint is changed and the reason says where first.
#
# Limits: x86-64 and arm64 ELF relocatable objects (RELA; arm64 objects are
# disassembled with aarch64-linux-gnu-objdump, or $OBJDUMP); both builds must come from
# the same compiler and flags (a .comment mismatch is warned about, and
# makes everything differ anyway).
import argparse
import bisect
import os
import re
import struct
import subprocess
import sys

SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 2, 4, 8
SHF_WRITE, SHF_ALLOC, SHF_EXEC, SHF_MERGE, SHF_STRINGS = 1, 2, 4, 0x10, 0x20
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3
STB_LOCAL = 0
# Side tables with fixed-size entries, the same on x86-64 and arm64 (Arch
# adds .altinstructions).
SIDE_TABLES = {
    "__jump_table": (16, ()),
    "__ex_table": (12, ()),
    ".static_call_sites": (8, ()),
    "__bug_table": (12, ((4, 10),)),        # file name and line number
}
EM_X86_64, EM_AARCH64 = 62, 183


class Arch:
    """What the normaliser must know of an instruction set."""

    def __init__(self, name, objdump, comment, pc_relative, reloc_names, alt_size):
        self.name, self.objdump, self.comment = name, objdump, comment
        # Relocation types patched into an instruction whose addend is
        # relative to the end of that instruction, not to the field: x86's
        # PC-relative fields.  arm64's PC-relative relocations compute S + A
        # for the instruction's own address, so none is listed there.
        self.pc_relative = pc_relative
        self.reloc_names = reloc_names
        # Side tables with fixed-size entries: the whole entry describes
        # the site.  (name: entry size, byte ranges of the entry that are
        # ignored)  struct alt_instr is the one whose size differs.
        self.side_tables = dict(SIDE_TABLES)
        self.side_tables[".altinstructions"] = (alt_size, ())


ARCHES = {
    EM_X86_64: Arch("x86-64", "objdump", "#", {2, 4, 9, 24, 26, 41, 42},
                    {1: "R_X86_64_64", 2: "R_X86_64_PC32", 4: "R_X86_64_PLT32",
                     9: "R_X86_64_GOTPCREL", 10: "R_X86_64_32", 11: "R_X86_64_32S",
                     24: "R_X86_64_PC64", 41: "R_X86_64_GOTPCRELX",
                     42: "R_X86_64_REX_GOTPCRELX"}, 14),
    EM_AARCH64: Arch("arm64", "aarch64-linux-gnu-objdump", "//", set(),
                     {257: "R_AARCH64_ABS64", 258: "R_AARCH64_ABS32",
                      260: "R_AARCH64_PREL64", 261: "R_AARCH64_PREL32",
                      274: "R_AARCH64_ADR_PREL_LO21", 275: "R_AARCH64_ADR_PREL_PG_HI21",
                      277: "R_AARCH64_ADD_ABS_LO12_NC", 278: "R_AARCH64_LDST8_ABS_LO12_NC",
                      279: "R_AARCH64_TSTBR14", 280: "R_AARCH64_CONDBR19",
                      282: "R_AARCH64_JUMP26", 283: "R_AARCH64_CALL26",
                      284: "R_AARCH64_LDST16_ABS_LO12_NC",
                      285: "R_AARCH64_LDST32_ABS_LO12_NC",
                      286: "R_AARCH64_LDST64_ABS_LO12_NC",
                      299: "R_AARCH64_LDST128_ABS_LO12_NC"}, 12),
}
# "__key.12" -> "__key"; only numeric suffixes of data objects.
NUMBERED = re.compile(r"(\.\d+)+$")
TARGET = re.compile(r"([0-9a-f]+) <[^>]*>")


class Section:
    def __init__(self, idx, name, stype, flags, offset, size, link, info, entsize, data):
        self.idx, self.name, self.type, self.flags = idx, name, stype, flags
        self.offset, self.size, self.link, self.info = offset, size, link, info
        self.entsize, self.data = entsize, data
        self.relocs = []        # (offset, type, symbol index, addend), sorted


class Symbol:
    def __init__(self, name, value, size, stype, bind, shndx):
        self.name, self.value, self.size = name, value, size
        self.type, self.bind, self.shndx = stype, bind, shndx


def cstr(blob, off):
    end = blob.find(b"\0", off)
    return blob[off:end if end >= 0 else len(blob)].decode("latin-1")


class Object:
    """One relocatable x86-64 or arm64 ELF object: sections, symbols, relocations,
    and the disassembly of its executable sections."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(path, "rb") as f:
            blob = f.read()
        if blob[:4] != b"\x7fELF" or blob[4] != 2 or blob[5] != 1:
            raise ValueError(f"{path}: not a little-endian ELF64 file")
        machine = struct.unpack_from("<H", blob, 0x12)[0]
        if machine not in ARCHES:
            raise ValueError(f"{path}: not an x86-64 or arm64 object (e_machine {machine})")
        self.arch = ARCHES[machine]
        shoff = struct.unpack_from("<Q", blob, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3A)
        raw = []
        for i in range(shnum):
            raw.append(struct.unpack_from("<IIQQQQIIQQ", blob, shoff + i * shentsize))
        shstr = raw[shstrndx]
        shstrtab = blob[shstr[4]:shstr[4] + shstr[5]]
        self.sections = []
        for i, (nm, st, fl, _a, off, sz, lk, inf, _al, es) in enumerate(raw):
            data = b"" if st == SHT_NOBITS else blob[off:off + sz]
            self.sections.append(Section(i, cstr(shstrtab, nm), st, fl, off, sz,
                                         lk, inf, es, data))
        self.symbols = []
        for sec in self.sections:
            if sec.type != SHT_SYMTAB:
                continue
            strtab = self.sections[sec.link].data
            for k in range(sec.size // 24):
                nm, info, _other, shndx, value, size = \
                    struct.unpack_from("<IBBHQQ", sec.data, k * 24)
                self.symbols.append(Symbol(cstr(strtab, nm), value, size,
                                           info & 0xf, info >> 4, shndx))
        for sec in self.sections:
            if sec.type != SHT_RELA:
                continue
            target = self.sections[sec.info]
            for k in range(sec.size // 24):
                off, info, addend = struct.unpack_from("<QQq", sec.data, k * 24)
                target.relocs.append((off, info & 0xffffffff, info >> 32, addend))
            target.relocs.sort()
        for sym in self.symbols:
            if sym.type == STT_SECTION and sym.shndx < len(self.sections):
                sym.name = self.sections[sym.shndx].name
        # Named functions and data objects per section, by address.
        self.by_section = {}
        for sym in self.symbols:
            if sym.type in (STT_FUNC, STT_OBJECT) and 0 < sym.shndx < len(self.sections):
                self.by_section.setdefault(sym.shndx, []).append(sym)
        self.funcs = {}
        self.objects = {}
        for sym in self.symbols:
            if sym.type == STT_FUNC and sym.size and 0 < sym.shndx < len(self.sections):
                self.funcs.setdefault(sym.name, sym)
            elif sym.type == STT_OBJECT and 0 < sym.shndx < len(self.sections):
                self.objects.setdefault(sym.name, sym)
        self.comment = next((s.data for s in self.sections if s.name == ".comment"), b"")
        self.insns = self._disassemble()
        self._addrs = {}

    def _disassemble(self):
        """{section index: [(address, text)]} for every executable section."""
        objdump = os.environ.get("OBJDUMP") if self.arch.name != "x86-64" else None
        out = subprocess.run([objdump or self.arch.objdump, "-d", "-z", "-w",
                              "--no-show-raw-insn", self.path],
                             check=True, capture_output=True, text=True).stdout
        by_name = {s.name: s.idx for s in self.sections}
        insns = {}
        cur = None
        for line in out.splitlines():
            m = re.match(r"^Disassembly of section (.*):$", line)
            if m:
                cur = insns.setdefault(by_name.get(m.group(1), -1), [])
                continue
            m = re.match(r"^\s*([0-9a-f]+):\t(.*)$", line)
            if m and cur is not None:
                cur.append((int(m.group(1), 16), m.group(2)))
        return insns

    def reloc_offsets(self, shndx):
        sec = self.sections[shndx]
        if not hasattr(sec, "offsets"):
            sec.offsets = [r[0] for r in sec.relocs]
        return sec.offsets

    def insn_addrs(self, shndx):
        if shndx not in self._addrs:
            self._addrs[shndx] = [a for a, _ in self.insns.get(shndx, [])]
        return self._addrs[shndx]

    def covering(self, shndx, off, types=(STT_FUNC, STT_OBJECT)):
        """The named symbol of section @shndx whose bytes contain @off."""
        best = None
        for sym in self.by_section.get(shndx, ()):
            if sym.type in types and sym.value <= off < sym.value + max(sym.size, 1):
                if best is None or sym.size < best.size:
                    best = sym
        return best


class Module:
    """A module's objects, with the global definitions across them."""

    def __init__(self, paths):
        self.objs = [Object(p) for p in paths]
        self.global_funcs = {}
        self.global_data = {}
        for o in self.objs:
            for sym in o.symbols:
                if sym.bind == STB_LOCAL or not sym.shndx or sym.shndx >= len(o.sections):
                    continue
                if sym.type == STT_FUNC:
                    self.global_funcs.setdefault(sym.name, o)
                elif sym.type == STT_OBJECT:
                    self.global_data.setdefault(sym.name, o)
        # Endpoints: name -> object defining __dpx_impl_<name>.
        self.endpoints = {}
        for o in self.objs:
            for name in o.funcs:
                if name.startswith("__dpx_impl_"):
                    self.endpoints.setdefault(name[len("__dpx_impl_"):], o)
        self.cache = {}

    def obj(self, name):
        return next((o for o in self.objs if o.name == name), None)


class Normaliser:
    """Turns functions and data objects of one Module into token lists and
    dependency sets."""

    def __init__(self, mod, rename=None):
        self.mod = mod
        self.rename = rename
        self.ninsns = {}
        # Per function: endpoints it calls by name, and symbols it uses
        # that no object of the module defines (the kernel's, or
        # __this_module, which modpost's .mod.c defines).
        self.eprefs = {}
        self.externs = {}

    def _section_target(self, o, shndx, off, here):
        """Token and dependency for a reference to @off in section @shndx."""
        sec = o.sections[shndx]
        if sec.flags & SHF_EXEC:
            sym = o.covering(shndx, off, (STT_FUNC,))
            if sym is None:
                return f"{sec.name}+{off:#x}", None
            if here is not None and sym is here:
                return f"<.+{off - sym.value:#x}>", None
            return self._func_token(o, sym, off - sym.value)
        if sec.flags & SHF_MERGE and sec.flags & SHF_STRINGS:
            text = cstr(sec.data, off)
            if self.rename:
                text = text.replace(*self.rename)
            return f"str:{text!r}", None
        if sec.flags & SHF_MERGE and sec.entsize:
            base = off - off % sec.entsize
            return f"const:{sec.data[base:base + sec.entsize].hex()}+{off - base:#x}", None
        sym = o.covering(shndx, off, (STT_OBJECT,))
        if sym is not None:
            return (f"data:{NUMBERED.sub('', sym.name)}+{off - sym.value:#x}",
                    ("data", o.name, sym.name))
        return f"{sec.name}+{off:#x}", ("section", o.name, sec.name)

    def _func_token(self, o, sym, delta):
        if sym.bind != STB_LOCAL and sym.name in self.mod.endpoints:
            return f"endpoint:{sym.name}+{delta:#x}", None
        if sym.bind != STB_LOCAL:
            return f"func:{sym.name}+{delta:#x}", ("gfunc", None, sym.name)
        return f"func:{sym.name}+{delta:#x}", ("func", o.name, sym.name)

    def reloc_token(self, o, rel, end, here):
        """A relocation as a token; @end: address after the instruction (None
        in data), @here: the function being normalised."""
        off, rtype, symidx, addend = rel
        sym = o.symbols[symidx]
        tname = o.arch.reloc_names.get(rtype, f"R_{rtype}")
        local_label = sym.type in (STT_SECTION, STT_NOTYPE) and sym.bind == STB_LOCAL
        if local_label and 0 < sym.shndx < len(o.sections):
            target = sym.value + addend
            if rtype in o.arch.pc_relative and end is not None:
                # S + A - P patched into an instruction ending at @end
                target += end - off
            tok, dep = self._section_target(o, sym.shndx, target, here)
            return f"{tname} {tok}", dep
        if sym.shndx and sym.shndx < len(o.sections) and sym.type in (STT_FUNC, STT_OBJECT):
            if sym.type == STT_FUNC:
                tok, dep = self._func_token(o, sym, 0)
                return f"{tname} {tok.rsplit('+', 1)[0]}{addend:+#x}", dep
            if sym.bind == STB_LOCAL:
                return (f"{tname} data:{NUMBERED.sub('', sym.name)}{addend:+#x}",
                        ("data", o.name, sym.name))
            return f"{tname} data:{sym.name}{addend:+#x}", ("gdata", None, sym.name)
        # Undefined here: another object of the module, or the kernel.
        if sym.name in self.mod.endpoints and sym.name in self.mod.global_funcs:
            return f"{tname} endpoint:{sym.name}{addend:+#x}", None
        if sym.name in self.mod.global_funcs:
            return f"{tname} func:{sym.name}{addend:+#x}", ("gfunc", None, sym.name)
        if sym.name in self.mod.global_data:
            return f"{tname} data:{sym.name}{addend:+#x}", ("gdata", None, sym.name)
        return f"{tname} {sym.name}{addend:+#x}", None

    @staticmethod
    def _local_branch(o, rel, text, dep):
        """A call or jump to a static function: the assembler resolves it
        without a relocation when both are in one section, and emits one
        when they are not (an image is compiled with -ffunction-sections).
        Both must read the same."""
        if dep is None or dep[0] != "func":
            return False
        op = text.split()[0] if text.split() else ""
        if o.arch.name == "x86-64":
            return rel[1] in (2, 4) and (op.startswith("call") or op.startswith("j"))
        return rel[1] in (282, 283)

    def _outside_refs(self, o, key, relocs):
        """Record what @relocs reach outside the module's dependency graph:
        endpoints by name (eprefs) and undefined symbols (externs)."""
        eps, ext = set(), set()
        for r in relocs:
            sym = o.symbols[r[2]]
            if sym.shndx and sym.shndx < len(o.sections):
                if sym.type == STT_FUNC and sym.bind != STB_LOCAL and \
                        sym.name in self.mod.endpoints:
                    eps.add(sym.name)
                continue
            if sym.name in self.mod.endpoints and sym.name in self.mod.global_funcs:
                eps.add(sym.name)
            elif sym.name not in self.mod.global_funcs and sym.name not in self.mod.global_data:
                ext.add(sym.name)
        self.eprefs[key] = eps
        self.externs[key] = ext

    def _side_entries(self, o, fsym):
        """Tokens of side-table entries that point into function @fsym."""
        toks, deps = [], set()
        lo, hi = fsym.value, fsym.value + fsym.size
        for sec in o.sections:
            if sec.name not in o.arch.side_tables:
                continue
            size, ignored = o.arch.side_tables[sec.name]
            for rel in sec.relocs:
                sym = o.symbols[rel[2]]
                if sym.shndx != fsym.shndx:
                    continue
                target = sym.value + rel[3]     # PC-relative in data: S + A
                if not lo <= target < hi:
                    continue
                base = rel[0] - rel[0] % size
                entry = bytearray(sec.data[base:base + size])
                parts = []
                for r in sec.relocs:
                    if base <= r[0] < base + size and \
                            not any(a <= r[0] - base < b for a, b in ignored):
                        tok, dep = self.reloc_token(o, r, None, fsym)
                        parts.append(f"@{r[0] - base}:{tok}")
                        entry[r[0] - base:r[0] - base + 4] = b"\0\0\0\0"
                        if dep:
                            deps.add(dep)
                for a, b in ignored:
                    entry[a:b] = b"\0" * (b - a)
                toks.append(f"{sec.name}: <.+{target - lo:#x}> {entry.hex()} " + " ".join(parts))
        return sorted(toks), deps

    def function(self, o, fsym):
        """(tokens, dependencies) of function @fsym of object @o."""
        key = ("f", o.name, fsym.name)
        if key in self.mod.cache:
            return self.mod.cache[key]
        insns = o.insns.get(fsym.shndx, [])
        relocs = o.sections[fsym.shndx].relocs
        offsets = o.reloc_offsets(fsym.shndx)
        lo, hi = fsym.value, fsym.value + fsym.size
        addrs = o.insn_addrs(fsym.shndx)
        toks, deps = [], set()
        self._outside_refs(o, key, relocs[bisect.bisect_left(offsets, lo):
                                          bisect.bisect_left(offsets, hi)])
        for k in range(bisect.bisect_left(addrs, lo), bisect.bisect_left(addrs, hi)):
            addr, text = insns[k]
            end = insns[k + 1][0] if k + 1 < len(insns) else o.sections[fsym.shndx].size
            mine = relocs[bisect.bisect_left(offsets, addr):bisect.bisect_left(offsets, end)]
            if mine:
                text = TARGET.sub("", text.split(o.arch.comment)[0])
                for r in mine:
                    tok, dep = self.reloc_token(o, r, end, fsym)
                    if self._local_branch(o, r, text, dep):
                        # As the assembler resolves it within one section
                        sym = o.symbols[r[2]]
                        at = sym.value + r[3] + (end - r[0] if r[1] in o.arch.pc_relative else 0)
                        callee = o.funcs.get(dep[2])
                        text += f" func:{dep[2]}+{at - (callee.value if callee else 0):#x}"
                    else:
                        text += f" [{r[0] - addr}:{tok}]"
                    if dep:
                        deps.add(dep)
            else:
                def repl(m):
                    tok, dep = self._section_target(o, fsym.shndx, int(m.group(1), 16), fsym)
                    if dep:
                        deps.add(dep)
                    return tok
                text = TARGET.sub(repl, text)
            toks.append(" ".join(text.split()))
        side, side_deps = self._side_entries(o, fsym)
        self.ninsns[key] = len(toks)
        toks += side
        deps |= side_deps
        self.mod.cache[key] = (toks, deps)
        return toks, deps

    def data(self, o, sym):
        """(tokens, dependencies) of data object @sym, or of a whole section
        (@sym is a Section) for references no symbol bounds."""
        key = ("d", o.name, sym.name)
        if key in self.mod.cache:
            return self.mod.cache[key]
        if isinstance(sym, Section):
            sec, lo, hi = sym, 0, sym.size
        else:
            sec, lo, hi = o.sections[sym.shndx], sym.value, sym.value + sym.size
        raw = bytearray(sec.data[lo:hi]) if sec.type != SHT_NOBITS else bytearray()
        toks, deps = [], set()
        for r in sec.relocs:
            if lo <= r[0] < hi:
                tok, dep = self.reloc_token(o, r, None, None)
                toks.append(f"@{r[0] - lo}:{tok}")
                raw[r[0] - lo:r[0] - lo + 8] = bytes(min(8, len(raw) - (r[0] - lo)))
                if dep:
                    deps.add(dep)
        head = [f"{'bss' if sec.type == SHT_NOBITS else 'data'} size={hi - lo}"
                f" {'writable' if sec.flags & SHF_WRITE else 'const'}", raw.hex()]
        self.mod.cache[key] = (head + toks, deps)
        return head + toks, deps

    def resolve(self, dep, from_obj):
        """(object, symbol-or-section, kind) of a dependency, or None."""
        kind, objname, name = dep
        if kind == "gfunc":
            o = self.mod.global_funcs.get(name)
            return (o, o.funcs.get(name), "function") if o else None
        if kind == "gdata":
            o = self.mod.global_data.get(name)
            return (o, o.objects.get(name), "data") if o else None
        o = self.mod.obj(objname)
        if o is None:
            return None
        if kind == "func":
            sym = o.funcs.get(name)
            return (o, sym, "function") if sym else None
        if kind == "data":
            sym = o.objects.get(name)
            return (o, sym, "data") if sym else None
        sec = next((s for s in o.sections if s.name == name), None)
        return (o, sec, "section") if sec else None


# Sections that describe code rather than use it: a relocation there is
# not a reference through which anything can call a function.
META_SECTIONS = re.compile(r"^(\.orc_|__mcount_loc|__patchable_function_entries|"
                           r"\.return_sites|\.call_sites|\.retpoline_sites|"
                           r"\.ibt_endbr_seal|__jump_table|__ex_table|__bug_table|"
                           r"\.altinstr|\.static_call_sites|\.debug|\.eh_frame|"
                           r"\.discard|\.smp_locks|\.note|\.kcfi_traps|\.BTF)")


def insn_end(o, shndx, off):
    """Address after the instruction of section @shndx that holds @off."""
    addrs = o.insn_addrs(shndx)
    k = bisect.bisect_right(addrs, off)
    return addrs[k] if k < len(addrs) else o.sections[shndx].size


def referenced_functions(mod):
    """Names of the functions of @mod that something in it refers to, other
    than their own endpoint descriptor (__dpx_desc_<name>.wrapper) and
    themselves: what can be called, from code, an ops table, an export."""
    refs = set()
    for o in mod.objs:
        for sec in o.sections:
            if not sec.relocs or not sec.flags & SHF_ALLOC or META_SECTIONS.match(sec.name):
                continue
            for off, rtype, symidx, addend in sec.relocs:
                sym = o.symbols[symidx]
                if 0 < sym.shndx < len(o.sections):
                    if sym.type == STT_FUNC:
                        target = sym.name
                    elif sym.type in (STT_SECTION, STT_NOTYPE) and \
                            o.sections[sym.shndx].flags & SHF_EXEC:
                        at = sym.value + addend
                        if rtype in o.arch.pc_relative and sec.flags & SHF_EXEC:
                            at += insn_end(o, sec.idx, off) - off
                        f = o.covering(sym.shndx, at, (STT_FUNC,))
                        target = f.name if f else None
                    else:
                        continue
                else:
                    target = sym.name
                if not target:
                    continue
                holder = o.covering(sec.idx, off)
                if holder is not None and holder.name in (target, "__dpx_desc_" + target):
                    continue
                refs.add(target)
    return refs


class Comparer:
    def __init__(self, old, new, rename=None):
        self.old, self.new = old, new
        self.nold, self.nnew = Normaliser(old), Normaliser(new, rename)
        self.memo = {}
        self.callable = referenced_functions(old)

    @staticmethod
    def _section(res):
        o, sym, kind = res
        return sym if kind == "section" else o.sections[sym.shndx]

    def _image_function(self, res):
        """How a function the image runs relates to the running build."""
        o, sym, _kind = res
        oold = self.old.obj(o.name) if sym.bind == STB_LOCAL else \
            self.old.global_funcs.get(sym.name)
        if oold is None or sym.name not in oold.funcs:
            return "new"
        same = self.same(("func", oold.name, sym.name), ("func", o.name, sym.name),
                         sym.name)
        return "unchanged" if same is None else "changed"

    def uses(self, name):
        """What the image's code of endpoint @name reaches in the module,
        following calls through every function of the image: the functions
        it runs and the data it uses, as "uses" lines."""
        onew = self.new.endpoints[name]
        start = ("func", onew.name, "__dpx_impl_" + name)
        parent = {start: None}
        queue, funcs, data, externs = [start], [], [], set()
        while queue:
            dep = queue.pop(0)
            res = self.nnew.resolve(dep, None)
            if res is None:
                continue
            o, sym, kind = res
            if kind != "function":
                data.append((dep, res))
                continue
            if dep != start:
                funcs.append((dep, res))
            _toks, deps = self.nnew.function(o, sym)
            key = ("f", o.name, sym.name)
            externs |= self.nnew.externs.get(key, set())
            nxt = set(deps)
            for ep in self.nnew.eprefs.get(key, ()):
                nxt.add(("gfunc", None, ep))
            for d in sorted(nxt, key=lambda d: (d[2], d[0])):
                if d not in parent:
                    parent[d] = dep
                    queue.append(d)

        def through(dep):
            path = []
            dep = parent[dep]
            while dep is not None and dep != start:
                path.append(dep[2])
                dep = parent[dep]
            return f" (through {' -> '.join(reversed(path))})" if path else ""

        lines = []
        if funcs:
            lines.append("functions: " + ", ".join(
                f"{d[2]} ({self._image_function(r)})" for d, r in funcs))
        for d, res in data:
            sec = self._section(res)
            o, sym, kind = res
            label = sec.name if kind == "section" else NUMBERED.sub("", sym.name)
            if sec.flags & SHF_WRITE or sec.type == SHT_NOBITS:
                lines.append(f"writable data: {label}{through(d)}")
                continue
            table = kind != "section" and any(
                sym.value <= r[0] < sym.value + sym.size for r in sec.relocs)
            lines.append(f"const {'table' if table else 'data'}: {label}{through(d)}")
        if "__this_module" in externs:
            lines.append("THIS_MODULE")
        return lines

    def _tokens(self, norm, res):
        o, sym, kind = res
        return norm.function(o, sym) if kind == "function" else norm.data(o, sym)

    def same(self, dep_old, dep_new, what):
        """None when equal (transitively), else the reason they differ."""
        key = (dep_old, dep_new)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None           # a cycle is assumed equal
        rold = self.nold.resolve(dep_old, None)
        rnew = self.nnew.resolve(dep_new, None)
        if rnew is None:
            reason = f"{what} is not in the new build"
        elif rold is None:
            reason = f"{what} is not in the running build"
        else:
            told, dold = self._tokens(self.nold, rold)
            tnew, dnew = self._tokens(self.nnew, rnew)
            reason = self._diff(told, tnew, what)
            if reason is None:
                reason = self._deps(dold, dnew, what)
        self.memo[key] = reason
        return reason

    @staticmethod
    def _diff(told, tnew, what):
        if told == tnew:
            return None
        for k, (a, b) in enumerate(zip(told, tnew)):
            if a != b:
                hint = ""
                m = re.search(r"endpoint:(\w+)", a)
                if m and m.group(0) not in b:
                    hint = (f" (the running build calls {m.group(1)} through its"
                            " wrapper, the image calls its own implementation)")
                return f"{what} differs at instruction {k}: '{a}' became '{b}'{hint}"
        return f"{what} differs: {len(told)} instructions became {len(tnew)}"

    def _deps(self, dold, dnew, what):
        if {d[2] for d in dold} != {d[2] for d in dnew}:
            added = sorted({d[2] for d in dnew} - {d[2] for d in dold})
            gone = sorted({d[2] for d in dold} - {d[2] for d in dnew})
            return f"{what} references {', '.join(added) or 'nothing new'}" + \
                (f" instead of {', '.join(gone)}" if gone else "")
        old_by_name = {d[2]: d for d in dold}
        for d in sorted(dnew, key=lambda d: d[2]):
            reason = self.same(old_by_name[d[2]], d, f"{d[2]} (used by {what})")
            if reason:
                return reason
        return None

    def endpoint(self, name):
        onew = self.new.endpoints[name]
        oold = self.old.endpoints.get(name)
        if oold is None:
            return "new", "not in the running build: a new endpoint, not installed"
        fn = "__dpx_impl_" + name
        reason = self.same(("func", oold.name, fn), ("func", onew.name, fn), "the body")
        if reason and name not in self.callable:
            return "unreachable", (f"nothing in the running build refers to {name} but its"
                                   " descriptor: nothing can call it, not installed")
        if reason:
            return "changed", reason
        told, deps = self.nnew.function(onew, onew.funcs[fn])
        helpers = sorted({d[2] for d in deps})
        n = self.nnew.ninsns[("f", onew.name, fn)]
        nside = len(told) - n
        side = f", {nside} side-table entr{'y' if nside == 1 else 'ies'}" if nside else ""
        return "unchanged", (f"identical body ({n} instructions{side})" +
                             (f" and helpers {', '.join(helpers)}" if helpers else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--old", required=True, help="running build's objects (comma-separated)")
    ap.add_argument("--new", required=True, help="image build's objects (comma-separated)")
    ap.add_argument("--rename", metavar="NEW=OLD",
                    help="module names: NEW in the image's strings counts as OLD")
    args = ap.parse_args()
    rename = tuple(args.rename.split("=", 1)) if args.rename else None
    if rename and (len(rename) != 2 or not all(rename)):
        ap.error("--rename wants NEW=OLD")
    try:
        old = Module([p for p in args.old.split(",") if p])
        new = Module([p for p in args.new.split(",") if p])
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        print(f"epdiff: {e}", file=sys.stderr)
        return 2
    cmp = Comparer(old, new, rename)
    if {o.comment for o in old.objs} != {o.comment for o in new.objs}:
        print("warning\t-\tthe builds come from different compilers "
              "(.comment differs): expect every endpoint to differ")
    for name in sorted(new.endpoints):
        status, reason = cmp.endpoint(name)
        print(f"{status}\t{name}\t{reason}")
        if status != "changed":
            continue
        for line in cmp.uses(name):
            print(f"uses\t{name}\t{line}")
    for name in sorted(set(old.endpoints) - set(new.endpoints)):
        print(f"removed\t{name}\tnot in the new build: the running implementation stays")
    return 0


if __name__ == "__main__":
    sys.exit(main())
