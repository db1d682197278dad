#!/bin/sh
# tools/refactor_hashes.sh BUILD [OUT] - hashes of outputs that a refactor
# must leave bit-identical (issue 9: "no behaviour change"): a random-weight
# IResNet-18 (mint demo --save), an extraction of 120 LFW images through it
# (every tap, max-pooled and raw layer4), a Vanilla MINT model trained on
# them, an eval JSON and an audit JSON. Prints one "sha256  name" per output;
# compare two runs with diff. Needs ../shared/data/lfw. ~1 min on 2 cores.
set -eu
B=${1:-build}
OUT=${2:-$(mktemp -d)}
LFW=${MINT_SHARED_DATA:-../shared/data}/lfw
export SOURCE_DATE_EPOCH=1700000000 OMP_NUM_THREADS=2
LFW=$(cd "$LFW" && pwd)
B=$(cd "$B" && pwd)
mkdir -p "$OUT/mem" "$OUT/ext"
cd "$OUT" # every path below is relative: outputs that name paths do not depend on OUT
OUT=.
ls "$LFW/images" | sed -n '1,40p' | while read -r p; do ln -sfn "$(cd "$LFW/images" && pwd)/$p" "$OUT/mem/$p"; done
ls "$LFW/images" | sed -n '41,120p' | while read -r p; do ln -sfn "$(cd "$LFW/images" && pwd)/$p" "$OUT/ext/$p"; done
"$B/mint" demo --depth 18 --batch 1 --runs 1 --seed 3 --save "$OUT/net.mint" >/dev/null
for s in mem ext; do
    "$B/mint" extract --model "$OUT/net.mint" --dir "$OUT/$s" --landmarks "$LFW/landmarks_5pt.csv" \
        --taps layer1,layer2,layer3,layer4,embedding --pool max --out "$OUT/aad_$s" >/dev/null 2>&1
    "$B/mint" extract --model "$OUT/net.mint" --dir "$OUT/$s" --landmarks "$LFW/landmarks_5pt.csv" \
        --taps layer4 --pool none --out "$OUT/raw_$s" >/dev/null 2>&1
done
"$B/mint" train --kind vanilla --members "$OUT/aad_mem" --external "$OUT/aad_ext" --out "$OUT/t.mint" \
    --epochs 3 --quiet >/dev/null 2>&1
"$B/mint" eval --mint "$OUT/t.mint" --members "$OUT/aad_mem" --external "$OUT/aad_ext" \
    --json "$OUT/eval.json" >/dev/null 2>&1
"$B/mint" audit --model "$OUT/net.mint" --mint "$OUT/t.mint" --landmarks "$LFW/landmarks_5pt.csv" \
    --report "$OUT/audit.json" "$OUT/mem/$(ls "$OUT/mem" | head -1)" >/dev/null 2>&1
sha256sum net.mint aad_mem/*.npy aad_mem/index.csv aad_ext/*.npy raw_mem/*.npy t.mint \
    eval.json audit.json | sed 's/ \+/  /'
