#!/usr/bin/env python3
"""EBU ADM Renderer (ear 2.1.0) direct and diffuse gains of whole Objects audioBlockFormats, on
every BS.2051 layout ear knows, written as the JSON blocks `mixstage gains --block` reads.

Run from the repository root with the venv that has ear 2.1.0:

    /work/venv-ear/bin/python tools/gen_bs2127_blocks.py

Writes tests/data/bs2127/block_gains.json: a list of {layout, channels (ear's order), cases},
each case {block: the block as `gains --block` JSON, direct, diffuse} with ear's
`GainCalc.render(...)` gains (block gain included). The cases are:

- on each of the ten BS.2051 layouts, 300 random blocks drawn from a fixed seed by the
  generators of tools/gen_bs2127_gains.py (polar and Cartesian, extent, divergence, channel
  lock, zones, screenRef, screenEdgeLock), each also given a random gain and diffuseness;
- on 4+5+0, ear's own 1072 frozen cases (ear/core/objectbased/test/data/gain_calc_pvs, every
  parameter random, each with its own reference screen), with the gains ear stored for them.
  ear's generator draws any of "left", "right", "top" and "bottom" for either screenEdgeLock
  coordinate; a word that does not name an edge of that coordinate has no effect in ear, so it
  is written as absent here (`gains --block` refuses it).

Random polar zones get their elevations in order (minElevation <= maxElevation), since
mixstage refuses a zone whose minimum is above its maximum; azimuths may wrap.

tests/bs2127_blocks.rs parses each block exactly as `gains --block` does and compares the
gains with ear's to 1e-6.
"""

import json
import os
import pickle
import random
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np
from ear.core import bs2051
from ear.core.metadata_input import ObjectTypeMetadata, ExtraData
from ear.core.objectbased.gain_calc import GainCalc
from ear.common import PolarScreen, CartesianScreen
from ear.fileio.adm.elements import (CartesianZone, ObjectCartesianPosition, ObjectPolarPosition,
                                     PolarZone)

sys.path.insert(0, os.path.dirname(__file__))
import gen_bs2127_gains as g  # noqa: E402

OUT = os.path.join("tests", "data", "bs2127", "block_gains.json")
PVS = os.path.join(os.path.dirname(__import__("ear").__file__), "core", "objectbased", "test", "data",
                   "gain_calc_pvs")


def screen_json(s):
    """audioProgrammeReferenceScreen as `gains --block` reads it."""
    if isinstance(s, PolarScreen):
        c = s.centrePosition
        return {"aspectRatio": s.aspectRatio,
                "screenCentrePosition": {"azimuth": c.azimuth, "elevation": c.elevation,
                                         "distance": c.distance},
                "screenWidth": {"azimuth": s.widthAzimuth}}
    c = s.centrePosition
    return {"aspectRatio": s.aspectRatio, "screenCentrePosition": {"X": c.X, "Y": c.Y, "Z": c.Z},
            "screenWidth": {"X": s.widthX}}


