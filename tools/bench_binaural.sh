#!/usr/bin/env bash
# Benchmark of `mixstage binaural`: a 60 s 7.1.4 mix (48 kHz, 32-bit float, independent white
# noise per channel) to binaural with the built-in HRIRs. Prints the wall time, the realtime factor and the
# peak memory (GNU time), plus the floor: the cost of only reading the input (cat to /dev/null). Needs python3 with numpy to make the input (once).
# Run from the repository root:  tools/bench_binaural.sh
set -euo pipefail
out=bench-out
mkdir -p "$out"
mix="$out/mix-714-60s.wav"
if [ ! -f "$mix" ]; then
python3 - "$mix" <<'PY'
import sys, struct, numpy as np
rate, ch, secs = 48000, 12, 60
n = rate * secs
rng = np.random.default_rng(1)
x = rng.standard_normal((n, ch)) * 0.05
data = x.astype('<f4').tobytes()
hdr = b'RIFF' + struct.pack('<I', 36 + len(data)) + b'WAVE'
hdr += b'fmt ' + struct.pack('<IHHIIHH', 16, 3, ch, rate, rate * ch * 4, ch * 4, 32)
hdr += b'data' + struct.pack('<I', len(data))
open(sys.argv[1], 'wb').write(hdr + data)
PY
fi
cargo build --release --quiet
secs=60
t0=$(date +%s.%N); cat "$mix" > /dev/null; t1=$(date +%s.%N)
echo "read floor: $(echo "$t1 - $t0" | bc) s"
/usr/bin/time -v target/release/mixstage binaural "$mix" --layout 7.1.4 -o "$out/phones.wav" --quiet 2> "$out/time.txt"
wall=$(grep "Elapsed (wall clock)" "$out/time.txt" | awk '{print $NF}')
mem=$(grep "Maximum resident set size" "$out/time.txt" | awk '{print $NF}')
sec=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
echo "binaural 7.1.4 60 s: wall $sec s, realtime factor $(echo "scale=0; $secs / $sec" | bc)x, peak RSS $((mem / 1024)) MiB"
