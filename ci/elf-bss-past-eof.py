#!/usr/bin/env python3
"""Moves the p_offset of every PT_LOAD with p_filesz = 0 and p_memsz > 0 past the end of
the file (keeping p_offset = p_vaddr modulo the page size, as loaders require), so that a
loader that reads such a segment's bytes from the file, or checks p_offset against the
file size, is caught. Fails unless it patched at least one segment.
    usage: elf-bss-past-eof.py ELF"""
import os
import struct
import sys

PT_LOAD, PAGE = 1, 0x1000


def main(path):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a little-endian ELF64 file")
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
        size = len(data)
        beyond = (size + PAGE - 1) // PAGE * PAGE + 16 * PAGE
        patched = 0
        for i in range(phnum):
            at = phoff + i * phentsize
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz = struct.unpack_from("<IIQQQQQ", data, at)
            if p_type == PT_LOAD and p_filesz == 0 and p_memsz > 0:
                struct.pack_into("<Q", data, at + 8, beyond + p_vaddr % PAGE)
                patched += 1
        if not patched:
            sys.exit(f"{path}: no PT_LOAD with p_filesz = 0 and p_memsz > 0")
        f.seek(0)
        f.write(data)
    assert os.path.getsize(path) == size


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
