#!/bin/bash
# Issue 14's speed figures, side by side in one run (needs ffmpeg and hyperfine, Debian packages):
#  1. `mixstage qc` of one system of a 60 s 5.1 file vs `ffmpeg -af ebur128=peak=true`;
#  2. `mixstage convert` 5.1 -> stereo vs `ffmpeg -ac 2`;
#  3. `mixstage deliver scenes/deliver.ron --force` vs the same renders and checks as separate
#     `mixstage render` / `mixstage qc` commands run one after another.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
M=./target/release/mixstage
D=bench-out/deliver
mkdir -p "$D"
if [ ! -f "$D/in51.wav" ]; then
  ffmpeg -v error -y -filter_complex \
    "anoisesrc=d=60:c=pink:r=48000:a=0.2:seed=1[a];anoisesrc=d=60:c=pink:r=48000:a=0.2:seed=2[b];anoisesrc=d=60:c=pink:r=48000:a=0.2:seed=3[c];anoisesrc=d=60:c=brown:r=48000:a=0.1:seed=4[d];anoisesrc=d=60:c=pink:r=48000:a=0.1:seed=5[e];anoisesrc=d=60:c=pink:r=48000:a=0.1:seed=6[f];[a][b][c][d][e][f]amerge=inputs=6,aformat=channel_layouts=5.1" \
    -c:a pcm_s24le "$D/in51.wav"
fi
hyperfine -N -w 2 -r 10 \
  "$M qc $D/in51.wav --layout 5.1 --systems own --quiet" \
  "ffmpeg -v error -nostats -i $D/in51.wav -af ebur128=peak=true -f null -"
hyperfine -N -w 2 -r 10 \
  "$M convert $D/in51.wav --from 5.1 --to stereo -o $D/out20.wav --quiet" \
  "ffmpeg -v error -y -i $D/in51.wav -ac 2 $D/out20-ffmpeg.wav"
# The sheet's work as separate commands (renders, then a qc of each file; the ADM export and
# validation as their own commands).
cat > "$D/separate.sh" <<SH
set -e
O=$D/separate; mkdir -p \$O
$M render scenes/demo.ron --layout 7.1.4 -o \$O/pm-714.wav --format s24 -q
$M render scenes/demo.ron --layout 5.1 -o \$O/pm-51.wav --format s24 -q
$M render scenes/demo.ron --layout stereo -o \$O/pm-20.wav --format s24 -q
$M render scenes/demo.ron --binaural -o \$O/phones.wav --format s24 -q
$M render scenes/demo.ron --layout 5.1 -o \$O/me-51.wav --without dialogue --format s24 -q
$M render scenes/demo.ron --layout 7.1.4 -o \$O/stems.wav --stems --format s24 -q
$M render scenes/demo.ron --layout 5.1 -o \$O/mm.wav --format s24 -q
$M adm export scenes/demo.ron -o \$O/adm.wav -q
for f in pm-714:7.1.4 pm-51:5.1 pm-20:stereo phones:stereo me-51:5.1 stems:7.1.4 mm:5.1; do
  $M qc \$O/\${f%%:*}.wav --layout \${f##*:} --spec ebu-r128 --quiet >/dev/null || true
done
$M adm validate \$O/adm.wav >/dev/null
SH
# The same sheet without normalize (its measuring passes are work the separate commands do not do).
sed -e 's/, normalize: true//' -e "s|master: \"demo.ron\"|master: \"$PWD/scenes/demo.ron\"|" \
    -e "s|out_dir: \"../deliverables\"|out_dir: \"$PWD/$D/plain\"|" scenes/deliver.ron > "$D/plain.ron"
hyperfine -i -w 1 -r 5 \
  "$M deliver scenes/deliver.ron --force --quiet" \
  "$M deliver $D/plain.ron --force --quiet" \
  "bash $D/separate.sh"
echo "== a second run with nothing changed"
hyperfine -N -w 1 -r 10 "$M deliver scenes/deliver.ron --quiet"
