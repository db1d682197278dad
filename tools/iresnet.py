"""IResNet in PyTorch with the module structure of InsightFace arcface_torch.

Used only to make test fixtures and benchmark models for mint: random weights,
exported to ONNX the way arcface_torch's torch2onnx does (opset 11, input
`data`, eval mode, initializers not listed as graph inputs).

Structure (arcface_torch backbones/iresnet.py, written anew here):
  stem   conv3x3(3->w0, s1, p1, no bias) -> BN2d -> PReLU(w0)
  stages 4 x IBasicBlock, the first block of each stage with stride 2
  block  bn1 -> conv3x3(s1) -> bn2 -> PReLU -> conv3x3(stride) -> bn3 (+ shortcut)
         shortcut = identity, or conv1x1(stride, no bias) + BN2d when the
         stride or the width changes; no activation after the add
  head   bn2 -> dropout -> flatten -> Linear(C*7*7 -> emb) -> BatchNorm1d
         (features.weight fixed to 1.0 as in arcface_torch)
BatchNorm eps is 1e-5 everywhere.
"""

import json

import numpy as np
import torch
from torch import nn

BN_EPS = 1e-5
DEPTHS = {
    18: [2, 2, 2, 2],
    34: [3, 4, 6, 3],
    50: [3, 4, 14, 3],
    100: [3, 13, 30, 3],
    200: [6, 26, 60, 6],
}


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class IBasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=BN_EPS)
        self.conv1 = conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.prelu = nn.PReLU(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.downsample = downsample

    def forward(self, x):
        y = self.bn1(x)
        y = self.conv1(y)
        y = self.bn2(y)
        y = self.prelu(y)
        y = self.conv2(y)
        y = self.bn3(y)
        shortcut = x if self.downsample is None else self.downsample(x)
        return y + shortcut


class IResNet(nn.Module):
    """IResNet; `forward_taps` also returns the four stage outputs."""

    def __init__(self, layers, widths=(64, 128, 256, 512), num_features=512,
                 dropout=0.0, in_size=112):
        super().__init__()
        assert len(layers) == 4 and len(widths) == 4
        self.layers_cfg = list(layers)
        self.widths = list(widths)
        self.num_features = num_features
        self.in_size = in_size
        self.conv1 = conv3x3(3, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0], eps=BN_EPS)
        self.prelu = nn.PReLU(widths[0])
        inplanes = widths[0]
        stages = []
        for n, planes in zip(layers, widths):
            blocks = []
            for i in range(n):
                stride = 2 if i == 0 else 1
                down = None
                if stride != 1 or inplanes != planes:
                    down = nn.Sequential(conv1x1(inplanes, planes, stride),
                                         nn.BatchNorm2d(planes, eps=BN_EPS))
                blocks.append(IBasicBlock(inplanes, planes, stride, down))
                inplanes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.final_size = in_size // 16
        self.bn2 = nn.BatchNorm2d(widths[3], eps=BN_EPS)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(widths[3] * self.final_size * self.final_size, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=BN_EPS)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def forward_taps(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        l1 = self.layer1(x)
        l2 = self.layer2(l1)
        l3 = self.layer3(l2)
        l4 = self.layer4(l3)
        y = self.bn2(l4)
        y = torch.flatten(y, 1)
        y = self.dropout(y)
        y = self.fc(y)
        y = self.features(y)
        return {"layer1": l1, "layer2": l2, "layer3": l3, "layer4": l4, "embedding": y}

    def forward(self, x):
        return self.forward_taps(x)["embedding"]


class Normalized(nn.Module):
    """Puts the InsightFace input normalisation (x - 127.5) / 127.5 into the
    graph (exported as Sub and Mul by constants) in front of `net`."""

    def __init__(self, net, mean=127.5, scale=1.0 / 127.5):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))

    def normalise(self, x):
        return (x - self.mean) * self.scale

    def forward_taps(self, x):
        return self.net.forward_taps(self.normalise(x))

    def forward(self, x):
        return self.net(self.normalise(x))


