#!/bin/sh
# bench/run.sh BUILD - `make bench`: kernel GFLOP/s vs the FMA peak, then
# the IResNet-18 training step (images/s) next to PyTorch CPU in the same
# run, IResNet-100 end-to-end ms/image, mint next to ONNX Runtime on the
# same ONNX model in the same run. Needs, for the peer: /usr/bin/python3 with
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
echo "==== IResNet-18 training step (112x112 RGB, CosFace + SGD): mint vs PyTorch, alternating ===="
# TR_ROUNDS rounds of TR_STEPS steps each (after a warm-up step), mint and
# PyTorch taking turns so both see the same machine load; images/s medians
# over the rounds and their ratio. 2 threads (TR_THREADS), passive waiting.
TR_ROUNDS=${TR_ROUNDS:-3}; TR_STEPS=${TR_STEPS:-2}; TR_BATCH=${TR_BATCH:-64}; TR_THREADS=${TR_THREADS:-2}
TR=$(mktemp)
TORCH=1
/usr/bin/python3 -c "import torch" 2>/dev/null || { TORCH=0; echo "SKIP peer: no Debian python3-torch (/usr/bin/python3 -c 'import torch' fails); mint alone"; }
r=0
while [ "$r" -lt "$TR_ROUNDS" ]; do
    r=$((r + 1))
    OMP_NUM_THREADS=$TR_THREADS OMP_WAIT_POLICY=passive "$B/bench/bench_train_graph" \
        --batch "$TR_BATCH" --steps "$TR_STEPS" | tee -a "$TR"
    [ "$TORCH" = 1 ] && OMP_NUM_THREADS=$TR_THREADS OMP_WAIT_POLICY=passive /usr/bin/python3 \
        tools/bench_train_iresnet_torch.py --batch "$TR_BATCH" --steps "$TR_STEPS" \
        --threads "$TR_THREADS" | tee -a "$TR"
done
awk -v rounds="$TR_ROUNDS" '
function median(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
                                   return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
/images_per_s=/ { for (i = 1; i <= NF; i++) if ($i ~ /^images_per_s=/) { split($i, kv, "="); v = kv[2] }
                  if ($1 == "mint_train_iresnet") m[++nm] = v; else if ($1 == "torch_train_iresnet") t[++nt] = v }
/max_rss_mb=/ { for (i = 1; i <= NF; i++) if ($i ~ /^max_rss_mb=/) { split($i, kv, "="); rss = kv[2] } }
END { mm = nm ? median(m, nm) : 0; tt = nt ? median(t, nt) : 0
      printf "IResNet-18 training, images/s, median of %d runs: mint %.2f (peak RSS %s MB)", nm, mm, rss
      if (nt) printf ", PyTorch %.2f, mint/PyTorch %.2fx (target 1.5x)", tt, mm / tt
      printf "\n" }' "$TR"
rm -f "$TR"
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
