#!/usr/bin/env python3
"""Writes the PyTorch reference fixture for SegLab's batch norm, hard activations and cross-entropy.

Output: tests/SegLab.Engine.Tests/Fixtures/layers/layers_reference.json (a few KB, committed).
Each case has its op, parameters, float32 inputs, the float32 output and the gradients of sum(output * gradOut)
(gradOut element i is ((i * 37) % 17 - 8) / 8, exact in float32, rebuilt by the C# test; a scalar output gets 1.25).
Batch norm training cases also hold the running statistics after the update.

Run: /usr/bin/python3 tools/layers_reference.py  (needs torch; CPU, float32)
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "SegLab.Engine.Tests", "Fixtures", "layers", "layers_reference.json")


def grad_out(shape):
    if len(shape) == 0:
        return torch.tensor(1.25, dtype=torch.float32)
    n = 1
    for d in shape:
        n *= d
    g = torch.tensor([((i * 37) % 17 - 8) / 8.0 for i in range(n)], dtype=torch.float32)
    return g.reshape(shape)


def flat(t):
    # 9 significant digits round-trip float32.
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def backward(y, leaves):
    (y * grad_out(tuple(y.shape))).sum().backward()
    return {name: flat(t.grad) for name, t in leaves.items()}


def batch_norm(name, shape, affine, training, gen, momentum=0.1, eps=1e-5):
    x = (torch.randn(shape, generator=gen) * 2 + 0.5).requires_grad_(True)
    c = shape[1]
    rm = torch.randn(c, generator=gen) * 0.3
    rv = torch.rand(c, generator=gen) + 0.5
    w = (torch.rand(c, generator=gen) + 0.5).requires_grad_(True) if affine else None
    b = torch.randn(c, generator=gen).requires_grad_(True) if affine else None
    case = {"name": name, "op": "BatchNorm2d", "params": {"training": training, "momentum": momentum, "eps": eps, "affine": affine},
            "inputShape": list(shape), "input": flat(x), "runningMean": flat(rm), "runningVar": flat(rv)}
    if affine:
        case["weight"], case["bias"] = flat(w), flat(b)
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
    case["outputShape"], case["output"] = list(y.shape), flat(y)
    case["runningMeanAfter"], case["runningVarAfter"] = flat(rm), flat(rv)
    leaves = {"gradInput": x}
    if affine:
        leaves.update(gradWeight=w, gradBias=b)
    case.update(backward(y, leaves))
    return case


def pointwise(name, op, fn, values, params=None):
    # The gradient is taken one element at a time: torch's CPU kernels have a scalar and a vectorised (8-wide) path
    # and, for hardswish, they disagree exactly at the kinks (torch 1.13: the vector path gives g, not 1.5 g, at
    # x = 3; later versions also give 0, not -g/2, at x = -3). The scalar path is the documented rule
    # (derivatives.yaml -> hardswish_backward: 0 for x < -3, g (x/3 + 1/2) for x <= 3, g above), the one CUDA uses.
    x = torch.tensor(values, dtype=torch.float32)
    y = fn(x)
    go = grad_out((len(values),))
    grads = []
    for i, v in enumerate(values):
        xi = torch.tensor([v], dtype=torch.float32, requires_grad=True)
        (fn(xi) * go[i]).sum().backward()
        grads.append(xi.grad[0])
    case = {"name": name, "op": op, "params": params or {}, "inputShape": [len(values)], "input": flat(x),
            "outputShape": list(y.shape), "output": flat(y), "gradInput": flat(torch.stack(grads))}
    return case


def cross_entropy(name, shape, ignore_index, weighted, reduction, gen):
    n, c = shape[0], shape[1]
    x = (torch.randn(shape, generator=gen) * 3).requires_grad_(True)
    tshape = (n,) + tuple(shape[2:])
    t = torch.randint(0, c, tshape, generator=gen)
    flat_t = t.reshape(-1)
    flat_t[::4] = ignore_index  # every fourth pixel ignored
    w = (torch.rand(c, generator=gen) * 2 + 0.1) if weighted else None
    y = F.cross_entropy(x, t, weight=w, ignore_index=ignore_index, reduction=reduction)
    case = {"name": name, "op": "CrossEntropy",
            "params": {"ignoreIndex": ignore_index, "reduction": reduction.capitalize()},
            "inputShape": list(shape), "input": flat(x), "target": [float(v) for v in flat_t.tolist()],
            "outputShape": list(y.shape), "output": flat(y)}
    if weighted:
        case["classWeights"] = flat(w)
    case.update(backward(y, {"gradInput": x}))
    return case


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20240612)
    cases = [
        batch_norm("bn_train_affine", (2, 3, 2, 5), True, True, gen),
        batch_norm("bn_train_plain_momentum", (2, 2, 3, 3), False, True, gen, momentum=0.3, eps=1e-3),
        batch_norm("bn_eval_affine", (2, 2, 2, 3), True, False, gen),
        batch_norm("bn_train_2d", (5, 3), True, True, gen),
    ]
    kinks = [-4.0, -3.0001, -3.0, -2.9999, -1.5, -0.5, 0.0, 0.5, 1.5, 2.9999, 3.0, 3.0001, 4.0, 5.9999, 6.0, 6.0001, 7.0,
             -1e-6, 1e-6, -2.25, 2.25]
    cases.append(pointwise("hardswish_kinks", "HardSwish", F.hardswish, kinks))
    cases.append(pointwise("hardsigmoid_kinks", "HardSigmoid", F.hardsigmoid, kinks))
    cases.append(pointwise("relu6_kinks", "Relu6", F.relu6, kinks))
    cases.append(pointwise("leaky_relu_kinks", "LeakyRelu", lambda x: F.leaky_relu(x, 0.2), kinks, {"negativeSlope": 0.2}))
    cases.append(cross_entropy("ce_mean_weighted_ignore_nchw", (2, 3, 2, 5), 255, True, "mean", gen))
    cases.append(cross_entropy("ce_sum_ignore_nchw", (1, 4, 3, 3), -100, False, "sum", gen))
    cases.append(cross_entropy("ce_none_weighted_nchw", (1, 3, 2, 5), 7, True, "none", gen))
    cases.append(cross_entropy("ce_mean_weighted_ignore_nc", (6, 4), 2, True, "mean", gen))
    doc = {"generator": "tools/layers_reference.py", "torch": torch.__version__, "cases": cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
