#!/usr/bin/python3
"""Generate mint's golden test fixtures into tests/fixtures/.

    /usr/bin/python3 tools/make_fixtures.py [--out tests/fixtures]

For each model: <model>.onnx, <model>.json (sidecar), <model>/input.npy and
reference outputs from three implementations:
  torch_<tap>.npy  the PyTorch module (for the fp16 model: torch.nn.functional
                   run over the file's own fp16 weights, see onnx_ref.py)
  ort_<tap>.npy    ONNX Runtime (tools/ort_run.js, onnxruntime-node)
and a cross-check of the exported graph with tools/onnx_ref.py. The script
fails if any pair disagrees (cosine < 0.99999). Also writes malformed_*.onnx
for importer error tests. Seeded and deterministic; re-runnable.
Needs: Debian python3-torch, python3-onnx, python3-numpy, nodejs, and
`cd tools && npm ci --ignore-scripts`.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import iresnet  # noqa: E402
import mobile_dw  # noqa: E402
import onnx_ref  # noqa: E402

COS_MIN = 0.99999
STAGES = ["layer1", "layer2", "layer3", "layer4"]
GENERATED_DIRS = ["iresnet_small", "iresnet_small_fp16", "iresnet_r18like", "mobile_dw",
                  "mobile_dw_op9", "conv_bn"]


# ---------------------------------------------------------------- helpers

def save_npy(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


def compare(a, b):
    """1 - cosine over the whole tensor, worst per-sample 1 - cosine, max abs
    diff, max abs diff relative to max |a|."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    def cos(x, y):
        return float((x * y).sum() / max(np.sqrt((x * x).sum() * (y * y).sum()), 1e-300))
    per = [cos(a[i].ravel(), b[i].ravel()) for i in range(a.shape[0])]
    d = float(np.abs(a - b).max())
    return {"one_minus_cosine": 1.0 - cos(a.ravel(), b.ravel()),
            "worst_sample_one_minus_cosine": 1.0 - min(per),
            "max_abs_diff": d, "rel_max_abs_diff": d / max(float(np.abs(a).max()), 1e-30)}


def fmt_cmp(c):
    return ("1-cos %.2e (worst sample %.2e) max|d| %.3g (rel %.3g)"
            % (c["one_minus_cosine"], c["worst_sample_one_minus_cosine"],
               c["max_abs_diff"], c["rel_max_abs_diff"]))


def rounded(c):
    return {k: float("%.3g" % v) for k, v in c.items()}


def check(tag, c):
    ok = (1.0 - c["one_minus_cosine"] >= COS_MIN
          and 1.0 - c["worst_sample_one_minus_cosine"] >= COS_MIN)
    print("  %-34s %s %s" % (tag, fmt_cmp(c), "ok" if ok else "FAIL"))
    if not ok:
        raise SystemExit("make_fixtures: %s disagrees (cosine < %g)" % (tag, COS_MIN))


def dump_json(obj):
    """Indented JSON with lists of numbers kept on one line."""
    text = json.dumps(obj, indent=2)
    text = re.sub(r"\[\s+([-0-9.e,\s]+?)\s+\]",
                  lambda mt: "[" + ", ".join(v.strip() for v in mt.group(1).split(",")) + "]", text)
    return text + "\n"


def with_outputs(model, names):
    """Copy of `model` with tensors `names` appended to graph.output."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(helper.make_empty_tensor_value_info(n))
            m.graph.output[-1].type.tensor_type.elem_type = TensorProto.FLOAT
    return m


def ort_run(model_path, input_path, outputs):
    """outputs: {tensor_name: npy_path}; runs tools/ort_run.js."""
    cmd = ["node", os.path.join(HERE, "ort_run.js"), model_path, "--input", "data=" + input_path]
    for name, path in outputs.items():
        cmd += ["--out", "%s=%s" % (name, path)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("ort_run.js failed:\n" + r.stdout + r.stderr)
    return r.stdout


def ort_version():
    r = subprocess.run(["node", "-e", "console.log(require(%r).env.versions.node)"
                        % os.path.join(HERE, "node_modules", "onnxruntime-node")],
                       capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def node_output(model, node_name):
    for n in model.graph.node:
        if n.name == node_name:
            return n.output[0]
    raise KeyError(node_name)


def to_fp16_initializers(model):
    """Copy with every FLOAT initializer stored as FLOAT16 raw_data."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for i, init in enumerate(m.graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            a = numpy_helper.to_array(init).astype(np.float16)
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(a, init.name))
    return m


