#!/usr/bin/env python3
"""Builds the ADM BWF test inputs in tests/data/adm/ and their EBU ADM Renderer references.

Run from the repository root with the venv that has ear 2.1.0 (ITU-R BS.2127 reference):

    /work/venv-ear/bin/python tools/gen_adm_reference.py

(`python -m venv V && V/bin/pip install ear==2.1.0` makes such a venv; `ear-render` must sit
next to the interpreter.)  The script is deterministic: running it again rewrites the same bytes.

What it writes (see tests/data/adm/README.md for the details of every case):
  tests/data/adm/*.wav          synthetic ADM BWF inputs, 48 kHz 24-bit, built with
                                ear.fileio.adm.builder.ADMBuilder (+ XML edits for BS.2076-2 syntax)
  tests/data/adm/real/*.wav     ADM BWF files written by other tools (Dolby, Pro Tools, EBU ADM
                                toolbox / libadm, BBC bmx, ear), see real/LICENSES.md
  tests/data/adm/real/dolby_dbmd/*.dbmd
                                the dbmd chunks of Dolby's seven sample masters (tests/adm_dbmd.rs)
  tests/data/adm/ref/**.wav     `ear-render -s LAYOUT` output (24-bit, BS.2051 channel order) for
                                the layouts 0+2+0, 0+5+0, 4+7+0 and 9+10+3
  tests/data/adm/manifest.json  one entry per (input, layout, programme) render

Files ear 2.1.0 refuses (BS.2076-2 syntax, or what Dolby / Pro Tools write) are rendered through an
equivalent BS.2076-1 file made in a temporary directory (pass --keep-equivalents DIR to keep them);
the reference is stored under the name of the ORIGINAL file, which is what a test renders.

Real files are taken from tests/data/adm/real/ when present, otherwise extracted from the local
snapshots of their repositories (REAL_SOURCES below); missing ones are skipped with a warning.
"""

import argparse
import copy
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
from decimal import Decimal, ROUND_DOWN
from fractions import Fraction as F

warnings.filterwarnings("ignore", module="attr")  # attrs' slotted-class warning on python 3.11

import attr
import lxml.etree
import numpy as np

from ear.fileio import openBw64
from ear.fileio.adm.builder import ADMBuilder
from ear.fileio.adm.chna import populate_chna_chunk
from ear.fileio.adm.elements import (
    AudioBlockFormatDirectSpeakers,
    AudioBlockFormatObjects,
    BoundCoordinate,
    DirectSpeakerPolarPosition,
    Frequency,
    JumpPosition,
    ObjectCartesianPosition,
    ObjectPolarPosition,
    TypeDefinition,
)
from ear.fileio.adm.generate_ids import generate_ids
from ear.fileio.adm.xml import adm_to_xml
from ear.fileio.bw64.chunks import AudioID, ChnaChunk, FormatInfoChunk

FS = 48000
LAYOUTS = ["0+2+0", "0+5+0", "4+7+0", "9+10+3"]
LAYOUT_CHANNELS = {"0+2+0": 2, "0+5+0": 6, "4+7+0": 12, "9+10+3": 24}
MOVING = F(2, 5)  # 0.4 s: files with moving metadata
STATIC = F(1, 5)  # 0.2 s: static beds (a longer file would only cost bytes)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "adm")
REF = os.path.join(OUT, "ref")
REAL = os.path.join(OUT, "real")
EAR_RENDER = os.path.join(os.path.dirname(sys.executable), "ear-render")
ADM_NS = "urn:ebu:metadata-schema:ebuCore_2017"

MANIFEST = []


# ----------------------------------------------------------------------------------------------
# signals


def signal(seed, n, kind=None, freq=None, level_db=-20.0):
    """Deterministic test signal: a sine (peak at level_db) or seeded white noise (RMS at
    level_db, clipped at 4 sigma). Every (seed) gives a different signal."""
    amp = 10 ** (level_db / 20)
    if kind is None:
        kind = "sine" if seed % 2 == 0 else "noise"
    t = np.arange(n) / FS
    if kind == "sine":
        f = freq if freq is not None else 180.0 + 71.3 * (seed % 29)
        return amp * np.sin(2 * np.pi * f * t + 0.1 * seed)
    rng = np.random.default_rng(1000 + seed)
    return np.clip(rng.standard_normal(n), -4, 4) * amp


def tracks(seed0, n, count, lfe=(), kinds=None, level_db=-20.0):
    cols = []
    for i in range(count):
        if i in lfe:
            cols.append(signal(seed0 + i, n, "sine", freq=45.0 + 10 * i, level_db=level_db))
        else:
            kind = kinds[i] if kinds is not None else None
            cols.append(signal(seed0 + i, n, kind, level_db=level_db))
    return np.stack(cols, axis=1)


# ----------------------------------------------------------------------------------------------
# ADM helpers


def polar(az, el=0.0, d=1.0):
    return ObjectPolarPosition(azimuth=float(az), elevation=float(el), distance=float(d))


def cart(x, y, z):
    return ObjectCartesianPosition(X=float(x), Y=float(y), Z=float(z))


def obj_block(rtime, duration, position, gain=1.0, jump=None, interp=None, cartesian=False, **extra):
    """An Objects block; `extra` passes BS.2127 parameters (width, height, depth,
    objectDivergence, channelLock) through to AudioBlockFormatObjects."""
    jp = JumpPosition(flag=bool(jump), interpolationLength=interp) if jump is not None else JumpPosition()
    return AudioBlockFormatObjects(
        rtime=rtime,
        duration=duration,
        position=position,
        cartesian=cartesian,
        gain=float(gain),
        jumpPosition=jp,
        **extra,
    )


def blocks_from(bounds, positions, **kw):
    """Contiguous blocks from boundary times [t0, t1, ...] and one position per block.
    kw values may be lists (one per block) or scalars."""
    out = []
    for i, pos in enumerate(positions):
        args = {k: (v[i] if isinstance(v, list) else v) for k, v in kw.items()}
        out.append(obj_block(bounds[i], bounds[i + 1] - bounds[i], pos, **args))
    return out


def ds_block(az, el, labels=(), az_bounds=None, el_bounds=None, d=1.0):
    def bc(v, b):
        return BoundCoordinate(float(v), *(map(float, b) if b else (None, None)))

    return AudioBlockFormatDirectSpeakers(
        position=DirectSpeakerPolarPosition(
            bounded_azimuth=bc(az, az_bounds),
            bounded_elevation=bc(el, el_bounds),
            bounded_distance=BoundCoordinate(float(d)),
        ),
        speakerLabel=list(labels),
    )


def new_builder(name, common_definitions=False):
    b = ADMBuilder()
    if common_definitions:
        # before anything else: loading them resolves references, which empties
        # audioProgramme.audioContents built by the builder
        b.load_common_definitions()
    b.create_programme(audioProgrammeName=name)
    b.create_content(audioContentName="content")
    return b


