#!/usr/bin/env python3
"""Writes the PyTorch reference fixture for SegLab's pooling, unpooling and resizing ops (antialiased bilinear included).

Output: tests/SegLab.Engine.Tests/Fixtures/pooling/pooling_reference.json (a few KB, committed).
Each case has the op and its parameters, a float32 input in [0, 1), the float32 output, the gradient of
sum(output * gradOut) with respect to the input, and (max pool) the flat per-plane indices.
gradOut is not stored: element i is ((i * 37) % 17 - 8) / 8, exact in float32, rebuilt by the C# test.

Run: /usr/bin/python3 tools/pooling_reference.py  (needs torch; CPU, float32)
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "SegLab.Engine.Tests", "Fixtures", "pooling", "pooling_reference.json")


def grad_out(shape):
    n = 1
    for d in shape:
        n *= d
    g = torch.tensor([((i * 37) % 17 - 8) / 8.0 for i in range(n)], dtype=torch.float32)
    return g.reshape(shape)


def flat(t):
    # repr of a float32 round-trips through float32 parsing.
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def run(name, op, params, shape, fn, gen):
    x = torch.rand(shape, generator=gen, dtype=torch.float32).requires_grad_(True)
    res = fn(x)
    y, idx = (res if isinstance(res, tuple) else (res, None))
    (y * grad_out(y.shape)).sum().backward()
    case = {
        "name": name, "op": op, "params": params,
        "inputShape": list(shape), "input": flat(x),
        "outputShape": list(y.shape), "output": flat(y),
        "gradInput": flat(x.grad),
    }
    if idx is not None:
        case["indices"] = idx.reshape(-1).tolist()
    return case


def main():
    gen = torch.Generator().manual_seed(20240611)
    cases = []
    mp = dict(kernelH=3, kernelW=3, strideH=2, strideW=2, padH=1, padW=1, dilationH=1, dilationW=1, ceilMode=True)
    cases.append(run("maxpool_k3s2p1_ceil", "MaxPool2dWithIndices", mp, (1, 2, 7, 9),
                     lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True), gen))
    mp2 = dict(kernelH=3, kernelW=2, strideH=2, strideW=1, padH=1, padW=0, dilationH=2, dilationW=1, ceilMode=False)
    cases.append(run("maxpool_dilated_rect", "MaxPool2dWithIndices", mp2, (1, 1, 7, 9),
                     lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0), (2, 1), return_indices=True), gen))
    for cip in (True, False):
        ap = dict(kernelH=3, kernelW=3, strideH=2, strideW=2, padH=1, padW=1, ceilMode=True, countIncludePad=cip)
        cases.append(run(f"avgpool_k3s2p1_ceil_cip{int(cip)}", "AvgPool2d", ap, (1, 1, 7, 9),
                         lambda x, cip=cip: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=cip), gen))
    cases.append(run("adaptive_7x9_to_3x4", "AdaptiveAvgPool2d", dict(outH=3, outW=4), (1, 1, 7, 9),
                     lambda x: F.adaptive_avg_pool2d(x, (3, 4)), gen))
    cases.append(run("global_avg", "GlobalAvgPool2d", {}, (2, 2, 3, 4),
                     lambda x: F.adaptive_avg_pool2d(x, 1), gen))
    for ac in (False, True):
        cases.append(run(f"bilinear_7x9_to_20x31_ac{int(ac)}", "Interpolate", dict(outH=20, outW=31, mode="Bilinear", alignCorners=ac),
                         (1, 1, 7, 9), lambda x, ac=ac: F.interpolate(x, size=(20, 31), mode="bilinear", align_corners=ac), gen))
        cases.append(run(f"bilinear_2ch_5x6_to_4x3_ac{int(ac)}", "Interpolate", dict(outH=4, outW=3, mode="Bilinear", alignCorners=ac),
                         (1, 2, 5, 6), lambda x, ac=ac: F.interpolate(x, size=(4, 3), mode="bilinear", align_corners=ac), gen))
    cases.append(run("bilinear_scale_2.5", "InterpolateScale", dict(scale=2.5, mode="Bilinear", alignCorners=False), (1, 1, 3, 5),
                     lambda x: F.interpolate(x, scale_factor=2.5, mode="bilinear", align_corners=False), gen))
    cases.append(run("nearest_4x5_to_9x11", "Interpolate", dict(outH=9, outW=11, mode="Nearest", alignCorners=False), (1, 1, 4, 5),
                     lambda x: F.interpolate(x, size=(9, 11), mode="nearest"), gen))
    cases.append(run("nearest_7x9_to_4x5", "Interpolate", dict(outH=4, outW=5, mode="Nearest", alignCorners=False), (1, 1, 7, 9),
                     lambda x: F.interpolate(x, size=(4, 5), mode="nearest"), gen))
    cases.append(run("nearest_scale_1.7", "InterpolateScale", dict(scale=1.7, mode="Nearest", alignCorners=False), (1, 1, 4, 5),
                     lambda x: F.interpolate(x, scale_factor=1.7, mode="nearest"), gen))
    # Unpool: the input is the pooled map; indices come from pooling a fixed 7x9 map (stored as unpoolIndices).
    src = torch.rand((1, 2, 7, 9), generator=gen)
    _, uidx = F.max_pool2d(src, 2, 2, return_indices=True)
    c = run("unpool_3x4_to_7x9", "MaxUnpool2d", dict(outH=7, outW=9), (1, 2, 3, 4),
            lambda x: F.max_unpool2d(x, uidx, 2, 2, output_size=(7, 9)), gen)
    c["unpoolIndices"] = uidx.reshape(-1).tolist()
    cases.append(c)
    # Antialiased bilinear (PIL's filter): shrinking, enlarging, and one axis each way.
    for name, shape, size in (("aa_2ch_13x11_to_5x4", (1, 2, 13, 11), (5, 4)), ("aa_4x5_to_9x7", (1, 1, 4, 5), (9, 7)),
                              ("aa_9x4_to_4x10", (1, 1, 9, 4), (4, 10)), ("aa_3x513_to_3x384", (1, 1, 3, 513), (3, 384))):
        cases.append(run(name, "InterpolateAntialias", dict(outH=size[0], outW=size[1]), shape,
                         lambda x, size=size: F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True), gen))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "gradOut": "((i * 37) % 17 - 8) / 8", "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
