#!/usr/bin/env python3
"""Sanity checks for data/adm/bs2094_common_definitions.xml (plain python3, stdlib only).

Usage (from the repository root)::

    python3 tools/check_common_definitions.py [PATH]

Checks, each failure printed and counted (exit status 1 if any):

* element counts (printed, and compared with the expected 43/300/300/300);
* IDs unique, upper-case, of the right form; audioBlockFormat IDs belong to their channel;
* every pack's audioChannelFormatIDRef / audioPackFormatIDRef resolves, with the same
  typeLabel/typeDefinition as the pack; no channel listed twice in a pack (with nesting);
* every audioTrackFormat points to an existing audioStreamFormat and that stream lists the
  track back; every audioStreamFormat points to an existing channel or pack (exactly one)
  and to tracks that exist;
* DirectSpeakers: one block per channel with one speakerLabel; each pack's (U+M+B) count
  in its name matches its speakers' layers; left/right speakers come in mirror pairs;
* HOA: order/degree of every ACN channel match its ACN number;
* AP_00010016 is M+030 M-030 M+000 LFE M+090 M-090 M+135 M-135 U+090 U-090.

Informational: which layouts/*.ron files have exactly the speaker labels of a pack.
"""

import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "data" / "adm" / "bs2094_common_definitions.xml"
EXPECTED = {"audioPackFormat": 43, "audioChannelFormat": 300, "audioStreamFormat": 300,
            "audioTrackFormat": 300}
ID_RE = {
    "audioPackFormat": r"AP_[0-9A-F]{8}",
    "audioChannelFormat": r"AC_[0-9A-F]{8}",
    "audioStreamFormat": r"AS_[0-9A-F]{8}",
    "audioTrackFormat": r"AT_[0-9A-F]{8}_[0-9A-F]{2}",
}
AP_00010016 = ["M+030", "M-030", "M+000", "LFE", "M+090", "M-090", "M+135", "M-135",
               "U+090", "U-090"]

errors = []


def err(msg):
    errors.append(msg)
    print("FAIL:", msg)


def local(tag):
    return tag.rsplit("}", 1)[-1]


def strip_ns(el):
    el.tag = local(el.tag)
    for child in el:
        if isinstance(child.tag, str):
            strip_ns(child)
    return el


def label(ch):
    labs = [b.findtext("speakerLabel") for b in ch.findall("audioBlockFormat")]
    return labs[0].rsplit(":", 1)[-1] if labs and labs[0] else None


def layer(lab):
    """BS.2051 layer of a speaker label: U (upper, incl. T and UH), M, B, or None (LFE)."""
    if lab.startswith("LFE"):
        return None
    if lab.startswith(("U", "T")):
        return "U"
    return lab[0]


