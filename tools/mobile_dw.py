"""A small MobileFaceNet-like network for importer/op coverage fixtures.

Exercises what IResNet does not: depthwise 3x3 convs (stride 1 and 2), a
grouped conv (groups=2), 1x1 convs with and without bias, ReLU, ReLU6 (ONNX
Clip: min/max as inputs at opset 11, as attributes at opset 9), a
BatchNormalization that cannot fold into a conv (it follows a ReLU), a global
depthwise conv (kernel = feature map, as MobileFaceNet's GDC), Flatten, Gemm,
BatchNorm1d. (PyTorch exports F.relu6 as Relu + Clip(max 6); the
clamp gives a Clip with both bounds.) Identity and Dropout nodes are inserted after export
(`add_identity_dropout`) because PyTorch drops them in eval-mode export.

Input 3x64x64: 64 -> 32 (conv1 s2) -> 16 (bottleneck s2) -> 8 (grouped s2)
-> 1 (GDC 8x8).
"""

import torch
from torch import nn


def _bn(c):
    return nn.BatchNorm2d(c, eps=1e-5)


class MobileDW(nn.Module):
    def __init__(self, emb=32):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn1 = _bn(16)
        self.prelu1 = nn.PReLU(16)
        self.dw1 = nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False)
        self.bn_dw1 = _bn(16)
        self.prelu2 = nn.PReLU(16)
        # inverted bottleneck, stride 2, ReLU6
        self.b1_exp = nn.Conv2d(16, 32, 1, bias=False)
        self.b1_bn1 = _bn(32)
        self.b1_dw = nn.Conv2d(32, 32, 3, 2, 1, groups=32, bias=False)
        self.b1_bn2 = _bn(32)
        self.b1_proj = nn.Conv2d(32, 16, 1, bias=False)
        self.b1_bn3 = _bn(16)
        # inverted bottleneck, stride 1, residual
        self.b2_exp = nn.Conv2d(16, 32, 1, bias=False)
        self.b2_bn1 = _bn(32)
        self.b2_dw = nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False)
        self.b2_bn2 = _bn(32)
        self.b2_proj = nn.Conv2d(32, 16, 1, bias=False)
        self.b2_bn3 = _bn(16)
        # grouped conv, stride 2
        self.gconv = nn.Conv2d(16, 32, 3, 2, 1, groups=2, bias=False)
        self.bn_g = _bn(32)
        self.prelu3 = nn.PReLU(32)
        self.conv_last = nn.Conv2d(32, 64, 1, bias=True)
        self.bn_post = _bn(64)  # after ReLU: does not fold into conv_last
        self.gdc = nn.Conv2d(64, 64, 8, groups=64, bias=False)
        self.bn_gdc = _bn(64)
        self.fc = nn.Linear(64, emb)
        self.features = nn.BatchNorm1d(emb, eps=1e-5)

    def forward_taps(self, x):
        relu6 = nn.functional.relu6
        x = self.prelu1(self.bn1(self.conv1(x)))
        s1 = self.prelu2(self.bn_dw1(self.dw1(x)))
        y = relu6(self.b1_bn1(self.b1_exp(s1)))
        y = torch.clamp(self.b1_bn2(self.b1_dw(y)), 0.0, 6.0)  # a bare Clip(0, 6)
        y = self.b1_bn3(self.b1_proj(y))
        z = torch.relu(self.b2_bn1(self.b2_exp(y)))
        z = relu6(self.b2_bn2(self.b2_dw(z)))
        z = self.b2_bn3(self.b2_proj(z))
        s2 = y + z
        g = self.prelu3(self.bn_g(self.gconv(s2)))
        s3 = self.bn_post(torch.relu(self.conv_last(g)))
        e = self.bn_gdc(self.gdc(s3))
        e = torch.flatten(e, 1)
        e = self.features(self.fc(e))
        return {"stage1": s1, "stage2": s2, "stage3": s3, "embedding": e}

    def forward(self, x):
        return self.forward_taps(x)["embedding"]


# Node names PyTorch 1.13 gives the tap-producing ops (scope-based names).
TAP_NODES = {"stage1": "/prelu2/PRelu", "stage2": "/Add",
             "stage3": "/bn_post/BatchNormalization"}


def add_identity_dropout(model):
    """Insert an Identity after the residual Add and a Dropout (ratio 0.5,
    attribute form valid for opsets 7-11) between Flatten and Gemm; rewires
    the consumers. Inference semantics are unchanged."""
    from onnx import helper

    g = model.graph
    nodes = list(g.node)

    def insert_after(producer_pred, op, name, **attrs):
        idx = next(i for i, n in enumerate(nodes) if producer_pred(n))
        src = nodes[idx].output[0]
        dst = name + "_output_0"
        for n in nodes[idx + 1:]:
            for k, inp in enumerate(n.input):
                if inp == src:
                    n.input[k] = dst
        nodes.insert(idx + 1, helper.make_node(op, [src], [dst], name=name, **attrs))

    insert_after(lambda n: n.name == "/Add", "Identity", "/identity/Identity")
    insert_after(lambda n: n.op_type == "Flatten", "Dropout", "/dropout/Dropout", ratio=0.5)
    del g.node[:]
    g.node.extend(nodes)
    return model
