#!/usr/bin/env python3
"""Independent reference for the QC loudness meter: integrated loudness of a few
deterministic multi-tone signals measured with pyloudnorm (BS.1770-4, its own K-weighting
design and gating), written to tests/data/pyloudnorm_reference.json. The Rust test
`tests/qc_pyloudnorm.rs` synthesises the same signals (same formula, f32 samples) and compares.

Signal of a case: for channel c, sum over tones k of amp * sin(2 pi f_k t + phase_k + c) times
an envelope that steps through `segments` (seconds, dB) -- quiet segments exercise the gates.
Tones span 40 Hz to 15 kHz so every part of the K-weighting curve matters.

usage: python3 tools/gen_pyloudnorm_reference.py   (needs numpy, pyloudnorm 0.2)
"""
import json
import math

import numpy as np
import pyloudnorm

TONES = [(40.0, 0.20, 0.1), (110.0, 0.15, 0.7), (440.0, 0.12, 1.3), (1000.0, 0.10, 0.2),
         (2500.0, 0.08, 2.1), (6000.0, 0.06, 0.4), (11000.0, 0.05, 1.7), (15000.0, 0.04, 2.9)]

CASES = [
    {"name": "stereo 44.1k steady", "rate": 44100, "channels": 2, "segments": [[8.0, -6.0]]},
    {"name": "stereo 48k gated", "rate": 48000, "channels": 2,
     "segments": [[3.0, -6.0], [2.0, -40.0], [3.0, -12.0], [2.0, -90.0], [2.0, -3.0]]},
    {"name": "5.0 48k (L R C Ls Rs)", "rate": 48000, "channels": 5, "segments": [[6.0, -10.0]],
     "channel_gain_db": [0.0, -2.0, 3.0, -6.0, -4.0]},
    {"name": "stereo 96k", "rate": 96000, "channels": 2, "segments": [[5.0, -8.0], [3.0, -20.0]]},
    {"name": "stereo 32k", "rate": 32000, "channels": 2, "segments": [[6.0, -9.0]]},
]


def synth(case):
    rate = case["rate"]
    env = np.concatenate([np.full(int(round(s * rate)), 10 ** (db / 20)) for s, db in case["segments"]])
    t = np.arange(len(env)) / rate
    gains = case.get("channel_gain_db", [0.0] * case["channels"])
    chans = []
    for c in range(case["channels"]):
        x = np.zeros(len(env))
        for f, a, p in TONES:
            if f < 0.45 * rate:
                x += a * np.sin(2 * math.pi * f * t + p + c)
        chans.append((x * env * 10 ** (gains[c] / 20)).astype(np.float32).astype(np.float64))
    return np.stack(chans, axis=1)


out = []
for case in CASES:
    data = synth(case)
    meter = pyloudnorm.Meter(case["rate"])  # BS.1770-4, 400 ms blocks, 75 % overlap
    lufs = meter.integrated_loudness(data)
    out.append(dict(case, pyloudnorm_lufs=lufs))
    print(f'{case["name"]}: {lufs:.3f} LUFS')

with open("tests/data/pyloudnorm_reference.json", "w") as f:
    json.dump({"tones": TONES, "generator": "tools/gen_pyloudnorm_reference.py",
               "pyloudnorm": pyloudnorm.__version__ if hasattr(pyloudnorm, "__version__") else "0.2",
               "cases": out}, f, indent=1)
