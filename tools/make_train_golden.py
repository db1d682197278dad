#!/usr/bin/python3
"""make_train_golden.py - golden trajectories of the MINT trainer from PyTorch.

Builds the Vanilla MINT model (F=40 features, Dense 128 + ReLU with L1 0.1 on
its weights, BatchNorm1d (train mode, eps 1e-5, momentum 0.1), Dropout 0.5,
Dense 1) and the CNN MINT model (C=8, H=W=8: Conv 64 3x3 pad 1 + ReLU,
MaxPool 2x2, flatten, Dense C + ReLU, Dropout 0.5, Dense 1), both with
BCEWithLogitsLoss (mean) and torch.optim.Adam defaults, and runs 50 steps on a
fixed sequence of batches. Dropout uses fixed keep masks (p = 0.5, drawn here
and written to the fixture) applied as x * mask * 1/(1-p) - exactly what
nn.Dropout does with that mask - so the C trainer replays the same masks.

Writes tests/fixtures/train_golden/<model>_*.npy:
  pool        [P, ...]   float32 samples the batches are drawn from
  idx         [50, B]    int64 pool row of each batch element
  y           [50, B]    float32 labels (1 member, 0 external)
  mask        [50, B, H] uint8 dropout keep masks
  loss        [50, 2]    float32 (BCE + L1 term, BCE) before each step's update
  init_<t>    initial parameter <t> (PyTorch names, e.g. dense1.weight)
  final_<t>   parameters (and BN running stats) after the 50 steps

Needs Debian's python3-torch: run with /usr/bin/python3 from the repo root.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/train_golden"
STEPS = 50
P_DROP = 0.5


class Vanilla(nn.Module):
    def __init__(self, nfeat, hidden=128):
        super().__init__()
        self.dense1 = nn.Linear(nfeat, hidden)
        self.bn = nn.BatchNorm1d(hidden, eps=1e-5, momentum=0.1)
        self.dense2 = nn.Linear(hidden, 1)
        self.hidden = hidden

    def forward(self, x, mask):
        h = self.bn(F.relu(self.dense1(x)))
        h = h * mask * (1.0 / (1.0 - P_DROP))
        return self.dense2(h).squeeze(1)

    def penalty(self):
        return 0.1 * self.dense1.weight.abs().sum()


class CNN(nn.Module):
    def __init__(self, c, h, w):
        super().__init__()
        self.conv = nn.Conv2d(c, 64, 3, padding=1)
        self.dense1 = nn.Linear(64 * (h // 2) * (w // 2), c)
        self.dense2 = nn.Linear(c, 1)
        self.hidden = c

    def forward(self, x, mask):
        h = F.max_pool2d(F.relu(self.conv(x)), 2)
        h = F.relu(self.dense1(h.flatten(1)))
        h = h * mask * (1.0 / (1.0 - P_DROP))
        return self.dense2(h).squeeze(1)

    def penalty(self):
        return torch.zeros((), dtype=torch.float32)


def keras_init(model, gen):
    """glorot_uniform kernels, zero biases (Keras defaults)."""
    for name, p in model.named_parameters():
        if name.endswith("weight") and p.dim() >= 2:
            fan_in = p.shape[1] * (p[0, 0].numel() if p.dim() > 2 else 1)
            fan_out = p.shape[0] * (p[0, 0].numel() if p.dim() > 2 else 1)
            lim = (6.0 / (fan_in + fan_out)) ** 0.5
            with torch.no_grad():
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * lim)
        elif name.endswith("bias"):
            with torch.no_grad():
                p.zero_()


def run(prefix, model, pool_m, pool_e, batch, gen):
    keras_init(model, gen)
    pool = torch.cat([pool_m, pool_e]).contiguous()
    nm = pool_m.shape[0]
    half = batch // 2
    idx = np.zeros((STEPS, batch), np.int64)
    ys = np.zeros((STEPS, batch), np.float32)
    masks = np.zeros((STEPS, batch, model.hidden), np.uint8)
    losses = np.zeros((STEPS, 2), np.float32)
    save = lambda name, a: np.save(os.path.join(OUT, f"{prefix}_{name}.npy"), a)
    for n, p in model.named_parameters():
        save("init_" + n, p.detach().numpy().copy())
    opt = torch.optim.Adam(model.parameters())  # lr 1e-3, betas (0.9, 0.999), eps 1e-8
    model.train()
    for s in range(STEPS):
        im = torch.randint(0, nm, (half,), generator=gen)
        ie = torch.randint(nm, pool.shape[0], (half,), generator=gen)
        ib = torch.cat([im, ie])
        x = pool[ib]
        y = torch.cat([torch.ones(half), torch.zeros(half)])
        mask = (torch.rand((batch, model.hidden), generator=gen) >= P_DROP).float()
        opt.zero_grad()
        z = model(x, mask)
        bce = F.binary_cross_entropy_with_logits(z, y)
        loss = bce + model.penalty()
        loss.backward()
        opt.step()
        idx[s] = ib.numpy()
        ys[s] = y.numpy()
        masks[s] = mask.numpy().astype(np.uint8)
        losses[s] = [loss.item(), bce.item()]
    save("pool", pool.numpy())
    save("idx", idx)
    save("y", ys)
    save("mask", masks)
    save("loss", losses)
    for n, t in model.state_dict().items():
        if t.dtype == torch.float32:
            save("final_" + n, t.numpy().copy())
    print(f"{prefix}: loss {losses[0, 0]:.6f} -> {losses[-1, 0]:.6f}, "
          f"bce {losses[0, 1]:.6f} -> {losses[-1, 1]:.6f}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(20240611)
    # Vanilla: F = 40, members shifted by +0.5
    f = 40
    vm = torch.randn((48, f), generator=gen) + 0.5
    ve = torch.randn((48, f), generator=gen)
    run("vanilla", Vanilla(f), vm, ve, 16, gen)
    # CNN: C = 8, H = W = 8 (non-negative maps, like post-activation taps)
    c, h, w = 8, 8, 8
    cm = torch.relu(torch.randn((16, c, h, w), generator=gen) + 0.3)
    ce = torch.relu(torch.randn((16, c, h, w), generator=gen))
    run("cnn", CNN(c, h, w), cm, ce, 8, gen)


if __name__ == "__main__":
    main()
