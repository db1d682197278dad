#!/usr/bin/python3
"""bench_train_iresnet_torch.py - PyTorch CPU peer of bench/bench_train_graph.c:
images/s of one face-training step of an IResNet (tools/iresnet.py, the
arcface_torch structure): forward in training mode, CosFace head
(CombinedMarginLoss s=64, m3=0.4 on L2-normalised embeddings and class
weights) + cross-entropy, backward, SGD (momentum 0.9, weight decay 5e-4 on
every parameter, as arcface_torch). Random inputs and labels.
torch.set_num_threads(--threads). Prints one line per run of --steps steps:
  torch_train_iresnet depth=18 size=112 batch=64 threads=2 images_per_s=X
and, after --runs runs, the median line with images_per_s_median=X.
Needs Debian's python3-torch: /usr/bin/python3 tools/bench_train_iresnet_torch.py
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iresnet import DEPTHS, IResNet  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=18)
    ap.add_argument("--widths", default="64,128,256,512")
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--emb", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    widths = tuple(int(w) for w in a.widths.split(","))
    net = IResNet(DEPTHS[a.depth], widths, a.emb, in_size=a.size)
    W = torch.nn.Parameter(torch.randn(a.classes, a.emb) * 0.01)
    opt = torch.optim.SGD(list(net.parameters()) + [W], lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))
    net.train()

    def step():
        opt.zero_grad(set_to_none=False)
        emb = net(x)
        cos = F.linear(F.normalize(emb), F.normalize(W)).clamp(-1, 1)
        logits = 64.0 * (cos - 0.4 * F.one_hot(y, a.classes))
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()

    step()  # warm-up
    rates = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        r = a.batch * a.steps / (time.perf_counter() - t0)
        rates.append(r)
        print("torch_train_iresnet depth=%d size=%d batch=%d threads=%d images_per_s=%.2f"
              % (a.depth, a.size, a.batch, a.threads, r), flush=True)
    rates.sort()
    print("torch_train_iresnet depth=%d size=%d batch=%d threads=%d images_per_s_median=%.2f "
          "torch=%s" % (a.depth, a.size, a.batch, a.threads, rates[len(rates) // 2],
                        torch.__version__), flush=True)


if __name__ == "__main__":
    main()
