#!/usr/bin/env python3
"""EBU ADM Renderer references for `mixstage adm export` (tests/adm_export.rs).

Run from the repository root, after `cargo build --release`, with the venv that has ear 2.1.0:

    /work/venv-ear/bin/python tools/gen_adm_export_reference.py [--mixstage target/release/mixstage]

For every example scene in scenes/*.ron (but the Dolby profile of a scene it refuses: objects
with width, diffuse and the other parameters beyond a point), and the test scenes in tests/data/adm/export/*.ron
(a 9.1.6 bed, which needs a custom DirectSpeakers pack; a 22.2 bed; a gain step), it
  1. exports the scene with `mixstage adm export SCENE -o TMP/NAME.wav --profile P` (24-bit) for
     both profiles, ebu and dolby,
  2. renders the export with `ear-render -s LAYOUT` (ear 2.1.0, ITU-R BS.2127) for 0+2+0 and
     4+7+0: the ebu export with --strict (ear refuses anything outside BS.2076-1); the dolby
     export from a copy whose audioStreamFormats no longer name their pack (ear refuses a
     stream with both references, which is what Dolby writes and what the profile asks for),
  3. keeps three windows of WINDOW frames of each render (at 10 %, 45 % and 80 % of the scene)
     as one 32-bit float WAV: tests/data/adm/export/NAME[.dolby].LAYOUT.wav, the windows one after the
     other, and records the windows' start frames and ear's exit status in
     tests/data/adm/export/manifest.json.

The export is deterministic (the bext date aside, which is not audio), so the test exports the
scene again at `cargo test` time and compares mixstage's render of it with these windows.
"""

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore", module="attr")

import numpy as np
import scipy.io.wavfile as wavfile

WINDOW = 4800
LAYOUTS = ["0+2+0", "4+7+0"]
OUT = os.path.join("tests", "data", "adm", "export")


def strip_stream_pack_refs(src, dst):
    """Copies a RIFF/BW64 file, removing audioPackFormatIDRef from every audioStreamFormat."""
    b = open(src, "rb").read()
    out = bytearray(b[:12])
    i = 12
    while i + 8 <= len(b):
        cid = b[i:i + 4]
        n = struct.unpack("<I", b[i + 4:i + 8])[0]
        body = b[i + 8:i + 8 + n]
        step = 8 + n + (n & 1)
        if cid == b"axml":
            t = body.decode()
            t = re.sub(r"(<audioStreamFormat [^>]*>)(.*?)(</audioStreamFormat>)",
                       lambda m: m.group(1) + re.sub(r"<audioPackFormatIDRef>[^<]*</audioPackFormatIDRef>",
                                                     "", m.group(2)) + m.group(3), t, flags=re.S)
            body = t.encode()
            n = len(body)
        out += cid + struct.pack("<I", n) + body + (b"\0" if n & 1 else b"")
        i += step
    struct.pack_into("<I", out, 4, len(out) - 8)
    open(dst, "wb").write(out)


def is_scene(path):
    """Whether a RON file is a scene (scenes/ also holds deliverables sheets, `Deliver(...)`)."""
    for line in open(path, encoding="utf-8"):
        line = line.split("//")[0].strip()
        if line:
            return line.startswith("Scene")
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mixstage", default=os.path.join("target", "release", "mixstage"))
    a = ap.parse_args()
    ear = os.path.join(os.path.dirname(sys.executable), "ear-render")
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        scenes = [os.path.join("scenes", s) for s in sorted(os.listdir("scenes"))]
        scenes += [os.path.join(OUT, s) for s in sorted(os.listdir(OUT))]
        for path in scenes:
            if not path.endswith(".ron") or not is_scene(path):
                continue
            scene = os.path.basename(path)
            name = scene[:-4]
            for profile in ["ebu", "dolby"]:
                master = os.path.join(tmp, f"{name}.{profile}.wav")
                done = subprocess.run([a.mixstage, "adm", "export", path, "-o", master, "-q",
                                       "--profile", profile], stderr=subprocess.PIPE, text=True)
                if done.returncode != 0 and profile == "dolby" and "Dolby profile" in done.stderr:
                    # Objects with width, diffuse etc. (scenes/extent.ron): the Dolby profile
                    # refuses them, as tests/adm_export.rs checks.
                    print(f"{scene} dolby: refused by the profile, skipped")
                    continue
                if done.returncode != 0:
                    sys.exit(done.stderr)
                strict = ["--strict"]
                if profile == "dolby":
                    stripped = os.path.join(tmp, f"{name}.{profile}.ear.wav")
                    strip_stream_pack_refs(master, stripped)
                    master, strict = stripped, []
                tag = "" if profile == "ebu" else ".dolby"
                for layout in LAYOUTS:
                    out = os.path.join(tmp, f"{name}{tag}.{layout}.wav")
                    subprocess.run([ear, *strict, "-s", layout, master, out], check=True,
                                   stderr=subprocess.DEVNULL)
                    rate, x = wavfile.read(out)
                    x = x.astype(np.float64)
                    if np.abs(x).max() > 2.0:
                        x = x / 2 ** 31
                    n = len(x)
                    starts = [int(n * f) // 6 * 6 for f in (0.10, 0.45, 0.80)]
                    win = np.concatenate([x[s:s + WINDOW] for s in starts]).astype(np.float32)
                    ref = os.path.join(OUT, f"{name}{tag}.{layout}.wav")
                    wavfile.write(ref, rate, win)
                    manifest.append({"scene": path, "profile": profile, "layout": layout,
                                     "reference": os.path.relpath(ref, os.path.join("tests", "data", "adm")),
                                     "frames": n, "window": WINDOW, "starts": starts})
                    print(f"{scene} {profile} {layout}: {n} frames, ear {' '.join(strict)} ok")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
