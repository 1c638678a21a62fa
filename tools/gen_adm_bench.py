#!/usr/bin/env python3
"""Inputs for tools/bench_adm.sh (the ADM performance targets of issue 10).

    gen_adm_bench.py moving DIR [--objects 64] [--seconds 60] [--block 0.5] [--bits 16]
        Writes into DIR:
          src-NNN.wav   one mono PCM file per object (white noise, seeded, -12 dBFS-ish peaks)
          tracks.wav    the same signals as one interleaved file (track i = object i)
          meta.yaml     `ear-utils make_test_bwf` metadata: one Objects item per track, a block
                        every --block seconds (jumpPosition 0, so BS.2127 ramps over each block)
          scene.ron     the same motion as a mixstage RON scene over the mono files: a Linear
                        keyframe every --block seconds
        Object i circles at 20 + 15 * (i % 13) degrees per second (up to 200), elevation
        -10 + 5 * (i % 9), starting at azimuth 37 * i; block k covers [kB, (k+1)B] and holds the
        position at its end, which the RON keyframe at (k+1)B also holds. Gain -12 dB in both.

    gen_adm_bench.py extent IN.wav OUT.wav [--width 40] [--height 20]
        A copy of the master IN.wav (from make_test_bwf) with every Objects audioBlockFormat
        given that BS.2127 extent (issue 11's benchmark: moving DIR --seconds 30, then this).
        Needs ear's bw64 module (run with the ear venv's python).
        Needs numpy (the ear venv has it). Then:
          ear-utils make_test_bwf -i DIR/tracks.wav -m DIR/meta.yaml DIR/master.wav

    gen_adm_bench.py bigxml OUT.wav [--objects 118] [--hours 2] [--target-mb 500] [--audio-seconds 1]
        A BW64 (RIFF) ADM master whose axml describes --objects Cartesian objects (as Dolby
        Atmos writes them) over --hours, with the block interval (whole milliseconds) chosen
        so that the XML is about --target-mb MB; the data chunk holds only --audio-seconds of
        silence (16-bit, one track per object): the metadata says 2 h, the audio does not.
        Standard library only.
"""

import argparse
import json
import math
import os
import struct
import sys


def wav_header(channels, rate, bits, frames, extra=b""):
    data_bytes = frames * channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * bits // 8,
                      channels * bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    riff_size = len(body) + 8 + data_bytes + (data_bytes & 1)
    return b"RIFF" + struct.pack("<I", riff_size) + body + b"data" + struct.pack("<I", data_bytes)


def wrap(az):
    return (az + 180.0) % 360.0 - 180.0


def moving(a):
    import numpy as np

    os.makedirs(a.dir, exist_ok=True)
    rate, n, frames = 48000, a.objects, int(round(a.seconds * 48000))
    dtype, bits = {16: ("<i2", 16), 24: (None, 24)}[a.bits]
    rng = np.random.default_rng(2127)
    sig = (rng.uniform(-0.25, 0.25, size=(frames, n)) * 32767).astype("<i2")
    if a.bits == 24:
        raise SystemExit("--bits 24: not implemented (16-bit like benches/render.rs)")
    with open(os.path.join(a.dir, "tracks.wav"), "wb") as f:
        f.write(wav_header(n, rate, bits, frames))
        f.write(sig.tobytes())
    for i in range(n):
        with open(os.path.join(a.dir, f"src-{i:03}.wav"), "wb") as f:
            f.write(wav_header(1, rate, bits, frames))
            f.write(np.ascontiguousarray(sig[:, i]).tobytes())

    blocks = int(round(a.seconds / a.block))
    speed = lambda i: 20.0 + 15.0 * (i % 13)
    el = lambda i: -10.0 + 5.0 * (i % 9)
    az = lambda i, t: wrap(speed(i) * t + 37.0 * i)
    gain = 10 ** (-12 / 20)
    items = []
    for i in range(n):
        bl = []
        for k in range(blocks):
            t1 = (k + 1) * a.block
            bl.append({"rtime": repr(k * a.block), "duration": repr(a.block),
                       "position": {"azimuth": round(az(i, t1), 6), "elevation": el(i),
                                    "distance": 1.0},
                       "gain": gain})

        items.append({"type": "Objects", "name": f"o{i}", "channels": [i + 1], "blocks": bl})
    with open(os.path.join(a.dir, "meta.yaml"), "w") as f:
        json.dump({"name": "bench", "items": items}, f)  # JSON is YAML

    with open(os.path.join(a.dir, "scene.ron"), "w") as f:
        f.write(f"Scene(sample_rate: {rate}, duration: {a.seconds!r}, objects: [\n")
        for i in range(n):
            path = os.path.abspath(os.path.join(a.dir, f"src-{i:03}.wav"))
            # keyframe k (time kB) holds block k-1's position; keyframe 0 repeats block 0's
            keys = [(0.0, az(i, a.block))] + [((k + 1) * a.block, az(i, (k + 1) * a.block))
                                               for k in range(blocks)]
            pos = ",".join(f"(time: {t!r}, az: {p:.6f}, el: {el(i):.1f})" for t, p in keys)
            f.write(f'Object(name: "o{i}", source: File(path: "{path}"), gain_db: -12.0, '
                    f"position: [{pos}]),\n")
        f.write("])\n")