def fp16_rounded_fp32(model):
    """Copy with FLOAT initializers rounded to fp16 and stored back as fp32:
    what ORT can run, with exactly the values of the fp16 file."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for i, init in enumerate(m.graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            a = numpy_helper.to_array(init).astype(np.float16).astype(np.float32)
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(a, init.name))
    return m


# ---------------------------------------------------------------- one model

class Ctx:
    def __init__(self, out, tmp, versions):
        self.out = out
        self.tmp = tmp
        self.versions = versions
        self.summary = {}


def emit(ctx, name, onnx_model, onnx_bytes_path, x, input_file, taps, emb_name,
         torch_out, description, input_desc, ref_model=None, extra=None,
         store_torch=None, store_ort=None, share=None):
    """Write refs + sidecar for one model.

    taps: {tap: onnx tensor name} (without the embedding); torch_out: {tap or
    'embedding': np.ndarray} from the reference implementation; ref_model:
    the ONNX model ORT and onnx_ref run (defaults to onnx_model).
    """
    ref_model = ref_model if ref_model is not None else onnx_model
    mdir = os.path.join(ctx.out, name)
    os.makedirs(mdir, exist_ok=True)
    names = dict(taps)
    names["embedding"] = emb_name
    order = [t for t in list(taps) + ["embedding"]]
    print("%s: %s" % (name, description))
    for t in order:
        print("  tap %-10s %-48s %s" % (t, names[t], list(torch_out[t].shape)))

    # ORT on a copy with the taps as extra outputs (kept out of fixtures).
    tap_model = with_outputs(ref_model, [names[t] for t in order])
    tap_path = os.path.join(ctx.tmp, name + ".taps.onnx")
    onnx.save(tap_model, tap_path)
    in_path = os.path.join(ctx.out, input_file)
    ort_tmp = {names[t]: os.path.join(ctx.tmp, "%s.ort_%s.npy" % (name, t)) for t in order}
    ort_run(tap_path, in_path, ort_tmp)
    ort_out = {t: np.load(ort_tmp[names[t]]) for t in order}

    # Graph evaluated by onnx_ref (torch.nn.functional) as a third opinion.
    fx = onnx_ref.run(ref_model, {"data": x}, [names[t] for t in order])

    refs = {"torch": {}, "ort": {}}
    agreement = {}
    for t in order:
        a, b, c = torch_out[t], ort_out[t], fx[names[t]]
        if a.shape != b.shape:
            raise SystemExit("%s %s: torch %s vs ort %s" % (name, t, a.shape, b.shape))
        ct = compare(a, b)
        check("%s torch vs ort" % t, ct)
        check("%s torch vs onnx_ref" % t, compare(a, c))
        agreement[t] = rounded(ct)
        for src, arr, keep in (("torch", a, store_torch), ("ort", b, store_ort)):
            if keep is not None and t not in keep:
                continue
            rel = "%s/%s_%s.npy" % (name, src, t)
            if share is not None:
                prev = "%s/%s_%s.npy" % (share, src, t)
                pp = os.path.join(ctx.out, prev)
                if os.path.exists(pp) and np.array_equal(np.load(pp), arr):
                    rel = prev
            if rel.startswith(name + "/"):
                save_npy(os.path.join(ctx.out, rel), arr)
            refs[src][t] = rel
    if not os.listdir(mdir):
        os.rmdir(mdir)  # everything shared with an earlier model
    side = {
        "model": name,
        "description": description,
        "onnx": os.path.basename(onnx_bytes_path),
        "opset": max(o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")),
        "input": {"name": onnx_model.graph.input[0].name, "file": input_file,
                  "shape": list(x.shape), "values": input_desc},
        "taps": {t: names[t] for t in taps},
        "embedding": emb_name,
        "refs": refs,
        "shapes": {t: list(torch_out[t].shape) for t in order},
        "agreement_torch_vs_ort": agreement,
        "generator": "tools/make_fixtures.py",
        "versions": ctx.versions,
    }
    if extra:
        side.update(extra)
    with open(os.path.join(ctx.out, name + ".json"), "w") as f:
        f.write(dump_json(side))
    ctx.summary[name] = {"taps": side["taps"], "embedding": emb_name, "agreement": agreement}


def torch_taps(net, x, hooks=None):
    """forward_taps outputs, plus {tap: submodule} outputs caught by hooks."""
    caught = {}
    handles = [mod.register_forward_hook(
        lambda _m, _i, o, tap=tap: caught.__setitem__(tap, o.detach().clone()))
        for tap, mod in (hooks or {}).items()]
    try:
        with torch.no_grad():
            out = net.forward_taps(torch.from_numpy(x))
    finally:
        for h in handles:
            h.remove()
    out.update(caught)
    return {k: v.numpy() for k, v in out.items()}


def op_output(model, op_type):
    """Output of the only node of op_type."""
    outs = [n.output[0] for n in model.graph.node if n.op_type == op_type]
    if len(outs) != 1:
        raise SystemExit("expected one %s node, found %d" % (op_type, len(outs)))
    return outs[0]


def stage_taps(model):
    found, _ = iresnet.find_stage_taps(model)
    sizes = [hw for hw, _ in found]
    if sizes != [(56, 56), (28, 28), (14, 14), (7, 7)]:
        raise SystemExit("unexpected stage resolutions %s" % sizes)
    return {STAGES[i]: n for i, (_, n) in enumerate(found)}


# ---------------------------------------------------------------- models

def make_iresnet_small(ctx):
    net = iresnet.build([2, 2, 2, 2], (8, 16, 32, 64), 32, seed=11)
    path = os.path.join(ctx.out, "iresnet_small.onnx")
    m = iresnet.export(net, path, dynamic_batch="N", output_name="embedding")
    x = np.random.RandomState(101).standard_normal((2, 3, 112, 112)).astype(np.float32)
    save_npy(os.path.join(ctx.out, "iresnet_small/input.npy"), x)
    taps = stage_taps(m)
    # the Gemm output, which the BatchNorm1d after it is folded over at run
    # time unless it is tapped
    taps["fc"] = op_output(m, "Gemm")
    tout = torch_taps(net, x, {"fc": net.fc})
    emit(ctx, "iresnet_small", m, path, x, "iresnet_small/input.npy", taps, "embedding", tout,
         "IResNet layers [2,2,2,2] widths [8,16,32,64] emb 32, arcface_torch-style export "
         "(opset 11, BN after convs folded by the exporter), fp32, batch axis 'N'; tap `fc` "
         "is the Gemm output before the embedding BatchNormalization",
         "N(0,1), seed 101 (already normalised; no normalisation in the graph)")
    return net, m, x


def make_iresnet_small_fp16(ctx, net, m32, x):
    m16 = to_fp16_initializers(m32)
    path = os.path.join(ctx.out, "iresnet_small_fp16.onnx")
    onnx.save(m16, path)
    taps = stage_taps(m32)
    names = dict(taps, embedding="embedding")
    # Exact reference: the graph evaluated with the file's fp16 weights
    # (decoded to fp32, fp32 arithmetic).
    fx = onnx_ref.run(m16, {"data": x}, list(names.values()))
    ref = {t: fx[n] for t, n in names.items()}
    # How far fp16 storage moves the result from the fp32 model (informative).
    full = torch_taps(net, x)
    drift = {t: rounded(compare(full[t], ref[t])) for t in names}
    print("  fp16 vs fp32 model embedding: %s" % fmt_cmp(drift["embedding"]))
    emit(ctx, "iresnet_small_fp16", m16, path, x, "iresnet_small/input.npy", taps, "embedding",
         ref,
         "iresnet_small.onnx with every float initializer stored as FLOAT16 raw_data "
         "(graph input/output stay float32; no Cast nodes). ONNX Runtime cannot run this file "
         "(type mismatch fp32 input vs fp16 weights): refs.torch = torch.nn.functional over "
         "the file's fp16 weights decoded to fp32 (tools/onnx_ref.py); refs.ort = ORT on an "
         "fp32 copy whose initializers are the same fp16-rounded values. Both: weights "
         "rounded to fp16, arithmetic in fp32.",
         "same input as iresnet_small",
         ref_model=fp16_rounded_fp32(m32),
         extra={"drift_vs_fp32_model": drift},
         store_torch=["layer4", "embedding"], store_ort=["layer4", "embedding"])


def make_iresnet_r18like(ctx):
    # Narrower than r18 and odd widths (24, 40: not multiples of 16) so SIMD
    # tails are exercised and the fixtures stay small.
    core = iresnet.build([1, 2, 1, 1], (8, 16, 24, 40), 48, seed=23)
    net = iresnet.Normalized(core).eval()
    path = os.path.join(ctx.out, "iresnet_r18like.onnx")
    # Exactly like torch2onnx: numeric output name, batch made symbolic after.
    m = iresnet.export(net, path, dynamic_batch="None", output_name=None)
    x = np.random.RandomState(202).randint(0, 256, size=(2, 3, 112, 112)).astype(np.float32)
    save_npy(os.path.join(ctx.out, "iresnet_r18like/input.npy"), x)
    ops = [n.op_type for n in m.graph.node[:2]]
    if ops != ["Sub", "Mul"]:
        raise SystemExit("r18like: expected Sub, Mul at the start, got %s" % ops)
    taps = stage_taps(m)
    tout = torch_taps(net, x)
    emit(ctx, "iresnet_r18like", m, path, x, "iresnet_r18like/input.npy", taps,
         m.graph.output[0].name, tout,
         "IResNet layers [1,2,1,1] widths [8,16,24,40] emb 48 with the InsightFace input "
         "normalisation in the graph: Sub 127.5 then Mul 1/127.5 (scalar initializers); "
         "exported exactly like torch2onnx (numeric output name, batch dim_param 'None')",
         "integer pixel values 0..255 as float32, seed 202 (raw RGB-range input)")


def make_mobile(ctx):
    torch.manual_seed(31)
    net = mobile_dw.MobileDW(emb=32)
    gen = torch.Generator().manual_seed(32)
    iresnet.randomize_stats(net, gen)
    net.eval()
    x = np.random.RandomState(303).standard_normal((2, 3, 64, 64)).astype(np.float32)
    save_npy(os.path.join(ctx.out, "mobile_dw/input.npy"), x)
    tout = torch_taps(net, x)
    for name, opset in (("mobile_dw", 11), ("mobile_dw_op9", 9)):
        path = os.path.join(ctx.out, name + ".onnx")
        m = iresnet.export(net, path, in_size=64, dynamic_batch="N",
                           output_name="embedding", opset=opset)
        m = mobile_dw.add_identity_dropout(m)
        onnx.checker.check_model(m)
        onnx.save(m, path)
        taps = {t: node_output(m, n) for t, n in mobile_dw.TAP_NODES.items()}
        clip = [n for n in m.graph.node if n.op_type == "Clip"]
        emit(ctx, name, m, path, x, "mobile_dw/input.npy", taps, "embedding", tout,
             "MobileFaceNet-like net, input 3x64x64, opset %d: depthwise 3x3 s1/s2, grouped "
             "conv (groups=2), 1x1 convs (one with bias), ReLU, ReLU6 as Relu+Clip(max 6) and "
             "a bare Clip(0,6) (%s), BN after ReLU (not foldable), global depthwise 8x8 conv, "
             "PRelu, residual Add, Identity, Dropout (ratio 0.5, inference no-op), Flatten, "
             "Gemm, BatchNormalization on [N,C]%s"
             % (opset, "min/max as inputs fed by Constant nodes" if opset >= 11
                else "min/max as attributes",
                "" if opset < 11 else "; Constant nodes"),
             "N(0,1), seed 303",
             extra={"clip_nodes": len(clip)},
             share="mobile_dw" if name != "mobile_dw" else None)


class ConvBN(torch.nn.Module):
    """Conv -> BN -> ReLU -> Conv(s2) -> BN, eval mode: what a hand-written
    or non-PyTorch ONNX file keeps and mint folds at run time."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)

    def forward_taps(self, x):
        c1 = self.conv1(x)
        c2 = self.conv2(torch.relu(self.bn1(c1)))
        return {"conv1": c1, "conv2": c2, "embedding": self.bn2(c2)}


