#!/usr/bin/env python3
"""Writes the fuzz seeds (fuzz/seeds/) from the committed ADM masters in tests/data/adm/:
each master with its data chunk cut to 16 frames (wav), an RF64 copy of one with a ds64
chunk (wav), and the axml and chna chunks alone (axml, chna). Run from the repository root:
python3 fuzz/make_seeds.py"""
import os
import struct

SRC = "tests/data/adm"
MASTERS = ["bed_5_1_common_defs.wav", "objects_jump_interpolation.wav",
           "bs2076_2_syntax.wav", "objects_nested_gain_mute.wav"]
FRAMES = 16


def chunks(b):
    pos = 12
    while pos + 8 <= len(b):
        cid = b[pos:pos + 4]
        size = struct.unpack("<I", b[pos + 4:pos + 8])[0]
        yield cid, b[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)


def chunk(cid, body):
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def main():
    for d in ("wav", "axml", "chna"):
        os.makedirs(f"fuzz/seeds/{d}", exist_ok=True)
    for name in MASTERS:
        b = open(os.path.join(SRC, name), "rb").read()
        parts = dict()
        body = b""
        for cid, data in chunks(b):
            if cid == b"fmt ":
                align = struct.unpack("<H", data[12:14])[0]
            if cid == b"data":
                data = data[:FRAMES * align]
            if cid != b"JUNK":
                body += chunk(cid, data)
            parts[cid] = data
        stem = name[:-4]
        open(f"fuzz/seeds/wav/{stem}.wav", "wb").write(
            b"RIFF" + struct.pack("<I", len(body) + 4) + b"WAVE" + body)
        open(f"fuzz/seeds/axml/{stem}.xml", "wb").write(parts[b"axml"])
        open(f"fuzz/seeds/chna/{stem}.chna", "wb").write(parts[b"chna"])
        if name == MASTERS[0]:
            # RF64: sizes 0xFFFFFFFF, the real ones in ds64; chna and axml after data.
            data = parts[b"data"]
            rest = (chunk(b"fmt ", parts[b"fmt "]) + b"data" + struct.pack("<I", 0xFFFFFFFF)
                    + data + chunk(b"chna", parts[b"chna"]) + chunk(b"axml", parts[b"axml"]))
            ds64 = struct.pack("<QQQI", 4 + 36 + len(rest), len(data), FRAMES, 0)
            open(f"fuzz/seeds/wav/{stem}_rf64.wav", "wb").write(
                b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + chunk(b"ds64", ds64) + rest)


if __name__ == "__main__":
    main()
