#!/usr/bin/env python3
"""EBU ADM Renderer (ear 2.1.0) object gains for BS.2127's gain calculation beyond a point:
extent (width, height, depth, distance), objectDivergence, channelLock and zoneExclusion, on
polar blocks, the allocentric extent, divergence, channel lock and zone exclusion on Cartesian
blocks, and screenRef / screenEdgeLock on both (against BS.2127's default screen and a moved
reproduction screen set on the layout).

Run from the repository root with the venv that has ear 2.1.0:

    /work/venv-ear/bin/python tools/gen_bs2127_gains.py

Writes tests/data/bs2127/object_gains.json: for each layout, its channel names (ear's
order) and a list of cases, each the block parameters (named as BS.2076 names them) and ear's
direct gains (`GainCalc.render(...).direct`). The cases are drawn from a fixed seed, plus
hand-picked edges (a 360-degree extent, extents inside the 10-degree fade, the poles, a
source at distance 0, channel-lock ties). tests/bs2127_extent.rs compares mixstage's gains
with these to 1e-6.
"""

import json
import os
import warnings

warnings.filterwarnings("ignore")

import numpy as np
from ear.core import bs2051
from ear.core.metadata_input import ObjectTypeMetadata
from ear.core.objectbased.gain_calc import GainCalc
import attr
from ear.common import PolarPosition, PolarScreen
from ear.fileio.adm.elements import (AudioBlockFormatObjects, CartesianZone, ChannelLock,
                                     ObjectCartesianPosition, ObjectDivergence, ObjectPolarPosition,
                                     PolarZone, ScreenEdgeLock)

LAYOUTS = ["0+2+0", "0+5+0", "4+5+0", "4+7+0", "9+10+3"]
OUT = os.path.join("tests", "data", "bs2127", "object_gains.json")


def case(rng):
    """One random block: every parameter present with some probability."""
    c = {
        "azimuth": float(rng.uniform(-180, 180)),
        "elevation": float(rng.choice([0.0, float(rng.uniform(-90, 90))])),
        "distance": float(rng.choice([1.0, float(rng.uniform(0.0, 1.5))])),
    }
    kind = rng.integers(0, 6)
    if kind in (0, 3, 5):
        c["width"] = float(rng.choice([float(rng.uniform(0, 20)), float(rng.uniform(0, 360))]))
        c["height"] = float(rng.choice([0.0, float(rng.uniform(0, 20)), float(rng.uniform(0, 180))]))
        if rng.uniform() < 0.4:
            c["depth"] = float(rng.uniform(0, 1))
    if kind in (1, 3, 5):
        d = {"value": float(rng.uniform(0, 1))}
        if rng.uniform() < 0.7:
            d["azimuthRange"] = float(rng.uniform(0, 180))
        c["objectDivergence"] = d
    if kind in (2, 5):
        c["channelLock"] = {} if rng.uniform() < 0.4 else {"maxDistance": float(rng.uniform(0, 2))}
    if kind in (4, 5) or rng.uniform() < 0.2:
        c["zoneExclusion"] = zones(rng)
    return c


def zones(rng):
    """One or two random zones, polar or Cartesian."""
    out = []
    for _ in range(int(rng.integers(1, 3))):
        if rng.uniform() < 0.5:
            a, b = sorted(rng.uniform(-1, 1, 2))
            c, d = sorted(rng.uniform(-1, 1, 2))
            e, f = sorted(rng.uniform(-1, 1, 2))
            out.append({"minX": float(a), "maxX": float(b), "minY": float(c), "maxY": float(d),
                        "minZ": float(e), "maxZ": float(f)})
        else:
            lo = float(rng.uniform(-180, 180))
            out.append({"minAzimuth": lo, "maxAzimuth": float(lo + rng.uniform(0, 200)),
                        "minElevation": float(rng.uniform(-90, 30)), "maxElevation": float(rng.uniform(0, 90))})
    return out


def cartesian_case(rng):
    """A Cartesian block: position in the cube, with divergence, channel lock, zones."""
    c = {"cartesian": True, "X": float(rng.uniform(-1.2, 1.2)), "Y": float(rng.uniform(-1.2, 1.2)),
         "Z": float(rng.choice([0.0, float(rng.uniform(-1, 1.2))]))}
    kind = rng.integers(0, 4)
    if rng.uniform() < 0.5:
        for k in ("width", "height", "depth"):
            if rng.uniform() < 0.7:
                c[k] = float(rng.choice([float(rng.uniform(0, 0.2)), float(rng.uniform(0, 1.2))]))
    if kind in (0, 3):
        d = {"value": float(rng.uniform(0, 1))}
        if rng.uniform() < 0.7:
            d["positionRange"] = float(rng.uniform(0, 1))
        c["objectDivergence"] = d
    if kind in (1, 3):
        c["channelLock"] = {} if rng.uniform() < 0.4 else {"maxDistance": float(rng.uniform(0, 2))}
    if kind in (2, 3) or rng.uniform() < 0.3:
        c["zoneExclusion"] = zones(rng)
    return c