def make_conv_bn(ctx):
    """Conv -> BatchNormalization pairs written node for node (the PyTorch
    exporter would fold them), so the conv outputs exist as tensors."""
    torch.manual_seed(41)
    net = ConvBN()
    iresnet.randomize_stats(net, torch.Generator().manual_seed(42))
    net.eval()
    x = np.random.RandomState(404).standard_normal((2, 3, 16, 16)).astype(np.float32)
    save_npy(os.path.join(ctx.out, "conv_bn/input.npy"), x)
    tout = torch_taps(net, x)
    inits = [numpy_helper.from_array(t.detach().numpy(), n)
             for n, t in list(net.named_parameters()) + list(net.named_buffers())
             if not n.endswith("num_batches_tracked")]
    def bn(name, inp, out):
        return helper.make_node("BatchNormalization",
                                [inp] + ["%s.%s" % (name, k) for k in
                                         ("weight", "bias", "running_mean", "running_var")],
                                [out], name=name, epsilon=1e-5)
    nodes = [
        helper.make_node("Conv", ["data", "conv1.weight", "conv1.bias"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        bn("bn1", "c1", "b1"),
        helper.make_node("Relu", ["b1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "conv2.weight"], ["c2"], name="conv2",
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        bn("bn2", "c2", "out"),
    ]
    g = helper.make_graph(
        nodes, "conv_bn",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 8, 8, 8])],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)],
                          producer_name="mint-tools")
    m.ir_version = 7
    onnx.checker.check_model(m)
    path = os.path.join(ctx.out, "conv_bn.onnx")
    onnx.save(m, path)
    emit(ctx, "conv_bn", m, path, x, "conv_bn/input.npy", {"conv1": "c1", "conv2": "c2"}, "out",
         tout,
         "Conv(3->8, bias) -> BatchNormalization -> Relu -> Conv(8->8, s2, no bias) -> "
         "BatchNormalization, opset 11, input 3x16x16, written node by node from a PyTorch "
         "module in eval mode (no exporter, so no folding): taps `conv1`/`conv2` are conv "
         "outputs that mint folds a BN over unless they are tapped",
         "N(0,1), seed 404")


