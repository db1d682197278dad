#!/usr/bin/python3
"""Write tests/fixtures/mxnet_style.onnx: a small face-recognition net laid out
as InsightFace's MXNet-converted models are (model-zoo arcface r100 v1 etc.):
the graph starts with `_minusscalar0` (Sub 127.5) and `_mulscalar0` (Mul
0.0078125), so it normalises raw 0..255 pixels itself. The InsightFace
package recognises such models by these first nodes and then feeds raw
pixels (input_mean 0, input_std 1); mint convert must do the same.

    /usr/bin/python3 tools/make_mxnet_fixture.py [--out tests/fixtures]

Also: it is not an IResNet (plain strided convs, no residual Add), with four
resolutions below the input (16, 8, 4, 2), for the stage-tap proposal.

Writes, seeded and deterministic:
  mxnet_style.onnx                   the model (input `data` [N,3,32,32], RGB)
  mxnet_style/crops_u8.npy           uint8 [2,32,32,3]: crops as InsightFace's
                                     norm_crop gives them (NHWC; RGB here)
  mxnet_style/torch_embedding.npy    float32 [2,16]: the PyTorch module on the
                                     raw pixels of those crops, NCHW float
The graph is checked against the module with tools/onnx_ref.py (cosine >=
0.99999). Needs Debian python3-torch, python3-onnx, python3-numpy.
"""

import argparse
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import onnx_ref  # noqa: E402

WIDTHS = [8, 12, 16, 16, 24]   # stem at 32x32, then stride-2 stages 16, 8, 4, 2
EMB = 16


class MxnetStyle(nn.Module):
    def __init__(self):
        super().__init__()
        convs, bns, prelus = [], [], []
        cin = 3
        for i, c in enumerate(WIDTHS):
            convs.append(nn.Conv2d(cin, c, 3, 1 if i == 0 else 2, 1, bias=False))
            bns.append(nn.BatchNorm2d(c, eps=2e-5))
            prelus.append(nn.PReLU(c))
            cin = c
        self.convs, self.bns, self.prelus = (nn.ModuleList(convs), nn.ModuleList(bns),
                                             nn.ModuleList(prelus))
        self.fc = nn.Linear(WIDTHS[-1] * 2 * 2, EMB)

    def forward(self, x):
        x = (x - 127.5) * 0.0078125
        for conv, bn, pr in zip(self.convs, self.bns, self.prelus):
            x = pr(bn(conv(x)))
        return self.fc(torch.flatten(x, 1))


def randomize(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in net.bns:
            c = bn.num_features
            bn.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
            bn.bias.copy_(0.1 * torch.randn(c, generator=g))
            bn.running_mean.copy_(0.1 * torch.randn(c, generator=g))
            bn.running_var.copy_(0.5 + torch.rand(c, generator=g))
        for pr in net.prelus:
            pr.weight.copy_(0.1 + 0.2 * torch.rand(pr.weight.shape[0], generator=g))


def to_onnx(net):
    """Node by node, with MXNet's node names (no exporter: it would name the
    first nodes Sub/Mul and fold nothing we want to keep)."""
    inits = [numpy_helper.from_array(np.array([127.5], np.float32), "_minusscalar0_scalar"),
             numpy_helper.from_array(np.array([0.0078125], np.float32), "_mulscalar0_scalar")]
    nodes = [helper.make_node("Sub", ["data", "_minusscalar0_scalar"], ["_minusscalar0"],
                              name="_minusscalar0"),
             helper.make_node("Mul", ["_minusscalar0", "_mulscalar0_scalar"], ["_mulscalar0"],
                              name="_mulscalar0")]
    x = "_mulscalar0"
    for i, (conv, bn, pr) in enumerate(zip(net.convs, net.bns, net.prelus)):
        p = "stage%d" % i
        inits.append(numpy_helper.from_array(conv.weight.detach().numpy(), p + "_conv_weight"))
        for k, t in (("gamma", bn.weight), ("beta", bn.bias), ("moving_mean", bn.running_mean),
                     ("moving_var", bn.running_var)):
            inits.append(numpy_helper.from_array(t.detach().numpy(), "%s_bn_%s" % (p, k)))
        inits.append(numpy_helper.from_array(pr.weight.detach().numpy().reshape(-1, 1, 1),
                                             p + "_relu_gamma"))
        nodes += [
            helper.make_node("Conv", [x, p + "_conv_weight"], [p + "_conv"], name=p + "_conv",
                             kernel_shape=[3, 3], strides=[conv.stride[0]] * 2, pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization",
                             [p + "_conv"] + ["%s_bn_%s" % (p, k) for k in
                                              ("gamma", "beta", "moving_mean", "moving_var")],
                             [p + "_bn"], name=p + "_bn", epsilon=bn.eps),
            helper.make_node("PRelu", [p + "_bn", p + "_relu_gamma"], [p + "_relu"],
                             name=p + "_relu"),
        ]
        x = p + "_relu"
    inits += [numpy_helper.from_array(net.fc.weight.detach().numpy(), "fc1_weight"),
              numpy_helper.from_array(net.fc.bias.detach().numpy(), "fc1_bias")]
    nodes += [helper.make_node("Flatten", [x], ["flatten0"], name="flatten0", axis=1),
              helper.make_node("Gemm", ["flatten0", "fc1_weight", "fc1_bias"], ["fc1"],
                               name="fc1", transB=1)]
    g = helper.make_graph(
        nodes, "mxnet_style",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", EMB])],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)],
                          producer_name="mint-tools")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "tests", "fixtures"))
    a = ap.parse_args()
    torch.manual_seed(71)
    net = MxnetStyle()
    randomize(net, 72)
    net.eval()
    crops = np.random.RandomState(73).randint(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2).astype(np.float32))  # raw pixels
    with torch.no_grad():
        emb = net(torch.from_numpy(x)).numpy()
    m = to_onnx(net)
    ref = onnx_ref.run(m, {"data": x}, ["fc1"])["fc1"]
    cos = min(float((e * r).sum() / np.sqrt((e * e).sum() * (r * r).sum()))
              for e, r in zip(emb.astype(np.float64), ref.astype(np.float64)))
    if cos < 0.99999:
        sys.exit("mxnet_style: the ONNX graph disagrees with the module (cosine %.7f)" % cos)
    os.makedirs(os.path.join(a.out, "mxnet_style"), exist_ok=True)
    onnx.save(m, os.path.join(a.out, "mxnet_style.onnx"))
    np.save(os.path.join(a.out, "mxnet_style", "crops_u8.npy"), crops)
    np.save(os.path.join(a.out, "mxnet_style", "torch_embedding.npy"), emb.astype(np.float32))
    print("wrote %s/mxnet_style.onnx and mxnet_style/ (graph vs module: cosine %.7f)"
          % (a.out, cos))


if __name__ == "__main__":
    main()