EDGES = [
    {"azimuth": 0.0, "elevation": 0.0, "distance": 1.0, "width": 360.0, "height": 360.0},
    {"azimuth": 30.0, "elevation": 0.0, "distance": 1.0, "width": 5.0, "height": 0.0},
    {"azimuth": 30.0, "elevation": 0.0, "distance": 1.0, "width": 10.0, "height": 10.0},
    {"azimuth": 0.0, "elevation": 90.0, "distance": 1.0, "width": 60.0, "height": 20.0},
    {"azimuth": 120.0, "elevation": -90.0, "distance": 1.0, "width": 40.0, "height": 90.0},
    {"azimuth": 45.0, "elevation": 10.0, "distance": 0.0, "width": 20.0, "height": 20.0},
    {"azimuth": -170.0, "elevation": 20.0, "distance": 1.0, "width": 200.0, "height": 30.0},
    {"azimuth": 10.0, "elevation": 5.0, "distance": 0.5, "width": 30.0, "height": 10.0, "depth": 1.0},
    {"azimuth": 0.0, "elevation": 0.0, "distance": 1.0, "channelLock": {}},
    {"azimuth": 15.0, "elevation": 0.0, "distance": 1.0, "channelLock": {}},
    {"azimuth": 90.0, "elevation": 0.0, "distance": 1.0, "channelLock": {"maxDistance": 0.1}},
    {"azimuth": 20.0, "elevation": 0.0, "distance": 1.0, "objectDivergence": {"value": 1.0}},
    {"azimuth": 0.0, "elevation": 0.0, "distance": 1.0, "objectDivergence": {"value": 0.5, "azimuthRange": 30.0}},
    {"azimuth": 0.0, "elevation": 60.0, "distance": 1.0, "width": 30.0, "height": 0.0,
     "objectDivergence": {"value": 0.3, "azimuthRange": 60.0}, "channelLock": {"maxDistance": 1.0}},
    # Zone exclusion: the centre out (dialogue kept off the screen centre), every speaker out
    # (nothing is excluded), the whole upper half out, a zone across +-180.
    {"azimuth": 0.0, "elevation": 0.0, "distance": 1.0,
     "zoneExclusion": [{"minAzimuth": -5.0, "maxAzimuth": 5.0, "minElevation": -10.0, "maxElevation": 10.0}]},
    {"azimuth": 40.0, "elevation": 0.0, "distance": 1.0,
     "zoneExclusion": [{"minX": -1.0, "maxX": 1.0, "minY": -1.0, "maxY": 1.0, "minZ": -1.0, "maxZ": 1.0}]},
    {"azimuth": 60.0, "elevation": 45.0, "distance": 1.0, "width": 40.0,
     "zoneExclusion": [{"minAzimuth": -180.0, "maxAzimuth": 180.0, "minElevation": 10.0, "maxElevation": 90.0}]},
    {"azimuth": 170.0, "elevation": 0.0, "distance": 1.0,
     "zoneExclusion": [{"minAzimuth": 150.0, "maxAzimuth": -150.0, "minElevation": -90.0, "maxElevation": 90.0}]},
]

CARTESIAN_EDGES = [
    {"cartesian": True, "X": 0.0, "Y": 1.0, "Z": 0.0,
     "zoneExclusion": [{"minX": -0.1, "maxX": 0.1, "minY": 0.9, "maxY": 1.1, "minZ": -0.1, "maxZ": 0.1}]},
    {"cartesian": True, "X": -0.9, "Y": 0.1, "Z": 0.0,
     "zoneExclusion": [{"minAzimuth": 80.0, "maxAzimuth": 100.0, "minElevation": -10.0, "maxElevation": 10.0}]},
    {"cartesian": True, "X": 0.2, "Y": 0.3, "Z": 0.5, "channelLock": {}},
    {"cartesian": True, "X": 0.9, "Y": 0.9, "Z": 0.0, "objectDivergence": {"value": 1.0, "positionRange": 0.5}},
    {"cartesian": True, "X": 0.0, "Y": 0.0, "Z": 0.0, "width": 1.0, "height": 1.0, "depth": 1.0},
    {"cartesian": True, "X": 0.5, "Y": 1.0, "Z": 0.0, "width": 0.05},
    {"cartesian": True, "X": -0.3, "Y": -0.7, "Z": 0.8, "width": 0.4, "depth": 0.2,
     "zoneExclusion": [{"minX": -1.0, "maxX": 0.0, "minY": -1.0, "maxY": 1.0, "minZ": -1.0, "maxZ": 1.0}]},
    {"cartesian": True, "X": 0.2, "Y": -0.2, "Z": -0.5, "height": 0.6},
]