# ---------------------------------------------------------------- malformed

def tiny_graph(nodes, inits, out_shape, name, opset=11, out_name="out"):
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="mint-tools")
    m.ir_version = 7
    return m


def conv_weight(name="conv.weight", seed=7):
    w = np.random.RandomState(seed).standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.2
    return numpy_helper.from_array(w, name)


def make_malformed(ctx):
    out = ctx.out
    rows = []

    # truncated: first half of a valid file
    with open(os.path.join(out, "mobile_dw.onnx"), "rb") as f:
        b = f.read()
    with open(os.path.join(out, "malformed_truncated.onnx"), "wb") as f:
        f.write(b[: len(b) // 2])
    rows.append(("malformed_truncated.onnx",
                 "the first %d of %d bytes of mobile_dw.onnx (cut mid-message)" % (len(b) // 2, len(b))))

    # unsupported op
    conv = helper.make_node("Conv", ["data", "conv.weight"], ["c"], name="conv",
                            kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    sm = helper.make_node("Softmax", ["c"], ["out"], name="unsupported_Softmax", axis=1)
    m = tiny_graph([conv, sm], [conv_weight()], ["N", 4, 8, 8], "unsupported_op")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "malformed_unsupported_op.onnx"))
    rows.append(("malformed_unsupported_op.onnx",
                 "valid ONNX: Conv then a Softmax node named `unsupported_Softmax` "
                 "(an op mint does not implement)"))

    # external data
    w = conv_weight()
    ext = TensorProto()
    ext.name = w.name
    ext.data_type = TensorProto.FLOAT
    ext.dims.extend(w.dims)
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "malformed_external_data.bin"), ("offset", "0"),
                 ("length", str(len(w.raw_data)))):
        e = ext.external_data.add()
        e.key, e.value = k, v
    conv = helper.make_node("Conv", ["data", "conv.weight"], ["out"], name="conv",
                            kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    m = tiny_graph([conv], [ext], ["N", 4, 8, 8], "external_data")
    onnx.save(m, os.path.join(out, "malformed_external_data.onnx"))
    rows.append(("malformed_external_data.onnx",
                 "Conv weight `conv.weight` with data_location EXTERNAL "
                 "(location malformed_external_data.bin, not shipped); no raw_data"))

    # auto_pad
    conv = helper.make_node("Conv", ["data", "conv.weight"], ["out"],
                            name="conv_auto_pad_same_upper", kernel_shape=[3, 3],
                            auto_pad="SAME_UPPER")
    m = tiny_graph([conv], [conv_weight()], ["N", 4, 8, 8], "auto_pad")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "malformed_conv_auto_pad.onnx"))
    rows.append(("malformed_conv_auto_pad.onnx",
                 "valid ONNX: Conv `conv_auto_pad_same_upper` with auto_pad=SAME_UPPER "
                 "(unsupported attribute value; mint wants explicit pads)"))

    # short raw_data
    w = conv_weight()
    w.raw_data = w.raw_data[: len(w.raw_data) // 2]
    conv = helper.make_node("Conv", ["data", "conv.weight"], ["out"], name="conv",
                            kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    m = tiny_graph([conv], [w], ["N", 4, 8, 8], "short_raw_data")
    onnx.save(m, os.path.join(out, "malformed_short_raw_data.onnx"))
    rows.append(("malformed_short_raw_data.onnx",
                 "Conv weight `conv.weight` dims [4,3,3,3] FLOAT (432 bytes) but raw_data "
                 "holds 216 bytes"))

    # huge dims: element count overflows 64-bit byte size
    w = TensorProto()
    w.name = "conv.weight"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([1 << 31, 1 << 31, 1 << 2, 3])
    w.raw_data = b"\0" * 64
    conv = helper.make_node("Conv", ["data", "conv.weight"], ["out"], name="conv",
                            kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    m = tiny_graph([conv], [w], ["N", 4, 8, 8], "huge_dims")
    onnx.save(m, os.path.join(out, "malformed_huge_dims.onnx"))
    rows.append(("malformed_huge_dims.onnx",
                 "Conv weight dims [2^31, 2^31, 4, 3]: the element count 3*2^64 overflows "
                 "64 bits (a naive product wraps to 0); 64 bytes of raw_data"))
    return rows


# ---------------------------------------------------------------- README

README_HEAD = """# Test fixtures

## Models and references (tools/make_fixtures.py)

Generated by `/usr/bin/python3 tools/make_fixtures.py` (see tools/README.md);
do not edit by hand. Every model has `<model>.onnx`, a sidecar
`<model>.json` and a folder `<model>/` with `input.npy` (batch 2, float32
NCHW) and references: `torch_<tap>.npy` from PyTorch and `ort_<tap>.npy` from
ONNX Runtime (both float32). The sidecar gives the ONNX tensor name of each
tap, the shapes, the file paths (relative to this folder) and how closely
PyTorch and ONNX Runtime agree (`agreement_torch_vs_ort`; use it to pick test
tolerances). Stage taps of the IResNets are the outputs of the last residual
Add at each resolution (56, 28, 14, 7).

What is stored: PyTorch and ONNX Runtime references for every tap (for
`iresnet_small_fp16`, the fp16-storage check, only `layer4` and the
embedding). The generator compares every tap of every model against ORT and
against a third evaluation of the ONNX graph (tools/onnx_ref.py) and fails
below cosine 0.99999; the numbers are in each sidecar. `mobile_dw_op9`
reuses the `mobile_dw/` files (same weights, same results bit for bit).
Check `refs` in the sidecar rather than assuming a file.

Things the importer meets here: Conv with bias (the exporter folds BN into the
preceding conv), standalone BatchNormalization on 4-D and 2-D inputs, PRelu
slopes of shape [C,1,1], 0-d (scalar) initializers `mean`/`scale` for
Sub/Mul (iresnet_r18like), a numeric output name (`193`) and dim_param
`None`, Constant nodes feeding Clip (mobile_dw, opset 11), Clip attributes
(opset 9), FLOAT16 initializers (iresnet_small_fp16).

### Models
"""


README_BEGIN = "<!-- begin: written by tools/make_fixtures.py -->"
README_END = "<!-- end: written by tools/make_fixtures.py -->"


def write_readme(ctx, malformed_rows):
    """Rewrites only the part between the markers; other generators may
    document their fixtures in the rest of the file."""
    lines = [README_BEGIN, README_HEAD]
    for name in ctx.summary:
        with open(os.path.join(ctx.out, name + ".json")) as f:
            side = json.load(f)
        lines.append("- `%s`: %s" % (side["onnx"], side["description"].rstrip(".") + "."))
    lines.append("\n### Malformed ONNX files (importer error paths)\n")
    for fn, what in malformed_rows:
        lines.append("- `%s`: %s." % (fn, what))
    lines.append(README_END)
    mine = "\n".join(lines)
    path = os.path.join(ctx.out, "README.md")
    old = open(path).read() if os.path.exists(path) else ""
    b, e = old.find(README_BEGIN), old.find(README_END)
    if b >= 0 and e > b:
        text = old[:b] + mine + old[e + len(README_END):]
    elif old.startswith("# Test fixtures"):  # an earlier version of this script
        text = mine + "\n"
    else:
        text = mine + "\n" + ("\n" + old if old else "")
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    # Remove only what this script makes (others may keep fixtures here).
    for d in GENERATED_DIRS:
        shutil.rmtree(os.path.join(args.out, d), ignore_errors=True)
    versions = {"torch": torch.__version__, "onnx": onnx.__version__,
                "numpy": np.__version__, "onnxruntime-node": ort_version()}
    print("versions: %s" % versions)
    tmp = tempfile.mkdtemp(prefix="mint-fixtures-")
    try:
        ctx = Ctx(args.out, tmp, versions)
        net, m32, x = make_iresnet_small(ctx)
        make_iresnet_small_fp16(ctx, net, m32, x)
        make_iresnet_r18like(ctx)
        make_mobile(ctx)
        make_conv_bn(ctx)
        rows = make_malformed(ctx)
        write_readme(ctx, rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = 0
    for dirpath, _, files in os.walk(args.out):
        for fn in files:
            total += os.path.getsize(os.path.join(dirpath, fn))
    print("fixtures: %s, %.2f MB total" % (args.out, total / 1e6))


if __name__ == "__main__":
    main()
