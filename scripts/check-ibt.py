#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fail if rust_procmaps.ko could call a sealed kernel function through a pointer.

    check-ibt.py VMLINUX MODULE.ko OUT.txt

With CONFIG_X86_KERNEL_IBT, objtool lists in vmlinux's .ibt_endbr_seal every
function whose address nothing in vmlinux takes, and apply_seal_endbr()
overwrites their ENDBR64 at boot: an indirect call to one of them is a #CP on
a CPU that enforces IBT. A module reaches a kernel function through a pointer
when it takes its address at link time: a relocation against an undefined
function symbol that is not a direct call or jump (R_X86_64_PLT32), e.g.
seq_read in a file_operations table that the VFS calls through. None of them
may be sealed (the loader only resolves them against exports, which are never
sealed; this guards the assumption). The module resolves no address at run
time (no kprobes, no kallsyms).

OUT.txt gets their names, one per line, for the guest test that reads their
first bytes on the booted kernel.
"""

import struct
import sys

SHT_SYMTAB = 2
SHT_RELA = 4
STT_FUNC = 2
SHN_UNDEF = 0
R_X86_64_PLT32 = 4


class Elf:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        if self.data[:4] != b"\x7fELF" or self.data[4] != 2 or self.data[5] != 1:
            sys.exit(f"{path}: not a little-endian ELF64 file")
        (self.shoff,) = struct.unpack_from("<Q", self.data, 0x28)
        self.shentsize, self.shnum, self.shstrndx = struct.unpack_from("<HHH", self.data, 0x3A)
        self.sections = [self._section(i) for i in range(self.shnum)]
        names = self.sections[self.shstrndx]
        for s in self.sections:
            s["name"] = self._str(names["offset"], s["name_off"])

    def _section(self, i):
        fields = struct.unpack_from("<IIQQQQIIQQ", self.data, self.shoff + i * self.shentsize)
        keys = ("name_off", "type", "flags", "addr", "offset", "size", "link", "info", "align", "entsize")
        return dict(zip(keys, fields))

    def _str(self, table_off, off):
        end = self.data.index(b"\0", table_off + off)
        return self.data[table_off + off:end].decode()

    def section(self, name):
        return next((s for s in self.sections if s["name"] == name), None)

    def symbols(self):
        """(name, value, type, shndx) of every symbol of .symtab."""
        symtab = next(s for s in self.sections if s["type"] == SHT_SYMTAB)
        strtab = self.sections[symtab["link"]]
        out = []
        for i in range(symtab["size"] // 24):
            name_off, info, _, shndx, value, _ = struct.unpack_from(
                "<IBBHQQ", self.data, symtab["offset"] + i * 24)
            out.append((self._str(strtab["offset"], name_off), value, info & 0xF, shndx))
        return out


def sealed_functions(vmlinux):
    seal = vmlinux.section(".ibt_endbr_seal")
    if seal is None:
        return None
    targets = set()
    for i in range(seal["size"] // 4):
        (rel,) = struct.unpack_from("<i", vmlinux.data, seal["offset"] + 4 * i)
        targets.add((seal["addr"] + 4 * i + rel) & 0xFFFFFFFFFFFFFFFF)
    return {name for name, value, typ, _ in vmlinux.symbols() if typ == STT_FUNC and value in targets}


# Sections whose contents run or are read as data: a function's address there can be called
# through. The others (.static_call_sites, .call_sites, __mcount_loc, __bug_table, ...) are
# annotations the kernel patches or looks up, never calls through.
CODE_AND_DATA = (".text", ".data", ".rodata", ".bss", ".init", ".exit", ".ref")


def address_taken(module, kernel_functions):
    """Kernel functions whose address the module takes."""
    symbols = module.symbols()
    taken = set()
    for rela in (s for s in module.sections if s["type"] == SHT_RELA):
        if not module.sections[rela["info"]]["name"].startswith(CODE_AND_DATA):
            continue
        for i in range(rela["size"] // 24):
            _, info, _ = struct.unpack_from("<QQq", module.data, rela["offset"] + i * 24)
            name, _, _, shndx = symbols[info >> 32]
            if shndx == SHN_UNDEF and (info & 0xFFFFFFFF) != R_X86_64_PLT32 and name in kernel_functions:
                taken.add(name)
    return sorted(taken)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    vmlinux, module = Elf(sys.argv[1]), Elf(sys.argv[2])
    kernel_functions = {name for name, _, typ, _ in vmlinux.symbols() if typ == STT_FUNC}
    strong = address_taken(module, kernel_functions)
    with open(sys.argv[3], "w") as out:
        out.write("".join(name + "\n" for name in strong))

    sealed = sealed_functions(vmlinux)
    if sealed is None:
        print("check-ibt: the kernel has no .ibt_endbr_seal (no CONFIG_X86_KERNEL_IBT): nothing is sealed")
        return
    bad = [name for name in strong if name in sealed]
    if bad:
        sys.exit("check-ibt: rust_procmaps.ko takes the address of kernel functions whose ENDBR64 "
                 "the kernel seals at boot (an indirect call to them is a #CP with IBT): " + ", ".join(bad))
    print(f"check-ibt: {len(sealed)} functions sealed in vmlinux; the module hands out pointers to "
          f"{len(strong)} kernel functions, none sealed: {' '.join(strong)}")


main()