def axml_bytes(adm):
    return lxml.etree.tostring(adm_to_xml(adm), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_bwf(path, samples, axml, chna):
    """Write a 24-bit PCM BW64 with chna and axml before the data chunk (as make_test_bwf)."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim == 1:
        samples = samples[:, None]
    fmt = FormatInfoChunk(formatTag=1, channelCount=samples.shape[1], sampleRate=FS, bitsPerSample=24)
    with openBw64(path, "w", chna=chna, formatInfo=fmt, axml=axml) as f:
        f.write(samples)


def write_adm(path, adm, samples, xml_edit=None):
    """generate_ids, serialise, optionally edit the XML tree, write. Returns the axml bytes."""
    generate_ids(adm)
    chna = ChnaChunk()
    populate_chna_chunk(chna, adm)
    root = adm_xml(adm)
    if xml_edit is not None:
        xml_edit(root)
    axml = lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    write_bwf(path, samples, axml, chna)
    return axml, chna


def adm_xml(adm):
    """adm_to_xml, but with block gains at full precision (ear 2.1.0 writes 5 decimals)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # times that are no decimal are replaced by the callers
        root = adm_to_xml(adm)
    gains = {blk.id: blk.gain for cf in adm.audioChannelFormats if not cf.is_common_definition
             for blk in cf.audioBlockFormats if isinstance(blk, AudioBlockFormatObjects)}
    for el in root.iter(q("audioBlockFormat")):
        g = el.find(q("gain"))
        if g is not None:
            g.text = repr(gains[el.get("audioBlockFormatID")])
    return root


def q(tag):
    return "{%s}%s" % (ADM_NS, tag)


def find_id(root, tag, attr, value):
    for el in root.iter(q(tag)):
        if el.get(attr) == value:
            return el
    raise KeyError(value)


# ----------------------------------------------------------------------------------------------
# rendering


def rel(path):
    return os.path.relpath(path, OUT).replace(os.sep, "/")


def ref_name(input_path, layout, programme):
    stem = os.path.splitext(os.path.relpath(input_path, OUT))[0]
    parts = [stem] + ([programme] if programme else []) + [layout]
    return os.path.join(REF, "__".join(parts) + ".wav")


def read_wav(path):
    with openBw64(path) as r:
        return r.read(1 << 30), r.bitdepth, r.sampleRate


def render(original, layout, covers, render_input=None, programme=None, ear_options=(), workaround=None,
           importance=None):
    """ear-render render_input (default: original) to layout; store under original's name.
    With `importance`, ear's own importance filter is applied (tools/ear_render_importance.py)
    and the manifest asks mixstage for `--importance` too."""
    render_input = render_input or original
    out = ref_name(original, layout, programme)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = [EAR_RENDER, "--fail-on-overload", "-s", layout]
    if importance is not None:
        cmd = [sys.executable, os.path.join(os.path.dirname(__file__), "ear_render_importance.py"),
               "--importance", str(importance)] + cmd[1:]
    cmd += list(ear_options)
    if programme:
        cmd += ["--programme", programme]
    cmd += [render_input, out]
    env = dict(os.environ, PYTHONWARNINGS="ignore::RuntimeWarning")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError("ear-render failed for %s:\n%s" % (render_input, res.stderr))
    msgs = sorted({re.sub(r"AB_[0-9a-fA-F_]+", "AB_*", l) for l in res.stderr.splitlines()
                   if l.startswith("WARNING:ear")})
    data, bits, rate = read_wav(out)
    inp, _, _ = read_wav(original)
    assert data.shape[1] == LAYOUT_CHANNELS[layout], (out, data.shape)
    assert data.shape[0] == inp.shape[0], (out, data.shape, inp.shape)
    assert bits == 24 and rate == FS, (out, bits, rate)
    peak = float(np.max(np.abs(data)))
    assert 1e-3 < peak < 1.0, (out, peak)
    entry = {
        "input": rel(original),
        "layout": layout,
        "programme": programme,
        "reference": rel(out),
        "covers": covers,
        "ear_options": list(ear_options),
    }
    if importance is not None:
        entry["importance"] = importance
    if workaround:
        entry["ear_workaround"] = workaround
    if msgs:
        entry["ear_warnings"] = msgs
    MANIFEST.append(entry)
    print("  %-58s peak %6.1f dBFS %s" % (rel(out), 20 * math.log10(peak), "(%d ear warnings)" % len(msgs) if msgs else ""))


def render_all(original, covers, **kw):
    for layout in LAYOUTS:
        render(original, layout, covers, **kw)


# ----------------------------------------------------------------------------------------------
# synthetic cases


def case_polar_moving():
    n = int(MOVING * FS)
    b = new_builder("polar moving objects")
    t = [F(0), F(8, 100), F(20, 100), F(30, 100), F(40, 100)]
    b.create_item_objects(0, "sweep_left_to_back", block_formats=blocks_from(
        t, [polar(0), polar(45), polar(100, 20), polar(160)]))
    b.create_item_objects(1, "rise_to_top", block_formats=blocks_from(
        t, [polar(-30), polar(-30, 30), polar(-60, 60), polar(-90, 90)], gain=[1.0, 1.0, 0.5, 1.0]))
    b.create_item_objects(2, "rear_below_above", block_formats=blocks_from(
        t, [polar(180), polar(-135, -20), polar(-110, 0, 1.5), polar(135, 45)]))
    path = os.path.join(OUT, "objects_polar_moving.wav")
    write_adm(path, b.adm, tracks(10, n, 3))
    render_all(path, "Objects, polar, 3 objects x 4 contiguous blocks of unequal length (80/120/100/100 ms), "
                     "no jumpPosition (each block interpolates from the previous position over its whole "
                     "duration), elevation -20..90, a block gain 0.5, a distance 1.5 (beyond the speakers: still a point source; distances below 1 widen objects, the BS.2127 issue)")


def case_extent():
    """BS.2127 beyond a point: extent, distance, depth, divergence, channel lock, zone
    exclusion (polar), and divergence, channel lock and zone exclusion on a Cartesian object."""
    from ear.fileio.adm.elements import CartesianZone, ChannelLock, ObjectDivergence, PolarZone
    n = int(MOVING * FS)
    b = new_builder("extent divergence channel lock")
    t = [F(0), F(10, 100), F(20, 100), F(30, 100), F(40, 100)]
    b.create_item_objects(0, "growing_wide", block_formats=blocks_from(
        t, [polar(20), polar(60, 10), polar(120, 30), polar(-150, 0)],
        width=[0.0, 30.0, 120.0, 360.0], height=[0.0, 8.0, 45.0, 90.0]))
    b.create_item_objects(1, "near_and_deep", block_formats=blocks_from(
        t, [polar(-40, 0, 1.0), polar(-40, 0, 0.5), polar(-90, 20, 0.2), polar(170, -10, 0.0)],
        depth=[0.0, 0.5, 1.0, 0.3], width=[10.0, 0.0, 20.0, 5.0]))
    b.create_item_objects(2, "diverging", block_formats=blocks_from(
        t, [polar(0), polar(0), polar(30, 40), polar(-120, 0)],
        objectDivergence=[ObjectDivergence(value=0.0), ObjectDivergence(value=0.5, azimuthRange=30.0),
                          ObjectDivergence(value=1.0), ObjectDivergence(value=0.3, azimuthRange=90.0)]))
    b.create_item_objects(3, "locked", block_formats=blocks_from(
        t, [polar(10), polar(80, 10), polar(-100, 35), polar(150, 0)],
        channelLock=[ChannelLock(), ChannelLock(maxDistance=0.5), ChannelLock(maxDistance=0.05), ChannelLock()],
        width=[0.0, 0.0, 0.0, 40.0]))
    centre_out = [PolarZone(minAzimuth=-5.0, maxAzimuth=5.0, minElevation=-10.0, maxElevation=10.0)]
    tops_out = [PolarZone(minAzimuth=-180.0, maxAzimuth=180.0, minElevation=20.0, maxElevation=90.0)]
    b.create_item_objects(4, "zoned", block_formats=blocks_from(
        t, [polar(0), polar(10, 40), polar(90, 30), polar(-135, 0)],
        zoneExclusion=[centre_out, tops_out, centre_out + tops_out, []], width=[0.0, 20.0, 0.0, 0.0]))
    box = [CartesianZone(minX=-0.1, maxX=0.1, minY=0.9, maxY=1.1, minZ=-0.1, maxZ=0.1)]
    b.create_item_objects(5, "cartesian_zoned_locked", block_formats=blocks_from(
        t, [cart(0, 1, 0), cart(-0.8, 0.2, 0), cart(0.3, -0.6, 0.5), cart(0.9, 0.9, 0)],
        cartesian=True, zoneExclusion=[box, [], box, []],
        channelLock=[None, ChannelLock(), ChannelLock(maxDistance=0.3), None],
        objectDivergence=[None, None, None, ObjectDivergence(value=1.0, positionRange=0.5)]))
    b.create_item_objects(6, "cartesian_sized", block_formats=blocks_from(
        t, [cart(-1, 1, 0), cart(0, 0, 0), cart(0.5, -0.5, 1), cart(1, -1, 0)], cartesian=True,
        width=[0.0, 1.0, 0.3, 0.05], height=[0.0, 1.0, 0.0, 0.5], depth=[0.0, 0.5, 0.6, 0.0]))
    path = os.path.join(OUT, "objects_extent.wav")
    write_adm(path, b.adm, tracks(50, n, 7))
    render_all(path, "Objects, polar, BS.2127 beyond a point: width/height growing to 360 x 90 (ramped "
                     "block to block), distances 1 -> 0 (nearer is wider) with depth, objectDivergence with "
                     "and without azimuthRange, channelLock with and without maxDistance (one too small to lock), "
                     "zoneExclusion of the centre and of the heights; a Cartesian object with a zone, channel "
                     "lock and divergence with positionRange; a Cartesian object growing to the whole room")


def case_diffuse():
    """BS.2127's diffuse path: objects partly and wholly diffuse (decorrelation filters, the
    direct path delayed to match, no added latency), beside a DirectSpeakers bed."""
    n = int(MOVING * FS)
    b = new_builder("diffuse objects")
    t = [F(0), F(10, 100), F(20, 100), F(30, 100), F(40, 100)]
    b.create_item_objects(0, "half_diffuse_moving", block_formats=blocks_from(
        t, [polar(30), polar(90, 10), polar(150, 30), polar(-120, 0)], diffuse=0.5))
    b.create_item_objects(1, "diffuse_ramp", block_formats=blocks_from(
        t, [polar(-30), polar(-30), polar(0, 60), polar(0, 60)], diffuse=[0.0, 1.0, 0.3, 1.0]))
    b.create_item_objects(2, "diffuse_wide", block_formats=blocks_from(
        t, [polar(0), polar(45), polar(90), polar(135)], diffuse=0.8, width=[60.0, 60.0, 200.0, 360.0]))
    b.create_item_multichannel(TypeDefinition.DirectSpeakers, [3, 4], "bed_lr",
                               [[ds_block(30, 0, ["M+030"])], [ds_block(-30, 0, ["M-030"])]])
    path = os.path.join(OUT, "objects_diffuse.wav")
    write_adm(path, b.adm, tracks(70, n, 5))
    render_all(path, "Objects, diffuse: 0.5 on a moving object, 0 -> 1 -> 0.3 -> 1 block to block (ramped), "
                     "0.8 with width 60..360; a DirectSpeakers stereo bed beside them (alignment of the "
                     "delayed direct path)")


def case_importance():
    """BS.2127's importance filter at threshold 5: object importance (the lowest along the
    object path), pack importance, and block importance (a block below it plays at gain 0,
    ramped in and out like any gain change)."""
    n = int(MOVING * FS)
    b = new_builder("importance")
    t = [F(0), F(10, 100), F(20, 100), F(30, 100), F(40, 100)]
    a = b.create_item_objects(0, "kept_importance_8", block_formats=blocks_from(
        t, [polar(20), polar(60), polar(100, 20), polar(140)]))
    a.audio_object.importance = 8
    c = b.create_item_objects(1, "dropped_importance_3", block_formats=[
        AudioBlockFormatObjects(position=polar(-30, 0))])
    c.audio_object.importance = 3
    d = b.create_item_objects(2, "dropped_pack_importance_4", block_formats=[
        AudioBlockFormatObjects(position=polar(0, 30))])
    d.pack_format.importance = 4
    blocks = blocks_from(t, [polar(-60), polar(-90), polar(-120), polar(-150)])
    for blk, imp in zip(blocks, [10, 2, 7, 4]):
        blk.importance = imp
    b.create_item_objects(3, "block_importance_10_2_7_4", block_formats=blocks)
    group = b.create_object(audioObjectName="group_importance_4", importance=4)
    e = b.create_item_objects(4, "child_importance_9", parent=group, block_formats=[
        AudioBlockFormatObjects(position=polar(180, 0))])
    e.audio_object.importance = 9
    bed = b.create_item_multichannel(TypeDefinition.DirectSpeakers, [5, 6], "bed_lr_importance_7",
                                     [[ds_block(30, 0, ["M+030"])], [ds_block(-30, 0, ["M-030"])]],
                                     parent=b.adm.audioContents[0])
    bed.pack_format.importance = 7
    path = os.path.join(OUT, "objects_importance.wav")
    write_adm(path, b.adm, tracks(90, n, 7))
    render_all(path, "Importance filter (--importance 5; ear's filter_by_importance): an object of "
                     "importance 8 kept, 3 left out, a pack of importance 4 left out, a child of "
                     "importance 9 under a group of 4 left out (the lowest on the path), blocks of "
                     "importance 10, 2, 7, 4 (the second and last silent, ramped), a DirectSpeakers "
                     "bed whose pack has importance 7 kept", importance=5)


def case_screen():
    """BS.2127 screen handling in a render: a programme with its own audioProgrammeReferenceScreen
    (90 degrees wide, centred 10 left and 5 up) and objects with screenRef (polar and Cartesian,
    moving), an object locked to the screen's left edge, and an unlabelled DirectSpeakers channel
    locked to the right edge (the reproduction screen is BS.2127's default)."""
    from ear.common import PolarPosition, PolarScreen
    from ear.fileio.adm.elements import ScreenEdgeLock
    n = int(MOVING * FS)
    b = new_builder("screen")
    b.adm.audioProgrammes[0].referenceScreen = PolarScreen(
        aspectRatio=1.5, centrePosition=PolarPosition(azimuth=10.0, elevation=5.0, distance=1.0),
        widthAzimuth=90.0)
    t = [F(0), F(10, 100), F(20, 100), F(30, 100), F(40, 100)]
    b.create_item_objects(0, "screen_ref_polar", block_formats=blocks_from(
        t, [polar(-40, 0), polar(-10, 10), polar(20, 20), polar(50, -10)], screenRef=True))
    b.create_item_objects(1, "screen_ref_cartesian", block_formats=blocks_from(
        t, [cart(-0.8, 1, 0), cart(-0.2, 1, 0.3), cart(0.4, 0.9, 0.1), cart(0.9, 1, -0.2)],
        cartesian=True, screenRef=True))
    lock = ObjectPolarPosition(azimuth=0.0, elevation=0.0, distance=1.0,
                               screenEdgeLock=ScreenEdgeLock(horizontal="left"))
    b.create_item_objects(2, "locked_left", block_formats=[AudioBlockFormatObjects(position=lock)])
    ds = ds_block(0, 0, ["Foo"])
    ds.position = attr.evolve(ds.position, screenEdgeLock=ScreenEdgeLock(horizontal="right"))
    b.create_item_direct_speakers(3, "ds_locked_right", block_formats=[ds], parent=b.adm.audioContents[0])
    path = os.path.join(OUT, "objects_screen.wav")
    write_adm(path, b.adm, tracks(95, n, 4))
    render_all(path, "Screen: a programme reference screen (90 degrees wide, centred at 10, 5) with "
                     "screenRef objects (polar and Cartesian, moving) scaled onto the default "
                     "reproduction screen; an object locked to the screen's left edge; an unlabelled "
                     "DirectSpeakers channel locked to its right edge")


def case_jump_interpolation():
    n = int(MOVING * FS)
    b = new_builder("jumpPosition")
    t = [F(0), F(1, 10), F(2, 10), F(3, 10), F(4, 10)]
    b.create_item_objects(0, "jump_interp_25ms", block_formats=blocks_from(
        t, [polar(30), polar(-30), polar(110), polar(-110)], jump=1, interp=F(25, 1000)))
    b.create_item_objects(1, "jump_no_interpolationLength", block_formats=blocks_from(
        t, [polar(0), polar(90), polar(-90), polar(180)], jump=1))
    b.create_item_objects(2, "mixed", block_formats=blocks_from(
        t, [polar(0, 30), polar(60, 30), polar(120, 0), polar(-150, -10)],
        jump=[None, 1, 0, 1], interp=[None, F(105, 10000), None, F(0)], gain=[1.0, 0.25, 1.0, 0.7]))
    path = os.path.join(OUT, "objects_jump_interpolation.wav")
    write_adm(path, b.adm, tracks(20, n, 3))
    render_all(path, "Objects, polar, 100 ms blocks: jumpPosition=1 interpolationLength=25 ms (ramp shorter than "
                     "the block); jumpPosition=1 without interpolationLength (jump); mixed object: "
                     "jump with 10.5 ms ramp + gain 0.25, then jumpPosition=0 (whole-block ramp), then "
                     "jumpPosition=1 interpolationLength=0 with gain 0.7")


def case_timing():
    n = int(MOVING * FS)
    b = new_builder("object timing")
    content = b.adm.audioContents[0]
    # start/duration sit on the leaf audioObject (the one with the pack and tracks): ear 2.1.0
    # ignores them on a parent object and later ear versions reject them there.
    # audible 0.10-0.15 s, silent 0.15-0.20 s (gap between blocks), audible 0.20-0.35 s
    item = b.create_item_objects(0, "late_early_gap", parent=content, block_formats=[
        obj_block(F(0), F(5, 100), polar(30)),
        obj_block(F(10, 100), F(5, 100), polar(-30)),
        obj_block(F(15, 100), F(10, 100), polar(110)),
    ])
    item.audio_object.start, item.audio_object.duration = F(1, 10), F(25, 100)
    b.create_item_objects(1, "untimed_static", parent=content, block_formats=[
        AudioBlockFormatObjects(position=polar(-60, 15))])
    item = b.create_item_objects(2, "object_timed_block_untimed", parent=content, block_formats=[
        AudioBlockFormatObjects(position=polar(0, 30))])
    item.audio_object.start, item.audio_object.duration = F(5, 100), F(20, 100)
    path = os.path.join(OUT, "objects_timing.wav")
    write_adm(path, b.adm, tracks(30, n, 3))
    render_all(path, "Object timing: audioObject start=0.1 s duration=0.25 s (starts late, ends early; "
                     "rtime is relative to the object start) with a 50 ms gap (silence) between its "
                     "blocks (audible 0.10-0.15 s and 0.20-0.35 s); an object whose only block has no "
                     "rtime/duration (whole file); an object with start=0.05 s duration=0.2 s whose single "
                     "block has no rtime/duration (audible 0.05-0.25 s)")


def case_cartesian_moving():
    n = int(MOVING * FS)
    b = new_builder("cartesian moving objects")
    t = [F(0), F(1, 10), F(25, 100), F(3, 10), F(4, 10)]
    b.create_item_objects(0, "front_to_back_corner", block_formats=blocks_from(
        t, [cart(0, 1, 0), cart(-1, 1, 0), cart(-1, -1, 0), cart(1, -1, 1)], cartesian=True))
    b.create_item_objects(1, "side_up_down", block_formats=blocks_from(
        t, [cart(1, 0, 0.5), cart(0.5, 0.5, 1), cart(0, 0, 1), cart(0, -1, -0.5)], cartesian=True))
    b.create_item_objects(2, "jumps_inside_room", block_formats=blocks_from(
        t, [cart(0.3, 0.7, 0), cart(-0.6, 0.2, 0.3), cart(0.0, -0.4, 0.8), cart(0.9, 0.9, 0.1)],
        cartesian=True, jump=1, interp=F(2, 100), gain=[1.0, 0.8, 0.6, 1.0]))
    path = os.path.join(OUT, "objects_cartesian_moving.wav")
    write_adm(path, b.adm, tracks(40, n, 3))
    render_all(path, "Objects, cartesian=1 (X/Y/Z, allocentric panning): corner to corner, into the top "
                     "and below ear level (Z=-0.5), interior positions with jumpPosition=1 "
                     "interpolationLength=20 ms and block gains")


def case_directspeakers_custom():
    n = int(STATIC * FS)
    b = new_builder("custom DirectSpeakers")
    chans = [
        ("M+030 bounded", [ds_block(30, 0, ["M+030"], az_bounds=(25, 35))]),
        ("M-030", [ds_block(-30, 0, ["M-030"])]),
        ("M+000", [ds_block(0, 0, ["M+000"])]),
        ("LFE by frequency only", [ds_block(0, -30)]),
        ("M+110 at 120", [ds_block(120, 0, ["M+110"], az_bounds=(100, 130), el_bounds=(-5, 15))]),
        ("unknown label", [ds_block(60, 0, ["SurroundLeftWide"], az_bounds=(50, 70))]),
        ("U+045", [ds_block(45, 30, ["U+045"])]),
        ("urn label", [ds_block(-110, 0, ["urn:itu:bs:2051:0:speaker:M-110"])]),
    ]
    item = b.create_item_multichannel(TypeDefinition.DirectSpeakers, list(range(len(chans))),
                                      "custom_bed", [c[1] for c in chans])
    for (name, _), cf in zip(chans, item.channel_formats):
        cf.audioChannelFormatName = name
    item.channel_formats[3].frequency = Frequency(lowPass=120.0)
    path = os.path.join(OUT, "directspeakers_custom.wav")
    write_adm(path, b.adm, tracks(50, n, len(chans), lfe=(3,)))
    render_all(path, "DirectSpeakers, custom pack/channel formats: labels M+030 (azimuth bounds 25..35), "
                     "M-030, M+000; an LFE known only from frequency lowPass=120 (no speakerLabel); "
                     "M+110 placed at 120 deg with bounds az 100..130 el -5..15; unknown label "
                     "'SurroundLeftWide' at 60 deg (bounds 50..70: falls back to position/bounds); U+045 "
                     "(absent from 0+5+0); a URN label urn:itu:bs:2051:0:speaker:M-110")


def common_bed(pack_id, name, seed, path):
    n = int(STATIC * FS)
    b = new_builder(name, common_definitions=True)
    pack = b.adm[pack_id]
    obj = b.create_object(audioObjectName=name, audioPackFormats=[pack])
    lfe = []
    for i, cf in enumerate(pack.audioChannelFormats):
        tf = b.adm["AT_%s_01" % cf.id[3:]]
        b.create_track_uid(trackIndex=i + 1, audioTrackFormat=tf, audioPackFormat=pack)
        if cf.frequency.lowPass is not None:
            lfe.append(i)
    assert obj.audioTrackUIDs
    samples = tracks(seed, n, len(pack.audioChannelFormats), lfe=lfe, kinds=["sine"] * 24,
                     level_db=-20.0 if len(lfe) < 2 else -26.0)
    write_adm(path, b.adm, samples)
    return [cf.id for cf in pack.audioChannelFormats]


def case_common_beds():
    path = os.path.join(OUT, "bed_5_1_common_defs.wav")
    chans = common_bed("AP_00010003", "bed 5.1", 60, path)
    render_all(path, "DirectSpeakers 5.1 bed from BS.2094 common definitions only: pack AP_00010003, chna "
                     "AT_00010001_01..AT_00010006_01 (%s), no pack/channel formats in the axml" % " ".join(chans))
    path = os.path.join(OUT, "bed_22_2_common_defs.wav")
    chans = common_bed("AP_00010009", "bed 22.2", 70, path)
    render_all(path, "DirectSpeakers 22.2 (9+10+3) bed from BS.2094 common definitions only: pack AP_00010009, "
                     "24 tracks in the pack's channel order (%s); sines at -26 dBFS" % " ".join(chans))


HOA_LEN = F(1, 10)  # 0.1 s: HOA files (many channels; the matrix is static)


def acn_orders_degrees(order):
    acn = np.arange((order + 1) ** 2)
    n = np.floor(np.sqrt(acn)).astype(int)
    return [int(x) for x in n], [int(a - k * k - k) for a, k in zip(acn, n)]


def case_hoa():
    """HOA (scene-based) items: BS.2127's AllRAD decoder."""
    n = int(HOA_LEN * FS)
    # 1. Order 1 SN3D from the common definitions: pack AP_00040001, tracks AT_00040001_01..
    path = os.path.join(OUT, "hoa_order1_sn3d_common.wav")
    b = new_builder("hoa order 1 common", common_definitions=True)
    pack = b.adm["AP_00040001"]
    b.create_object(audioObjectName="ambience foa", audioPackFormats=[pack])
    for i, cf in enumerate(pack.audioChannelFormats):
        tf = b.adm["AT_%s_01" % cf.id[3:]]
        b.create_track_uid(trackIndex=i + 1, audioTrackFormat=tf, audioPackFormat=pack)
    write_adm(path, b.adm, tracks(300, n, 4, level_db=-22.0))
    render_all(path, "HOA order 1 SN3D, common-definition pack AP_00040001 (AC_00040001..4, ACN 0-3), "
                     "independent noise/sines on W, Y, Z, X")
    # 1b. Order 3 SN3D from the common definitions: AP_00040003 nests AP_00040002, which nests
    #     AP_00040001; the item holds the 16 channels of all three.
    path = os.path.join(OUT, "hoa_order3_sn3d_common_nested.wav")
    b = new_builder("hoa order 3 common nested", common_definitions=True)
    pack = b.adm["AP_00040003"]
    b.create_object(audioObjectName="ambience hoa3", audioPackFormats=[pack])
    chans = []

    def walk(p):
        for sub in p.audioPackFormats:
            walk(sub)
        for cf in p.audioChannelFormats:
            if cf not in chans:
                chans.append(cf)

    walk(pack)
    assert len(chans) == 16
    for i, cf in enumerate(chans):
        tf = b.adm["AT_%s_01" % cf.id[3:]]
        b.create_track_uid(trackIndex=i + 1, audioTrackFormat=tf, audioPackFormat=pack)
    write_adm(path, b.adm, tracks(310, n, 16, level_db=-30.0))
    render_all(path, "HOA order 3 SN3D, common-definition pack AP_00040003 (nesting AP_00040002 and AP_00040001), "
                     "16 tracks, the chna naming the root pack")
    # 2. Order 3 N3D, custom pack with the normalisation on the pack; channels in a shuffled
    #    (non-ACN) order.
    path = os.path.join(OUT, "hoa_order3_n3d_custom.wav")
    b = new_builder("hoa order 3 custom")
    orders, degrees = acn_orders_degrees(3)
    perm = [5, 0, 15, 3, 9, 1, 12, 7, 2, 14, 4, 10, 6, 13, 8, 11]
    item = b.create_item_hoa(track_indices=list(range(16)), orders=[orders[k] for k in perm],
                             degrees=[degrees[k] for k in perm], name="hoa3")
    item.pack_format.normalization = "N3D"
    write_adm(path, b.adm, tracks(320, n, 16, level_db=-30.0))
    render_all(path, "HOA order 3 N3D, custom pack (normalization on the audioPackFormat, none on the blocks), "
                     "16 channels in the ACN order %s" % perm)
    # 3. Order 2 FuMa with timing: the object starts at 20 ms and lasts 60 ms; its blocks start
    #    10 ms into it and last 40 ms.
    path = os.path.join(OUT, "hoa_order2_fuma_timed.wav")
    b = new_builder("hoa order 2 FuMa timed")
    orders, degrees = acn_orders_degrees(2)
    item = b.create_item_hoa(track_indices=list(range(9)), orders=orders, degrees=degrees,
                             name="hoa2 fuma", normalization="FuMa", rtime=F(1, 100),
                             duration=F(4, 100))
    item.audio_object.start = F(2, 100)
    item.audio_object.duration = F(6, 100)
    write_adm(path, b.adm, tracks(340, n, 9, level_db=-24.0))
    render_all(path, "HOA order 2 FuMa (normalization on the blocks), audioObject start 0.02 s duration "
                     "0.06 s, blocks rtime 0.01 s duration 0.04 s: sound from 0.03 to 0.07 s")


# BS.2076-2 features ear 2.1.0 (a BS.2076-1 reader) refuses: the file a test reads has them; ear
# renders an equivalent made from the same model.


def case_nested_gain_mute(eq_dir):
    n = int(MOVING * FS)
    # BS.2076-2 object gain / mute belong on leaf audioObjects (those with pack + tracks); later ear
    # versions reject them on an object that references other objects. Effective gain = object gain
    # * block gain, 0 when muted.
    spec = {"child_a": (0.5, False), "child_b": (0.7, False), "grandchild": (0.4, False),
            "child_muted": (1.0, True), "solo_gain": (1.5, False)}

    def model(fold):
        b = new_builder("nested objects, object gain and mute")
        content = b.adm.audioContents[0]

        def blocks(name, bl):
            if fold:
                g, mute = spec[name]
                for blk in bl:
                    blk.gain = 0.0 if mute else blk.gain * g
            return bl

        t = [F(0), F(2, 10), F(4, 10)]
        group = b.create_object(audioObjectName="group", parent=content)
        b.create_item_objects(0, "child_a", parent=group, block_formats=blocks(
            "child_a", blocks_from(t, [polar(20), polar(70, 20)])))
        b.create_item_objects(1, "child_b", parent=group, block_formats=blocks(
            "child_b", [AudioBlockFormatObjects(position=polar(-45, 0))]))
        sub = b.create_object(audioObjectName="subgroup", parent=group)
        b.create_item_objects(2, "grandchild", parent=sub, block_formats=blocks(
            "grandchild", blocks_from(t, [polar(150), polar(-150, 30)], gain=[0.9, 0.9])))
        b.create_item_objects(3, "child_muted", parent=group, block_formats=blocks(
            "child_muted", [AudioBlockFormatObjects(position=polar(90, 0))]))
        b.create_item_objects(4, "solo_gain", parent=content, block_formats=blocks(
            "solo_gain", [AudioBlockFormatObjects(position=polar(0, 45), gain=0.8)]))
        return b.adm

    def add_v2(root):
        afe = next(root.iter(q("audioFormatExtended")))
        afe.set("version", "ITU-R_BS.2076-2")
        for ao in root.iter(q("audioObject")):
            g, mute = spec.get(ao.get("audioObjectName"), (1.0, False))
            # BS.2076-2 audioObject sub-elements gain and mute, after the references
            if g != 1.0:
                el = lxml.etree.SubElement(ao, q("gain"))
                el.text = repr(g)
            if mute:
                el = lxml.etree.SubElement(ao, q("mute"))
                el.text = "1"

    samples = tracks(80, n, 5)
    path = os.path.join(OUT, "objects_nested_gain_mute.wav")
    write_adm(path, model(fold=False), samples, xml_edit=add_v2)
    eq = os.path.join(eq_dir, "objects_nested_gain_mute.ear.wav")
    write_adm(eq, model(fold=True), samples)
    render_all(path, "Nested audioObjects with BS.2076-2 object gain/mute: content -> group -> {child_a "
                     "(moving, object gain 0.5), child_b (gain 0.7), subgroup -> grandchild (object gain "
                     "0.4 x block gain 0.9), child_muted (mute=1: silent)}; top-level solo_gain (object "
                     "gain 1.5 x block gain 0.8). Gain/mute only on leaf objects", render_input=eq,
               workaround="ear 2.1.0 has no audioObject gain/mute: rendered an equivalent BS.2076-1 file "
                          "(same nesting, object gains folded into block gains, muted object's block gain 0)")


def case_two_programmes():
    n = int(MOVING * FS)
    b = ADMBuilder()
    b.load_common_definitions()
    p1 = b.create_programme(audioProgrammeName="main (English)")
    c_dlg_en = b.create_content(audioContentName="dialogue en", parent=p1)
    b.create_item_objects(0, "dialogue_en", parent=c_dlg_en, block_formats=[
        AudioBlockFormatObjects(position=polar(0, 0))])
    c_music = b.create_content(audioContentName="music", parent=p1)
    stereo = b.adm["AP_00010002"]
    music = b.create_object(audioObjectName="music_stereo", parent=c_music, audioPackFormats=[stereo])
    for i, cf in enumerate(stereo.audioChannelFormats):
        b.create_track_uid(trackIndex=2 + i, audioTrackFormat=b.adm["AT_%s_01" % cf.id[3:]],
                           audioPackFormat=stereo, parent=music)
    p2 = b.create_programme(audioProgrammeName="alternative (French, effects)")
    p2.audioContents.append(c_music)
    c_dlg_fr = b.create_content(audioContentName="dialogue fr", parent=p2)
    b.create_item_objects(3, "dialogue_fr", parent=c_dlg_fr, block_formats=blocks_from(
        [F(0), F(2, 10), F(4, 10)], [polar(0), polar(20, 10)]))
    c_fx = b.create_content(audioContentName="effects", parent=p2)
    b.create_item_objects(4, "fx_overhead", parent=c_fx, block_formats=blocks_from(
        [F(0), F(1, 10), F(4, 10)], [polar(-90, 60), polar(90, 60)]))
    path = os.path.join(OUT, "two_programmes.wav")
    write_adm(path, b.adm, tracks(90, n, 5))
    covers = ("Two audioProgrammes sharing the music content: APR_1001 = dialogue_en (object, track 1) + "
              "music_stereo (common-definition stereo AP_00010002, tracks 2-3); APR_1002 = music + "
              "dialogue_fr (track 4, moving) + fx_overhead (track 5, moving). ")
    render_all(path, covers + "Default selection (no --programme): ear takes the lowest ID, APR_1001")
    render_all(path, covers + "Rendered with --programme APR_1002", programme="APR_1002")


def truncated_decimal(t, digits=20):
    """Decimal time string for a Fraction, rounded DOWN so that ear's ceil(t * fs) still lands on
    the exact sample when t * fs is an integer."""
    d = (Decimal(t.numerator) / Decimal(t.denominator)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
    whole = int(d)
    frac = format(d - whole, "f").split(".")[1]
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return "%02d:%02d:%02d.%s" % (h, m, s, frac)


def decimal_difference(a, b):
    def secs(x):
        h, m, s_ = x.split(":")
        return (int(h) * 60 + int(m)) * 60 + Decimal(s_)

    d = secs(a) - secs(b)
    whole = int(d)
    h, rem = divmod(whole, 3600)
    m, s_ = divmod(rem, 60)
    return "%02d:%02d:%02d.%s" % (h, m, s_, format(d - whole, "f").split(".")[1])


def s_time(t):
    """BS.2076-2 fractional time hh:mm:ss.nnnnnSddddd for a time on the 48 kHz sample grid."""
    samples = t * FS
    assert samples.denominator == 1
    whole, frac = divmod(int(samples), FS)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return "%02d:%02d:%02d.%dS%d" % (h, m, s, frac, FS)


def exact_times(channel_format):
    out = {}
    for blk in channel_format.audioBlockFormats:
        out[(blk.id, "rtime")] = blk.rtime
        out[(blk.id, "duration")] = blk.duration
    return out


def case_bs2076_2_syntax(eq_dir):
    n = int(MOVING * FS)
    bounds = [F(0), F(4000, FS), F(9000, FS), F(12345, FS), F(n, FS)]  # not decimal at 48 kHz but 4000/FS
    block_db = [-6.0, -3.0, 0.0, -12.0]
    obj_db = -6.0

    def model():
        b = new_builder("BS.2076-2 syntax")
        a = b.create_item_objects(0, "s_times_db_gains_channel_ref", block_formats=blocks_from(
            bounds, [polar(30), polar(-30, 10), polar(110), polar(0, 60)],
            gain=[10 ** (g / 20) for g in block_db], jump=[None, 1, 1, 0],
            interp=[None, F(1, 100), F(240, FS), None]))
        c = b.create_item_objects(1, "object_gain_db_dual_ref_stream", block_formats=[
            AudioBlockFormatObjects(position=polar(-90, 0))])
        d = b.create_item_objects(2, "plain", block_formats=blocks_from(
            [F(0), F(2, 10), F(4, 10)], [polar(180), polar(135, 30)]))
        return b.adm, a, c

    samples = tracks(100, n, 3)
    # the BS.2076-1 equivalent: decimal times, linear gains, object gain folded into the blocks
    adm, a, c = model()
    for blk in c.channel_format.audioBlockFormats:
        blk.gain *= 10 ** (obj_db / 20)

    def decimal_times(root):
        for el in root.iter(q("audioBlockFormat")):
            for attr in ("rtime", "duration"):
                key = (el.get("audioBlockFormatID"), attr)
                if key in _exact_time:
                    start = _exact_time[(key[0], "rtime")]
                    if attr == "rtime":
                        el.set(attr, truncated_decimal(start))
                    else:  # end - start in decimal, so that the next block starts where this one ends
                        end = _exact_time[key] + start
                        el.set(attr, decimal_difference(truncated_decimal(end), truncated_decimal(start)))

    generate_ids(adm)
    _exact_time = exact_times(a.channel_format)
    eq = os.path.join(eq_dir, "bs2076_2_syntax.ear.wav")
    write_adm(eq, adm, samples, xml_edit=decimal_times)

    # the BS.2076-2 original
    adm, a, c = model()
    generate_ids(adm)
    ac_id = a.channel_format.id
    at_id = a.track_format.id
    as_id = a.stream_format.id
    ap_c = c.pack_format.id
    as_c = c.stream_format.id
    uid_a = a.track_uid.id
    exact = exact_times(a.channel_format)

    def to_v2(root):
        afe = next(root.iter(q("audioFormatExtended")))
        afe.set("version", "ITU-R_BS.2076-2")
        # S-form times, dB block gains
        gains = iter(block_db)
        for blk in find_id(root, "audioChannelFormat", "audioChannelFormatID", ac_id).iter(q("audioBlockFormat")):
            for attr in ("rtime", "duration"):
                blk.set(attr, s_time(exact[(blk.get("audioBlockFormatID"), attr)]))
            g = next(gains)
            gain_el = blk.find(q("gain"))
            if g == 0.0:
                if gain_el is not None:
                    blk.remove(gain_el)
            else:
                if gain_el is None:
                    gain_el = lxml.etree.SubElement(blk, q("gain"))
                gain_el.text = "%.1f" % g
                gain_el.set("gainUnit", "dB")
            jp = blk.find(q("jumpPosition"))
            if jp is not None and jp.get("interpolationLength") is not None:
                pass  # stays a decimal number of seconds in BS.2076-2
        # channel referenced directly from the audioTrackUID (no track/stream format)
        for tag, attr, ident in (("audioTrackFormat", "audioTrackFormatID", at_id),
                                 ("audioStreamFormat", "audioStreamFormatID", as_id)):
            el = find_id(root, tag, attr, ident)
            el.getparent().remove(el)
        atu = find_id(root, "audioTrackUID", "UID", uid_a)
        for ref in atu.findall(q("audioTrackFormatIDRef")):
            atu.remove(ref)
        cref = lxml.etree.Element(q("audioChannelFormatIDRef"))
        cref.text = ac_id
        atu.insert(0, cref)
        # Dolby / Pro Tools style stream: references both its channel and its pack
        sf = find_id(root, "audioStreamFormat", "audioStreamFormatID", as_c)
        pref = lxml.etree.SubElement(sf, q("audioPackFormatIDRef"))
        pref.text = ap_c
        # object gain in dB
        ao = [o for o in root.iter(q("audioObject")) if o.get("audioObjectName") == "object_gain_db_dual_ref_stream"][0]
        g = lxml.etree.SubElement(ao, q("gain"))
        g.text = "%.1f" % obj_db
        g.set("gainUnit", "dB")

    chna = ChnaChunk()
    populate_chna_chunk(chna, adm)
    chna.audioIDs = [AudioID(x.trackIndex, x.audioTrackUID,
                             (ac_id + "_00") if x.audioTrackUID == uid_a else x.audioTrackFormatIDRef,
                             x.audioPackFormatIDRef) for x in chna.audioIDs]
    root = adm_xml(adm)
    to_v2(root)
    path = os.path.join(OUT, "bs2076_2_syntax.wav")
    write_bwf(path, samples, lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True), chna)
    render_all(path, "BS.2076-2 syntax (version=\"ITU-R_BS.2076-2\"): block rtime/duration in the S form "
                     "(00:00:00.4000S48000; boundaries at samples 4000/9000/12345, not decimal seconds), block "
                     "gains with gainUnit=\"dB\" (-6/-3/0/-12), interpolationLength 10 ms and 5 ms; "
                     "that track's chna row is AC_00031001_00 and its audioTrackUID references the "
                     "audioChannelFormat directly (no audioTrackFormat/audioStreamFormat); a second object "
                     "with audioObject gain -6 dB whose audioStreamFormat references both its channel and "
                     "its pack (as Dolby / Pro Tools write)", render_input=eq,
               workaround="ear 2.1.0 refuses all of these: rendered an equivalent BS.2076-1 file (decimal "
                          "times rounded down at 20 digits so every block starts on the same sample, linear "
                          "gains with the object gain folded in, AT_/AS_ formats, single-reference streams)")


# ----------------------------------------------------------------------------------------------
# real files

REAL_SOURCES = {
    # name in real/: (mirror git dir, repository, commit, path in repository, licence)
    "Test_ADM_ProTools.wav": ("/work/.mirror/iluvcapra+wavinfo/repo", "iluvcapra/wavinfo",
                              "742c0b91fb094a0e0bdc33fff9b2bdbb84b0e7f5",
                              "tests/test_files/protools/Test_ADM_ProTools.wav", "MIT"),
    "dolby_sample_adm_file_0.wav": ("/work/.mirror/DolbyLaboratories+dbmd-atmos-parser/repo",
                                    "DolbyLaboratories/dbmd-atmos-parser",
                                    "ba906211938bdb30b7852e657cd1939f7e07903c",
                                    "sample_files/sample_adm_file_0.wav", "BSD-3-Clause"),
    "bmx_adm_1.wav": ("/work/.mirror/bbc+bmx/repo", "bbc/bmx", "278a9027580ea5f4a27d5d5040d5dc208c6ef538",
                      "test/wave_adm/adm_1.wav", "BSD-3-Clause"),
}
TOOLBOX = ("/work/.mirror/ebu+ebu-adm-toolbox/repo", "ebu/ebu-adm-toolbox",
           "580bf50ce11770bc69a5aab7b40284787d7790f3", "Apache-2.0")
TOOLBOX_FILES = {
    "channel_routing": "two objects, one 12.5 ms block each, track routing",
    "diffuse": "Object width/height 360 with diffuse 0 -> 1 -> 0.5 over very short blocks",
    "hoa_object_delay": "HOA (1st order, N3D) object with start/duration",
    "hoa_routing": "HOA track routing",
    "hoa_timing_on_object": "HOA with timing only on the audioObject",
    "interpolation_length": "jumpPosition interpolationLength 0.25 ms, then a jump without interpolationLength",
    "object_delay": "audioObject start 0.25 ms shifts the blocks",
    "silent_before_after": "single block 0.25-0.5 ms: silence before and after",
    "silent_before_after_ds": "DirectSpeakers block with timing: silence before and after",
    "timing_on_object": "untimed block inside an audioObject with start/duration",
    "zero_size": "blocks of zero duration between normal ones",
    "test_bwf": "ear's own test file: a jump, an elevated object, DirectSpeakers U-030 and M+045 (bounds) "
                "sharing track 3, an LFE1 with frequency lowPass 120",
}


LICENCE_FILES = [
    (REAL_SOURCES["Test_ADM_ProTools.wav"][0], "iluvcapra/wavinfo", REAL_SOURCES["Test_ADM_ProTools.wav"][2], "LICENSE"),
    (REAL_SOURCES["dolby_sample_adm_file_0.wav"][0], "DolbyLaboratories/dbmd-atmos-parser",
     REAL_SOURCES["dolby_sample_adm_file_0.wav"][2], "LICENSE"),
    (REAL_SOURCES["bmx_adm_1.wav"][0], "bbc/bmx", REAL_SOURCES["bmx_adm_1.wav"][2], "COPYING"),
    (TOOLBOX[0], "ebu/ebu-adm-toolbox", TOOLBOX[2], "LICENSE.txt"),
    ("/work/.mirror/ebu+ebu_adm_renderer/repo", "ebu/ebu_adm_renderer", "3de59579ec988474c85ef982b1f44e9a2685fa2b",
     "LICENSE"),
]


def git_show(git_dir, commit, path):
    if not os.path.isdir(git_dir):
        return None
    res = subprocess.run(["git", "--git-dir", git_dir, "show", "%s:%s" % (commit, path)], capture_output=True)
    return res.stdout if res.returncode == 0 else None


def int24_bytes(samples):
    v = np.clip(np.round(np.asarray(samples) * (1 << 23)), -(1 << 23), (1 << 23) - 1).astype("<i4")
    return v.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def riff_chunks(data):
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a RIFF/WAVE file"
    pos, out = 12, []
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append([cid, data[pos + 8:pos + 8 + size]])
        pos += 8 + size + (size & 1)
    return out


def riff_join(chunks):
    body = b"WAVE"
    for cid, payload in chunks:
        body += cid + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def real_bytes(name, src):
    dst = os.path.join(REAL, name)
    if os.path.exists(dst):
        with open(dst, "rb") as f:
            return f.read()
    data = git_show(src[0], src[2], src[3])
    if data is None:
        warnings.warn("real file %s: no copy in real/ and no snapshot at %s; skipped" % (name, src[0]))
    return data


def strip_stream_pack_refs(root):
    """Dolby/Pro Tools audioStreamFormats reference both an audioChannelFormat and an
    audioPackFormat; ear 2.1.0 refuses that. Keep the channel reference only."""
    removed = 0
    for sf in root.iter("{*}audioStreamFormat"):
        if sf.find("{*}audioChannelFormatIDRef") is not None:
            for ref in sf.findall("{*}audioPackFormatIDRef"):
                sf.remove(ref)
                removed += 1
    return removed


def mark_dolby_lfe(root):
    """Dolby's bed LFE is labelled RC_LFE (no frequency element), which ear does not recognise and
    would pan as a full-range channel at X=-1 Y=1 Z=-1. Mark it LFE the BS.2076-1 way."""
    n = 0
    for cf in root.iter("{*}audioChannelFormat"):
        labels = [e.text for e in cf.iter("{*}speakerLabel")]
        if "RC_LFE" in labels and cf.find("{*}frequency") is None:
            fr = lxml.etree.SubElement(cf, cf.tag.replace("audioChannelFormat", "frequency"))
            fr.set("typeDefinition", "lowPass")
            fr.text = "120"
            n += 1
    return n


def equivalent_from(data, edit):
    chunks = riff_chunks(data)
    axml = [c for c in chunks if c[0] == b"axml"][0]
    root = lxml.etree.fromstring(axml[1])
    notes = edit(root)
    axml[1] = lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return riff_join(chunks), notes


def real_cases(eq_dir):
    os.makedirs(REAL, exist_ok=True)
    licences = []

    # Pro Tools / Dolby Atmos Renderer master (iluvcapra/wavinfo test file). Its audio is digital
    # silence, so the data chunk is replaced by test signals; every other chunk is kept byte for byte
    name = "Test_ADM_ProTools.wav"
    src = REAL_SOURCES[name]
    stored = "Test_ADM_ProTools_testsignals.wav"
    path = os.path.join(REAL, stored)
    data = None
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
    else:
        full = git_show(src[0], src[2], src[3])
        if full is None:
            warnings.warn("real file %s unavailable; skipped" % name)
        else:
            chunks = riff_chunks(full)
            fmt = [c for c in chunks if c[0] == b"fmt "][0][1]
            channels, rate, bits = struct.unpack("<HI", fmt[2:8]) + struct.unpack("<H", fmt[14:16])
            assert (rate, bits) == (FS, 24)
            d = [c for c in chunks if c[0] == b"data"][0]
            frames = len(d[1]) // (3 * channels)
            assert not any(d[1]), "expected a silent data chunk"
            d[1] = int24_bytes(tracks(200, frames, channels, lfe=(3,), level_db=-26.0))
            data = riff_join(chunks)
            with open(path, "wb") as f:
                f.write(data)
    if data is not None:

        def edit(root):
            return ["removed %d audioPackFormatIDRef from audioStreamFormats" % strip_stream_pack_refs(root),
                    "added frequency lowPass=120 to the %d RC_LFE channel" % mark_dolby_lfe(root)]

        eq_data, notes = equivalent_from(data, edit)
        eq = os.path.join(eq_dir, stored.replace(".wav", ".ear.wav"))
        with open(eq, "wb") as f:
            f.write(eq_data)
        render_all(path, "Real Pro Tools / Dolby Atmos master metadata (14 tracks, 1.001 s): 7.1.2 bed as "
                         "DirectSpeakers with Dolby labels RC_L..RC_Rts and cartesian positions, RC_LFE; 4 "
                         "cartesian objects with ~94 blocks of 512 samples written as rounded 5-decimal times "
                         "(10.67 ms), interpolationLength 0.005208, width/depth/height, diffuse; dbmd chunk. "
                         "Test signals in place of the original's silent audio",
                   render_input=eq, ear_options=["--enable-block-duration-fix"],
                   workaround="; ".join(notes) + "; --enable-block-duration-fix (the rounded block times overlap)")
        licences.append((stored, src, "data chunk (digital silence in the original) replaced by test "
                                      "signals of the same length; JUNK, fmt, axml, chna, dbmd byte for byte"))

    # Dolby's dbmd-atmos-parser sample master: 5 s of static content; keep the first 250 ms
    name = "dolby_sample_adm_file_0.wav"
    src = REAL_SOURCES[name]
    stored = "dolby_sample_adm_file_0_first250ms.wav"
    path = os.path.join(REAL, stored)
    data = None
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
    else:
        full = git_show(src[0], src[2], src[3])
        if full is None:
            warnings.warn("real file %s unavailable; skipped" % name)
        else:
            cut = F(1, 4)
            chunks = riff_chunks(full)
            fmt = [c for c in chunks if c[0] == b"fmt "][0][1]
            channels, bits = struct.unpack("<H", fmt[2:4])[0], struct.unpack("<H", fmt[14:16])[0]
            frame = channels * bits // 8
            for c in chunks:
                if c[0] == b"data":
                    c[1] = c[1][:int(cut * FS) * frame]
                elif c[0] == b"axml":
                    # only the time strings change: end/duration 00:00:05.00000 -> 00:00:00.25000
                    text = c[1].decode("utf-8")
                    text2 = text.replace('end="00:00:05.00000"', 'end="00:00:00.25000"')
                    text2 = text2.replace('duration="00:00:05.00000"', 'duration="00:00:00.25000"')
                    assert text2.count("00:00:00.25000") == 5, text2.count("00:00:00.25000")
                    c[1] = text2.encode("utf-8")
            data = riff_join(chunks)
            with open(path, "wb") as f:
                f.write(data)
    if data is not None:
        eq_data, notes = equivalent_from(data, lambda root: [
            "removed %d audioPackFormatIDRef from audioStreamFormats" % strip_stream_pack_refs(root)])
        eq = os.path.join(eq_dir, stored.replace(".wav", ".ear.wav"))
        with open(eq, "wb") as f:
            f.write(eq_data)
        render_all(path, "Real Dolby Atmos Conversion Tool master (dbmd-atmos-parser sample, first 250 ms): two "
                         "static cartesian objects (one without a Z coordinate, one at Z=1), "
                         "jumpPosition interpolationLength=\"0.000000\", audioContent dialogue element, "
                         "programme start/end; dbmd chunk", render_input=eq, workaround="; ".join(notes))
        licences.append((stored, src, "first 250 ms: data chunk cut to 12000 frames and the five "
                                      "5 s times of the axml set to 0.25 s; every other byte (JUNK, fmt, "
                                      "chna, dbmd) as in the original"))

    # The dbmd chunks of Dolby's seven samples (they differ only there): binaural render modes
    # not indicated / bypass / near / far / mixed, warp and trim modes, for tests/adm_dbmd.rs
    licences += dolby_dbmd_chunks()

    # BBC bmx: two stereo common-definition objects, chna before data, ebuCore_2014 namespace
    name = "bmx_adm_1.wav"
    src = REAL_SOURCES[name]
    data = real_bytes(name, src)
    if data is not None:
        path = os.path.join(REAL, name)
        with open(path, "wb") as f:
            f.write(data)
        render_all(path, "Real file written by BBC bmx (libadm-free writer): two stereo objects referencing "
                         "the common definition AP_00010002 only, audioTrackUIDs without references (chna "
                         "carries them), chna and axml before data, ebuCore_2014 namespace, 40 ms")
        licences.append((name, src, "unmodified"))

    # EBU ADM toolbox render test files (written with libadm); ear already reproduces their shipped
    # 0+5+0 references bit for bit
    tdir = os.path.join(REAL, "ebu-adm-toolbox")
    os.makedirs(tdir, exist_ok=True)
    for stem, what in TOOLBOX_FILES.items():
        name = stem + ".wav"
        dst = os.path.join(tdir, name)
        if os.path.exists(dst):
            data = open(dst, "rb").read()
        else:
            data = git_show(TOOLBOX[0], TOOLBOX[2], "test_files/render/" + name)
            if data is None:
                warnings.warn("toolbox file %s unavailable; skipped" % name)
                continue
            with open(dst, "wb") as f:
                f.write(data)
        shipped = git_show(TOOLBOX[0], TOOLBOX[2], "test_files/render/%s_0_5_0.wav" % stem)
        render_all(dst, "EBU ADM toolbox render test: " + what)
        if shipped is not None:
            with tempfile.NamedTemporaryFile(suffix=".wav") as tf:
                tf.write(shipped)
                tf.flush()
                a, _, _ = read_wav(tf.name)
            b, _, _ = read_wav(ref_name(dst, "0+5+0", None))
            assert a.shape == b.shape and np.array_equal(a, b), "toolbox reference differs: " + stem
        licences.append(("ebu-adm-toolbox/" + name, (None, TOOLBOX[1], TOOLBOX[2],
                                                     "test_files/render/" + name, TOOLBOX[3]), "unmodified"))
    return licences


def dolby_dbmd_chunks():
    """Writes real/dolby_dbmd/sample_adm_file_N.dbmd: the dbmd chunk (its data, without the chunk
    header) of each of dbmd-atmos-parser's sample masters, byte for byte."""
    src = REAL_SOURCES["dolby_sample_adm_file_0.wav"]
    out_dir = os.path.join(REAL, "dolby_dbmd")
    os.makedirs(out_dir, exist_ok=True)
    licences = []
    for n in range(7):
        name = "sample_adm_file_%d.dbmd" % n
        dst = os.path.join(out_dir, name)
        path = "sample_files/sample_adm_file_%d.wav" % n
        if not os.path.exists(dst):
            full = git_show(src[0], src[2], path)
            if full is None:
                warnings.warn("dbmd of %s unavailable; skipped" % path)
                continue
            body = [c[1] for c in riff_chunks(full) if c[0] == b"dbmd"][0]
            with open(dst, "wb") as f:
                f.write(body)
        licences.append(("dolby_dbmd/" + name, (None, src[1], src[2], path, src[4]),
                         "the data of its dbmd chunk only, byte for byte"))
    return licences


def write_licences(licences):
    lines = ["# Licences of the real ADM BWF files in this folder", "",
             "Written by other tools and copied here as test inputs. The references in ../ref/real/ were",
             "rendered from them by ear 2.1.0 (tools/gen_adm_reference.py). Repository, commit and path",
             "say where each file came from.", "",
             "| file | repository | commit | path | licence | changes |", "|---|---|---|---|---|---|"]
    for name, src, change in licences:
        lines.append("| %s | https://github.com/%s | %s | %s | %s | %s |" % (name, src[1], src[2], src[3], src[4], change))
    lines += ["",
              "`ebu-adm-toolbox/test_bwf.wav` is byte for byte the file `ear/test/data/test_bwf.wav` of the EBU ADM",
              "Renderer (https://github.com/ebu/ebu_adm_renderer, BSD-3-Clause-Clear) as installed by `pip install ear==2.1.0`.",
              "",
              "## Licence texts", "",
              "The full licence text of each source repository, copied from the same commit, is in `licenses/`:", ""]
    os.makedirs(os.path.join(REAL, "licenses"), exist_ok=True)
    for git_dir, repo, commit, path in LICENCE_FILES:
        dst = os.path.join(REAL, "licenses", repo.replace("/", "+") + ".txt")
        if not os.path.exists(dst):
            text = git_show(git_dir, commit, path)
            if text is None:
                warnings.warn("licence text of %s unavailable" % repo)
                continue
            with open(dst, "wb") as f:
                f.write(text)
        lines.append("- `licenses/%s` — %s `%s`" % (os.path.basename(dst), repo, path))
    lines.append("")
    with open(os.path.join(REAL, "LICENSES.md"), "w") as f:
        f.write("\n".join(lines))


# ----------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep-equivalents", metavar="DIR", help="keep the BS.2076-1 files ear rendered in DIR")
    ap.add_argument("--no-real", action="store_true", help="skip the real files")
    ap.add_argument("--only", metavar="CASE", help="build one synthetic case (e.g. extent) and merge "
                    "its renders into the existing manifest, leaving every other reference as it is")
    args = ap.parse_args()
    if not os.path.exists(EAR_RENDER):
        sys.exit("ear-render not found next to %s; run with the ear venv's python" % sys.executable)
    import ear
    from importlib.metadata import version
    assert version("ear") == "2.1.0", version("ear")

    os.makedirs(OUT, exist_ok=True)
    if args.only:
        globals()["case_" + args.only]()
        path = os.path.join(OUT, "manifest.json")
        old = json.load(open(path))
        new_inputs = {e["input"] for e in MANIFEST}
        merged = [e for e in old if e["input"] not in new_inputs] + MANIFEST
        with open(path, "w") as f:
            json.dump(merged, f, indent=1)
            f.write("\n")
        print("%d renders in the manifest" % len(merged))
        return
    if os.path.isdir(REF):
        shutil.rmtree(REF)
    eq_dir = args.keep_equivalents or tempfile.mkdtemp(prefix="adm_eq_")
    os.makedirs(eq_dir, exist_ok=True)
    try:
        case_polar_moving()
        case_jump_interpolation()
        case_extent()
        case_diffuse()
        case_importance()
        case_screen()
        case_timing()
        case_cartesian_moving()
        case_directspeakers_custom()
        case_common_beds()
        case_hoa()
        case_nested_gain_mute(eq_dir)
        case_two_programmes()
        case_bs2076_2_syntax(eq_dir)
        if not args.no_real:
            write_licences(real_cases(eq_dir))
    finally:
        if not args.keep_equivalents:
            shutil.rmtree(eq_dir, ignore_errors=True)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, x)) for d, _, fs in os.walk(OUT) for x in fs)
    print("%d renders, tests/data/adm is %.1f MB" % (len(MANIFEST), total / 1e6))


if __name__ == "__main__":
    main()
