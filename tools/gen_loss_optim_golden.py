#!/usr/bin/python3
"""Golden fixtures of net/loss.c and net/optim.c (tests/test_loss_optim.c).

Run with the system PyTorch (python3-torch 1.13): /usr/bin/python3 tools/gen_loss_optim_golden.py
Writes tests/fixtures/loss_optim/*.npy (float32, labels int64), a few KB.

- xent_*: F.cross_entropy (mean) of random logits, its gradient.
- arc_*, cos_*, lin_*: arcface_torch's PartialFC_V2 at sample_rate 1 (normalise
  the embeddings and the class centres, linear, clamp to [-1, 1]) followed by
  CombinedMarginLoss (ArcFace with the differentiable where(...) target logit
  of arcface_torch before Dec 2022, CosFace) and F.cross_entropy; lin_ is
  s = 0, a plain Linear without bias. Row 0 of arc_ has its target cosine
  below cos(pi - m2) (theta + m2 > pi: the fallback branch).
- sgd_*, adam_*, adamw_*: torch.optim over 10 steps of fixed gradients, two
  tensors in two parameter groups (the second without weight decay), lr from
  a schedule; the parameters after every step.
- lr_*: the lr each optimiser step sees under MultiStepLR, CosineAnnealingLR
  and linear warmup followed by cosine (SequentialLR) and by polynomial decay.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "loss_optim")


def save(name, a):
    a = np.ascontiguousarray(a)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    np.save(os.path.join(OUT, name + ".npy"), a)


def xent(gen):
    logits = (torch.randn(5, 7, generator=gen) * 3).requires_grad_()
    labels = torch.tensor([0, 6, 3, 3, 1])
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    save("xent_logits", logits.detach().numpy())
    save("xent_labels", labels.numpy().astype(np.int64))
    save("xent_loss", np.array([loss.item()]))
    save("xent_grad", logits.grad.numpy())


def margin_logits(cos, labels, s, m1, m2, m3):
    """CombinedMarginLoss with a gradient through the target logit."""
    assert m1 == 1.0
    rows = torch.arange(cos.shape[0])
    t = cos[rows, labels]
    if m3 > 0:
        ft = t - m3
    else:
        theta = math.cos(math.pi - m2)
        sinmm = math.sin(math.pi - m2) * m2
        sin_t = torch.sqrt(1.0 - torch.pow(t, 2))
        cos_tm = t * math.cos(m2) - sin_t * math.sin(m2)
        ft = torch.where(t > theta, cos_tm, t - sinmm)
    onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
    return (cos * (1 - onehot) + ft[:, None] * onehot) * s


def head(prefix, gen, s, m1, m2, m3, n=6, d=16, classes=11):
    emb = torch.randn(n, d, generator=gen)
    W = torch.randn(classes, d, generator=gen) * 0.1
    labels = torch.randint(0, classes, (n,), generator=gen)
    if prefix == "arc":
        # row 0: target centre opposite the embedding, cos ~ -0.99 < cos(pi - 0.5)
        W[labels[0]] = -emb[0] * 0.05 + torch.randn(d, generator=gen) * 0.002
    emb.requires_grad_()
    W.requires_grad_()
    if s == 0:
        logits = F.linear(emb, W)
    else:
        cos = F.linear(F.normalize(emb), F.normalize(W)).clamp(-1, 1)
        logits = margin_logits(cos, labels, s, m1, m2, m3)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    save(prefix + "_emb", emb.detach().numpy())
    save(prefix + "_W", W.detach().numpy())
    save(prefix + "_labels", labels.numpy().astype(np.int64))
    save(prefix + "_loss", np.array([loss.item()]))
    save(prefix + "_demb", emb.grad.numpy())
    save(prefix + "_dW", W.grad.numpy())


def lr_seq(sched_fn, steps, base=0.1):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    sch = sched_fn(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    return np.array(out, dtype=np.float64)


def lrs():
    S = torch.optim.lr_scheduler
    save("lr_multistep", lr_seq(lambda o: S.MultiStepLR(o, milestones=[3, 7], gamma=0.1), 12))
    save("lr_cosine", lr_seq(lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001), 20))
    w, total = 4, 20
    save("lr_warmcos", lr_seq(lambda o: S.SequentialLR(o, [
        S.LambdaLR(o, lambda k: k / w),
        S.CosineAnnealingLR(o, T_max=total - w, eta_min=0.001)], milestones=[w]), total))
    save("lr_poly", lr_seq(lambda o: S.LambdaLR(
        o, lambda k: k / w if k < w else (1 - (k - w) / (total - w)) ** 2), total))


def optim_run(name, make, gen, steps=10):
    a = torch.randn(37, generator=gen)
    b = torch.randn(5, generator=gen)
    pa, pb = torch.nn.Parameter(a.clone()), torch.nn.Parameter(b.clone())
    opt = make([{"params": [pa]}, {"params": [pb], "weight_decay": 0.0}])
    ga = torch.randn(steps, 37, generator=gen)
    gb = torch.randn(steps, 5, generator=gen)
    lr = np.array([0.1, 0.1, 0.05, 0.05, 0.05, 0.02, 0.02, 0.01, 0.01, 0.005])[:steps]
    tra, trb = [], []
    for t in range(steps):
        for g in opt.param_groups:
            g["lr"] = float(lr[t])
        pa.grad, pb.grad = ga[t].clone(), gb[t].clone()
        opt.step()
        tra.append(pa.detach().numpy().copy())
        trb.append(pb.detach().numpy().copy())
    save(name + "_a0", a.numpy())
    save(name + "_b0", b.numpy())
    save(name + "_ga", ga.numpy())
    save(name + "_gb", gb.numpy())
    save(name + "_lr", lr)
    save(name + "_a", np.stack(tra))
    save(name + "_b", np.stack(trb))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20261207)
    xent(gen)
    head("arc", gen, 64.0, 1.0, 0.5, 0.0)
    head("cos", gen, 64.0, 1.0, 0.0, 0.4)
    head("lin", gen, 0.0, 1.0, 0.0, 0.0)
    lrs()
    O = torch.optim
    optim_run("sgd", lambda g: O.SGD(g, lr=0.1, momentum=0.9, weight_decay=5e-4), gen)
    optim_run("nesterov", lambda g: O.SGD(g, lr=0.1, momentum=0.9, nesterov=True,
                                          weight_decay=5e-4), gen)
    optim_run("adam", lambda g: O.Adam(g, lr=1e-3, weight_decay=1e-2), gen)
    optim_run("adamw", lambda g: O.AdamW(g, lr=1e-3, weight_decay=0.05), gen)


if __name__ == "__main__":
    main()
