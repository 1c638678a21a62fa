#!/usr/bin/env python3
"""Generate reference point-source (VBAP-style) gains from the EBU ADM Renderer.

The EBU ADM Renderer (PyPI package ``ear``) is the reference implementation of
ITU-R BS.2127. This script asks it for the point-source panning gains of a set
of BS.2051 loudspeaker layouts at a fixed, deterministic set of source
directions, and writes them to ``tests/data/ear_reference.json`` so that the
Rust test-suite can compare mixstage's panner against ear without needing
Python at test time.

Usage (from the repository root)::

    python3 -m venv /root/venvs/ear          # any venv location works
    /root/venvs/ear/bin/pip install ear      # ear 2.1.0 pins attrs<22, numpy~=1.14
    /root/venvs/ear/bin/python tools/gen_ear_reference.py

Optionally pass an output path as the first argument.

Conventions used throughout (the ADM / ear conventions):

* Directions are ADM polar: ``az`` in degrees, positive = anticlockwise seen
  from above, i.e. towards the LEFT (M+030 is front-left); ``el`` in degrees,
  positive = up. Distance is always 1.
* Loudspeakers sit at their BS.2051 nominal positions (``get_layout`` sets the
  real positions equal to the nominal ones).
* Gains are linear amplitude gains, one per NON-LFE channel, in ear's channel
  order with LFE channels removed (listed per layout as ``gain_channels``).

The output is deterministic: the direction lists are fixed, and floats are
written with Python's shortest round-tripping ``repr`` (full double precision).
"""

import json
import math
import sys
import warnings
from importlib import metadata
from pathlib import Path

# attrs 21.x (pinned by ear) emits a harmless RuntimeWarning on Python 3.11
# about code-object introspection; ear does not use bare super() in slotted
# classes, so it does not affect results. Silence it to keep output clean.
warnings.filterwarnings("ignore", category=RuntimeWarning, module="attr")
# ear's bs2051 module imports pkg_resources, which warns about deprecation on
# newer setuptools; also harmless.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=UserWarning, module="pkg_resources")

from ear.common import cart  # ADM polar (az, el, dist) -> ADM Cartesian
from ear.core import bs2051, point_source

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "tests" / "data" / "ear_reference.json"

# Layouts requested, in ear's naming. Any that the installed ear does not know
# about are skipped (with a message), so the script still runs on other
# versions; ear 2.1.0 has all of them.
LAYOUT_NAMES = ["0+2+0", "0+5+0", "2+5+0", "4+5+0", "0+7+0", "4+7+0", "4+9+0", "9+10+3"]


def clean(x):
    """Convert a numpy scalar to a plain Python float.

    ``+ 0.0`` turns a negative zero into a positive zero so that the JSON
    never contains ``-0.0`` (which would be a spurious difference).
    """
    return float(x) + 0.0


def ear_level_directions():
    """Horizontal plane: azimuth every 5 degrees from -175 to 180, el 0."""
    return [(float(az), 0.0) for az in range(-175, 181, 5)]


def near_layer_directions():
    """Slightly above/below the horizontal plane: azimuth every 15 degrees
    (-165..180) at elevations +10, +20, -10, -20."""
    return [(float(az), float(el))
            for el in (10, 20, -10, -20)
            for az in range(-165, 181, 15)]


def grid_directions():
    """Coarse sphere grid: azimuth every 30 degrees (-150..180) for each
    elevation in (-60, -30, 0, 30, 60, 90, -90).

    The poles are deliberately sampled at every azimuth too: the Cartesian
    positions differ only by ~1e-17 there, so the gains should be (almost)
    identical, which is itself a useful robustness check.
    """
    return [(float(az), float(el))
            for el in (-60, -30, 0, 30, 60, 90, -90)
            for az in range(-150, 181, 30)]


def speaker_directions(layout_no_lfe):
    """Every non-LFE loudspeaker's nominal direction, in channel order."""
    return [(float(ch.polar_nominal_position.azimuth),
             float(ch.polar_nominal_position.elevation))
            for ch in layout_no_lfe.channels]


def layout_entry(name):
    """Build the JSON object for one layout."""
    layout = bs2051.get_layout(name)
    # The point-source panner must be given a layout without LFE channels
    # (point_source.configure asserts this). Its output order is the order of
    # layout.without_lfe.channels.
    layout_no_lfe = layout.without_lfe
    panner = point_source.configure(layout_no_lfe)
    n_out = len(layout_no_lfe.channels)

    channels = [{
        "label": ch.name,
        "azimuth": clean(ch.polar_nominal_position.azimuth),
        "elevation": clean(ch.polar_nominal_position.elevation),
        "lfe": bool(ch.is_lfe),
    } for ch in layout.channels]

    cases = []
    direction_sets = [
        ("speaker", speaker_directions(layout_no_lfe)),
        ("ear_level", ear_level_directions()),
        ("near_layer", near_layer_directions()),
        ("grid", grid_directions()),
    ]
    for kind, directions in direction_sets:
        for az, el in directions:
            # ear's panners take a Cartesian unit vector in ADM axes
            # (X = right, Y = front, Z = up).
            position = cart(az, el, 1.0)
            gains = panner.handle(position)
            if gains is None:
                raise RuntimeError(f"ear found no region for {name} az={az} el={el}")
            if len(gains) != n_out or not all(math.isfinite(g) for g in gains):
                raise RuntimeError(f"bad gains for {name} az={az} el={el}: {gains!r}")
            cases.append({
                "az": az,
                "el": el,
                "kind": kind,
                "gains": [clean(g) for g in gains],
            })

    return {
        "name": name,
        "channels": channels,
        "gain_channels": [ch.name for ch in layout_no_lfe.channels],
        "cases": cases,
    }


def summarise(doc):
    """Print a short sanity summary to stderr: per layout, number of cases and
    the range of the sum of squared gains (1.0 means power-normalised)."""
    for lay in doc["layouts"]:
        sums = [sum(g * g for g in c["gains"]) for c in lay["cases"]]
        print(f"{lay['name']:>7}: {len(lay['cases']):4d} cases, "
              f"sum(g^2) in [{min(sums):.12f}, {max(sums):.12f}]",
              file=sys.stderr)


def main(argv):
    out_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT

    layouts = []
    for name in LAYOUT_NAMES:
        if name not in bs2051.layout_names:
            print(f"skipping {name}: not in this ear version's BS.2051 data",
                  file=sys.stderr)
            continue
        layouts.append(layout_entry(name))

    doc = {
        "generated_by": "tools/gen_ear_reference.py",
        "ear_version": metadata.version("ear"),
        "conventions": (
            "Directions are ADM polar degrees: az positive to the left "
            "(anticlockwise from above), el positive up. Loudspeakers at "
            "BS.2051 nominal positions. gains[i] is the linear amplitude gain "
            "for gain_channels[i] (non-LFE channels in ear order), from "
            "ear.core.point_source.configure(layout.without_lfe).handle()."
        ),
        "layouts": layouts,
    }

    out_path.parent.mkdir(parents=True, exist_ok=True)
    # json.dump writes floats with repr(), i.e. the shortest string that
    # round-trips to the same double: full precision, deterministic.
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")

    summarise(doc)
    print(f"wrote {out_path} ({out_path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
