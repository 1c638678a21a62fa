#!/usr/bin/env python3
"""Writes the small SOFA fixtures in tests/data/ used by the binaural tests.

Source: the MIT KEMAR set committed in data/hrtf/MIT_KEMAR_normal_pinna.sofa
(Gardner & Martin, MIT Media Lab, 1994; free to use provided the authors are cited).

Fixtures (all 44.1 kHz, SimpleFreeFieldHRIR unless stated):
  kemar_subset.sofa          49 directions (elevations -30, 0, 30, 60 on a 30-degree azimuth
                             grid, plus the zenith), 256 taps (a 32-tap half-Hann fade-out),
                             float32, spherical source positions, receivers left then right:
                             the canonical layout of a SOFA file.
  kemar_subset_swapped.sofa  the same measurements with Cartesian source positions and the
                             receivers stored right ear first (ReceiverPosition y = -0.09 first,
                             Data.IR swapped accordingly): a loader must give the same HRIRs.
  wrong_convention.sofa      the subset declared as SOFAConventions "GeneralFIR": must be rejected.

Run from the repository root:  python3 tools/make_sofa_fixtures.py
Needs: pip install numpy netCDF4
"""

import numpy as np
import netCDF4

SRC = "data/hrtf/MIT_KEMAR_normal_pinna.sofa"
TAPS = 256
FADE = 32


def pick(src_pos):
    """Indices of the subset: azimuth a multiple of 30 degrees at elevations -30..60, and the zenith."""
    keep = []
    for i, (az, el, _r) in enumerate(src_pos):
        if el == 90.0:
            keep.append(i)
        elif el in (-30.0, 0.0, 30.0, 60.0):
            if abs(az / 30.0 - round(az / 30.0)) < 1e-6:
                keep.append(i)
    return np.array(keep)


def write(path, ir, pos, pos_type, receivers, conventions="SimpleFreeFieldHRIR"):
    m, r, n = ir.shape
    d = netCDF4.Dataset(path, "w", format="NETCDF4")
    attrs = {
        "Conventions": "SOFA",
        "Version": "1.0",
        "SOFAConventions": conventions,
        "SOFAConventionsVersion": "1.0",
        "APIName": "mixstage tools/make_sofa_fixtures.py",
        "APIVersion": "1.0",
        "DataType": "FIR",
        "RoomType": "free field",
        "Title": "MIT KEMAR subset (test fixture)",
        "DatabaseName": "MIT",
        "ListenerShortName": "KEMAR, normal pinna",
        "License": "MIT KEMAR data: free to use provided the authors (Gardner and Martin, MIT Media Lab, 1994) are cited",
        "Organization": "",
        "AuthorContact": "",
        "DateCreated": "2026-11-24 00:00:00",
        "DateModified": "2026-11-24 00:00:00",
    }
    for k, v in attrs.items():
        d.setncattr(k, v)
    for name, size in (("I", 1), ("C", 3), ("R", r), ("E", 1), ("N", n), ("M", m)):
        d.createDimension(name, size)

    def var(name, dims, data, dtype="f8", **a):
        v = d.createVariable(name, dtype, dims)
        for k, val in a.items():
            v.setncattr(k, val)
        v[:] = data

    var("ListenerPosition", ("I", "C"), np.zeros((1, 3)), Type="cartesian", Units="metre")
    var("ListenerUp", ("I", "C"), np.array([[0.0, 0.0, 1.0]]))
    var("ListenerView", ("I", "C"), np.array([[1.0, 0.0, 0.0]]), Type="cartesian", Units="metre")
    var("ReceiverPosition", ("R", "C", "I"), receivers.reshape(r, 3, 1), Type="cartesian", Units="metre")
    units = "degree, degree, metre" if pos_type == "spherical" else "metre"
    var("SourcePosition", ("M", "C"), pos, Type=pos_type, Units=units)
    var("EmitterPosition", ("E", "C", "I"), np.zeros((1, 3, 1)), Type="cartesian", Units="metre")
    var("Data.IR", ("M", "R", "N"), ir, dtype="f4")
    var("Data.SamplingRate", ("I",), np.array([44100.0]), Units="hertz")
    var("Data.Delay", ("I", "R"), np.zeros((1, r)))
    d.close()


def main():
    s = netCDF4.Dataset(SRC)
    pos = np.array(s["SourcePosition"][:], dtype=np.float64)
    ir = np.array(s["Data.IR"][:], dtype=np.float64)
    s.close()
    keep = pick(pos)
    assert len(keep) == 49, len(keep)
    pos = pos[keep]
    ir = ir[keep, :, :TAPS].copy()
    fade = 0.5 * (1.0 + np.cos(np.pi * np.arange(FADE) / FADE))
    ir[:, :, TAPS - FADE:] *= fade
    ir = ir.astype(np.float32)
    ears = np.array([[0.0, 0.09, 0.0], [0.0, -0.09, 0.0]])
    write("tests/data/kemar_subset.sofa", ir, pos, "spherical", ears)

    az = np.radians(pos[:, 0])
    el = np.radians(pos[:, 1])
    cart = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1) * pos[:, 2:3]
    write("tests/data/kemar_subset_swapped.sofa", ir[:, ::-1, :].copy(), cart, "cartesian", ears[::-1].copy())

    write("tests/data/wrong_convention.sofa", ir[:4], pos[:4], "spherical", ears, conventions="GeneralFIR")


if __name__ == "__main__":
    main()
