#!/usr/bin/python3
"""gen_tmodel_golden.py - golden training runs of `mint train-model`'s step
(mint/tm_core.c) for tests/test_train_model.c.

The network is tools/gen_train_graph_golden.py's tiny arcface_torch IResNet
(layers {2,1,1,1}, widths {8,16,16,24}, input 3x32x32, embedding 16) with
that script's seeded weights.

passive: 20 steps of SGD (momentum 0.9, weight decay 5e-4 on every
  parameter, features.weight frozen) at a cosine learning rate from 0.05 over
  the 20 steps, on a linear softmax head (W [5][16] ~ N(0, 0.01), no bias:
  train-model --loss softmax), batch 6 (four batches with their labels,
  cycled: a set to learn). Not CosFace here: with s = 64 the 20-step
  trajectory is chaotic (PyTorch float32 against float64 differ by 20% at
  step 20), so no implementation could match another within 1e-4; with the
  linear head float32 and float64 agree within 3e-7.
active: one Active MINT step from the same initial network: 6 member rows
  + 4 external rows through the
  network in training mode; the task loss (CosFace) on the 6 member rows;
  a CNN MINT head (mint/model.c: Conv 64 3x3 same + ReLU, MaxPool 2, Dense
  C(=8) + ReLU, dropout 0 here, Dense 1; BCE with logits, mean) on layer1 of
  member rows 0..2 (label 1) and the 4 external rows (label 0);
  loss = L_task/L_task0 + L_mint/L_mint0 with L0 the same batch's values
  (detached); SGD as above for the network and W (lr 0.05), Adam (lr 1e-3,
  0.9, 0.999, 1e-8) for the head.

Writes tests/fixtures/tmodel/ (about 120 KB): state0.npy / index.txt (as
gen_train_graph_golden), W0.npy, x.npy [4,6,3,32,32] float16 (step t
uses batch t % 4), y.npy [20,6] (labels as float), loss.npy [20],
state20.npy, W20.npy; amint_x.npy [10,3,32,32] float16, amint_y.npy [6],
amint_W0.npy, head0.npy (conv.weight, conv.bias,
dense1.weight, dense1.bias, dense2.weight, dense2.bias concatenated),
amint_loss.npy [task, mint], amint_state1.npy, amint_W1.npy, amint_head1.npy,
amint_headgrad.npy (the head's gradient of the step's loss, before Adam).

Regenerate: /usr/bin/python3 tools/gen_tmodel_golden.py (from the repo root).
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_train_graph_golden as G  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tmodel"
CLASSES, B, BE, STEPS, LR, POOL = 5, 6, 4, 20, 0.05, 4


def cosface(emb, W, labels):
    cos = F.linear(F.normalize(emb), F.normalize(W)).clamp(-1, 1)
    onehot = F.one_hot(labels, CLASSES).float()
    return F.cross_entropy(64.0 * (cos - 0.4 * onehot), labels)


def linear_ce(emb, W, labels):
    return F.cross_entropy(emb @ W.t(), labels)


def fresh_net(g):
    m = G.IResNet()
    G.randomise(m, g)
    return m


def sgd(m, W, lr=None):
    params = [p for p in m.parameters() if p.requires_grad] + [W]
    return torch.optim.SGD(params, lr=lr or LR, momentum=0.9, weight_decay=5e-4)


def passive(g, save):
    m = fresh_net(g)
    init = {k: v.clone() for k, v in m.state_dict().items()}
    W = (torch.randn(CLASSES, G.EMB, generator=g) * 0.01).requires_grad_()
    names, s0 = G.flat_state(m)
    save("state0.npy", np.concatenate(s0))
    save("W0.npy", W.detach().numpy())
    opt = sgd(m, W)
    # POOL batches, cycled (kept small: float16 values)
    xpool = torch.randn(POOL, B, G.IN_C, G.IN_HW, G.IN_HW, generator=g).half().float()
    ypool = torch.randint(0, CLASSES, (POOL, B), generator=g)
    ys, losses = [], []
    m.train()
    for t in range(STEPS):
        x, y = xpool[t % POOL], ypool[t % POOL]
        for group in opt.param_groups:
            group["lr"] = LR * (1 + math.cos(math.pi * t / STEPS)) / 2
        opt.zero_grad()
        emb, _ = m(x)
        loss = linear_ce(emb, W, y)
        loss.backward()
        opt.step()
        ys.append(y.numpy().astype(np.float32))
        losses.append(loss.item())
    _, s20 = G.flat_state(m)
    np.save(os.path.join(OUT, "x.npy"), xpool.numpy().astype(np.float16))
    save("y.npy", np.stack(ys))
    save("loss.npy", np.array(losses))
    save("state20.npy", np.concatenate(s20))
    save("W20.npy", W.detach().numpy())
    return names, s0, m, init


class Head(nn.Module):
    """mint/model.c's CNN MINT model on a C x H x W map, dropout 0."""

    def __init__(self, c, h, w):
        super().__init__()
        self.conv = nn.Conv2d(c, 64, 3, 1, 1)
        self.dense1 = nn.Linear(64 * (h // 2) * (w // 2), c)
        self.dense2 = nn.Linear(c, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.dense2(F.relu(self.dense1(torch.flatten(x, 1)))).squeeze(1)


def head_flat(h):
    return np.concatenate([p.detach().numpy().ravel() for p in
                           (h.conv.weight, h.conv.bias, h.dense1.weight, h.dense1.bias,
                            h.dense2.weight, h.dense2.bias)]).astype(np.float32)


def active(g, s0_net, save):
    m = s0_net
    W = (torch.randn(CLASSES, G.EMB, generator=g) * 0.01).requires_grad_()
    save("amint_W0.npy", W.detach().numpy())
    x = torch.randn(B + BE, G.IN_C, G.IN_HW, G.IN_HW, generator=g).half().float()
    y = torch.randint(0, CLASSES, (B,), generator=g)
    m.eval()  # the head's geometry only (eval mode: no running-stat update)
    with torch.no_grad():
        _, l1 = m(x[:1])
    head = Head(l1.shape[1], l1.shape[2], l1.shape[3])
    for p in head.parameters():
        with torch.no_grad():
            p.uniform_(-0.1, 0.1, generator=g)
    save("head0.npy", head_flat(head))
    return m, W, x, y, head


def active_step(m, W, x, y, head, save):
    opt = sgd(m, W)
    hopt = torch.optim.Adam(head.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    m.train()
    emb, l1 = m(x)
    lt = cosface(emb[:B], W, y)
    rows = list(range(B // 2)) + list(range(B, B + BE))
    target = torch.tensor([1.0] * (B // 2) + [0.0] * BE)
    lm = F.binary_cross_entropy_with_logits(head(l1[rows]), target)
    loss = lt / lt.detach() + lm / lm.detach()
    opt.zero_grad()
    hopt.zero_grad()
    loss.backward()
    hgrad = np.concatenate([p.grad.numpy().ravel() for p in
                            (head.conv.weight, head.conv.bias, head.dense1.weight,
                             head.dense1.bias, head.dense2.weight, head.dense2.bias)])
    opt.step()
    hopt.step()
    _, s1 = G.flat_state(m)
    np.save(os.path.join(OUT, "amint_x.npy"), x.numpy().astype(np.float16))
    save("amint_y.npy", y.numpy().astype(np.float32))
    save("amint_loss.npy", np.array([lt.item(), lm.item()]))
    save("amint_state1.npy", np.concatenate(s1))
    save("amint_W1.npy", W.detach().numpy())
    save("amint_head1.npy", head_flat(head))
    save("amint_headgrad.npy", hgrad)


def main():
    torch.manual_seed(20261207)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    save = lambda n, a: np.save(os.path.join(OUT, n), np.ascontiguousarray(a, dtype=np.float32))
    g = torch.Generator().manual_seed(11)
    names, s0, _, init = passive(g, save)
    # the Active MINT step starts again from the same initial network
    m = G.IResNet()
    m.load_state_dict(init)
    active_step(*active(g, m, save), save)
    # index.txt: names, offsets, kinds (as gen_train_graph_golden)
    params = dict(m.named_parameters())
    lines, off = [], 0
    for name, a in zip(names, s0):
        p = params.get(name)
        kind = "buffer" if p is None else ("param" if p.requires_grad else "frozen")
        lines.append("%s %d %d %s" % (name, off, a.size, kind))
        off += a.size
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s" % OUT)


if __name__ == "__main__":
    main()
