#!/usr/bin/env python3
"""Generate data/adm/bs2094_common_definitions.xml from the EBU ADM Renderer's copy.

The ITU-R BS.2094-1 common definitions (standard audioPackFormats, audioChannelFormats,
audioStreamFormats and audioTrackFormats) are shipped by the EBU ADM Renderer (EAR, PyPI
package ``ear``) as ``ear/fileio/adm/data/2094_common_definitions.xml``. This script reads
that file and writes mixstage's copy as a plain BS.2076 document that parses exactly like a
BW64 ``axml`` chunk (ebuCoreMain/coreMetadata/format/audioFormatExtended), with:

* normalisation that does not change meaning: elements grouped (packs, channels, streams,
  tracks) and sorted by ID; attributes in one fixed order per element; two-space
  indentation; IDs and ID references in upper-case hex (``AP_0001000a`` -> ``AP_0001000A``);
  the order of children (e.g. a pack's channel list) is never changed;
* the documented fixes in ``FIXES`` below, each applied only if the source still has the
  known-wrong content (so the script also accepts an already-corrected source, such as
  libadm's ``resources/common_definitions.xml``, and then records no deviation);
* a header comment naming the source (with its SHA-256), the licence terms and every
  deviation actually applied.

It also refreshes the generated pack tables in ``data/adm/README.md`` (between the
``BEGIN/END generated`` markers), if that file exists.

Plain python3, standard library only. Usage (from the repository root)::

    python3 tools/gen_common_definitions.py [--source PATH] [--output PATH]

Without ``--source`` it uses the copy installed with ear 2.1.0 in /work/venv-ear, or else
``git show HEAD:ear/fileio/adm/data/2094_common_definitions.xml`` in a local clone of
ebu/ebu_adm_renderer given by ``--ear-repo``. Then run tools/check_common_definitions.py.
"""

import argparse
import hashlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parent.parent
OUT_XML = ROOT / "data" / "adm" / "bs2094_common_definitions.xml"
OUT_README = ROOT / "data" / "adm" / "README.md"

EAR_PATH_IN_PACKAGE = "ear/fileio/adm/data/2094_common_definitions.xml"
DEFAULT_SOURCES = [Path("/work/venv-ear/lib/python3.11/site-packages") / EAR_PATH_IN_PACKAGE]
DEFAULT_EAR_REPO = Path("/work/.mirror/ebu+ebu_adm_renderer/repo")
# SHA-256 of the file in ear 2.1.0 (unchanged since ear 1.0.0, commit adf3f81).
EAR_2_1_0_SHA256 = "c6810af7759cb2202582f3ee5d16468b9947059d6caf90c182da351b005f4037"

# Namespaces the source may use for ADM elements; we match on local names only.
OUT_NAMESPACE = "urn:ebu:metadata-schema:ebuCore_2015"

# Fixed attribute order per element; unknown attributes follow in alphabetical order.
ATTR_ORDER = {
    "audioPackFormat": ["audioPackFormatID", "audioPackFormatName", "typeLabel", "typeDefinition"],
    "audioChannelFormat": ["audioChannelFormatID", "audioChannelFormatName", "typeLabel",
                           "typeDefinition"],
    "audioBlockFormat": ["audioBlockFormatID", "rtime", "duration"],
    "audioStreamFormat": ["audioStreamFormatID", "audioStreamFormatName", "formatLabel",
                          "formatDefinition"],
    "audioTrackFormat": ["audioTrackFormatID", "audioTrackFormatName", "formatLabel",
                         "formatDefinition"],
    "position": ["coordinate", "bound", "screenEdgeLock"],
    "frequency": ["typeDefinition"],
}
TOP_LEVEL_ORDER = ["audioPackFormat", "audioChannelFormat", "audioStreamFormat",
                   "audioTrackFormat"]