@torch.no_grad()
def randomize_stats(model, gen):
    """Non-trivial BN statistics and PReLU slopes, so a test cannot pass with
    a BN or PReLU that is silently an identity."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            if m.weight.requires_grad:  # features.weight stays 1.0
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
        elif isinstance(m, nn.PReLU):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.35 + 0.05)


@torch.no_grad()
def init_weights(model, gen, branch_c=2.0):
    """Conv/Linear weights ~ N(0, 1/fan_in); the last conv of each residual
    branch (block.conv2) is scaled by min(1, branch_c/sqrt(blocks)) so the
    residual stream neither explodes (r100 has 49 blocks) nor is dominated by
    biases. PyTorch's default init keeps magnitudes sane but makes the
    embeddings of different inputs nearly collinear (cosine ~0.995), which
    would hide batch-mixing bugs; with this init it is ~0.6-0.9."""
    import math
    nblocks = sum(1 for m in model.modules() if isinstance(m, IBasicBlock))
    bg = min(1.0, branch_c / math.sqrt(max(nblocks, 1)))
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            gain = bg if name.endswith("conv2") else 1.0
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (gain / math.sqrt(fan_in)))
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def build(layers, widths=(64, 128, 256, 512), emb=512, seed=0, in_size=112):
    """A seeded IResNet in eval mode with random weights and randomized
    BN/PReLU."""
    net = IResNet(layers, widths, emb, in_size=in_size)
    gen = torch.Generator().manual_seed(seed)
    init_weights(net, gen)
    randomize_stats(net, gen)
    net.eval()
    return net


def export(model, path, in_size=112, dynamic_batch="N", output_name="embedding",
           opset=11):
    """Export as arcface_torch torch2onnx does: eval mode, opset 11, input
    `data`, keep_initializers_as_inputs=False, default constant folding.

    dynamic_batch: dim_param for the batch axis of input and output.
    output_name=None keeps PyTorch's numeric output name (as torch2onnx); the
    batch axis is then made symbolic after export like torch2onnx does, and
    the (batch-1) value_info is dropped.
    """
    import onnx

    model.eval()
    dummy = torch.zeros(1, 3, in_size, in_size)
    kwargs = dict(input_names=["data"], keep_initializers_as_inputs=False,
                  opset_version=opset, do_constant_folding=True, verbose=False)
    if output_name is not None:
        kwargs["output_names"] = [output_name]
        kwargs["dynamic_axes"] = {"data": {0: dynamic_batch}, output_name: {0: dynamic_batch}}
    torch.onnx.export(model, dummy, path, **kwargs)
    m = onnx.load(path)
    if output_name is None:
        m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = dynamic_batch
        m.graph.output[0].type.tensor_type.shape.dim[0].dim_param = dynamic_batch
        del m.graph.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def find_stage_taps(model_proto):
    """Tensor names of the stage outputs: the output of the last Add node at
    each spatial resolution (56, 28, 14, 7 for 112 input), in order."""
    import onnx
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(model_proto)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]
    last_add = {}
    order = []
    for node in inferred.graph.node:
        if node.op_type != "Add":
            continue
        shp = shapes.get(node.output[0])
        if shp is None or len(shp) != 4:
            continue
        hw = (shp[2], shp[3])
        if hw not in last_add:
            order.append(hw)
        last_add[hw] = node.output[0]
    del onnx
    return [(hw, last_add[hw]) for hw in order], shapes


def model_summary(net):
    return json.dumps({"layers": net.layers_cfg, "widths": net.widths,
                       "emb": net.num_features,
                       "params": int(sum(p.numel() for p in net.parameters()))})


if __name__ == "__main__":
    net = build([2, 2, 2, 2], (8, 16, 32, 64), 32)
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        out = net.forward_taps(x)
    for k, v in out.items():
        a = v.numpy()
        print(k, a.shape, "mean %.4f std %.4f maxabs %.4f" % (a.mean(), a.std(), np.abs(a).max()))
