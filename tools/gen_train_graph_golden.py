#!/usr/bin/python3
"""gen_train_graph_golden.py - golden forward/backward of a training step of
a tiny arcface_torch IResNet, for tests/test_train_graph.c (net/train_graph.c).

Network: arcface_torch's iresnet.py structure (IBasicBlock: bn1, conv1 3x3,
bn2, prelu, conv2 3x3 (stride), bn3, downsample conv1x1 + BN; stem conv1
3x3 / bn1 / prelu; head bn2, flatten, dropout (p = 0 here), fc, features
BatchNorm1d with its weight fixed at 1 and not trained), written here from
that description with the same state_dict names as net/iresnet.c:
layers {2,1,1,1}, widths {8,16,16,24}, input 3x32x32 (so fc_scale 2x2),
embedding 16, batch 4. Weights seeded: PyTorch's default init for convs and
fc, BN scale U(0.5,1.5), bias N(0,0.1), running_mean N(0,0.1), running_var
U(0.5,2), PReLU slopes U(0.1,0.4), features.weight = 1.

One step in training mode (batch statistics, running-stat updates with
momentum 0.1): loss = sum(out * dout) + sum(layer1 * dlayer1), dout and
dlayer1 random, so d loss/d out = dout and the layer1 tap gets dlayer1
added, as Active MINT does. float32 throughout, one thread.

Writes tests/fixtures/train_graph/ (about 280 KB):
  input.npy    [4,3,32,32] float32 NCHW
  dout.npy     [4,16]      dL/d(output)
  dlayer1.npy  [4,8,16,16] dL/d(layer1) NCHW
  out.npy      [4,16]      output of the training-mode forward
  eval_out.npy [4,16]      eval-mode output after the step (updated running stats)
  state0.npy   [P]  every state_dict float tensor, concatenated in index order, before the step
  grads.npy    [P]  the gradient of each trainable parameter at the same offsets (0 elsewhere)
  running1.npy [R]  the buffers (running_mean/var) after the step, concatenated in index order
  index.txt    one line per tensor: name offset numel kind (param | frozen | buffer)

Regenerate: /usr/bin/python3 tools/gen_train_graph_golden.py (from the repo root;
needs Debian's python3-torch).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/train_graph"
LAYERS = (2, 1, 1, 1)
WIDTHS = (8, 16, 16, 24)
IN_C, IN_HW, EMB, BATCH = 3, 32, 16, 4


class IBasicBlock(nn.Module):
    def __init__(self, cin, c, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c, eps=1e-5)
        self.prelu = nn.PReLU(c)
        self.conv2 = nn.Conv2d(c, c, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c, eps=1e-5)
        self.downsample = None
        if stride != 1 or cin != c:
            self.downsample = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False),
                                            nn.BatchNorm2d(c, eps=1e-5))

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + (self.downsample(x) if self.downsample is not None else x)


class IResNet(nn.Module):
    def __init__(self):
        super().__init__()
        w0 = WIDTHS[0]
        self.conv1 = nn.Conv2d(IN_C, w0, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w0, eps=1e-5)
        self.prelu = nn.PReLU(w0)
        cin = w0
        for s in range(4):
            blocks = []
            for k in range(LAYERS[s]):
                blocks.append(IBasicBlock(cin, WIDTHS[s], 2 if k == 0 else 1))
                cin = WIDTHS[s]
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        hw = IN_HW
        for _ in range(4):
            hw = (hw - 1) // 2 + 1
        self.bn2 = nn.BatchNorm2d(cin, eps=1e-5)
        self.dropout = nn.Dropout(p=0.0)
        self.fc = nn.Linear(cin * hw * hw, EMB)
        self.features = nn.BatchNorm1d(EMB, eps=1e-5)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def forward(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        l1 = self.layer1(x)
        x = self.layer4(self.layer3(self.layer2(l1)))
        x = self.dropout(torch.flatten(self.bn2(x), 1))
        return self.features(self.fc(x)), l1


def randomise(m, g):
    with torch.no_grad():
        for name, mod in m.named_modules():
            if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                if name != "features":
                    mod.weight.uniform_(0.5, 1.5, generator=g)
                mod.bias.normal_(0.0, 0.1, generator=g)
                mod.running_mean.normal_(0.0, 0.1, generator=g)
                mod.running_var.uniform_(0.5, 2.0, generator=g)
            elif isinstance(mod, nn.PReLU):
                mod.weight.uniform_(0.1, 0.4, generator=g)


def flat_state(m):
    names, arrays = [], []
    for name, v in m.state_dict().items():
        if v.dtype != torch.float32:
            continue  # num_batches_tracked
        names.append(name)
        arrays.append(v.detach().numpy().astype(np.float32).ravel().copy())
    return names, arrays


def main():
    torch.manual_seed(20261207)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(7)
    m = IResNet()
    randomise(m, g)
    names, s0 = flat_state(m)
    params = dict(m.named_parameters())
    x = torch.randn(BATCH, IN_C, IN_HW, IN_HW, generator=g)
    m.train()
    out, l1 = m(x)
    dout = torch.randn(out.shape, generator=g)
    dl1 = torch.randn(l1.shape, generator=g)
    loss = (out * dout).sum() + (l1 * dl1).sum()
    loss.backward()
    _, s1 = flat_state(m)
    m.eval()
    with torch.no_grad():
        eval_out, _ = m(x)
    os.makedirs(OUT, exist_ok=True)
    grads, lines, off = [], [], 0
    for name, a in zip(names, s0):
        p = params.get(name)
        kind = "buffer" if p is None else ("param" if p.requires_grad else "frozen")
        gr = p.grad.numpy().ravel() if kind == "param" else np.zeros_like(a)
        grads.append(gr.astype(np.float32))
        lines.append("%s %d %d %s" % (name, off, a.size, kind))
        off += a.size
    save = lambda n, a: np.save(os.path.join(OUT, n), np.ascontiguousarray(a, dtype=np.float32))
    save("input.npy", x.numpy())
    save("dout.npy", dout.numpy())
    save("dlayer1.npy", dl1.numpy())
    save("out.npy", out.detach().numpy())
    save("eval_out.npy", eval_out.numpy())
    save("state0.npy", np.concatenate(s0))
    save("grads.npy", np.concatenate(grads))
    save("running1.npy", np.concatenate([a for a, l in zip(s1, lines) if l.endswith(" buffer")]))
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d tensors, %d floats" % (OUT, len(names), off))


if __name__ == "__main__":
    main()
