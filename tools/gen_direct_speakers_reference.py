#!/usr/bin/env python3
"""Reference gains for BS.2127's DirectSpeakers rendering, from the EBU ADM Renderer.

Run from the repository root with the ear 2.1.0 venv:

    /work/venv-ear/bin/python tools/gen_direct_speakers_reference.py

(any venv with ``pip install ear==2.1.0`` works). It writes
``tests/data/direct_speakers_reference.json``, read by ``tests/direct_speakers.rs``;
``cargo test`` never runs Python.

The script drives ear's ``DirectSpeakersPanner`` (``ear/core/direct_speakers/panner.py``)
directly, one audioBlockFormat at a time, on these BS.2051 layouts: 0+2+0, 0+5+0, 2+5+0,
4+5+0, 0+7+0, 4+7+0, 9+10+3 (built into mixstage) and 3+7+0, 4+9+0, 4+5+1 (built by the
Rust test from the channel list written here). Cases:

* every channel of every DirectSpeakers common-definition pack of ear's BS.2094 file, in
  that pack (the mapping rules apply to the packs BS.2127 knows, the others fall through
  to labels, bounds and panning);
* the same channels in a pack that is not a common definition (no mapping rules), and in
  a common pack nested inside a user pack (the innermost pack counts);
* labels: plain, URN (versions 0 and 1), several labels, unknown labels, LFE names with and
  without a frequency element, an LFE frequency on a non-LFE label;
* positions with bounds holding one speaker, two equally near speakers, none, a pole,
  azimuth ranges across 180 degrees, distance bounds;
* Cartesian positions (allocentric), with and without bounds;
* Dolby's ``RC_`` bed labels: ear does not know them, so ear is given the BS.2051 label
  mixstage reads them as (``DOLBY`` below) and the JSON keeps the Dolby label.

Gains are written per output channel label, zeros omitted. Floats use Python's
shortest round-tripping repr, so the file is deterministic.
"""

import json
import math
import sys
import warnings
from importlib import metadata
from pathlib import Path

warnings.filterwarnings("ignore")