def extent(a):
    import re
    from ear.fileio import openBw64
    from ear.fileio.bw64.chunks import FormatInfoChunk

    with openBw64(a.input) as r:
        fmt = FormatInfoChunk(formatTag=1, channelCount=r.channels, sampleRate=r.sampleRate,
                              bitsPerSample=r.bitdepth)
        chna, axml = r.chna, r.axml
        samples = r.read(1 << 30)
    text = axml.decode("utf-8")
    add = f"<width>{a.width!r}</width><height>{a.height!r}</height>"
    text, n = re.subn(r"(<audioBlockFormat [^>]*>)", lambda m: m.group(1) + add, text)
    with openBw64(a.output, "w", formatInfo=fmt, chna=chna, axml=text.encode("utf-8")) as w:
        w.write(samples)
    print(f"extent: {n} blocks given width {a.width}, height {a.height}: {a.output}")


def ts(ms):
    s, ms = divmod(ms, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{h:02}:{m:02}:{s:02}.{ms:03}00"


BLOCK = ('<audioBlockFormat audioBlockFormatID="AB_{cf}_{k:08X}" rtime="{rt}" duration="{du}">'
         '<cartesian>1</cartesian><position coordinate="X">{x:.5f}</position>'
         '<position coordinate="Y">{y:.5f}</position><position coordinate="Z">{z:.5f}</position>'
         '<width>0</width><jumpPosition interpolationLength="0.00500">1</jumpPosition>'
         '</audioBlockFormat>\n')


def bigxml(a):
    n, total_ms = a.objects, int(a.hours * 3600 * 1000)
    sample = BLOCK.format(cf="00031001", k=1, rt=ts(0), du=ts(100), x=-0.12345, y=0.54321, z=0.5)
    per_obj = a.target_mb * 1e6 / n
    step = max(1, int(math.ceil(total_ms * len(sample) / per_obj)))
    blocks = total_ms // step
    print(f"bigxml: {n} objects x {blocks} blocks (one every {step} ms over {a.hours} h)",
          file=sys.stderr)
    rate, frames = 48000, int(a.audio_seconds * 48000)

    chna = struct.pack("<HH", n, n)
    for i in range(n):
        chna += struct.pack("<H12s14s11sx", i + 1, f"ATU_{i + 1:08X}".encode(),
                            f"AT_{0x1001 + i:08X}_01".encode()[:14].ljust(14, b"\0"),
                            f"AP_{0x1001 + i:08X}".encode())
    # the chna row is 40 bytes: index(2) uid(12) trackRef(14) packRef(11) pad(1)

    tmp = a.out + ".axml.tmp"
    with open(tmp, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016">'
                '<coreMetadata><format><audioFormatExtended version="ITU-R_BS.2076-2">\n')
        f.write('<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="Bench">'
                '<audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>\n')
        f.write('<audioContent audioContentID="ACO_1001" audioContentName="Objects">'
                + "".join(f"<audioObjectIDRef>AO_{0x1001 + i:04X}</audioObjectIDRef>" for i in range(n))
                + "</audioContent>\n")
        for i in range(n):
            id4 = f"{0x1001 + i:04X}"
            f.write(f'<audioObject audioObjectID="AO_{id4}" audioObjectName="Obj {i + 1}" '
                    f'start="00:00:00.00000" duration="{ts(total_ms)}">'
                    f"<audioPackFormatIDRef>AP_0003{id4}</audioPackFormatIDRef>"
                    f"<audioTrackUIDRef>ATU_{i + 1:08X}</audioTrackUIDRef></audioObject>\n")
        for i in range(n):
            id4 = f"{0x1001 + i:04X}"
            f.write(f'<audioPackFormat audioPackFormatID="AP_0003{id4}" audioPackFormatName="Obj {i + 1}" '
                    f'typeLabel="0003" typeDefinition="Objects">'
                    f"<audioChannelFormatIDRef>AC_0003{id4}</audioChannelFormatIDRef></audioPackFormat>\n")
        for i in range(n):
            id4 = f"{0x1001 + i:04X}"
            cf = f"0003{id4}"
            f.write(f'<audioChannelFormat audioChannelFormatID="AC_{cf}" audioChannelFormatName="Obj {i + 1}" '
                    f'typeLabel="0003" typeDefinition="Objects">\n')
            speed = 2 * math.pi / (20 + i % 17)  # one lap every 20..36 s
            chunk = []
            for k in range(blocks):
                t = k * step / 1000.0
                chunk.append(BLOCK.format(cf=cf, k=k + 1, rt=ts(k * step), du=ts(step),
                                          x=math.sin(speed * t), y=math.cos(speed * t),
                                          z=(i % 5) / 4.0))
                if len(chunk) == 4096:
                    f.write("".join(chunk))
                    chunk = []
            f.write("".join(chunk) + "</audioChannelFormat>\n")
        for i in range(n):
            id4 = f"{0x1001 + i:04X}"
            f.write(f'<audioStreamFormat audioStreamFormatID="AS_0003{id4}" audioStreamFormatName="PCM_Obj {i + 1}" '
                    f'formatLabel="0001" formatDefinition="PCM">'
                    f"<audioChannelFormatIDRef>AC_0003{id4}</audioChannelFormatIDRef>"
                    f"<audioTrackFormatIDRef>AT_0003{id4}_01</audioTrackFormatIDRef></audioStreamFormat>\n")
            f.write(f'<audioTrackFormat audioTrackFormatID="AT_0003{id4}_01" audioTrackFormatName="PCM_Obj {i + 1}" '
                    f'formatLabel="0001" formatDefinition="PCM">'
                    f"<audioStreamFormatIDRef>AS_0003{id4}</audioStreamFormatIDRef></audioTrackFormat>\n")
            f.write(f'<audioTrackUID UID="ATU_{i + 1:08X}">'
                    f"<audioTrackFormatIDRef>AT_0003{id4}_01</audioTrackFormatIDRef>"
                    f"<audioPackFormatIDRef>AP_0003{id4}</audioPackFormatIDRef></audioTrackUID>\n")
        f.write("</audioFormatExtended></format></coreMetadata></ebuCoreMain>\n")
    axml_len = os.path.getsize(tmp)

    def chunk_hdr(tag, size):
        return tag + struct.pack("<I", size)

    extra = chunk_hdr(b"chna", len(chna)) + chna + chunk_hdr(b"axml", axml_len)
    pad = axml_len & 1
    data_bytes = frames * n * 2
    with open(a.out, "wb") as out:
        fmt = struct.pack("<HHIIHH", 1, n, rate, rate * n * 2, n * 2, 16)
        body_len = 4 + 8 + len(fmt) + len(extra) + axml_len + pad + 8 + data_bytes
        out.write(b"RIFF" + struct.pack("<I", body_len) + b"WAVE" + chunk_hdr(b"fmt ", len(fmt)) + fmt)
        out.write(extra)
        with open(tmp, "rb") as f:
            while True:
                b = f.read(1 << 24)
                if not b:
                    break
                out.write(b)
        out.write(b"\0" * pad)
        out.write(chunk_hdr(b"data", data_bytes))
        zero = b"\0" * (n * 2 * 4800)
        for _ in range(frames // 4800):
            out.write(zero)
        out.write(b"\0" * ((frames % 4800) * n * 2))
    os.remove(tmp)
    print(f"bigxml: axml {axml_len / 1e6:.1f} MB, file {os.path.getsize(a.out) / 1e6:.1f} MB",
          file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("moving")
    m.add_argument("dir")
    m.add_argument("--objects", type=int, default=64)
    m.add_argument("--seconds", type=float, default=60.0)
    m.add_argument("--block", type=float, default=0.5)
    m.add_argument("--bits", type=int, default=16, choices=[16])

    b = sub.add_parser("bigxml")
    b.add_argument("out")
    b.add_argument("--objects", type=int, default=118)
    b.add_argument("--hours", type=float, default=2.0)
    b.add_argument("--target-mb", type=float, default=500.0)
    b.add_argument("--audio-seconds", type=float, default=1.0)
    x = sub.add_parser("extent")
    x.add_argument("input")
    x.add_argument("output")
    x.add_argument("--width", type=float, default=40.0)
    x.add_argument("--height", type=float, default=20.0)
    a = p.parse_args()
    {"moving": moving, "bigxml": bigxml, "extent": extent}[a.cmd](a)


if __name__ == "__main__":
    main()
