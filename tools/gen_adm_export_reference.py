#!/usr/bin/env python3
"""EBU ADM Renderer references for `mixstage adm export` (tests/adm_export.rs).

Run from the repository root, after `cargo build --release`, with the venv that has ear 2.1.0:

    /work/venv-ear/bin/python tools/gen_adm_export_reference.py [--mixstage target/release/mixstage]

For every example scene in scenes/*.ron, and the test scenes in tests/data/adm/export/*.ron
(a 9.1.6 bed, which needs a custom DirectSpeakers pack; a 22.2 bed; a gain step), it
  1. exports the scene with `mixstage adm export SCENE -o TMP/NAME.wav` (profile ebu, 24-bit),
  2. renders the export with `ear-render --strict -s LAYOUT` (ear 2.1.0, ITU-R BS.2127; --strict
     makes ear refuse anything outside BS.2076-1) for 0+2+0 and 4+7+0,
  3. keeps three windows of WINDOW frames of each render (at 10 %, 45 % and 80 % of the scene)
     as one 32-bit float WAV: tests/data/adm/export/NAME.LAYOUT.wav, the windows one after the
     other, and records the windows' start frames and ear's exit status in
     tests/data/adm/export/manifest.json.

The export is deterministic (the bext date aside, which is not audio), so the test exports the
scene again at `cargo test` time and compares mixstage's render of it with these windows.
"""

import argparse
import json
import os
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
            if not path.endswith(".ron"):
                continue
            scene = os.path.basename(path)
            name = scene[:-4]
            master = os.path.join(tmp, name + ".wav")
            subprocess.run([a.mixstage, "adm", "export", path, "-o", master, "-q"], check=True)
            for layout in LAYOUTS:
                out = os.path.join(tmp, f"{name}.{layout}.wav")
                subprocess.run([ear, "--strict", "-s", layout, master, out], check=True,
                               stderr=subprocess.DEVNULL)
                rate, x = wavfile.read(out)
                x = x.astype(np.float64)
                if x.dtype.kind != "f" or np.abs(x).max() > 2.0:
                    x = x / 2 ** 31
                n = len(x)
                starts = [int(n * f) // 6 * 6 for f in (0.10, 0.45, 0.80)]
                win = np.concatenate([x[s:s + WINDOW] for s in starts]).astype(np.float32)
                ref = os.path.join(OUT, f"{name}.{layout}.wav")
                wavfile.write(ref, rate, win)
                manifest.append({"scene": path, "layout": layout,
                                 "reference": os.path.relpath(ref, os.path.join("tests", "data", "adm")),
                                 "frames": n, "window": WINDOW, "starts": starts})
                print(f"{scene} {layout}: {n} frames, ear --strict ok")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
