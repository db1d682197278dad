#!/bin/sh
# bench/exp_audit.sh BUILD [OUT] - `make experiment-audit`: the audit-validity
# experiment of issue 8 on LFW (docs/audit-statistics.md).
#   1. a random-weight IResNet-18 (mint demo --save; nobody can be a member),
#      every LFW image extracted (layer1..layer4, per-channel max);
#   2. bench/exp_audit: false-evidence rate of the old and new set-level
#      tests over 200 non-member identities x 5 identity splits;
#   3. if EXP_NET (a network trained on known LFW identities, e.g. by
#      tools/train_lfw_net.py) with EXP_TRAIN_LIST (path,label of the images it
#      trained on) are set, the same on that network plus the power on its
#      member identities for sets of 1, 5 and 20 images.
# Needs ../shared/data/lfw. Takes ~10 min per network on 2 cores (the
# extraction; finished extractions are reused).
set -eu
B=${1:-build}
OUT=${2:-$B/exp-audit}
LFW=${MINT_SHARED_DATA:-../shared/data}/lfw
if [ ! -d "$LFW/images" ]; then
    echo "SKIP: $LFW/images not found (the LFW data set of ../shared/data)"
    exit 0
fi
mkdir -p "$OUT"
extract() { # network out-dir
    if [ ! -f "$2/index.csv" ]; then
        "$B/mint" extract --model "$1" --dir "$LFW/images" --landmarks "$LFW/landmarks_5pt.csv" \
            --taps layer1,layer2,layer3,layer4 --pool max --out "$2" --resume
    fi
}
[ -f "$OUT/r18rand.mint" ] || "$B/mint" demo --depth 18 --batch 1 --runs 1 --seed 1 --save "$OUT/r18rand.mint"
extract "$OUT/r18rand.mint" "$OUT/r18rand_aad"
echo "==== random-weight IResNet-18 ===="
"$B/bench/exp_audit" --aad "$OUT/r18rand_aad" --reps "${REPS:-5}"
if [ -n "${EXP_NET:-}" ]; then
    extract "$EXP_NET" "$OUT/net_aad"
    echo "==== $EXP_NET (trained on known LFW identities) ===="
    "$B/bench/exp_audit" --aad "$OUT/net_aad" --train-list "$EXP_TRAIN_LIST" --reps "${REPS:-5}"
fi
