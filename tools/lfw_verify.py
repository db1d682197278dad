#!/usr/bin/python3
"""LFW verification accuracy from embeddings extracted by `mint extract`.

    /usr/bin/python3 tools/lfw_verify.py EXTRACT_DIR [--pairs lfw/pairs.txt]
                                         [--torch-check torch_check.npz]

EXTRACT_DIR holds embedding.npy and index.csv (row,file,...) of an extract
over lfw/images (--dir). Scores are embedding cosines over the 6000 pairs of
pairs.txt (10 folds x 300 matched + 300 mismatched). Prints the standard
10-fold accuracy (threshold picked on 9 folds, tested on the 10th; mean and
std) and the single best-threshold accuracy over all 6000 pairs.
--torch-check compares the rows of the files in a train_lfw_net.py
torch_check.npz with PyTorch's embeddings (cosine), i.e. mint's alignment +
forward pass against the training pipeline.
"""

import argparse
import csv
import os

import numpy as np


def load(extract_dir):
    emb = np.load(os.path.join(extract_dir, "embedding.npy")).astype(np.float64)
    rows = {}
    with open(os.path.join(extract_dir, "index.csv"), newline="") as f:
        for r in csv.DictReader(f):
            rows[r["file"]] = int(r["row"])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb, rows


def read_pairs(path):
    with open(path) as f:
        folds, n = (int(v) for v in f.readline().split())
        pairs = []
        for line in f:
            p = line.split()
            if not p:
                continue
            if len(p) == 3:
                pairs.append((p[0], int(p[1]), p[0], int(p[2]), 1))
            else:
                pairs.append((p[0], int(p[1]), p[2], int(p[3]), 0))
    assert len(pairs) == folds * 2 * n, (len(pairs), folds, n)
    return pairs, folds


def name(person, i):
    return "%s/%s_%04d.jpg" % (person, person, i)


def best_threshold(s, y):
    cand = np.unique(s)
    acc = [((s >= t) == y).mean() for t in cand]
    k = int(np.argmax(acc))
    return cand[k], acc[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("extract_dir")
    ap.add_argument("--pairs", default="/work/shared/data/lfw/pairs.txt")
    ap.add_argument("--torch-check", default=None)
    args = ap.parse_args()
    emb, rows = load(args.extract_dir)
    pairs, folds = read_pairs(args.pairs)
    s = np.empty(len(pairs))
    y = np.empty(len(pairs), dtype=bool)
    for k, (a, i, b, j, same) in enumerate(pairs):
        s[k] = emb[rows[name(a, i)]] @ emb[rows[name(b, j)]]
        y[k] = same == 1
    fold = np.repeat(np.arange(folds), len(pairs) // folds)
    accs = []
    for f in range(folds):
        t, _ = best_threshold(s[fold != f], y[fold != f])
        accs.append(((s[fold == f] >= t) == y[fold == f]).mean())
    t, acc = best_threshold(s, y)
    print("%s: 10-fold accuracy %.4f +- %.4f; best single threshold %.4f at cos %.3f; "
          "mean cos same %.3f diff %.3f" % (args.extract_dir, np.mean(accs), np.std(accs),
                                             acc, t, s[y].mean(), s[~y].mean()))
    if args.torch_check:
        z = np.load(args.torch_check)
        ref = z["embedding"].astype(np.float64)
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
        cos = np.array([emb[rows[str(fn)]] @ ref[k] for k, fn in enumerate(z["files"])])
        print("mint vs PyTorch embedding cosine over %d training images: min %.6f mean %.6f"
              % (len(cos), cos.min(), cos.mean()))


if __name__ == "__main__":
    main()
