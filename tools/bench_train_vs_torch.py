#!/usr/bin/env python3
"""Training-step time of SegLab and PyTorch side by side, on this machine, in one run (issue 5's benchmark).

One step = zero grad, forward, cross-entropy, backward, SGD (momentum 0.9, wd 5e-4), on a seeded random batch of
8 x 3 x 128 x 128 with 11 classes. Models: the UNet (16-32-64-128, batch norm, ReLU, bilinear upsampling, as
src/SegLab/Models/UNet.cs) and the DeepLabV3-style model (ResNet-18-style encoder of base width 16, output stride
16, ASPP 64, as src/SegLab/Models/DeepLabV3.cs), both written here in PyTorch from the same description. PyTorch
and `seglab bench train --json` alternate per thread count so machine noise hits both.

  /usr/bin/python3 tools/bench_train_vs_torch.py [--seglab ./seglab] [--threads 1,2] [--repeats 5] [--models unet,deeplabv3]

Needs Debian's python3-torch. PyTorch is never a dependency of SegLab.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def double_conv(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                         nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, classes, widths):
        super().__init__()
        self.enc = nn.ModuleList(double_conv(3 if i == 0 else widths[i - 1], w) for i, w in enumerate(widths))
        self.dec = nn.ModuleList(double_conv(widths[i + 1] + widths[i], widths[i]) for i in range(len(widths) - 1))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        feats = []
        for i, stage in enumerate(self.enc):
            if i > 0:
                x = F.max_pool2d(x, 2, 2)
            x = stage(x)
            feats.append(x)
        for i in range(len(self.dec) - 1, -1, -1):
            skip = feats[i]
            up = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = self.dec[i](torch.cat([skip, up], 1))
        return self.head(x)


class Block(nn.Module):
    def __init__(self, i, o, stride, dilation):
        super().__init__()
        self.c1 = nn.Conv2d(i, o, 3, stride, dilation, dilation, bias=False)
        self.b1 = nn.BatchNorm2d(o)
        self.c2 = nn.Conv2d(o, o, 3, 1, dilation, dilation, bias=False)
        self.b2 = nn.BatchNorm2d(o)
        self.down = None if stride == 1 and i == o else nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class DeepLabV3(nn.Module):
    def __init__(self, classes, w=16, aspp=64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        strides, dil = [1, 2, 2, 1], [1, 1, 1, 2]
        layers, c = [], w
        for i in range(4):
            o = w << i
            layers.append(nn.Sequential(Block(c, o, strides[i], 1 if dil[i] == 1 else dil[i] // 2), Block(o, o, 1, dil[i])))
            c = o
        self.layers = nn.Sequential(*layers)
        cbr = lambda i, o, k, d: nn.Sequential(nn.Conv2d(i, o, k, 1, 0 if k == 1 else d, d, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        self.branches = nn.ModuleList([cbr(c, aspp, 1, 1)] + [cbr(c, aspp, 3, r) for r in (6, 12, 18)])
        self.pool = cbr(c, aspp, 1, 1)
        self.project = cbr(aspp * 5, aspp, 1, 1)
        self.head = nn.Sequential(cbr(aspp, aspp, 3, 1), nn.Conv2d(aspp, classes, 1))

    def forward(self, x):
        f = self.layers(F.max_pool2d(self.stem(x), 3, 2, 1))
        outs = [b(f) for b in self.branches]
        outs.append(F.interpolate(self.pool(F.adaptive_avg_pool2d(f, 1)), size=f.shape[2:], mode="bilinear", align_corners=False))
        y = self.head(self.project(torch.cat(outs, 1)))
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)


def torch_step_ms(name, threads, repeats, batch=8, size=128, classes=11):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = UNet(classes, [16, 32, 64, 128]) if name == "unet" else DeepLabV3(classes)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(batch, 3, size, size)
    idx = torch.arange(batch * size * size)
    y = ((idx // size // 16 + idx % size // 16) % classes).reshape(batch, size, size)
    times = []
    for i in range(2 + repeats):
        t = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y, ignore_index=255).backward()
        opt.step()
        if i >= 2:
            times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def seglab_step_ms(seglab, name, threads, repeats):
    out = subprocess.run([seglab, "--threads", str(threads), "bench", "train", "--model", name, "--repeats", str(repeats), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["medianMs"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seglab", default="./seglab")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--models", default="unet,deeplabv3")
    a = ap.parse_args()
    print("| model | threads | PyTorch ms | SegLab ms | SegLab / PyTorch |")
    print("| --- | --- | --- | --- | --- |")
    for name in a.models.split(","):
        for t in (int(s) for s in a.threads.split(",")):
            pt = torch_step_ms(name, t, a.repeats)
            sl = seglab_step_ms(a.seglab, name, t, a.repeats)
            print(f"| {name} | {t} | {pt:.0f} | {sl:.0f} | {sl / pt:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
