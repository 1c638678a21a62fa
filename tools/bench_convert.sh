#!/usr/bin/env bash
# Realtime factor and peak memory of `mixstage convert`: 60 s of 7.1.4 at 48 kHz, 32-bit
# float, converted to 5.1 (VBAP, f32 output), against the floor of only reading the input and
# writing an output file of the same size.
#
# Usage: tools/bench_convert.sh [FOLDER] [RUNS]
#   FOLDER  where the 138 MB input and the output go (default: a new folder under /tmp;
#           pass /dev/shm to take the disk out of the measurement)
#   RUNS    runs per measurement (default 5); the best and the median are reported
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d)}
runs=${2:-5}
seconds=60
cargo build --release --quiet --bin mixstage --example noise
bin=target/release/mixstage
in="$dir/bench-in-714.wav"
out="$dir/bench-out-51.wav"
[ -f "$in" ] || target/release/examples/noise "$in" 7.1.4 "$seconds" 48000 f32
cat "$in" > /dev/null # warm the page cache: the figures measure the program, not the first read

# Prints "wall_seconds peak_kB cpu_seconds" for a command: wall time in ns from `date`, peak
# RSS and user + system CPU time from GNU time (CPU time is what a loaded machine does not hide).
measure() {
  local t0 t1 r
  t0=$(date +%s%N)
  r=$(/usr/bin/time -f "%M %U %S" "$@" 2>&1 >/dev/null | tail -1)
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000 ))e-6 $r" | awk '{ print $1, $2, $3 + $4 }'
}

report() { # name, then lines of "wall kB" on stdin
  sort -n | awk -v name="$1" -v s="$seconds" '
    { w[NR] = $1 + 0; m = ($2 > m ? $2 : m); c += $3 }
    END { best = w[1]; med = w[int((NR + 1) / 2)]; c /= NR;
          printf "%-34s wall best %.3f s = %4.0fx realtime, median %.3f s = %4.0fx; CPU %.2f s = %4.0fx; peak RSS %.1f MB\n",
                 name, best, s / best, med, s / med, c, s / (c > 0 ? c : 0.01), m / 1024 }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "input:   $in ($(du -m "$in" | cut -f1) MB, ${seconds} s of 7.1.4 at 48 kHz, f32)"
outsize=$((seconds * 48000 * 6 * 4))
for _ in $(seq "$runs"); do
  measure sh -c "cat '$in' > /dev/null && dd if=/dev/zero of='$out.floor' bs=$((outsize / 64)) count=64 conv=fsync status=none"
done | report "floor (read input, write 5.1 size)"
rm -f "$out.floor"
for _ in $(seq "$runs"); do
  measure "$bin" convert "$in" --from 7.1.4 --to 5.1 -o "$out" --quiet
done | report "convert 7.1.4 -> 5.1 (vbap, f32)"
for _ in $(seq "$runs"); do
  measure "$bin" convert "$in" --from 7.1.4 --to stereo --method itu -o "$out" --quiet
done | report "convert 7.1.4 -> stereo (itu, f32)"
rm -f "$out"