def zone(z):
    if "minX" in z:
        return CartesianZone(**{k: float(v) for k, v in z.items()})
    return PolarZone(**{k: float(v) for k, v in z.items()})


def block(c):
    kw = {}
    if c.get("screenRef"):
        kw["screenRef"] = True
    if "zoneExclusion" in c:
        kw["zoneExclusion"] = [zone(z) for z in c["zoneExclusion"]]
    for k in ("width", "height", "depth"):
        if k in c:
            kw[k] = c[k]
    if "objectDivergence" in c:
        d = c["objectDivergence"]
        kw["objectDivergence"] = ObjectDivergence(value=d["value"], azimuthRange=d.get("azimuthRange"),
                                                  positionRange=d.get("positionRange"))
    if "channelLock" in c:
        kw["channelLock"] = ChannelLock(maxDistance=c["channelLock"].get("maxDistance"))
    lock = ScreenEdgeLock(**c.get("screenEdgeLock", {}))
    if c.get("cartesian"):
        pos = ObjectCartesianPosition(X=c["X"], Y=c["Y"], Z=c["Z"], screenEdgeLock=lock)
        return AudioBlockFormatObjects(position=pos, cartesian=True, **kw)
    pos = ObjectPolarPosition(azimuth=c["azimuth"], elevation=c["elevation"], distance=c["distance"],
                              screenEdgeLock=lock)
    return AudioBlockFormatObjects(position=pos, **kw)


# A reproduction screen other than BS.2127's default (wider, off-centre, raised), for screenRef.
SCREEN = {"aspect_ratio": 1.5, "azimuth": 10.0, "elevation": 5.0, "distance": 1.0, "width_azimuth": 90.0}


def screen_case(rng):
    """A block with screenRef and/or screenEdgeLock, polar or Cartesian."""
    if rng.uniform() < 0.5:
        c = {"azimuth": float(rng.uniform(-180, 180)), "elevation": float(rng.uniform(-60, 60)),
             "distance": 1.0}
        if rng.uniform() < 0.3:
            c["width"] = float(rng.uniform(0, 60))
    else:
        c = {"cartesian": True, "X": float(rng.uniform(-1, 1)), "Y": float(rng.uniform(-1, 1)),
             "Z": float(rng.uniform(-1, 1))}
    if rng.uniform() < 0.6:
        c["screenRef"] = True
    lock = {}
    if rng.uniform() < 0.5:
        lock["horizontal"] = str(rng.choice(["left", "right"]))
    if rng.uniform() < 0.4:
        lock["vertical"] = str(rng.choice(["top", "bottom"]))
    if lock:
        c["screenEdgeLock"] = lock
    return c


def main():
    rng = np.random.default_rng(2127)
    out = []
    for name in LAYOUTS:
        layout = bs2051.get_layout(name)
        gc = GainCalc(layout)
        cases = EDGES + [case(rng) for _ in range(60)]
        cases += CARTESIAN_EDGES + [cartesian_case(rng) for _ in range(40)]
        rows = []
        for c in cases:
            g = gc.render(ObjectTypeMetadata(block_format=block(c))).direct
            rows.append({"block": c, "gains": [float(x) for x in g]})
        out.append({"layout": name, "channels": [ch.name for ch in layout.channels], "cases": rows})
        print(f"{name}: {len(rows)} cases")
    # Screen handling: the default screen, then a wider off-centre one as the reproduction screen.
    for name in ["0+5+0", "4+7+0"]:
        for screen in [None, SCREEN]:
            layout = bs2051.get_layout(name)
            if screen:
                layout = attr.evolve(layout, screen=PolarScreen(
                    aspectRatio=screen["aspect_ratio"],
                    centrePosition=PolarPosition(azimuth=screen["azimuth"], elevation=screen["elevation"],
                                                 distance=screen["distance"]),
                    widthAzimuth=screen["width_azimuth"]))
            gc = GainCalc(layout)
            rows = []
            for c in [screen_case(rng) for _ in range(40)]:
                g = gc.render(ObjectTypeMetadata(block_format=block(c))).direct
                rows.append({"block": c, "gains": [float(x) for x in g]})
            out.append({"layout": name, "screen": screen, "channels": [ch.name for ch in layout.channels],
                        "cases": rows})
            print(f"{name} screen {screen}: {len(rows)} cases")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
