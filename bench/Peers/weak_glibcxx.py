#!/usr/bin/env python3
"""Marks version needs of an ELF shared library weak (VER_FLG_WEAK in the .gnu.version_r entries), in place.

TorchSharp 0.107.0's libLibTorchSharp.so is built with GCC 13 and needs GLIBCXX_3.4.32; Debian 12's libstdc++ has
3.4.30, so the dynamic loader refuses the library. With the need marked weak the loader only checks that the
symbols resolve; the one symbol of 3.4.32 that the library uses, std::ios_base_library_init(), comes from the shim
that run.sh preloads (ios_shim.cpp). Only the named versions are changed; running it twice changes nothing more.

  python3 weak_glibcxx.py LIB.so GLIBCXX_3.4.31 GLIBCXX_3.4.32
"""
import struct
import sys

VER_FLG_WEAK = 0x2


def patch(path, versions):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"{path}: not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = []
    for i in range(shnum):
        name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        sections.append((name, typ, off, size, link, info))
    SHT_GNU_verneed = 0x6FFFFFFE
    verneed = [s for s in sections if s[1] == SHT_GNU_verneed]
    if not verneed:
        sys.exit(f"{path}: no .gnu.version_r section")
    _, _, off, size, link, count = verneed[0]
    stroff = sections[link][2]

    def cstr(at):
        end = data.index(b"\0", at)
        return data[at:end].decode()

    changed, seen = 0, set()
    for _ in range(count):
        vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, off)
        aux = off + vn_aux
        for _ in range(vn_cnt):
            vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
            name = cstr(stroff + vna_name)
            seen.add(name)
            if name in versions and not vna_flags & VER_FLG_WEAK:
                struct.pack_into("<H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                print(f"{path}: {cstr(stroff + vn_file)} {name}: version need marked weak")
                changed += 1
            if vna_next == 0:
                break
            aux += vna_next
        if vn_next == 0:
            break
        off += vn_next
    if changed:
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        import os
        os.chmod(path + ".tmp", os.stat(path).st_mode)
        os.replace(path + ".tmp", path)
    elif not seen & set(versions):
        print(f"{path}: needs none of {', '.join(versions)}; nothing to do")
    else:
        print(f"{path}: already patched")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    patch(sys.argv[1], set(sys.argv[2:]))
