"""Evaluate an ONNX graph node by node with torch.nn.functional.

A third, independent reference next to the PyTorch module and ONNX Runtime:
it runs exactly the weights stored in the file (so it gives exact references
for iresnet_small_fp16.onnx, whose fp16 initializers ORT cannot mix with an
fp32 input) and it checks that the exported graph means what the module does.
Only the ops mint's fixtures use are implemented; semantics follow the ONNX
operator docs (onnx/docs/Operators.md) for the opsets used (9 and 11).
"""

import numpy as np
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == a.INT:
            out[a.name] = a.i
        elif a.type == a.FLOAT:
            out[a.name] = a.f
        elif a.type == a.INTS:
            out[a.name] = list(a.ints)
        elif a.type == a.STRING:
            out[a.name] = a.s.decode()
        elif a.type == a.TENSOR:
            out[a.name] = numpy_helper.to_array(a.t)
    return out


def _conv(x, w, b, at):
    if at.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NotImplementedError("auto_pad")
    pads = at.get("pads", [0, 0, 0, 0])
    if pads[0] != pads[2] or pads[1] != pads[3]:
        x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
        pads = [0, 0, 0, 0]
    return F.conv2d(x, w, b, stride=at.get("strides", [1, 1]), padding=(pads[0], pads[1]),
                    dilation=at.get("dilations", [1, 1]), groups=at.get("group", 1))


def run(model, feeds, outputs):
    """feeds: {name: np.ndarray}; returns {name: np.ndarray float32}."""
    env = {}
    for init in model.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype in (np.float16, np.float64):
            a = a.astype(np.float32)
        env[init.name] = torch.from_numpy(np.array(a))
    for k, v in feeds.items():
        env[k] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))

    def get(name):
        return env[name] if name else None

    with torch.no_grad():
        for node in model.graph.node:
            at = _attrs(node)
            ins = [get(n) for n in node.input]
            t = node.op_type
            if t == "Conv":
                y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, at)
            elif t == "BatchNormalization":
                y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0,
                                 at.get("epsilon", 1e-5))
            elif t == "PRelu":
                x, s = ins
                y = torch.where(x >= 0, x, x * s)
            elif t == "Relu":
                y = torch.relu(ins[0])
            elif t == "Clip":
                if opset < 11:
                    lo, hi = at.get("min", -np.inf), at.get("max", np.inf)
                else:
                    lo = float(ins[1]) if len(ins) > 1 and ins[1] is not None else -np.inf
                    hi = float(ins[2]) if len(ins) > 2 and ins[2] is not None else np.inf
                y = torch.clamp(ins[0], lo, hi)
            elif t in ("Add", "Sub", "Mul", "Div"):
                op = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[t]
                y = op(ins[0], ins[1])
            elif t == "Flatten":
                ax = at.get("axis", 1)
                y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
            elif t == "Gemm":
                a, b = ins[0], ins[1]
                if at.get("transA", 0):
                    a = a.t()
                if at.get("transB", 0):
                    b = b.t()
                y = at.get("alpha", 1.0) * (a @ b)
                if len(ins) > 2 and ins[2] is not None:
                    y = y + at.get("beta", 1.0) * ins[2]
            elif t in ("Identity", "Dropout"):
                y = ins[0]
            elif t == "Constant":
                y = torch.from_numpy(np.array(at["value"]))
            else:
                raise NotImplementedError(t)
            env[node.output[0]] = y
    return {n: env[n].numpy().astype(np.float32) for n in outputs}
