#!/usr/bin/env bash
# Issue 9's VGG-16 figure: conv1_1..conv3_1 (with pool1 and pool2) fused whole, line-buffered
# (--fusion-overlap cache-all), against the same layers unfused on the same arch. Timing mode.
# From first principles: the fused group's feature-map DRAM traffic is the compulsory bytes,
# the 3x224x224 input plus conv3_1's 256x56x56 output at 2 bytes (1,906,688 B; 2% allowed for
# nothing; column strips re-read the input columns their halos share, 0.9%), it runs in no more
# cycles than the unfused layers, and its feature maps on chip (the NBin and NBout slots of its
# schedule) are at most MAX_ONCHIP bytes (default: an eighth of one intermediate map, 802,816 B).
# Usage: vgg_first5.sh FUSESIM WORKDIR ARCH MODEL [MAX_ONCHIP [STRIPS]]
# STRIPS: the column strips the planner must have chosen (default 1).
set -eu
exe=$1; dir=$2; arch=$3; model=$4; max_onchip=${5:-802816}; strips=${6:-1}
rm -rf "$dir"; mkdir -p "$dir"
common=(--model "$model" --arch "$arch" --mode timing --quiet --no-timeline)
"$exe" run "${common[@]}" --out "$dir/unfused"
"$exe" run "${common[@]}" --fuse conv1_1:conv3_1 --fusion-overlap cache-all --out "$dir/fused"
"$exe" compile --model "$model" --arch "$arch" --fuse conv1_1:conv3_1 --fusion-overlap cache-all \
       --emit-schedule "$dir/schedule.yaml" > /dev/null
python3 - "$dir" "$max_onchip" "$strips" <<'PY'
import csv, re, sys
d, max_onchip, strips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
L = {"conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1"}
# weights and biases of the seven layers, int16, each once
w = 2 * (3*64*9 + 64 + 64*64*9 + 64 + 64*128*9 + 128 + 128*128*9 + 128 + 128*256*9 + 256)
def figures(tag):
    rows = [r for r in csv.DictReader(open(f"{d}/{tag}/layers.csv")) if set(r["layers"].split(";")) & L]
    traffic = sum(int(r["dram_read_bytes"]) - int(r["fetch_bytes"]) + int(r["dram_write_bytes"]) for r in rows) - w
    return traffic, sum(int(r["cycles"]) for r in rows)
ut, uc = figures("unfused")
ft, fc = figures("fused")
text = open(f"{d}/schedule.yaml").read()
group = [g for g in re.split(r"^  - layers: ", text, flags=re.M)[1:] if g.startswith("[conv1_1, conv1_2")][0]
onchip = sum(int(b) * int(c) for buf, b, c in re.findall(r"\{buffer: (\w+), addr: \d+, bytes: (\d+), count: (\d+)", group)
             if buf in ("NBin", "NBout"))
m = re.search(r"strips: (\d+)", group.split("chunks:")[0])
chosen = int(m.group(1)) if m else 1
compulsory = 2 * (3*224*224 + 256*56*56)
print(f"unfused: {ut:,} B feature-map traffic, {uc:,} cycles; fused cache-all ({chosen} strip(s)): {ft:,} B, "
      f"{fc:,} cycles, {onchip:,} B of feature maps on chip (compulsory traffic {compulsory:,} B, "
      f"at most {max_onchip:,} B on chip)")
ok = ft <= compulsory * 1.02 and fc <= uc and onchip <= max_onchip and chosen == strips
sys.exit(0 if ok else 1)
PY
