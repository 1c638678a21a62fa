#!/usr/bin/env python3
"""Generate the small compressed-audio fixtures used by ``tests/decode.rs``.

Each fixture is a sine tone encoded with a standard command-line encoder, so
that mixstage's symphonia-based decoder is tested against files written by
independent, widely used tools:

=========================  =========================================================
file                       content
=========================  =========================================================
sine_s16_stereo.flac       44.1 kHz, 16-bit, 2 ch, 11025 frames (0.25 s)      (flac)
sine_s24_3ch.flac          48 kHz, 24-bit, 3 ch, 1920 frames (0.04 s)         (flac)
sine_stereo.ogg            Ogg Vorbis, 44.1 kHz, 2 ch, 11025 frames, q 2      (oggenc)
sine_stereo.mp3            MP3 with a LAME tag, 44.1 kHz, 2 ch, 11025 frames  (lame)
sine_stereo.m4a            AAC-LC in MP4, 44.1 kHz, 2 ch, 11025 frames        (ffmpeg)
=========================  =========================================================

The PCM signal of channel ``c`` (0-based) at frame ``n`` is::

    x = A * sin(2 * pi * f_c * n / rate),   f_c = 440 * (c + 1) Hz,   A = 0.5
    q = round(x * 2^(bits - 1))             (an integer sample, bits = 16 or 24)

For FLAC (lossless) the tests regenerate ``q`` in Rust with the same formula and
require the decoded samples to equal ``q / 2^(bits - 1)`` exactly. To make that
regeneration immune to last-bit differences between maths libraries, this
script checks that no ``x * 2^(bits - 1)`` lies within 1e-6 of a rounding
boundary (k + 0.5); it stops with an error if one does. The lossy files are
compared with a tolerance in the tests.

Requirements: Python 3 (standard library only) and the encoders, e.g. on Debian:
``apt-get install -y flac vorbis-tools lame ffmpeg``. Run from the repository root::

    python3 tools/gen_decode_fixtures.py

The intermediate WAV files are written to a temporary directory and deleted.
The encoders' versions used for the committed files are printed at the end.
"""

import math
import os
import struct
import subprocess
import sys
import tempfile
import wave

OUT_DIR = os.path.join("tests", "data")
AMPLITUDE = 0.5
BASE_FREQ = 440.0


def sine_pcm(rate, channels, frames, bits):
    """Return interleaved integer samples of the fixture sine (see module doc)."""
    scale = float(1 << (bits - 1))
    samples = []
    for n in range(frames):
        for c in range(channels):
            f = BASE_FREQ * (c + 1)
            x = AMPLITUDE * math.sin(2.0 * math.pi * f * n / rate) * scale
            frac = x - math.floor(x)
            if abs(frac - 0.5) < 1e-6:
                sys.exit(f"sample {n} channel {c} lies at a rounding boundary ({x!r}); change the signal")
            samples.append(int(math.floor(x + 0.5)))
    return samples


def write_wav(path, rate, channels, bits, samples):
    """Write a plain PCM WAV file (16- or 24-bit little-endian)."""
    if bits == 16:
        data = struct.pack("<%dh" % len(samples), *samples)
    elif bits == 24:
        data = b"".join(struct.pack("<i", s)[0:3] for s in samples)
    else:
        raise ValueError(bits)
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(bits // 8)
        w.setframerate(rate)
        w.writeframes(data)


def run(cmd):
    print("  $", " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{res.stdout}{res.stderr}")


def version(cmd):
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        s16 = os.path.join(tmp, "s16.wav")
        write_wav(s16, 44100, 2, 16, sine_pcm(44100, 2, 11025, 16))
        s24 = os.path.join(tmp, "s24.wav")
        write_wav(s24, 48000, 3, 24, sine_pcm(48000, 3, 1920, 24))

        out = lambda name: os.path.join(OUT_DIR, name)  # noqa: E731
        # FLAC: -8 for the smallest files; no seek table or padding block (keeps them tiny).
        run(["flac", "-f", "-s", "-8", "--no-padding", "--no-seektable", "-o", out("sine_s16_stereo.flac"), s16])
        # --channel-map=none: a plain (not EXTENSIBLE) WAV with 3 channels has no speaker assignment.
        run(["flac", "-f", "-s", "-8", "--no-padding", "--no-seektable", "--channel-map=none",
             "-o", out("sine_s24_3ch.flac"), s24])
        # Ogg Vorbis at a low quality: the tests only check the tone survives.
        run(["oggenc", "-Q", "-q", "2", "--serial", "1", "-o", out("sine_stereo.ogg"), s16])
        # MP3 with a LAME/Xing tag (delay and padding, so the exact length is recoverable).
        run(["lame", "--quiet", "-b", "128", "--resample", "44.1", "-m", "j", s16, out("sine_stereo.mp3")])
        # AAC-LC in MP4 (ffmpeg's native encoder), no metadata, bit-exact mode for reproducibility.
        run(["ffmpeg", "-y", "-loglevel", "error", "-i", s16, "-c:a", "aac", "-b:a", "128k",
             "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", out("sine_stereo.m4a")])

    for name in sorted(os.listdir(OUT_DIR)):
        if name.startswith("sine_"):
            print(f"{name}: {os.path.getsize(os.path.join(OUT_DIR, name))} bytes")
    print("encoders:", "|", version(["flac", "--version"]), "|", version(["oggenc", "--version"]), "|",
          version(["lame", "--version"]), "|", version(["ffmpeg", "-version"]))


if __name__ == "__main__":
    main()
