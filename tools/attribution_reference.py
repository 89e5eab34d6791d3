#!/usr/bin/env python3
"""Reference attribution maps for SegLab: Grad-CAM, Grad-CAM++ and Integrated Gradients on CGNet, by their
definitions, in PyTorch autograd.

CGNet here is a minimal PyTorch definition written for this script (Context_Guided_Network M=3, N=21, the module
names of the state dict); before anything else the script checks that it reproduces the stored PyTorch logits of
the original model code (../shared/reference/cgnet-camvid_val_0016E5_07959.safetensors, small_logits), so the maps
are those of the original network.

Stated setting: CamVid val 0016E5_07959 at 120x160 (the reference file's small_input: exact 3x3 box means), RGB in
[0, 1] = (small_input + mean) / 255 with CGNet's preprocessing (x * 255 - mean) inside the model; target class Car
(8) over the pixels the model predicts as Car; score = the class logit summed over that mask.
  Grad-CAM / Grad-CAM++ at layer bn_prelu_3 (256 channels at 1/8): w_k = mean_ij dS/dA (Grad-CAM);
    alpha = g^2 / (2 g^2 + sum_ij(A) g^3 + 1e-7) where g != 0, w_k = sum_ij alpha relu(g) (Grad-CAM++);
    map = relu(sum_k w_k A_k), bilinear (align_corners=False) to 120x160, no normalisation.
  Integrated Gradients: black baseline, 32 steps, midpoint rule alpha = (k + 0.5) / 32, map = sum over channels of
    (x - x') * mean gradient w.r.t. the [0, 1] RGB image.
Writes tests/SegLab.Tests/Fixtures/attribution/cgnet_attribution_reference.safetensors (image, mask, gradcam,
gradcampp, ig, score, ig_baseline_score).

Run: /usr/bin/python3 tools/attribution_reference.py ../shared tests/SegLab.Tests/Fixtures/attribution
Needs Debian's python3-torch. PyTorch is never a dependency of SegLab.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models_vs_torch import load_safetensors  # noqa: E402
from tiny_net_reference import save_safetensors  # noqa: E402

MEAN = [105.65775299072266, 103.329833984375, 99.62540435791016]
CAR = 8


class ConvOnly(nn.Module):
    def __init__(self, i, o, k, s=1, d=1, g=1):
        super().__init__()
        self.conv = nn.Conv2d(i, o, k, s, padding=(k - 1) // 2 * d, dilation=d, groups=g, bias=False)

    def forward(self, x):
        return self.conv(x)


class BnPrelu(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, eps=1e-3)
        self.act = nn.PReLU(c)

    def forward(self, x):
        return self.act(self.bn(x))


class ConvBnPrelu(nn.Module):
    def __init__(self, i, o, k, s=1):
        super().__init__()
        self.conv = nn.Conv2d(i, o, k, s, padding=(k - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(o, eps=1e-3)
        self.act = nn.PReLU(o)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class GlobalContext(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c, c // r), nn.ReLU(), nn.Linear(c // r, c), nn.Sigmoid())

    def forward(self, x):
        s = self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
        return x * s[:, :, None, None]


class CGBlockDown(nn.Module):
    def __init__(self, i, o, d, r):
        super().__init__()
        self.conv1x1 = ConvBnPrelu(i, o, 3, 2)
        self.F_loc = ConvOnly(o, o, 3, g=o)
        self.F_sur = ConvOnly(o, o, 3, d=d, g=o)
        self.bn = nn.BatchNorm2d(2 * o, eps=1e-3)
        self.act = nn.PReLU(2 * o)
        self.reduce = ConvOnly(2 * o, o, 1)
        self.F_glo = GlobalContext(o, r)

    def forward(self, x):
        o = self.conv1x1(x)
        j = self.act(self.bn(torch.cat([self.F_loc(o), self.F_sur(o)], 1)))
        return self.F_glo(self.reduce(j))


class CGBlock(nn.Module):
    def __init__(self, c, d, r):
        super().__init__()
        n = c // 2
        self.conv1x1 = ConvBnPrelu(c, n, 1, 1)
        self.F_loc = ConvOnly(n, n, 3, g=n)
        self.F_sur = ConvOnly(n, n, 3, d=d, g=n)
        self.bn_prelu = BnPrelu(c)
        self.F_glo = GlobalContext(c, r)

    def forward(self, x):
        o = self.conv1x1(x)
        j = self.bn_prelu(torch.cat([self.F_loc(o), self.F_sur(o)], 1))
        return x + self.F_glo(j)


class CGNet(nn.Module):
    def __init__(self, classes=11, m=3, n=21):
        super().__init__()
        self.level1_0 = ConvBnPrelu(3, 32, 3, 2)
        self.level1_1 = ConvBnPrelu(32, 32, 3, 1)
        self.level1_2 = ConvBnPrelu(32, 32, 3, 1)
        self.b1 = BnPrelu(35)
        self.level2_0 = CGBlockDown(35, 64, 2, 8)
        self.level2 = nn.Sequential(*[CGBlock(64, 2, 8) for _ in range(m - 1)])
        self.bn_prelu_2 = BnPrelu(131)
        self.level3_0 = CGBlockDown(131, 128, 4, 16)
        self.level3 = nn.Sequential(*[CGBlock(128, 4, 16) for _ in range(n - 1)])
        self.bn_prelu_3 = BnPrelu(256)
        self.classifier = nn.Sequential(ConvOnly(256, classes, 1))

    def forward(self, x):
        down = lambda t: F.avg_pool2d(t, 3, 2, 1)  # noqa: E731
        out0 = self.level1_2(self.level1_1(self.level1_0(x)))
        inp1 = down(x)
        inp2 = down(inp1)
        out0_cat = self.b1(torch.cat([out0, inp1], 1))
        out1_0 = self.level2_0(out0_cat)
        out1 = self.level2(out1_0)
        out1_cat = self.bn_prelu_2(torch.cat([out1, out1_0, inp2], 1))
        out2_0 = self.level3_0(out1_cat)
        out2 = self.level3(out2_0)
        self.features = self.bn_prelu_3(torch.cat([out2_0, out2], 1))  # the CAM layer's output
        logits = self.classifier(self.features)
        return F.interpolate(logits, x.shape[2:], mode="bilinear", align_corners=False)


def main(shared, out_dir):
    torch.set_num_threads(2)
    net = CGNet()
    state = load_safetensors(os.path.join(shared, "models/cgnet-camvid/cgnet_m3n21_camvid.safetensors"))
    net.load_state_dict(state, strict=True)
    net.eval()
    ref = load_safetensors(os.path.join(shared, "reference/cgnet-camvid_val_0016E5_07959.safetensors"))
    with torch.no_grad():
        logits = net(ref["small_input"])
    rel = ((logits - ref["small_logits"]).norm() / ref["small_logits"].norm()).item()
    print(f"twin vs original code, small logits: rel L2 {rel:.2e}")
    assert rel < 1e-5, "the CGNet definition here does not reproduce the original model"

    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    image = ((ref["small_input"] + mean) / 255).float()  # [1, 3, 120, 160] in [0, 1]
    model = lambda x01: net(x01 * 255 - mean)  # noqa: E731
    with torch.no_grad():
        mask = (model(image).argmax(1)[0] == CAR).float()
    assert mask.sum() > 0
    print(f"target: Car over {int(mask.sum())} predicted pixels")
    score = lambda out: (out[:, CAR] * mask).sum(dim=(1, 2))  # noqa: E731

    x = image.clone().requires_grad_(False)
    out = model(x)
    a = net.features
    s = score(out)[0]
    g, = torch.autograd.grad(s, [a])
    a, g = a.detach()[0].double(), g[0].double()
    w_gc = g.mean(dim=(1, 2))
    sum_a = a.sum(dim=(1, 2))[:, None, None]
    alpha = torch.where(g != 0, g ** 2 / (2 * g ** 2 + sum_a * g ** 3 + 1e-7), torch.zeros_like(g))
    w_pp = (alpha * F.relu(g)).sum(dim=(1, 2))

    def cam(w):
        c = F.relu((w[:, None, None] * a).sum(0))[None, None].float()
        return F.interpolate(c, image.shape[2:], mode="bilinear", align_corners=False)[0, 0]

    steps = 32
    total = torch.zeros_like(image, dtype=torch.float64)
    for k in range(steps):
        xi = (image * ((k + 0.5) / steps)).requires_grad_(True)
        gi, = torch.autograd.grad(score(model(xi))[0], [xi])
        total += gi.double()
    ig = (image.double() * total / steps).sum(1)[0].float()
    with torch.no_grad():
        base = score(model(torch.zeros_like(image)))[0].item()
    print(f"score {s.item():.4f}, baseline score {base:.4f}, IG sum {ig.sum().item():.4f} (completeness error {ig.sum().item() - (s.item() - base):.4f})")
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "cgnet_attribution_reference.safetensors"), {
        "image": image[0], "mask": mask, "gradcam": cam(w_gc), "gradcampp": cam(w_pp), "ig": ig,
        "score": torch.tensor([s.item()]), "ig_baseline_score": torch.tensor([base]),
    }, {"model": "cgnet-camvid", "image": "CamVid val 0016E5_07959, 120x160 (3x3 box means), RGB in [0,1]",
        "target": "class 8 (Car) over the pixels CGNet predicts as Car; score = logit sum over the mask",
        "layer": "bn_prelu_3", "ig": "black baseline, 32 midpoint steps, summed over channels",
        "torch_version": torch.__version__, "script": "tools/attribution_reference.py"})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
