#!/usr/bin/env python3
"""Writes the PyTorch reference fixture for SegLab's conv2d and conv_transpose2d.

Output: tests/SegLab.Engine.Tests/Fixtures/conv/conv_reference.json (a few KB, committed).
Each case has the op and its parameters, float32 input, weight and bias (bias may be absent), the float32
output and the gradients of sum(output * gradOut) with respect to input, weight and bias.
gradOut is not stored: element i is ((i * 37) % 17 - 8) / 8, exact in float32, rebuilt by the C# test.

Run: /usr/bin/python3 tools/conv_reference.py  (needs Debian's python3-torch; CPU, float32)
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "SegLab.Engine.Tests", "Fixtures", "conv", "conv_reference.json")


def grad_out(shape):
    n = 1
    for d in shape:
        n *= d
    g = torch.tensor([((i * 37) % 17 - 8) / 8.0 for i in range(n)], dtype=torch.float32)
    return g.reshape(shape)


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def rand(shape, gen):
    # values in [-1, 1) rounded to 1/64 so the inputs are exact in JSON and float32
    return (torch.randint(-64, 64, shape, generator=gen).to(torch.float32) / 64.0).requires_grad_(True)


def run(name, op, params, xs, ws, bias, gen):
    x, w = rand(xs, gen), rand(ws, gen)
    out_ch = ws[0] if op == "conv2d" else ws[1] * params["groups"]
    b = rand([out_ch], gen) if bias else None
    if op == "conv2d":
        y = F.conv2d(x, w, b, (params["strideH"], params["strideW"]), (params["padH"], params["padW"]),
                     (params["dilationH"], params["dilationW"]), params["groups"])
    else:
        y = F.conv_transpose2d(x, w, b, (params["strideH"], params["strideW"]), (params["padH"], params["padW"]),
                               (params["outputPadH"], params["outputPadW"]), params["groups"],
                               (params["dilationH"], params["dilationW"]))
    (y * grad_out(y.shape)).sum().backward()
    case = {
        "name": name, "op": op, "params": params,
        "inputShape": list(xs), "input": flat(x), "weightShape": list(ws), "weight": flat(w),
        "outputShape": list(y.shape), "output": flat(y),
        "gradInput": flat(x.grad), "gradWeight": flat(w.grad),
    }
    if b is not None:
        case["bias"] = flat(b)
        case["gradBias"] = flat(b.grad)
    return case


def conv(sh=1, sw=1, ph=0, pw=0, dh=1, dw=1, g=1):
    return {"strideH": sh, "strideW": sw, "padH": ph, "padW": pw, "dilationH": dh, "dilationW": dw, "groups": g}


def tconv(sh=1, sw=1, ph=0, pw=0, oph=0, opw=0, dh=1, dw=1, g=1):
    p = conv(sh, sw, ph, pw, dh, dw, g)
    p.update({"outputPadH": oph, "outputPadW": opw})
    return p


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    cases = [
        run("conv_3x3_pad1_bias", "conv2d", conv(ph=1, pw=1), [2, 2, 5, 6], [3, 2, 3, 3], True, gen),
        run("conv_stride2_dil2_rect", "conv2d", conv(2, 1, 2, 1, 2, 1), [1, 2, 7, 6], [2, 2, 3, 2], False, gen),
        run("conv_1x1", "conv2d", conv(), [2, 3, 3, 5], [2, 3, 1, 1], True, gen),
        run("conv_grouped", "conv2d", conv(ph=1, pw=1, g=2), [1, 4, 5, 4], [4, 2, 3, 3], True, gen),
        run("conv_depthwise_dil2", "conv2d", conv(ph=2, pw=2, dh=2, dw=2, g=2), [2, 2, 6, 7], [2, 1, 3, 3], True, gen),
        run("conv_depthwise_stride2", "conv2d", conv(2, 2, 1, 1, g=3), [1, 3, 7, 6], [3, 1, 3, 3], False, gen),
        run("tconv_s2_k2", "conv_transpose2d", tconv(2, 2), [1, 3, 3, 4], [3, 2, 2, 2], False, gen),
        run("tconv_s2_pad1_outpad1", "conv_transpose2d", tconv(2, 2, 1, 1, 1, 1), [2, 2, 3, 3], [2, 2, 3, 3], True, gen),
        run("tconv_grouped_dil2", "conv_transpose2d", tconv(1, 1, 1, 1, 1, 0, 2, 2, 2), [1, 4, 3, 4], [4, 1, 3, 3], True, gen),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/conv_reference.py", "torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
