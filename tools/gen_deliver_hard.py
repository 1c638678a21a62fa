#!/usr/bin/env python3
"""The hard case for `mixstage deliver`: 64 pink-noise objects moving at 100-200 degrees per
second for 60 s (a keyframe a second), a sheet of six deliverables with the KEMAR SOFA file
for the headphone one, and the same work as separate render/qc commands.

    python3 tools/gen_deliver_hard.py bench-out/hard && cd bench-out/hard
    hyperfine -i -w 1 -r 3 "mixstage deliver sheet.ron --force -q" "bash separate.sh"
"""
import math
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench-out/hard"
M = sys.argv[2] if len(sys.argv) > 2 else os.path.abspath("target/release/mixstage")
SOFA = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"  # Debian's libmysofa1
os.makedirs(out, exist_ok=True)
groups = ["dialogue", "effects", "effects", "music"]
objs = []
for i in range(64):
    speed = 100 + (i % 5) * 25
    keys = []
    for k in range(61):
        az = ((i * 37 + speed * k + 180) % 360) - 180
        el = 30 * math.sin(0.3 * k + i)
        keys.append(f"(time: {k:.1f}, az: {az:.2f}, el: {el:.2f})")
    objs.append(
        f'        Object(name: "o{i}", group: "{groups[i % 4]}", '
        f"source: Generator(PinkNoise(level_db: -40.0, seed: {i + 1})),\n"
        f"            position: [{', '.join(keys)}],\n"
        "            gain: [(time: 0.0, db: 0.0), (time: 30.0, db: -6.0), (time: 60.0, db: 0.0)]),"
    )
with open(f"{out}/hard.ron", "w") as f:
    f.write("Scene(\n    sample_rate: 48000,\n    duration: 60.0,\n    objects: [\n" + "\n".join(objs) + "\n    ],\n)\n")
with open(f"{out}/sheet.ron", "w") as f:
    f.write(f"""Deliver(
    master: "hard.ron",
    out_dir: "out",
    spec: "ebu-r128",
    hrtf: "{SOFA}",
    outputs: [
        (name: "pm-714", layout: "7.1.4"),
        (name: "pm-51", layout: "5.1"),
        (name: "pm-20", layout: "stereo"),
        (name: "phones", binaural: true),
        (name: "me-51", layout: "5.1", without: ["dialogue"]),
        (name: "stems-714", layout: "7.1.4", stems: true),
    ],
)
""")
with open(f"{out}/separate.sh", "w") as f:
    f.write(f"""set -e
O=sep; mkdir -p $O
{M} render hard.ron --layout 7.1.4 -o $O/pm-714.wav --format s24 -q
{M} render hard.ron --layout 5.1 -o $O/pm-51.wav --format s24 -q
{M} render hard.ron --layout stereo -o $O/pm-20.wav --format s24 -q
{M} render hard.ron --binaural --hrtf {SOFA} -o $O/phones.wav --format s24 -q
{M} render hard.ron --layout 5.1 -o $O/me-51.wav --without dialogue --format s24 -q
{M} render hard.ron --layout 7.1.4 -o $O/stems.wav --stems --format s24 -q
{M} qc $O/pm-714.wav --layout 7.1.4 --spec ebu-r128 --systems own,5.1,stereo,mono --quiet >/dev/null || true
{M} qc $O/pm-51.wav --layout 5.1 --spec ebu-r128 --systems own,stereo,mono --quiet >/dev/null || true
{M} qc $O/pm-20.wav --layout stereo --spec ebu-r128 --systems own,mono --quiet >/dev/null || true
{M} qc $O/phones.wav --layout stereo --spec ebu-r128 --systems own --quiet >/dev/null || true
{M} qc $O/me-51.wav --layout 5.1 --systems own,stereo,mono --quiet >/dev/null
for g in dialogue effects music; do {M} qc $O/stems.$g.wav --layout 7.1.4 --systems own --quiet >/dev/null; done
""")