# Documented fixes: (pack ID, what the source must contain, what we write, one-line reason).
# Evidence for each is in data/adm/README.md.
FIXES = [
    {
        "pack": "AP_00010016",
        "expect": ["AC_00010001", "AC_00010002", "AC_00010003", "AC_00010004", "AC_0001000B",
                   "AC_0001000C", "AC_0001001C", "AC_0001001D", "AC_00010013", "AC_00010014"],
        "fixed": ["AC_00010001", "AC_00010002", "AC_00010003", "AC_00010004", "AC_0001000A",
                  "AC_0001000B", "AC_0001001C", "AC_0001001D", "AC_00010013", "AC_00010014"],
        "summary": (
            "AP_00010016 9.1_7.1.2_(2+7+0): channels 5 and 6 were AC_0001000B SideRight (M-090) "
            "and AC_0001000C TopCentre (T+000), a one-off slip (also in the spreadsheet "
            "attached to BS.2094-1); now AC_0001000A SideLeft (M+090) and AC_0001000B "
            "SideRight (M-090), as libadm has had since 2020 (ebu/libadm PR #53, commit 8f81c7a, "
            "whose author reports the BS.2094-1 text itself lists Side-Left and Side-Right) and "
            "as Dolby's dlb_sadm tables have. The pack now has 2 upper (U+090 U-090) and 7 "
            "middle speakers, as its name (2+7+0) says."
        ),
    },
]

# BS.2051 loudspeaker configurations of the packs, as ear 2.1.0 maps them
# (ear/core/direct_speakers/panner.py, itu_packs); notes for the other DirectSpeakers packs.
BS2051 = {
    "AP_00010002": "A 0+2+0",
    "AP_00010003": "B 0+5+0",
    "AP_0001000C": "B 0+5+0 without LFE",
    "AP_00010004": "C 2+5+0",
    "AP_00010005": "D 4+5+0",
    "AP_00010010": "E 4+5+1",
    "AP_00010007": "F 3+7+0",
    "AP_00010008": "G 4+9+0",
    "AP_00010009": "H 9+10+3",
    "AP_0001000F": "I 0+7+0",
    "AP_00010017": "J 4+7+0",
}
NOT_BS2051 = {
    "AP_00010001": "none (BS.775 mono)",
    "AP_0001000A": "none (BS.775 3/0)",
    "AP_0001000B": "none (BS.775 3/1)",
}


def local(tag):
    return tag.rsplit("}", 1)[-1]


def canonical_id(text):
    return text.strip().upper()


def id_key(ident):
    """Sort key for AP_/AC_/AS_/AT_/AB_ IDs: the hex fields after the prefix."""
    parts = ident.split("_")[1:]
    return tuple(int(p, 16) for p in parts)


def read_source(args):
    if args.source:
        path = Path(args.source)
        return path.read_bytes(), str(path)
    for path in DEFAULT_SOURCES:
        if path.exists():
            return path.read_bytes(), str(path)
    repo = Path(args.ear_repo)
    data = subprocess.run(["git", "-C", str(repo), "show", "HEAD:" + EAR_PATH_IN_PACKAGE],
                          check=True, capture_output=True).stdout
    return data, "{}:{}".format(repo, EAR_PATH_IN_PACKAGE)


def clean(el):
    """Copy an element tree with local names, canonical IDs and stripped text."""
    name = local(el.tag)
    attrs = {}
    for k, v in el.attrib.items():
        k = local(k)
        attrs[k] = canonical_id(v) if k.endswith("ID") else v
    out = ET.Element(name, attrs)
    text = (el.text or "").strip()
    if name.endswith("IDRef"):
        text = canonical_id(text)
    out.text = text or None
    for child in el:
        if isinstance(child.tag, str):  # skip comments / processing instructions
            out.append(clean(child))
    return out


def apply_fixes(afe):
    applied = []
    packs = {p.get("audioPackFormatID"): p for p in afe if p.tag == "audioPackFormat"}
    for fix in FIXES:
        pack = packs.get(fix["pack"])
        if pack is None:
            sys.exit("fix for {}: pack not in source".format(fix["pack"]))
        refs = [c for c in pack if c.tag == "audioChannelFormatIDRef"]
        current = [c.text for c in refs]
        if current == fix["fixed"]:
            continue  # source already correct
        if current != fix["expect"]:
            sys.exit("fix for {}: source has {}, expected {} or {}; review the fix".format(
                fix["pack"], current, fix["expect"], fix["fixed"]))
        for ref, new in zip(refs, fix["fixed"]):
            ref.text = new
        applied.append(fix)
    return applied


