#!/bin/sh
# 60 s of 7.1.4 (48 kHz, f32) through `mixstage qc` on the default systems (7.1.4, 5.1,
# stereo, mono): wall time and peak memory. Realtime factor = 60 / elapsed seconds.
# Two inputs: a noise/dialogue mix, and a crescendo of sines (the true-peak skip test cannot
# skip anything on a rising level: the worst case).
set -e
cd "$(dirname "$0")/.."
mkdir -p bench-out
cargo build --release --quiet
[ -f bench-out/mix714.wav ] || python3 tools/gen_qc_bench.py bench-out/mix714.wav --seconds 60
[ -f bench-out/crescendo714.wav ] || python3 tools/gen_qc_bench.py bench-out/crescendo714.wav --seconds 60 --crescendo
for f in mix714 crescendo714; do
  for threads in 1 2; do
    echo "== $f, RAYON_NUM_THREADS=$threads"
    RAYON_NUM_THREADS=$threads /usr/bin/time -v ./target/release/mixstage qc bench-out/$f.wav --layout 7.1.4 --quiet \
      2>&1 >/dev/null | grep -E "Elapsed|Maximum resident"
  done
done
