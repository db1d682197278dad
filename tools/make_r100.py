#!/usr/bin/python3
"""Write a full-size IResNet (r100 by default) with random weights as ONNX.

    /usr/bin/python3 tools/make_r100.py [--depth 100|50|34|18|200] [--out PATH]
                                        [--seed N] [--check]

Default output build/models/r<depth>.onnx (r100 ~261 MB: never committed).
Same structure and export as the arcface_torch models (widths 64..512,
emb 512, input `data` 1x3x112x112 with batch axis `N`, opset 11), with random
weights and non-trivial BN statistics / PReLU slopes (tools/iresnet.py), so it
stands in for the real InsightFace models in benchmarks and end-to-end runs.
A sidecar PATH.json gives the stage tap tensor names. --check compares
PyTorch and ONNX Runtime (tools/ort_run.js) on one random batch of 2.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import iresnet  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="random-weight IResNet as ONNX")
    ap.add_argument("--depth", type=int, default=100, choices=sorted(iresnet.DEPTHS))
    ap.add_argument("--out", default=None)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--check", action="store_true", help="compare PyTorch and ORT")
    args = ap.parse_args()
    out = args.out or os.path.join(ROOT, "build", "models", "r%d.onnx" % args.depth)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)

    net = iresnet.build(iresnet.DEPTHS[args.depth], (64, 128, 256, 512), 512, seed=args.seed)
    tmp = out + ".tmp"
    m = iresnet.export(net, tmp, dynamic_batch="N", output_name="embedding")
    os.replace(tmp, out)
    found, _ = iresnet.find_stage_taps(m)
    taps = {"layer%d" % (i + 1): name for i, (_, name) in enumerate(found)}
    side = {"onnx": os.path.basename(out), "depth": args.depth,
            "layers": iresnet.DEPTHS[args.depth], "widths": [64, 128, 256, 512],
            "emb": 512, "seed": args.seed, "taps": taps, "embedding": "embedding",
            "params": int(sum(p.numel() for p in net.parameters())),
            "versions": {"torch": torch.__version__, "onnx": onnx.__version__}}
    with open(out + ".json", "w") as f:
        json.dump(side, f, indent=2)
        f.write("\n")
    print("%s: %.1f MB, %d params, taps %s" % (out, os.path.getsize(out) / 1e6,
                                               side["params"], taps))
    if not args.check:
        return
    x = np.random.RandomState(7).standard_normal((2, 3, 112, 112)).astype(np.float32)
    with torch.no_grad():
        ref = net.forward_taps(torch.from_numpy(x))
    with tempfile.TemporaryDirectory() as td:
        inp = os.path.join(td, "x.npy")
        np.save(inp, x)
        tap_model = onnx.load(out)
        for name in list(taps.values()):
            vi = onnx.helper.make_empty_tensor_value_info(name)
            vi.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
            tap_model.graph.output.append(vi)
        tp = os.path.join(td, "taps.onnx")
        onnx.save(tap_model, tp)
        del tap_model
        cmd = ["node", os.path.join(HERE, "ort_run.js"), tp, "--input", "data=" + inp,
               "--threads", "2"]
        want = dict(taps, embedding="embedding")
        for t, n in want.items():
            cmd += ["--out", "%s=%s" % (n, os.path.join(td, t + ".npy"))]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        for t in want:
            a = ref[t].numpy().astype(np.float64)
            b = np.load(os.path.join(td, t + ".npy")).astype(np.float64)
            cos = (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())
            print("  %-9s std %.3g  torch vs ort: 1-cos %.2e max|d| %.3g"
                  % (t, a.std(), 1 - cos, np.abs(a - b).max()))
            if cos < 0.99999:
                raise SystemExit("make_r100: %s disagrees" % t)


if __name__ == "__main__":
    main()
