#!/bin/sh
# bench/run.sh BUILD - `make bench`: kernel GFLOP/s vs the FMA peak, then
# IResNet-100 end-to-end ms/image, mint next to ONNX Runtime on the same
# ONNX model in the same run. Needs, for the peer: /usr/bin/python3 with
# torch+onnx (to make the model once) and tools/node_modules (npm ci
# --ignore-scripts in tools/). Without them it says so and times mint alone.
set -eu
B=${1:-build}
RUNS=${RUNS:-5}
echo "==== kernels (bench_kernels) ===="
"$B/bench/bench_kernels" ${KERNEL_ARGS:-}
echo
echo "==== MINT training (bench_train, PyTorch peer in the same run) ===="
"$B/bench/bench_train" ${TRAIN_ARGS:-}
echo
echo "==== face margin heads (bench_loss: ArcFace/CosFace, n=64 d=512 classes=5749) ===="
"$B/bench/bench_loss" ${LOSS_ARGS:-}
echo
echo "==== IResNet-100 end to end ===="
M=$B/models/r100.onnx
if [ ! -f "$M" ] && /usr/bin/python3 -c "import torch, onnx" 2>/dev/null; then
    /usr/bin/python3 tools/make_r100.py --out "$M"
fi
if [ ! -f "$M" ]; then
    echo "SKIP peer: $M missing and no Debian python3-torch to make it; mint alone on the native builder:"
    "$B/bench/bench_e2e" --depth 100 --runs "$RUNS"
    exit 0
fi
[ -f "$B/models/r100.mint" ] && [ "$B/models/r100.mint" -nt "$M" ] || "$B/mint" convert "$M" "$B/models/r100.mint"
OUT=$(mktemp)
"$B/bench/bench_e2e" "$B/models/r100.mint" --runs "$RUNS" | tee "$OUT"
if [ -d tools/node_modules/onnxruntime-node ]; then
    node bench/ort_bench.js "$M" --batch 1,8 --threads 1,2 --runs "$RUNS" | tee -a "$OUT"
else
    echo "SKIP peer: tools/node_modules/onnxruntime-node missing (cd tools && npm ci --ignore-scripts)"
fi
echo
echo "IResNet-100, 112x112, ms/image (median of $RUNS)"
printf "%-6s %-8s %10s %10s %8s\n" batch threads mint ort ort/mint
awk '
/^mint batch=/ { split($2,b,"="); split($3,t,"="); split($4,v,"="); m[b[2]" "t[2]]=v[2]; k[b[2]" "t[2]]=1 }
/^ort_bench_result/ { for (i=1;i<=NF;i++) { split($i,kv,"="); f[kv[1]]=kv[2] }
                      o[f["batch"]" "f["threads"]]=f["ms_per_image_median"]; k[f["batch"]" "f["threads"]]=1 }
END { for (x in k) { split(x,p," "); r=(x in o && x in m && m[x]>0)? sprintf("%.2f", o[x]/m[x]) : "-";
      printf "%-6s %-8s %10s %10s %8s\n", p[1], p[2], (x in m)?m[x]:"-", (x in o)?o[x]:"-", r } }' "$OUT" | sort -n
rm -f "$OUT"
