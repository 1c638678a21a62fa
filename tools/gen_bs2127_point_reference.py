#!/usr/bin/env python3
"""Reference data for mixstage's BS.2127 point-source gain calculation, from the EBU ADM
Renderer (ear 2.1.0, the reference implementation of ITU-R BS.2127).

Run from the repository root with the ear venv:

    /work/venv-ear/bin/python tools/gen_bs2127_point_reference.py

(any venv with `pip install ear==2.1.0` works). It writes
``tests/data/bs2127_point_reference.json``, which ``tests/bs2127_point.rs`` reads; ``cargo test``
never runs Python. Optionally pass another output path as the first argument.

What it asks ear, through ear's own classes (``ear.core.objectbased.gain_calc.GainCalc``, the
whole object gain chain, so LFE handling and the clipping of Cartesian positions are included):

* ``allocentric``: for every layout ear has allocentric positions for
  (``ear/core/data/allo_positions.yaml``), the gains of a Cartesian point object
  (``cartesian="1"``) at ~200 positions: a 5x5x5 grid, every speaker's allocentric position,
  midpoints between speakers, random points in the cube, and a few points outside it.
* ``stereo``: the gains of a polar point object on 0+2+0 (BS.2127's own stereo rule) for ~100
  directions.
* ``conversion``: ``point_polar_to_cart`` and ``point_cart_to_polar`` for ~100 points each.

Conventions are ADM's (and mixstage's): azimuth in degrees positive to the left, elevation
positive up; x right, y front, z up. Gains are listed per layout channel in ear's channel
order (LFE included, where ear gives 0), and channels carry their BS.2051 labels. Floats are
Python's shortest round-trip repr; the random points come from a fixed seed, so the output is
deterministic.
"""

import json
import math
import random
import sys
import warnings
from importlib import metadata
from pathlib import Path

warnings.filterwarnings("ignore", category=RuntimeWarning, module="attr")
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=UserWarning)

from ear.core import allocentric, bs2051  # noqa: E402
from ear.core.metadata_input import ObjectTypeMetadata  # noqa: E402
from ear.core.objectbased.conversion import point_cart_to_polar, point_polar_to_cart  # noqa: E402
from ear.core.objectbased.gain_calc import GainCalc  # noqa: E402
from ear.fileio.adm.elements import (  # noqa: E402
    AudioBlockFormatObjects,
    ObjectCartesianPosition,
    ObjectPolarPosition,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "tests" / "data" / "bs2127_point_reference.json"


def f(x):
    """A plain Python float, never -0.0."""
    return float(x) + 0.0


def cartesian_gains(gc, x, y, z):
    bf = AudioBlockFormatObjects(position=ObjectCartesianPosition(X=x, Y=y, Z=z), cartesian=True)
    return [f(g) for g in gc.render(ObjectTypeMetadata(block_format=bf)).direct]


def polar_gains(gc, az, el):
    bf = AudioBlockFormatObjects(
        position=ObjectPolarPosition(azimuth=az, elevation=el, distance=1.0), cartesian=False
    )
    return [f(g) for g in gc.render(ObjectTypeMetadata(block_format=bf)).direct]


def allocentric_positions(layout, rng):
    """~200 Cartesian test positions for a layout."""
    grid = [-1.0, -0.5, 0.0, 0.5, 1.0]
    pts = [(x, y, z) for x in grid for y in grid for z in grid]
    speakers = [tuple(f(c) for c in p)
                for p in allocentric.positions_for_layout(layout.without_lfe)]
    pts += speakers
    for a, b in zip(speakers, speakers[1:] + speakers[:1]):
        pts.append(tuple((p + q) / 2 for p, q in zip(a, b)))
    while len(pts) < 195:
        pts.append(tuple(round(rng.uniform(-1, 1), 6) for _ in range(3)))
    pts += [(1.5, 0.2, 0.0), (-0.3, -2.0, 0.4), (0.1, 0.7, 1.25), (-3.0, 3.0, -3.0), (0.25, 0.25, -1.5)]
    return pts


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    rng = random.Random(2127)

    layouts = []
    for name in allocentric._allo_positions:
        layout = bs2051.get_layout(name)
        gc = GainCalc(layout)
        allo = allocentric.positions_for_layout(layout.without_lfe)
        allo_by_name = dict(zip(layout.without_lfe.channel_names, allo))
        table = allocentric._allo_positions[name]
        channels = []
        for ch in layout.channels:
            pos = allo_by_name.get(ch.name, table.get(ch.name))
            channels.append({
                "label": ch.name,
                "azimuth": f(ch.polar_position.azimuth),
                "elevation": f(ch.polar_position.elevation),
                "lfe": bool(ch.is_lfe),
                "allocentric": None if pos is None else [f(c) for c in pos],
            })
        cases = [{"position": [f(c) for c in p], "gains": cartesian_gains(gc, *p)}
                 for p in allocentric_positions(layout, rng)]
        layouts.append({"name": name, "channels": channels, "cases": cases})

    stereo_layout = bs2051.get_layout("0+2+0")
    gc = GainCalc(stereo_layout)
    directions = [(float(az), 0.0) for az in range(-175, 181, 5)]
    directions += [(float(az), float(el)) for el in (-40, 25, 60) for az in range(-150, 181, 30)]
    directions += [(0.0, 90.0), (0.0, -90.0), (110.0, 0.0), (-110.0, 0.0), (30.0, 0.0), (-30.0, 0.0)]
    while len(directions) < 120:
        directions.append((round(rng.uniform(-180, 180), 4), round(rng.uniform(-90, 90), 4)))
    stereo = {
        "channels": stereo_layout.channel_names,
        "cases": [{"azimuth": az, "elevation": el, "gains": polar_gains(gc, az, el)}
                  for az, el in directions],
    }

    polar_points = [(float(az), float(el), 1.0) for az in (-180, -110, -30, 0, 30, 110, 180)
                    for el in (0, 30)]
    polar_points += [(0.0, 90.0, 1.0), (45.0, -90.0, 0.5)]
    while len(polar_points) < 100:
        polar_points.append((round(rng.uniform(-180, 180), 4), round(rng.uniform(-90, 90), 4),
                             round(rng.uniform(0.1, 1.5), 4)))
    cart_points = [(0.0, 0.0, 0.0), (0.0, 0.0, 0.7), (0.0, 0.0, -1.0), (0.0, -1.0, 0.0),
                   (1.0, 1.0, 1.0), (-1.0, -1.0, -1.0), (-1.0, 0.414214, 0.0), (0.3, 0.0, 0.0)]
    while len(cart_points) < 100:
        cart_points.append(tuple(round(rng.uniform(-1, 1), 6) for _ in range(3)))
    conversion = {
        "polar_to_cart": [{"polar": list(p), "cart": [f(c) for c in point_polar_to_cart(*p)]}
                          for p in polar_points],
        "cart_to_polar": [{"cart": list(p), "polar": [f(c) for c in point_cart_to_polar(*p)]}
                          for p in cart_points],
    }

    data = {
        "generator": "tools/gen_bs2127_point_reference.py",
        "ear_version": metadata.version("ear"),
        "allocentric": layouts,
        "stereo": stereo,
        "conversion": conversion,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    n = sum(len(l["cases"]) for l in layouts)
    print(f"wrote {out}: {len(layouts)} layouts, {n} allocentric cases, "
          f"{len(stereo['cases'])} stereo directions, "
          f"{len(polar_points)} + {len(cart_points)} conversions")


if __name__ == "__main__":
    main()
