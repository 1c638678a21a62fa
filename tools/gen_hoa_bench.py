#!/usr/bin/env python3
"""An order-3 HOA ADM master for the HOA benchmark (README, Performance): 16 tracks of white
noise (ACN, SN3D, one custom HOA pack), 48 kHz 24-bit, SECONDS long (default 60).

    /work/venv-ear/bin/python tools/gen_hoa_bench.py OUT.wav [SECONDS]
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_adm_reference as g  # noqa: E402  (its builder helpers)


def main():
    out = sys.argv[1]
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    b = g.new_builder("bench hoa order 3")
    orders, degrees = g.acn_orders_degrees(3)
    b.create_item_hoa(track_indices=list(range(16)), orders=orders, degrees=degrees, name="hoa3",
                      normalization="SN3D")
    rng = np.random.default_rng(1)
    samples = np.clip(rng.standard_normal((secs * g.FS, 16)), -4, 4) * 0.02
    g.write_adm(out, b.adm, samples)


if __name__ == "__main__":
    main()