def block_json(bf, reference_screen=None):
    """An ear AudioBlockFormatObjects as `gains --block` JSON (omitting ADM defaults)."""
    p = bf.position
    if isinstance(p, ObjectPolarPosition):
        pos = {"azimuth": p.azimuth, "elevation": p.elevation, "distance": p.distance}
    else:
        pos = {"X": p.X, "Y": p.Y, "Z": p.Z}
    lock = {}
    if p.screenEdgeLock.horizontal in ("left", "right"):
        lock["horizontal"] = p.screenEdgeLock.horizontal
    if p.screenEdgeLock.vertical in ("top", "bottom"):
        lock["vertical"] = p.screenEdgeLock.vertical
    if lock:
        pos["screenEdgeLock"] = lock
    out = {"position": pos}
    if bf.cartesian:
        out["cartesian"] = True
    for k in ("width", "height", "depth"):
        if getattr(bf, k) != 0.0:
            out[k] = getattr(bf, k)
    if bf.gain != 1.0:
        out["gain"] = bf.gain
    if bf.diffuse != 0.0:
        out["diffuse"] = bf.diffuse
    if bf.channelLock is not None:
        out["channelLock"] = ({} if bf.channelLock.maxDistance is None
                              else {"maxDistance": bf.channelLock.maxDistance})
    d = bf.objectDivergence
    if d is not None:
        dj = {"value": d.value}
        if d.azimuthRange is not None:
            dj["azimuthRange"] = d.azimuthRange
        if d.positionRange is not None:
            dj["positionRange"] = d.positionRange
        out["objectDivergence"] = dj
    if bf.zoneExclusion:
        zs = []
        for z in bf.zoneExclusion:
            if isinstance(z, CartesianZone):
                zs.append({"minX": z.minX, "maxX": z.maxX, "minY": z.minY, "maxY": z.maxY,
                           "minZ": z.minZ, "maxZ": z.maxZ})
            else:
                zs.append({"minAzimuth": z.minAzimuth, "maxAzimuth": z.maxAzimuth,
                           "minElevation": z.minElevation, "maxElevation": z.maxElevation})
        out["zoneExclusion"] = zs
    if bf.screenRef:
        out["screenRef"] = True
    if reference_screen is not None:
        out["referenceScreen"] = screen_json(reference_screen)
    return out


def floats(a):
    return [float(x) for x in a]


def clip_cartesian(c):
    """ear clips Cartesian positions to the cube; `gains --block` refuses them outside it."""
    for k in ("X", "Y", "Z"):
        if k in c:
            c[k] = float(np.clip(c[k], -1.0, 1.0))
    return c


def ordered_zones(c):
    """Polar zones with minElevation <= maxElevation: `gains --block` and mixstage's ADM reader
    refuse a zone whose minimum is above its maximum (only azimuth may wrap)."""
    for z in c.get("zoneExclusion", []):
        if "minElevation" in z and z["minElevation"] > z["maxElevation"]:
            z["minElevation"], z["maxElevation"] = z["maxElevation"], z["minElevation"]
    return c


def main():
    rng = np.random.default_rng(20512127)
    out = []
    for name in bs2051.layout_names:
        layout = bs2051.get_layout(name)
        gc = GainCalc(layout)
        rows = []
        for i in range(300):
            kind = i % 3
            c = (g.case(rng), g.cartesian_case(rng), g.screen_case(rng))[kind]
            c = ordered_zones(clip_cartesian(c))
            bf = g.block(c)
            if rng.uniform() < 0.5:
                bf.gain = float(rng.uniform(0, 2))
            if rng.uniform() < 0.5:
                bf.diffuse = float(rng.uniform(0, 1))
            pv = gc.render(ObjectTypeMetadata(block_format=bf))
            rows.append({"block": block_json(bf), "direct": floats(pv.direct),
                         "diffuse": floats(pv.diffuse)})
        out.append({"layout": name, "channels": [ch.name for ch in layout.channels], "cases": rows})
        print(f"{name}: {len(rows)} random blocks")

    with open(os.path.join(PVS, "inputs.pickle"), "rb") as f:
        inputs = pickle.load(f)
    stored = np.load(os.path.join(PVS, "outputs.npz"))
    layout = bs2051.get_layout("4+5+0")
    gc = GainCalc(layout)
    rows = []
    for m, direct, diffuse in zip(inputs, stored["direct"], stored["diffuse"]):
        pv = gc.render(m)
        assert np.allclose(pv.direct, direct, atol=1e-10) and np.allclose(pv.diffuse, diffuse, atol=1e-10)
        rows.append({"block": block_json(m.block_format, m.extra_data.reference_screen),
                     "direct": floats(direct), "diffuse": floats(diffuse)})
    out.append({"layout": "4+5+0", "source": "ear gain_calc_pvs", "channels": [ch.name for ch in layout.channels],
                "cases": rows})
    print(f"4+5+0: {len(rows)} of ear's frozen cases")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
