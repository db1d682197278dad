#!/usr/bin/python3
"""bench_train_torch.py - PyTorch CPU peer of bench/bench_train.c: samples/s
of one MINT training step (forward, BCE-with-logits + L1, backward, Adam) at
batch 128 on the same architectures and sizes:
  vanilla: 960 -> Linear 128 -> ReLU -> BatchNorm1d -> Dropout 0.5 -> Linear 1,
           L1 0.1 on the first Linear's weight
  cnn:     C x H x W -> Conv2d 64 3x3 pad 1 -> ReLU -> MaxPool2d 2 -> Flatten
           -> Linear C -> ReLU -> Dropout 0.5 -> Linear 1
torch.set_num_threads(--threads). Prints lines
  torch_train model=<m> batch=128 threads=T samples_per_s_median=X min=.. max=..
Needs Debian's python3-torch: /usr/bin/python3 tools/bench_train_torch.py
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def vanilla(nfeat):
    return nn.Sequential(nn.Linear(nfeat, 128), nn.ReLU(), nn.BatchNorm1d(128), nn.Dropout(0.5),
                         nn.Linear(128, 1))


def cnn(c, h, w):
    return nn.Sequential(nn.Conv2d(c, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * (h // 2) * (w // 2), c), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(c, 1))


def bench(name, model, x, l1, steps, runs, threads):
    b = x.shape[0]
    y = torch.cat([torch.ones(b // 2), torch.zeros(b - b // 2)])
    opt = torch.optim.Adam(model.parameters())
    model.train()

    def step():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x).squeeze(1), y)
        if l1:
            loss = loss + 0.1 * model[0].weight.abs().sum()
        loss.backward()
        opt.step()

    step()
    step()
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * b / (time.perf_counter() - t0))
    rates.sort()
    print(f"torch_train model={name} batch={b} threads={threads} "
          f"samples_per_s_median={rates[len(rates) // 2]:.1f} min={rates[0]:.1f} max={rates[-1]:.1f}",
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cnn", default="64,56,56")
    ap.add_argument("--batch", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c, h, w = (int(v) for v in a.cnn.split(","))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)", flush=True)
    xv = torch.rand(a.batch, 960) * 2 - 1
    bench("vanilla", vanilla(960), xv, True, a.steps or 50, a.runs, a.threads)
    xc = torch.rand(a.batch, c, h, w) * 2 - 1
    bench("cnn", cnn(c, h, w), xc, False, a.steps or 1, min(a.runs, 3), a.threads)


if __name__ == "__main__":
    main()