def ordered_attrs(el):
    order = ATTR_ORDER.get(el.tag, [])
    keys = [k for k in order if k in el.attrib]
    keys += sorted(k for k in el.attrib if k not in order)
    return "".join(" {}={}".format(k, quoteattr(el.attrib[k])) for k in keys)


def write_element(el, depth, lines):
    pad = "  " * depth
    attrs = ordered_attrs(el)
    children = list(el)
    if children:
        lines.append("{}<{}{}>".format(pad, el.tag, attrs))
        for child in children:
            write_element(child, depth + 1, lines)
        lines.append("{}</{}>".format(pad, el.tag))
    elif el.text is not None:
        lines.append("{}<{}{}>{}</{}>".format(pad, el.tag, attrs, escape(el.text), el.tag))
    else:
        lines.append("{}<{}{}/>".format(pad, el.tag, attrs))


def counts(afe):
    c = {t: 0 for t in TOP_LEVEL_ORDER}
    for el in afe:
        c[el.tag] += 1
    return c


def header_comment(sha, applied, c):
    src_note = ("the file shipped in ear 2.1.0 (unchanged since ear 1.0.0)"
                if sha == EAR_2_1_0_SHA256 else "NOT the ear 2.1.0 file (different SHA-256)")
    lines = [
        "ITU-R BS.2094-1 common definitions for the Audio Definition Model (ITU-R BS.2076).",
        "Generated by tools/gen_common_definitions.py; do not edit by hand.",
        "",
        "Source: ear/fileio/adm/data/2094_common_definitions.xml of the EBU ADM Renderer",
        "(https://github.com/ebu/ebu_adm_renderer),",
        src_note + ", SHA-256",
        sha + ".",
        "Revision: the data are those of Rec. ITU-R BS.2094-1 (06/2017). No text of a later",
        "revision (BS.2094-2) was available to check against, so none is claimed.",
        "Terms: the definitions are the content of an ITU-R Recommendation (copyright ITU),",
        "reproduced as standard data; the EAR file is distributed under the BSD-3-Clause-Clear",
        "licence, Copyright (c) 2018-2019 EBU ADM Renderer Authors. This file is a normalised",
        "and corrected derivative of it.",
        "",
        "Contents: {} audioPackFormat, {} audioChannelFormat, {} audioStreamFormat, {}".format(
            c["audioPackFormat"], c["audioChannelFormat"], c["audioStreamFormat"],
            c["audioTrackFormat"]),
        "audioTrackFormat (DirectSpeakers 0001, HOA 0004, Binaural 0005).",
        "",
        "Normalisation (meaning unchanged): ebuCoreMain/coreMetadata/format wrapper instead of",
        "the source's ituADM (urn:metadata-schema:adm) root; elements grouped as packs,",
        "channels, streams, tracks and sorted by ID within each group; fixed attribute order;",
        "two-space indentation; IDs and ID references in upper-case hex (the source, like",
        "libadm, writes lower case, e.g. AP_0001000a; compare IDs case-insensitively). The order",
        "of children, e.g. a pack's channel list, is exactly the source's.",
        "",
        "Deviations from the source (meaning changed):",
    ]
    if applied:
        for i, fix in enumerate(applied, 1):
            words = fix["summary"].split()
            line = " {}. ".format(i)
            for w in words:
                if len(line) + len(w) + 1 > 90:
                    lines.append(line.rstrip())
                    line = "    "
                line += w + " "
            lines.append(line.rstrip())
    else:
        lines.append(" none.")
    lines.append("Evidence and the pack table: data/adm/README.md.")
    body = "\n".join(("  " + l) if l else "" for l in lines)
    assert "--" not in body, "XML comments must not contain a double hyphen"
    return "<!--\n" + body + "\n-->"


def speaker_label(channel):
    block = channel.find("audioBlockFormat")
    lab = block.findtext("speakerLabel") if block is not None else None
    return lab.rsplit(":", 1)[-1] if lab else None


