#!/usr/bin/env python3
"""Writes data/adm/iso639-2b.txt: the regular ISO 639-2/B language codes that the
`bs2168` profile of `mixstage adm validate` accepts on labels.

Source: Debian's iso-codes package (/usr/share/iso-codes/json/iso_639-2.json, which
follows the Library of Congress ISO 639-2 registry). A code is the bibliographic (B)
form where one exists, else the alpha-3 code, as the LoC list's first column. The
special codes (mis, mul, und, zxx) and the local-use range qaa-qtz are left out: the
EBU ADM toolbox's emission-profile validator does not count them as regular codes.

Run: python3 tools/gen_iso639.py   (apt-get install iso-codes)
"""
import json
import pathlib

SRC = "/usr/share/iso-codes/json/iso_639-2.json"
OUT = pathlib.Path(__file__).resolve().parent.parent / "data/adm/iso639-2b.txt"

entries = json.load(open(SRC))["639-2"]
codes = set()
for e in entries:
    code = e.get("bibliographic", e["alpha_3"])
    if len(code) != 3 or code in ("mis", "mul", "und", "zxx") or "qaa" <= code <= "qtz":
        continue
    codes.add(code)
with open(OUT, "w") as f:
    f.write("# Regular ISO 639-2/B language codes, one per line; made by tools/gen_iso639.py\n")
    f.write("# from Debian iso-codes' iso_639-2.json (the LoC ISO 639-2 registry).\n")
    for c in sorted(codes):
        f.write(c + "\n")
print(len(codes), "codes ->", OUT)
