#!/usr/bin/env python3
"""BS.2127 HOA decoders as the EBU ADM Renderer (ear 2.1.0) designs them, for tests/bs2127_hoa.rs.

Run from the repository root with the venv that has ear 2.1.0:

    /work/venv-ear/bin/python tools/gen_hoa_reference.py

Writes tests/data/bs2127/hoa_decoders.json: for each layout (0+2+0, 0+5+0, 4+7+0, 9+10+3)
its channel names in ear's order (LFE included; ear gives LFE channels nothing), and for
each case (full orders 1, 2 and 3 in ACN order with SN3D, N3D and FuMa; a mixed-order set in a
shuffled channel order) the decoder matrix, one row per channel of the layout and one column per
HOA channel, as `ear.core.scenebased.design.HOADecoderDesign(layout.without_lfe).design(...)`
returns it (the LFE rows written here are zeros).

No max-rE case: the reference's default design has none, and its maxRE option indexes the
weights by order twice (`a_n[n][n]`), so it is no reference for max-rE.
"""

import json
import os

import numpy as np
from ear.core import bs2051, hoa
from ear.core.metadata_input import HOATypeMetadata
from ear.core.scenebased.design import HOADecoderDesign

OUT = os.path.join("tests", "data", "bs2127", "hoa_decoders.json")

LAYOUTS = ["0+2+0", "0+5+0", "4+7+0", "9+10+3"]


def cases():
    for order in (1, 2, 3):
        acn = np.arange((order + 1) ** 2)
        n, m = hoa.from_acn(acn)
        for norm in ("SN3D", "N3D", "FuMa"):
            yield dict(name="order{}_{}".format(order, norm), orders=[int(x) for x in n],
                       degrees=[int(x) for x in m], normalization=norm, max_re=False)
    # a mixed-order set in a shuffled channel order
    yield dict(name="mixed_N3D", orders=[2, 0, 1, 1, 2, 3, 3], degrees=[2, 0, -1, 1, -2, 3, 0],
               normalization="N3D", max_re=False)


def main():
    out = {"source": "ear 2.1.0, ear.core.scenebased.design.HOADecoderDesign", "layouts": []}
    for name in LAYOUTS:
        layout = bs2051.get_layout(name)
        lfe = np.array(layout.is_lfe)
        designs = {False: HOADecoderDesign(layout.without_lfe)}
        entry = {"name": name, "channels": [c.name for c in layout.channels], "cases": []}
        for case in cases():
            tm = HOATypeMetadata(orders=case["orders"], degrees=case["degrees"],
                                 normalization=case["normalization"])
            d = designs[case["max_re"]].design(tm)
            full = np.zeros((len(layout.channels), d.shape[1]))
            full[~lfe] = d
            c = dict(case)
            c["matrix"] = full.tolist()
            entry["cases"].append(c)
        out["layouts"].append(entry)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
