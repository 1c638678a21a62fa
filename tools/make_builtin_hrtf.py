#!/usr/bin/env python3
"""Writes data/hrtf/mit_kemar.bin, the compact form of the built-in HRIR set embedded in mixstage.

Source: data/hrtf/MIT_KEMAR_normal_pinna.sofa (MIT KEMAR, Gardner & Martin, MIT Media Lab, 1994,
as distributed by libmysofa / Debian libmysofa1). The MIT measurements are 16-bit integers, so
storing them as 16-bit again is lossless; the script checks that every value times 32768 is an
integer and that receiver 0 is the left ear (ReceiverPosition y > 0) before writing.

Format (little endian):
  8 bytes  magic b"MSHRIR1\\0"
  u32      sample rate (Hz)
  u32      M, number of measurements
  u32      N, taps per response
  M x (f32 azimuth, f32 elevation)    SOFA spherical degrees (azimuth counter-clockwise, i.e.
                                      positive to the left, as in mixstage)
  M x 2 x N i16                       left then right response of each measurement, value/32768

Run from the repository root:  python3 tools/make_builtin_hrtf.py      (needs numpy, netCDF4)
"""

import struct
import numpy as np
import netCDF4

SRC = "data/hrtf/MIT_KEMAR_normal_pinna.sofa"
DST = "data/hrtf/mit_kemar.bin"


def main():
    d = netCDF4.Dataset(SRC)
    assert d.getncattr("SOFAConventions") == "SimpleFreeFieldHRIR"
    assert d["SourcePosition"].getncattr("Type") == "spherical"
    rate = float(np.array(d["Data.SamplingRate"][:]).ravel()[0])
    pos = np.array(d["SourcePosition"][:], dtype=np.float64)
    ir = np.array(d["Data.IR"][:], dtype=np.float64)
    rec = np.array(d["ReceiverPosition"][:]).reshape(2, 3)
    assert np.all(np.array(d["Data.Delay"][:]) == 0)
    d.close()
    assert rec[0, 1] > 0 > rec[1, 1], "receiver 0 must be the left ear"
    q = ir * 32768.0
    assert np.all(q == np.round(q)) and q.max() < 32768 and q.min() >= -32768, "not 16-bit data"
    m, r, n = ir.shape
    assert r == 2
    with open(DST, "wb") as f:
        f.write(b"MSHRIR1\0")
        f.write(struct.pack("<III", int(rate), m, n))
        f.write(pos[:, :2].astype("<f4").tobytes())
        f.write(q.astype("<i2").tobytes())
    print(f"{DST}: {m} measurements, {n} taps at {rate:.0f} Hz")


if __name__ == "__main__":
    main()
