#!/usr/bin/python3
"""Train a small audited face network on known LFW identities (PyTorch).

    /usr/bin/python3 tools/train_lfw_net.py [--lfw DIR] [--out DIR]
        [--epochs N] [--widths 24,48,96,192] [--emb 512] [--seed 0]
        [--members 100] [--cap 40] [--measure]

mint cannot train recognition networks itself yet, so the network a MINT
audit is checked on (its training data known exactly) is made here:

- Split by identity: the members are `--members` identities drawn with
  numpy RandomState(seed) from the LFW identities with >= 10 images (sorted
  by name); the first `--cap` images of each (by file name) are the training
  set. Every other identity is a non-member; the members' images beyond the
  cap are a held-out set (accuracy only, never trained on).
- Every image is aligned as mint does: 5 landmarks of landmarks_5pt.csv ->
  ArcFace 112x112 template by the Umeyama similarity of
  make_align_fixtures.py (imported, not re-derived), the matrix rounded to
  float32, cv2.warpAffine INTER_LINEAR, border 0, BGR -> RGB, then
  (x/255 - 0.5)/0.5 (mint convert's default mean/std 0.5, RGB).
- Model: iresnet.IResNet, IResNet-18 layout [2,2,2,2] with narrow stage widths
  (default 24/48/96/192: 32/64/128/256 took
  ~550 s per epoch on the shared 2-core machine), embedding 512, PyTorch default init; CosFace head
  (s=32, m=0.30) on the embedding for the member classes, trained only for
  training; the exported ONNX holds the backbone only (iresnet.export:
  opset 11, input `data`, output `embedding`, eval mode).
- SGD momentum 0.9, weight decay 5e-4 (not on BN/PReLU), lr 0.1, batch 64,
  1 warm-up epoch then cosine to 0, random horizontal flip, channels_last. Deterministic:
  fixed seeds, 2 threads, one shuffling generator.

Outputs in --out (default /work/exp/lfwnet): lfwnet.onnx, split.json,
net_members.txt, train_list.csv (path relative to lfw/images, label),
torch_check.npz (PyTorch eval embeddings of the first 32 training images,
to compare with mint's), train_log.txt. --measure trains 1 epoch, prints
its time and exits (pick --epochs from it).
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import iresnet  # noqa: E402
from make_align_fixtures import ARCFACE, LM_COLS, umeyama  # noqa: E402

COS_S = 32.0
COS_M = 0.30
BATCH = 64
LR = 0.1
WARMUP = 1


def load_landmarks(path):
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows[r["file"]] = np.array([np.float32(r[c]) for c in LM_COLS],
                                       dtype=np.float64).reshape(5, 2)
    return rows


def align(img_dir, rel, lms):
    """uint8 RGB 112x112x3 crop exactly as mint aligns (see module doc)."""
    img = cv2.imread(os.path.join(img_dir, rel), cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError("cannot read " + rel)
    M = umeyama(lms[rel], ARCFACE).astype(np.float32).astype(np.float64)
    crop = cv2.warpAffine(img, M, (112, 112), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return np.ascontiguousarray(crop[:, :, ::-1])


def crops(img_dir, rels, lms):
    out = np.empty((len(rels), 3, 112, 112), dtype=np.uint8)
    for i, rel in enumerate(rels):
        out[i] = align(img_dir, rel, lms).transpose(2, 0, 1)
    return out


def to_input(u8):
    x = (torch.from_numpy(u8).float() / 255.0 - 0.5) / 0.5
    return x.contiguous(memory_format=torch.channels_last)


class CosFace(nn.Module):
    def __init__(self, emb, classes, gen):
        super().__init__()
        w = torch.randn(classes, emb, generator=gen) * 0.01
        self.weight = nn.Parameter(w)

    def cos(self, e):
        return F.linear(F.normalize(e), F.normalize(self.weight))

    def forward(self, e, y):
        c = self.cos(e)
        margin = F.one_hot(y, c.shape[1]).to(c.dtype) * COS_M
        return F.cross_entropy(COS_S * (c - margin), y), c


@torch.no_grad()
def evaluate(net, head, x_u8, y, bs=128):
    net.eval()
    correct = 0
    for i in range(0, len(y), bs):
        e = net(to_input(x_u8[i:i + bs]))
        correct += int((head.cos(e).argmax(1) == torch.from_numpy(y[i:i + bs])).sum())
    return correct / max(len(y), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw", default="/work/shared/data/lfw")
    ap.add_argument("--out", default="/work/exp/lfwnet")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--widths", default="24,48,96,192")
    ap.add_argument("--emb", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--cap", type=int, default=40)
    ap.add_argument("--measure", action="store_true")
    args = ap.parse_args()
    widths = [int(v) for v in args.widths.split(",")]
    assert len(widths) == 4 and widths[0] >= 8

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    img_dir = os.path.join(args.lfw, "images")
    lms = load_landmarks(os.path.join(args.lfw, "landmarks_5pt.csv"))

    people = sorted(d for d in os.listdir(img_dir) if os.path.isdir(os.path.join(img_dir, d)))
    files = {p: sorted(f for f in os.listdir(os.path.join(img_dir, p))
                       if f.lower().endswith((".jpg", ".jpeg", ".png"))) for p in people}
    eligible = [p for p in people if len(files[p]) >= 10]
    rs = np.random.RandomState(args.seed)
    members = sorted(rs.choice(eligible, size=args.members, replace=False).tolist())
    train, held = [], []
    for label, p in enumerate(members):
        for i, f in enumerate(files[p]):
            (train if i < args.cap else held).append((p + "/" + f, label))
    print("identities %d, eligible (>=10 images) %d, members %d, train images %d, "
          "held-out member images %d" % (len(people), len(eligible), len(members),
                                          len(train), len(held)), flush=True)

    t0 = time.time()
    x_tr = crops(img_dir, [r for r, _ in train], lms)
    y_tr = np.array([l for _, l in train], dtype=np.int64)
    x_ho = crops(img_dir, [r for r, _ in held], lms)
    y_ho = np.array([l for _, l in held], dtype=np.int64)
    print("aligned %d images in %.1f s" % (len(train) + len(held), time.time() - t0), flush=True)

    net = iresnet.IResNet(iresnet.DEPTHS[18], widths, args.emb)
    gen = torch.Generator().manual_seed(args.seed + 1)
    head = CosFace(args.emb, len(members), gen)
    net = net.to(memory_format=torch.channels_last)  # ~2x faster convs on CPU
    decay, no_decay = [], []
    for n, p in list(net.named_parameters()) + list(head.named_parameters()):
        if not p.requires_grad:
            continue
        (decay if p.dim() > 1 else no_decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=LR, momentum=0.9)
    epochs = 1 if args.measure else args.epochs
    steps_per_epoch = math.ceil(len(train) / BATCH)
    total = epochs * steps_per_epoch
    warm = min(WARMUP * steps_per_epoch, total // 4)

    def lr_at(step):
        if step < warm:
            return LR * (step + 1) / warm
        return 0.5 * LR * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))

    os.makedirs(args.out, exist_ok=True)
    log = [] if args.measure else open(os.path.join(args.out, "train_log.txt"), "w")
    step = 0
    t_train = time.time()
    for ep in range(epochs):
        net.train()
        te = time.time()
        perm = torch.randperm(len(train), generator=gen).numpy()
        loss_sum, correct = 0.0, 0
        for b in range(0, len(perm), BATCH):
            idx = np.sort(perm[b:b + BATCH])
            x = to_input(x_tr[idx])
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x[flip] = x[flip].flip(3)
            y = torch.from_numpy(y_tr[idx])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss, c = head(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            loss_sum += float(loss) * len(idx)
            correct += int((c.argmax(1) == y).sum())
        line = "epoch %d/%d loss %.4f acc %.4f lr %.4f time %.1f s" % (
            ep + 1, epochs, loss_sum / len(train), correct / len(train), lr_at(step - 1),
            time.time() - te)
        print(line, flush=True)
        if log:
            log.write(line + "\n")
            log.flush()
    train_time = time.time() - t_train
    if args.measure:
        print("one epoch: %.1f s (%d steps)" % (train_time, steps_per_epoch))
        return

    net.eval()
    acc_tr = evaluate(net, head, x_tr, y_tr)
    acc_ho = evaluate(net, head, x_ho, y_ho) if len(held) else None
    print("eval-mode accuracy: train %.4f, held-out member images %s" %
          (acc_tr, "%.4f" % acc_ho if acc_ho is not None else "n/a"), flush=True)

    net = net.to(memory_format=torch.contiguous_format)
    onnx_path = os.path.join(args.out, "lfwnet.onnx")
    tmp = onnx_path + ".tmp"
    m = iresnet.export(net, tmp, dynamic_batch="N", output_name="embedding")
    os.replace(tmp, onnx_path)
    found, _ = iresnet.find_stage_taps(m)
    taps = {"layer%d" % (i + 1): name for i, (_, name) in enumerate(found)}
    with torch.no_grad():
        e = net(to_input(x_tr[:32])).numpy()
    np.savez(os.path.join(args.out, "torch_check.npz"),
             files=np.array([r for r, _ in train[:32]]), embedding=e)

    with open(os.path.join(args.out, "net_members.txt"), "w") as f:
        f.write("".join(p + "\n" for p in members))
    with open(os.path.join(args.out, "train_list.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "label"])
        w.writerows(train)
    split = {
        "lfw": args.lfw, "seed": args.seed, "members": members,
        "member_rule": "numpy RandomState(seed).choice of the sorted identities with >= 10 "
                       "images, without replacement; first `cap` images by file name trained",
        "cap": args.cap, "n_identities": len(people), "n_eligible": len(eligible),
        "train_images": [r for r, _ in train], "n_train": len(train),
        "heldout_images": [r for r, _ in held], "n_heldout": len(held),
        "arch": "iresnet18", "layers": iresnet.DEPTHS[18], "widths": widths, "emb": args.emb,
        "params": int(sum(p.numel() for p in net.parameters())),
        "head": "CosFace s=%g m=%g" % (COS_S, COS_M), "batch": BATCH, "lr": LR,
        "warmup_epochs": WARMUP, "momentum": 0.9, "weight_decay": 5e-4,
        "epochs": args.epochs, "train_seconds": round(train_time, 1),
        "final_train_accuracy": acc_tr, "heldout_accuracy": acc_ho,
        "onnx": "lfwnet.onnx", "taps": taps, "input_norm": "(x/255-0.5)/0.5 RGB",
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "cv2": cv2.__version__},
    }
    with open(os.path.join(args.out, "split.json"), "w") as f:
        json.dump(split, f, indent=1)
        f.write("\n")
    print("wrote %s (taps %s)" % (args.out, taps))


if __name__ == "__main__":
    main()