def mirror(lab):
    m = re.fullmatch(r"([A-Z]+)([+-])(\d{3}|SC)(_Diff)?", lab)
    if not m:
        return lab
    pre, sign, az, suf = m.groups()
    if az in ("000", "180"):
        return lab
    return pre + ("-" if sign == "+" else "+") + az + (suf or "")


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    root = strip_ns(ET.parse(path).getroot())
    afes = list(root.iter("audioFormatExtended"))
    if len(afes) != 1:
        err("expected one audioFormatExtended, found {}".format(len(afes)))
        return
    afe = afes[0]
    by_type = {t: {} for t in EXPECTED}
    for el in afe:
        if el.tag not in by_type:
            err("unexpected element {}".format(el.tag))
            continue
        ident = el.get(el.tag + "ID")
        if not re.fullmatch(ID_RE[el.tag], ident or ""):
            err("bad ID {!r} on {}".format(ident, el.tag))
        if ident in by_type[el.tag]:
            err("duplicate ID {}".format(ident))
        by_type[el.tag][ident] = el
    packs, chans, streams, tracks = (by_type[t] for t in EXPECTED)

    print("counts: {} packs, {} channels, {} streams, {} tracks".format(
        len(packs), len(chans), len(streams), len(tracks)))
    for t, n in EXPECTED.items():
        if len(by_type[t]) != n:
            err("{}: {} elements, expected {}".format(t, len(by_type[t]), n))
    for td in ("DirectSpeakers", "HOA", "Binaural"):
        print("  {}: {} packs, {} channels".format(
            td, sum(p.get("typeDefinition") == td for p in packs.values()),
            sum(c.get("typeDefinition") == td for c in chans.values())))

    # every ID reference in the document is upper case
    for el in afe.iter():
        if el.tag.endswith("IDRef") and el.text != (el.text or "").strip().upper():
            err("{} {!r} not canonical upper case".format(el.tag, el.text))

    # channels and their blocks
    for cid, ch in chans.items():
        blocks = ch.findall("audioBlockFormat")
        if not blocks:
            err("{} has no audioBlockFormat".format(cid))
        for b in blocks:
            bid = b.get("audioBlockFormatID", "")
            if not re.fullmatch("AB_" + cid[3:] + r"_[0-9A-F]{8}", bid):
                err("{}: block ID {!r} does not belong to it".format(cid, bid))
        if ch.get("typeDefinition") == "DirectSpeakers":
            if len(blocks) != 1 or len(blocks[0].findall("speakerLabel")) != 1:
                err("{}: expected one block with one speakerLabel".format(cid))
        if ch.get("typeDefinition") == "HOA":
            b = blocks[0]
            m = re.fullmatch(r"(SN3D|N3D)_ACN_(\d+)", ch.get("audioChannelFormatName"))
            if m:
                acn = int(m.group(2))
                o = math.isqrt(acn)
                want = (o, acn - o * o - o, m.group(1))
                got = (int(b.findtext("order")), int(b.findtext("degree")),
                       b.findtext("normalization"))
                if got != want:
                    err("{} {}: order/degree/normalization {} != {}".format(
                        cid, m.group(0), got, want))

    # packs
    def pack_channels(pid, seen=()):
        if pid in seen:
            err("pack reference cycle at {}".format(pid))
            return []
        p = packs[pid]
        out = []
        for ref in p.findall("audioPackFormatIDRef"):
            if ref.text not in packs:
                err("{} -> missing pack {}".format(pid, ref.text))
                continue
            out += pack_channels(ref.text, seen + (pid,))
        for ref in p.findall("audioChannelFormatIDRef"):
            if ref.text not in chans:
                err("{} -> missing channel {}".format(pid, ref.text))
                continue
            out.append(ref.text)
        return out

    for pid, p in packs.items():
        cids = pack_channels(pid)
        if len(set(cids)) != len(cids):
            err("{} lists a channel twice".format(pid))
        for cid in cids:
            c = chans[cid]
            if (c.get("typeLabel"), c.get("typeDefinition")) != (p.get("typeLabel"),
                                                                p.get("typeDefinition")):
                err("{}: channel {} has another type".format(pid, cid))
        if p.get("typeDefinition") != "DirectSpeakers":
            continue
        labs = [label(chans[c]) for c in cids]
        m = re.search(r"\((\d+)\+(\d+)\+(\d+)\)", p.get("audioPackFormatName"))
        if m:
            want = tuple(int(x) for x in m.groups())
            got = tuple(sum(layer(l) == k for l in labs) for k in "UMB")
            if got != want:
                err("{} {}: layers U+M+B = {} but name says {}".format(
                    pid, p.get("audioPackFormatName"), "+".join(map(str, got)),
                    "+".join(map(str, want))))
        else:
            err("{}: no (U+M+B) in name".format(pid))
        for l in labs:
            if l.startswith("LFE"):
                continue
            if mirror(l) not in labs:
                err("{}: {} has no mirror-image partner {}".format(pid, l, mirror(l)))
        lfes = [l for l in labs if l.startswith("LFE")]
        if "LFEL" in lfes and "LFER" not in lfes or "LFER" in lfes and "LFEL" not in lfes:
            err("{}: unpaired LFEL/LFER".format(pid))

    # streams and tracks
    for sid, s in streams.items():
        crefs = [r.text for r in s.findall("audioChannelFormatIDRef")]
        prefs = [r.text for r in s.findall("audioPackFormatIDRef")]
        if len(crefs) + len(prefs) != 1:
            err("{}: {} channel and {} pack refs, expected exactly one".format(
                sid, len(crefs), len(prefs)))
        for r in crefs:
            if r not in chans:
                err("{} -> missing channel {}".format(sid, r))
        for r in prefs:
            if r not in packs:
                err("{} -> missing pack {}".format(sid, r))
        for r in s.findall("audioTrackFormatIDRef"):
            if r.text not in tracks:
                err("{} -> missing track {}".format(sid, r.text))
    for tid, t in tracks.items():
        refs = [r.text for r in t.findall("audioStreamFormatIDRef")]
        if len(refs) != 1:
            err("{}: {} stream refs, expected 1".format(tid, len(refs)))
        for r in refs:
            if r not in streams:
                err("{} -> missing stream {}".format(tid, r))
            elif tid not in [x.text for x in streams[r].findall("audioTrackFormatIDRef")]:
                err("{} -> {} which does not list it back".format(tid, r))

    # the fixed 7.1.2 pack
    if "AP_00010016" in packs:
        labs = [label(chans[c]) for c in pack_channels("AP_00010016")]
        if labs != AP_00010016:
            err("AP_00010016 is {}, expected {}".format(labs, AP_00010016))

    # informational: layouts/*.ron with the same labels as a pack
    lay_dir = ROOT / "layouts"
    if lay_dir.is_dir():
        norm = {"LFE1": "LFE", "LFE2": "LFER"}
        ds = {}
        for pid, p in packs.items():
            if p.get("typeDefinition") == "DirectSpeakers":
                labs = [label(chans[c]) for c in pack_channels(pid)]
                ds[pid] = [{"LFEL": "LFE"}.get(l, l) for l in labs]
        for f in sorted(lay_dir.glob("*.ron")):
            labs = [norm.get(l, l) for l in re.findall(r'\blabel:\s*"([^"]+)"', f.read_text())]
            same = [pid for pid, pl in ds.items() if pl == labs]
            same_set = [pid for pid, pl in ds.items() if sorted(pl) == sorted(labs)
                        and pid not in same]
            print("  layouts/{}: {}".format(
                f.name, ", ".join(same) + " (same order)" if same else
                ", ".join(same_set) + " (same labels, other order)" if same_set else
                "no common-definition pack"))

    print("{} check(s) failed".format(len(errors)) if errors else "all checks passed")


if __name__ == "__main__":
    main()
    sys.exit(1 if errors else 0)
