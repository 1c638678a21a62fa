#!/usr/bin/env python3
"""BS.2127 decorrelation filters as the EBU ADM Renderer (ear 2.1.0) designs them, for
tests/bs2127_diffuse.rs: its MT19937 output and the filters of 0+5+0, 4+7+0 and 9+10+3.

Run from the repository root with the venv that has ear 2.1.0:

    /work/venv-ear/bin/python tools/gen_decorrelators.py

Writes tests/data/bs2127/decorrelators.json: `mt19937` (the first 1000 raw 32-bit outputs of
numpy's legacy RandomState for seeds 0, 1, 5489 and 2127, as ear draws them); per layout
(0+5+0, 4+7+0, 9+10+3) its channel names in ear's order with each channel's filter seed (the
index of its name among the sorted names); and the 512-tap filters of 9+10+3
(`ear.core.objectbased.decorrelate.design_decorrelators`), whose 24 seeds cover every smaller
layout's.
"""

import json
import os

import numpy as np
from ear.core import bs2051
from ear.core.objectbased import decorrelate

OUT = os.path.join("tests", "data", "bs2127", "decorrelators.json")


def main():
    out = {"mt19937": {str(s): [int(x) for x in decorrelate.gen_rand_mt19937(s, 1000)]
                       for s in (0, 1, 5489, 2127)},
           "layouts": []}
    for name in ["0+5+0", "4+7+0", "9+10+3"]:
        layout = bs2051.get_layout(name)
        names = layout.channel_names
        seeds = [sorted(names).index(n) for n in names]
        entry = {"layout": name, "channels": names, "seeds": seeds}
        if name == "9+10+3":
            f = decorrelate.design_decorrelators(layout)
            entry["filters"] = [[float(x) for x in f[:, c]] for c in range(f.shape[1])]
            for c, s in enumerate(seeds):
                assert np.array_equal(f[:, c], decorrelate.design_decorrelator_basic(s))
        out["layouts"].append(entry)
    with open(OUT, "w") as fh:
        json.dump(out, fh)
        fh.write("\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
