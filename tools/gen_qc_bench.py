#!/usr/bin/env python3
"""Writes a test mix for `mixstage qc` benchmarks and demos: N seconds of 7.1.4 (or 5.1),
32-bit float WAV at 48 kHz, film channel order (L R C LFE Lss Rss Lrs Rrs Ltf Rtf Ltr Rtr).

Content: pink-ish noise beds in every channel at about -30 dBFS RMS, a 'dialogue' of
amplitude-modulated noise bursts in the centre, a 60 Hz LFE tone, and (with --out-of-phase)
the rear surrounds in anti-phase.

usage: gen_qc_bench.py OUT.wav [--seconds 60] [--layout 7.1.4|5.1] [--out-of-phase] [--crescendo]
"""
import argparse
import struct

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seconds", type=float, default=60.0)
ap.add_argument("--layout", default="7.1.4", choices=["7.1.4", "5.1"])
ap.add_argument("--out-of-phase", action="store_true")
ap.add_argument("--crescendo", action="store_true", help="sines rising from silence to 0.9 instead")
a = ap.parse_args()

rate = 48000
n = int(a.seconds * rate)
ch = 12 if a.layout == "7.1.4" else 6
rng = np.random.default_rng(1)


def pinkish(k):
    w = rng.standard_normal(k)
    # one-pole low-pass mixed with white: a gentle downward tilt
    b = 0.97
    # a truncated one-pole low-pass (64-tap exponential FIR) plus some white
    y = np.convolve(w, b ** np.arange(64), mode="same") * (1 - b) + 0.3 * w
    return y / np.sqrt(np.mean(y ** 2))


t = np.arange(n) / rate
x = np.zeros((n, ch), dtype=np.float32)
bed = 10 ** (-30 / 20)
for c in range(ch):
    if c == 3:
        x[:, c] = 0.25 * np.sin(2 * np.pi * 60 * t)
    else:
        x[:, c] = bed * pinkish(n)
# dialogue in the centre: noise bursts with a 3 Hz syllable envelope, 2 s on / 1 s off
env = (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) * ((t % 3.0) < 2.0)
x[:, 2] += (10 ** (-18 / 20) * env * pinkish(n)).astype(np.float32)
if a.crescendo:
    for c in range(ch):
        f = 50.0 if c == 3 else 200.0 * (c + 1) + 37.0
        x[:, c] = (0.9 * t / a.seconds * np.sin(2 * np.pi * f * t + c)).astype(np.float32)
if a.out_of_phase:
    rl, rr = (6, 7) if ch == 12 else (4, 5)
    x[:, rr] = -x[:, rl]

data = x.astype("<f4").tobytes()
mask = 0  # film order 7.1.4 has no true WAVE mask; 5.1 does (0x3F)
if ch == 6:
    mask = 0x3F
fmt = struct.pack("<HHIIHHHHIH14s", 0xFFFE, ch, rate, rate * ch * 4, ch * 4, 32, 22, 32, mask, 3,
                  bytes([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]))
with open(a.out, "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
    f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
    f.write(b"data" + struct.pack("<I", len(data)) + data)