from ear.core import bs2051  # noqa: E402
from ear.core.direct_speakers.panner import DirectSpeakersPanner, itu_packs  # noqa: E402
from ear.core.metadata_input import DirectSpeakersTypeMetadata, ExtraData  # noqa: E402
from ear.fileio.adm.adm import ADM  # noqa: E402
from ear.fileio.adm.common_definitions import load_common_definitions  # noqa: E402
from ear.fileio.adm.elements import (  # noqa: E402
    AudioBlockFormatDirectSpeakers,
    AudioPackFormat,
    BoundCoordinate,
    DirectSpeakerCartesianPosition,
    DirectSpeakerPolarPosition,
    Frequency,
    TypeDefinition,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "tests" / "data" / "direct_speakers_reference.json"

LAYOUTS = ["0+2+0", "0+5+0", "2+5+0", "4+5+0", "0+7+0", "4+7+0", "9+10+3", "3+7+0", "4+9+0", "4+5+1"]

# Dolby Atmos bed labels as mixstage reads them (src/panner/direct_speakers.rs).
DOLBY = {
    "RC_L": "M+030", "RC_R": "M-030", "RC_C": "M+000", "RC_LFE": "LFE1",
    "RC_Ls": "M+110", "RC_Rs": "M-110", "RC_Lss": "M+090", "RC_Rss": "M-090",
    "RC_Lrs": "M+135", "RC_Rrs": "M-135", "RC_Lts": "U+090", "RC_Rts": "U-090",
}
# Dolby's room-centric bed positions (the Dolby Atmos Master ADM profile).
DOLBY_POS = {
    "RC_L": (-1, 1, 0), "RC_R": (1, 1, 0), "RC_C": (0, 1, 0), "RC_LFE": (-1, 1, -1),
    "RC_Ls": (-1, -1, 0), "RC_Rs": (1, -1, 0), "RC_Lss": (-1, 0, 0), "RC_Rss": (1, 0, 0),
    "RC_Lrs": (-1, -1, 0), "RC_Rrs": (1, -1, 0), "RC_Lts": (-1, 0, 1), "RC_Rts": (1, 0, 1),
}

adm = ADM()
load_common_definitions(adm)


def bound(value, rng):
    if rng is None:
        return BoundCoordinate(float(value))
    return BoundCoordinate(float(value), min=float(rng[0]), max=float(rng[1]))


def _without_none(d):
    return {k: v for k, v in d.items() if v is not None}


def polar(az, el, d=1.0, az_range=None, el_range=None, d_range=None):
    return _without_none({"kind": "polar", "azimuth": az, "elevation": el, "distance": d,
                          "azimuth_range": az_range, "elevation_range": el_range,
                          "distance_range": d_range})


def cartesian(x, y, z, x_range=None, y_range=None, z_range=None):
    return _without_none({"kind": "cartesian", "x": x, "y": y, "z": z,
                          "x_range": x_range, "y_range": y_range, "z_range": z_range})


def locked(p, horizontal=None, vertical=None):
    """`p` with a screenEdgeLock (left/right, top/bottom)."""
    return dict(p, screen_edge_lock=_without_none({"horizontal": horizontal, "vertical": vertical}))


def ear_position(p):
    from ear.fileio.adm.elements import ScreenEdgeLock
    lock = ScreenEdgeLock(**p.get("screen_edge_lock", {}))
    if p["kind"] == "polar":
        return DirectSpeakerPolarPosition(
            bounded_azimuth=bound(p["azimuth"], p.get("azimuth_range")),
            bounded_elevation=bound(p["elevation"], p.get("elevation_range")),
            bounded_distance=bound(p["distance"], p.get("distance_range")),
            screenEdgeLock=lock,
        )
    return DirectSpeakerCartesianPosition(
        bounded_X=bound(p["x"], p.get("x_range")),
        bounded_Y=bound(p["y"], p.get("y_range")),
        bounded_Z=bound(p["z"], p.get("z_range")),
        screenEdgeLock=lock,
    )


def user_pack(pack_id):
    return AudioPackFormat(id=pack_id, audioPackFormatName="user pack", type=TypeDefinition.DirectSpeakers)


def pack_object(pack_id):
    """A common-definition pack from ear's BS.2094 file, or a user pack."""
    try:
        return adm[pack_id]
    except KeyError:
        return user_pack(pack_id)


def run(panner, labels, position, low_pass=None, high_pass=None, packs=()):
    """ear's gains (per channel label, zeros left out) and its LFE decision."""
    ear_labels = [DOLBY.get(label, label) for label in labels]
    tm = DirectSpeakersTypeMetadata(
        block_format=AudioBlockFormatDirectSpeakers(position=ear_position(position), speakerLabel=ear_labels),
        audioPackFormats=[pack_object(p) for p in packs] if packs else None,
        extra_data=ExtraData(channel_frequency=Frequency(lowPass=low_pass, highPass=high_pass)),
    )
    lfe = bool(panner.is_lfe_channel(tm))
    handle = getattr(panner, "_handle_without_gain", panner.handle)
    pv = handle(tm)
    gains = {name: float(g) for name, g in zip(panner.channel_names, pv) if abs(g) > 1e-15}
    return lfe, gains


def case(panner, group, labels, position, low_pass=None, high_pass=None, packs=()):
    lfe, gains = run(panner, labels, position, low_pass, high_pass, packs)
    return _without_none({
        "group": group,
        "labels": list(labels),
        "position": {k: v for k, v in position.items() if k != "screen_edge_lock"},
        "screen_edge_lock": position.get("screen_edge_lock"),
        "low_pass": low_pass,
        "high_pass": high_pass,
        "packs": [p.upper() for p in packs],
        "lfe": lfe,
        "gains": gains,
    })


def common_pack_channels():
    """(pack ID, channel format) for every DirectSpeakers common-definition pack."""
    out = []
    for pack in adm.audioPackFormats:
        if pack.type != TypeDefinition.DirectSpeakers:
            continue
        for acf in pack.audioChannelFormats:
            out.append((pack.id, acf))
    return out


def block_position(acf):
    pos = acf.audioBlockFormats[0].position
    return polar(pos.azimuth, pos.elevation, pos.distance)


def cases_for(layout_name, panner):
    layout = bs2051.get_layout(layout_name)
    cases = []

    # 1. Every channel of every common-definition pack, as it is written in BS.2094.
    for pack_id, acf in common_pack_channels():
        bf = acf.audioBlockFormats[0]
        cases.append(case(panner, "common:" + pack_id, bf.speakerLabel, block_position(acf),
                          acf.frequency.lowPass, acf.frequency.highPass, [pack_id]))
    # ... in a user pack (no mapping rules), and nested in a user pack (innermost counts).
    for pack_id, acf in common_pack_channels():
        if pack_id not in ("AP_00010003", "AP_00010009"):
            continue
        bf = acf.audioBlockFormats[0]
        cases.append(case(panner, "user-pack", bf.speakerLabel, block_position(acf),
                          acf.frequency.lowPass, acf.frequency.highPass, ["AP_00011001"]))
        cases.append(case(panner, "nested-pack", bf.speakerLabel, block_position(acf),
                          acf.frequency.lowPass, acf.frequency.highPass, ["AP_00011002", pack_id]))

    # 2. Labels.
    for ch in layout.channels:
        pos = polar(ch.polar_position.azimuth, ch.polar_position.elevation)
        for label in (ch.name, "urn:itu:bs:2051:0:speaker:" + ch.name, "urn:itu:bs:2051:1:speaker:" + ch.name):
            cases.append(case(panner, "label", [label], pos, 120.0 if ch.is_lfe else None))
    cases.append(case(panner, "label", ["B+000", "U-045", "M+030"], polar(0.0, 0.0)))
    cases.append(case(panner, "label", ["X+999", "urn:itu:bs:2051:0:speaker:M-030"], polar(0.0, 0.0)))
    cases.append(case(panner, "label", ["M+SC", "M+030"], polar(15.0, 0.0)))
    for label in ("LFE", "LFE1", "LFE2", "LFEL", "LFER", "urn:itu:bs:2051:0:speaker:LFE", "urn:itu:bs:2051:0:speaker:LFER"):
        cases.append(case(panner, "lfe-label", [label], polar(0.0, -30.0)))
        cases.append(case(panner, "lfe-label+freq", [label], polar(0.0, -30.0), 120.0))
    cases.append(case(panner, "lfe-freq", [], polar(0.0, -30.0), 120.0))
    cases.append(case(panner, "lfe-freq", [], polar(-45.0, -30.0, 1.0, (-90.0, -30.0), (-40.0, -20.0)), 200.0))
    cases.append(case(panner, "lfe-freq", ["M+000"], polar(0.0, 0.0), 80.0))
    cases.append(case(panner, "not-lfe-freq", ["Sub"], polar(0.0, -30.0), 250.0))
    cases.append(case(panner, "not-lfe-freq", ["Sub"], polar(0.0, -30.0), 120.0, 20.0))

    # 3. Unknown labels: panned at the position, or placed by the bounds.
    for az, el in [(0, 0), (15, 0), (30, 0), (60, 0), (100, 0), (110, 0), (150, 0), (180, 0),
                   (-75, 0), (-120, 0), (45, 30), (-110, 30), (0, 90), (135, 45), (20, -30), (0, -60)]:
        cases.append(case(panner, "unknown", ["Foo"], polar(float(az), float(el))))
    cases.append(case(panner, "unknown", [], polar(70.0, 10.0)))
    bounded = [
        polar(100.0, 0.0, 1.0, (90.0, 120.0)),          # M+110 on 5.x, M+090 or none elsewhere
        polar(100.0, 0.0, 1.0, (80.0, 140.0)),          # M+090 nearer than M+135
        polar(0.0, 0.0, 1.0, (-30.0, 30.0)),            # centre nearest; on stereo a tie
        polar(0.0, 0.0, 1.0, (-31.0, 31.0), (-5.0, 5.0)),
        polar(180.0, 0.0, 1.0, (120.0, -120.0)),        # rear pair: a tie, or M+180
        polar(180.0, 0.0, 1.0, (100.0, -100.0)),
        polar(-170.0, 0.0, 1.0, (170.0, -160.0)),       # across 180
        polar(60.0, 0.0, 1.0, (55.0, 65.0)),            # M+060 or none
        polar(45.0, 80.0, 1.0, (40.0, 50.0), (70.0, 90.0)),  # a pole matches any azimuth
        polar(120.0, 30.0, 1.0, (100.0, 140.0), (20.0, 40.0)),
        polar(-40.0, 30.0, 1.0, (-50.0, -25.0), (25.0, 50.0)),
        polar(30.0, 0.0, 0.5),                          # distance 0.5: no speaker there
        polar(30.0, 0.0, 0.5, None, None, (0.4, 1.2)),
        polar(25.0, 0.0, 1.0, (20.0, 40.0), (-10.0, 10.0), (0.9, 1.1)),
        polar(90.0, 0.0, 1.0, (-180.0, 180.0), (-90.0, 90.0)),  # everything: nearest wins
        polar(0.0, -30.0, 1.0, (-60.0, 60.0), (-45.0, -15.0)),  # lower layer
    ]
    for pos in bounded:
        cases.append(case(panner, "bounds", ["Foo"], pos))
    cases.append(case(panner, "bounds-lfe", ["Sub"], polar(-45.0, -30.0, 1.0, (-90.0, 0.0), (-45.0, -15.0)), 120.0))
    cases.append(case(panner, "bounds-lfe", ["Sub"], polar(45.0, -30.0, 1.0, (0.0, 90.0), (-45.0, -15.0)), 120.0))

    # 4. Cartesian positions (allocentric).
    for x, y, z in [(-1, 1, 0), (1, -1, 0), (-1, 0, 0), (0, -1, 0), (0, 1, 0), (-1, 1, 1), (0, 0, 1),
                    (0.5, 0.5, 0.0), (-0.3, -0.7, 0.4), (1, 0, 1), (0, 1, -1)]:
        cases.append(case(panner, "cartesian", ["Foo"], cartesian(float(x), float(y), float(z))))
    for pos in [
        cartesian(-1.0, -0.5, 0.0, None, (-1.0, -0.2), None),   # M+110 / M+135 / M+090 region
        cartesian(0.0, -1.0, 0.0, (-1.0, 1.0), None, None),     # rear corners: a tie
        cartesian(-0.9, 0.9, 0.1, (-1.0, -0.8), (0.8, 1.0), (-0.1, 0.2)),
        cartesian(0.0, 0.0, 0.5, (-1.0, 1.0), (-1.0, 1.0), (0.5, 1.0)),
    ]:
        cases.append(case(panner, "cartesian-bounds", ["Foo"], pos))
    cases.append(case(panner, "cartesian-lfe", ["Sub"], cartesian(1.0, 1.0, -1.0), 120.0))
    cases.append(case(panner, "cartesian-lfe", ["Sub"], cartesian(0.0, 1.0, -1.0, (0.5, 1.0), None, None), 120.0))

    # 5. screenEdgeLock: the position (not its bounds) moves onto the default screen's edges
    # after the label step; a known label still wins.
    for pos in [
        locked(polar(0.0, 0.0), "left"),
        locked(polar(0.0, 0.0), "right", "top"),
        locked(polar(10.0, 5.0, 1.0, (0.0, 60.0), (-10.0, 40.0)), "left"),
        locked(polar(-20.0, 0.0, 1.0, (-60.0, 0.0)), "right", "bottom"),
        locked(polar(100.0, 20.0), None, "top"),
        locked(cartesian(0.0, 1.0, 0.0), "left"),
        locked(cartesian(0.2, 1.0, 0.3, (-1.0, 1.0), (0.5, 1.0), (-1.0, 1.0)), "right", "top"),
    ]:
        cases.append(case(panner, "screen-edge-lock", ["Foo"], pos))
    cases.append(case(panner, "screen-edge-lock", ["M+000"], locked(polar(0.0, 0.0), "left")))

    # 6. Dolby beds (labels given to ear as their BS.2051 equivalents).
    for label, (x, y, z) in DOLBY_POS.items():
        cases.append(case(panner, "dolby", [label], cartesian(float(x), float(y), float(z)),
                          120.0 if label == "RC_LFE" else None))
    return cases


def layout_json(name):
    layout = bs2051.get_layout(name)
    from ear.core import allocentric

    allo = allocentric.positions_for_layout(layout)
    return {
        "name": name,
        "channels": [
            {
                "label": ch.name,
                "azimuth": ch.polar_nominal_position.azimuth,
                "elevation": ch.polar_nominal_position.elevation,
                "lfe": bool(ch.is_lfe),
                "allocentric": [float(v) for v in allo[i]],
            }
            for i, ch in enumerate(layout.channels)
        ],
    }


def dump(doc):
    """JSON with one case (or channel) per line: compact, yet readable in a diff."""
    def line(v):
        return json.dumps(v, separators=(",", ":"))

    parts = ['{"ear_version":%s,"note":%s,"itu_packs":%s,"layouts":[' % (
        line(doc["ear_version"]), line(doc["note"]), line(doc["itu_packs"]))]
    for k, layout in enumerate(doc["layouts"]):
        parts.append('{"name":%s,"channels":[' % line(layout["name"]))
        parts.append(",\n".join(line(c) for c in layout["channels"]))
        parts.append('],"cases":[')
        parts.append(",\n".join(line(c) for c in layout["cases"]))
        parts.append("]}" + ("," if k + 1 < len(doc["layouts"]) else ""))
    parts.append("]}")
    return "\n".join(parts) + "\n"


def main():
    out_path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    layouts = []
    total = 0
    for name in LAYOUTS:
        if name not in bs2051.layout_names:
            print("skipping", name, "(not in this ear)")
            continue
        panner = DirectSpeakersPanner(bs2051.get_layout(name))
        entry = layout_json(name)
        entry["cases"] = cases_for(name, panner)
        total += len(entry["cases"])
        layouts.append(entry)
    doc = {
        "ear_version": metadata.version("ear"),
        "note": "Generated by tools/gen_direct_speakers_reference.py from ear's DirectSpeakersPanner; "
                "gains per output label, zeros omitted; Dolby RC_ labels were given to ear as the "
                "BS.2051 labels mixstage reads them as.",
        "itu_packs": {k.upper(): v for k, v in sorted(itu_packs.items())},
        "layouts": layouts,
    }
    out_path.write_text(dump(doc))
    print("wrote", out_path, "with", total, "cases on", len(layouts), "layouts")


if __name__ == "__main__":
    main()
