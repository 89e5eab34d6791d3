#!/usr/bin/env python3
"""FLOPs and output bytes of the convolutions of CGNet and ESPNet (the PyTorch twins of tools/lightweight_nets.py) for
one forward at a given size: the compute side of the roofline in docs/benchmarks.md (issue 22). A multiply-add counts
as 2 FLOPs; batch norms, activations, pooling and interpolation are left out (memory-bound, see the bytes).

  /usr/bin/python3 tools/count_flops.py [--size 360x480] [--shared ../shared]
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lightweight_nets  # noqa: E402


def count(net, h, w):
    tot = {"conv 3x3+": 0, "conv 1x1": 0, "depthwise": 0, "transposed": 0, "output MB": 0, "layers": 0}

    def hook(m, i, o):
        if isinstance(m, nn.ConvTranspose2d):
            tot["transposed"] += 2 * m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups * i[0].numel()
        elif isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            key = "depthwise" if m.groups > 1 else ("conv 1x1" if m.kernel_size == (1, 1) else "conv 3x3+")
            tot[key] += 2 * k * o.numel()
        else:
            return
        tot["output MB"] += o.numel() * 4 / 1e6
        tot["layers"] += 1

    for m in net.modules():
        m.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.rand(1, 3, h, w))
    return tot


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="360x480")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    a = ap.parse_args()
    h, w = (int(v) for v in a.size.split("x"))
    for kind in ("cgnet", "espnet"):
        t = count(lightweight_nets.load(kind, a.shared), h, w)
        flops = sum(v for k, v in t.items() if k not in ("output MB", "layers"))
        parts = ", ".join(f"{k} {v / 1e9:.2f}" for k, v in t.items() if k not in ("output MB", "layers") and v)
        print(f"{kind} at {h}x{w}: {flops / 1e9:.2f} GFLOP ({parts}); {t['layers']} convolutions writing {t['output MB']:.0f} MB")


if __name__ == "__main__":
    main()