def pack_tables(afe):
    channels = {c.get("audioChannelFormatID"): c for c in afe if c.tag == "audioChannelFormat"}
    packs = {p.get("audioPackFormatID"): p for p in afe if p.tag == "audioPackFormat"}

    def all_channels(pack):
        out = []
        for child in pack:
            if child.tag == "audioPackFormatIDRef":
                out += all_channels(packs[child.text])
        out += [c.text for c in pack if c.tag == "audioChannelFormatIDRef"]
        return out

    lines = ["### DirectSpeakers packs (typeLabel 0001)", "",
             "| pack | audioPackFormatName | BS.2051 layout | n | speaker labels, in pack order |",
             "|---|---|---|---|---|"]
    for pid, pack in packs.items():
        if pack.get("typeDefinition") != "DirectSpeakers":
            continue
        labs = [speaker_label(channels[c]) for c in all_channels(pack)]
        layout = BS2051.get(pid) or NOT_BS2051.get(pid) or "none"
        lines.append("| {} | `{}` | {} | {} | {} |".format(
            pid, pack.get("audioPackFormatName"), layout, len(labs), " ".join(labs)))
    lines += ["", "### HOA and Binaural packs", "",
              "| pack | audioPackFormatName | nested pack | n (with nested) | channels added by this pack |",
              "|---|---|---|---|---|"]
    for pid, pack in packs.items():
        if pack.get("typeDefinition") == "DirectSpeakers":
            continue
        nested = " ".join(c.text for c in pack if c.tag == "audioPackFormatIDRef") or "-"
        own = [channels[c.text].get("audioChannelFormatName")
               for c in pack if c.tag == "audioChannelFormatIDRef"]
        lines.append("| {} | `{}` | {} | {} | {} |".format(
            pid, pack.get("audioPackFormatName"), nested, len(all_channels(pack)),
            " ".join(own)))
    return "\n".join(lines)


def update_readme(path, tables):
    if not path.exists():
        print("note: {} does not exist; pack tables not written".format(path))
        return
    text = path.read_text()
    begin, end = "<!-- BEGIN generated pack tables -->", "<!-- END generated pack tables -->"
    if begin not in text or end not in text:
        sys.exit("{}: markers {!r} / {!r} missing".format(path, begin, end))
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(head + begin + "\n" + tables + "\n" + end + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", help="path of the source XML (default: ear 2.1.0's copy)")
    ap.add_argument("--ear-repo", default=str(DEFAULT_EAR_REPO),
                    help="git clone of ebu/ebu_adm_renderer, used if ear is not installed")
    ap.add_argument("--output", default=str(OUT_XML))
    ap.add_argument("--readme", default=str(OUT_README))
    args = ap.parse_args()

    data, source_name = read_source(args)
    print("source: {}".format(source_name))
    sha = hashlib.sha256(data).hexdigest()
    if sha != EAR_2_1_0_SHA256:
        print("warning: source SHA-256 {} is not ear 2.1.0's".format(sha), file=sys.stderr)

    src_root = ET.fromstring(data)
    src_afe = [e for e in src_root.iter() if local(e.tag) == "audioFormatExtended"]
    if len(src_afe) != 1:
        sys.exit("expected exactly one audioFormatExtended in the source")

    afe = ET.Element("audioFormatExtended")
    elements = [clean(e) for e in src_afe[0] if isinstance(e.tag, str)]
    unknown = {e.tag for e in elements} - set(TOP_LEVEL_ORDER)
    if unknown:
        sys.exit("unexpected top-level elements in source: {}".format(sorted(unknown)))
    id_attr = {t: t + "ID" for t in TOP_LEVEL_ORDER}
    elements.sort(key=lambda e: (TOP_LEVEL_ORDER.index(e.tag), id_key(e.get(id_attr[e.tag]))))
    afe.extend(elements)

    applied = apply_fixes(afe)
    c = counts(afe)

    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             header_comment(sha, applied, c),
             '<ebuCoreMain xmlns={} xml:lang="en">'.format(quoteattr(OUT_NAMESPACE)),
             "  <coreMetadata>", "    <format>"]
    write_element(afe, 3, lines)
    lines += ["    </format>", "  </coreMetadata>", "</ebuCoreMain>"]

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("wrote {} ({} packs, {} channels, {} streams, {} tracks; {} fix(es) applied)".format(
        out, c["audioPackFormat"], c["audioChannelFormat"], c["audioStreamFormat"],
        c["audioTrackFormat"], len(applied)))
    update_readme(Path(args.readme), pack_tables(afe))


if __name__ == "__main__":
    main()
