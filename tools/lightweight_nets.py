#!/usr/bin/env python3
"""PyTorch twins of SegLab's CGNet, ESPNet and ESPNetv2, for the ONNX export fixtures (tools/export_onnx.py).

Written from SegLab's own C# ports (src/SegLab/Models/{Blocks,CGNet,ESPNet,ESPNetv2,ESPNetv2Blocks}.cs), which are
parity ports of the public architectures (wutianyiRosun/CGNet, sacmehta/ESPNet train/Model.py, sacmehta/EdgeNets),
so the modules carry the same state-dict names and the shared safetensors in ../shared/models load strictly.
Checked against ../shared/reference (CGNet, ESPNet: logits of the original code) and the ESPNetv2 fixture of
tools/espnetv2_reference.py (original EdgeNets code) by `check` below.

One deviation, for export only: ESPNetv2's pyramid pooling needs adaptive average pools whose output size is not a
factor of the input size, which torch.onnx 1.13 cannot export. `AdaptiveAvgPool` computes the same average as two
matrix products with constant pooling matrices (rows of 1/count over PyTorch's adaptive windows), so the ESPNetv2
export has a fixed spatial size. Equal to F.adaptive_avg_pool2d up to float rounding (checked in `check`).

  /usr/bin/python3 tools/lightweight_nets.py --shared ../shared     # the checks against the references

Needs Debian's python3-torch. PyTorch is never a dependency of SegLab.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CHECKPOINTS = {
    "cgnet": "models/cgnet-camvid/cgnet_m3n21_camvid.safetensors",
    "espnet": "models/espnet-camvid/espnet_p_2_q_8_camvid.safetensors",
    "espnetv2": "models/espnetv2-voc/espnetv2_s_0.5_pascal_256x256.safetensors",
}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    kinds = {"F32": np.float32, "I64": np.int64, "F64": np.float64, "U8": np.uint8}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        arr = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=kinds[meta["dtype"]]).reshape(meta["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


# ---- shared blocks (Blocks.cs) -------------------------------------------------------------------------------

class ConvBnPrelu(nn.Module):
    def __init__(self, n_in, n_out, k, stride=1, groups=1, eps=1e-3):
        super().__init__()
        self.conv = nn.Conv2d(n_in, n_out, k, stride, (k - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(n_out, eps=eps)
        self.act = nn.PReLU(n_out)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class BnPrelu(nn.Module):
    def __init__(self, channels, eps=1e-3):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=eps)
        self.act = nn.PReLU(channels)

    def forward(self, x):
        return self.act(self.bn(x))


class ConvOnly(nn.Module):
    def __init__(self, n_in, n_out, k, stride=1, dilation=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(n_in, n_out, k, stride, (k - 1) // 2 * dilation, dilation=dilation, groups=groups, bias=False)

    def forward(self, x):
        return self.conv(x)


def inject(x):
    """The input injection: 3x3 average pool, stride 2, padding 1, zeros counted."""
    return F.avg_pool2d(x, 3, 2, 1, count_include_pad=True)


# ---- CGNet (CGNet.cs) ------------------------------------------------------------------------------------------

class GlobalContext(nn.Module):
    def __init__(self, channels, reduction):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                nn.Linear(channels // reduction, channels), nn.Sigmoid())

    def forward(self, x):
        b, c = x.shape[0], x.shape[1]
        return x * self.fc(F.adaptive_avg_pool2d(x, 1).view(b, c)).view(b, c, 1, 1)


class CGBlockDown(nn.Module):
    def __init__(self, n_in, n_out, dilation, reduction):
        super().__init__()
        self.conv1x1 = ConvBnPrelu(n_in, n_out, 3, 2)
        self.F_loc = ConvOnly(n_out, n_out, 3, groups=n_out)
        self.F_sur = ConvOnly(n_out, n_out, 3, dilation=dilation, groups=n_out)
        self.bn = nn.BatchNorm2d(2 * n_out, eps=1e-3)
        self.act = nn.PReLU(2 * n_out)
        self.reduce = ConvOnly(2 * n_out, n_out, 1)
        self.F_glo = GlobalContext(n_out, reduction)

    def forward(self, x):
        o = self.conv1x1(x)
        joint = self.act(self.bn(torch.cat([self.F_loc(o), self.F_sur(o)], 1)))
        return self.F_glo(self.reduce(joint))


class CGBlock(nn.Module):
    def __init__(self, n_in, n_out, dilation, reduction):
        super().__init__()
        n = n_out // 2
        self.conv1x1 = ConvBnPrelu(n_in, n, 1)
        self.F_loc = ConvOnly(n, n, 3, groups=n)
        self.F_sur = ConvOnly(n, n, 3, dilation=dilation, groups=n)
        self.bn_prelu = BnPrelu(n_out)
        self.F_glo = GlobalContext(n_out, reduction)

    def forward(self, x):
        o = self.conv1x1(x)
        return x + self.F_glo(self.bn_prelu(torch.cat([self.F_loc(o), self.F_sur(o)], 1)))


class CGNet(nn.Module):
    def __init__(self, classes=11, m=3, n=21):
        super().__init__()
        self.level1_0 = ConvBnPrelu(3, 32, 3, 2)
        self.level1_1 = ConvBnPrelu(32, 32, 3)
        self.level1_2 = ConvBnPrelu(32, 32, 3)
        self.b1 = BnPrelu(32 + 3)
        self.level2_0 = CGBlockDown(32 + 3, 64, 2, 8)
        self.level2 = nn.Sequential(*[CGBlock(64, 64, 2, 8) for _ in range(m - 1)])
        self.bn_prelu_2 = BnPrelu(128 + 3)
        self.level3_0 = CGBlockDown(128 + 3, 128, 4, 16)
        self.level3 = nn.Sequential(*[CGBlock(128, 128, 4, 16) for _ in range(n - 1)])
        self.bn_prelu_3 = BnPrelu(256)
        self.classifier = nn.Sequential(ConvOnly(256, classes, 1))

    def forward(self, x):
        out0 = self.level1_2(self.level1_1(self.level1_0(x)))
        inp1 = inject(x)
        inp2 = inject(inp1)
        out0_cat = self.b1(torch.cat([out0, inp1], 1))
        out1_0 = self.level2_0(out0_cat)
        out1 = self.level2(out1_0)
        out1_cat = self.bn_prelu_2(torch.cat([out1, out1_0, inp2], 1))
        out2_0 = self.level3_0(out1_cat)
        out2 = self.level3(out2_0)
        out2_cat = self.bn_prelu_3(torch.cat([out2_0, out2], 1))
        return F.interpolate(self.classifier(out2_cat), size=x.shape[2:], mode="bilinear", align_corners=False)


# ---- ESPNet (ESPNet.cs) ----------------------------------------------------------------------------------------

class _Pyramid(nn.Module):
    def __init__(self, n_in, n_out, k1, stride):
        super().__init__()
        n = n_out // 5
        n1 = n_out - 4 * n
        self.c1 = ConvOnly(n_in, n, k1, stride)
        self.d1 = ConvOnly(n, n1, 3, dilation=1)
        self.d2 = ConvOnly(n, n, 3, dilation=2)
        self.d4 = ConvOnly(n, n, 3, dilation=4)
        self.d8 = ConvOnly(n, n, 3, dilation=8)
        self.d16 = ConvOnly(n, n, 3, dilation=16)

    def parts(self, x):
        r = self.c1(x)
        add1 = self.d2(r)
        add2 = add1 + self.d4(r)
        add3 = add2 + self.d8(r)
        add4 = add3 + self.d16(r)
        return torch.cat([self.d1(r), add1, add2, add3, add4], 1)


class DownSampler(_Pyramid):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out, 3, 2)
        self.bn = nn.BatchNorm2d(n_out, eps=1e-3)
        self.act = nn.PReLU(n_out)

    def forward(self, x):
        return self.act(self.bn(self.parts(x)))


class EspBlock(_Pyramid):
    def __init__(self, n_in, n_out, add):
        super().__init__(n_in, n_out, 1, 1)
        self.bn = BnPrelu(n_out)
        self.add = add

    def forward(self, x):
        p = self.parts(x)
        return self.bn(x + p if self.add else p)


class EspNetEncoder(nn.Module):
    def __init__(self, classes, p, q):
        super().__init__()
        self.level1 = ConvBnPrelu(3, 16, 3, 2)
        self.b1 = BnPrelu(16 + 3)
        self.level2_0 = DownSampler(16 + 3, 64)
        self.level2 = nn.ModuleList([EspBlock(64, 64, True) for _ in range(p)])
        self.b2 = BnPrelu(128 + 3)
        self.level3_0 = DownSampler(128 + 3, 128)
        self.level3 = nn.ModuleList([EspBlock(128, 128, True) for _ in range(q)])
        self.b3 = BnPrelu(256)
        self.classifier = ConvOnly(256, classes, 1)

    def run(self, x):
        out0 = self.level1(x)
        inp1 = inject(x)
        inp2 = inject(inp1)
        out0_cat = self.b1(torch.cat([out0, inp1], 1))
        out1_0 = self.level2_0(out0_cat)
        out1 = out1_0
        for layer in self.level2:
            out1 = layer(out1)
        out1_cat = self.b2(torch.cat([out1, out1_0, inp2], 1))
        out2_0 = self.level3_0(out1_cat)
        out2 = out2_0
        for layer in self.level3:
            out2 = layer(out2)
        return out0_cat, out1_cat, self.b3(torch.cat([out2_0, out2], 1))


class ESPNet(nn.Module):
    def __init__(self, classes=12, p=2, q=8):
        super().__init__()
        self.encoder = EspNetEncoder(classes, p, q)
        self.level3_C = ConvOnly(128 + 3, classes, 1)
        self.br = nn.BatchNorm2d(classes, eps=1e-3)
        self.conv = ConvBnPrelu(19 + classes, classes, 3)
        self.up_l3 = nn.Sequential(nn.ConvTranspose2d(classes, classes, 2, 2, 0, 0, bias=False))
        self.combine_l2_l3 = nn.Sequential(BnPrelu(2 * classes), EspBlock(2 * classes, classes, False))
        self.up_l2 = nn.Sequential(nn.ConvTranspose2d(classes, classes, 2, 2, 0, 0, bias=False), BnPrelu(classes))
        self.classifier = nn.ConvTranspose2d(classes, classes, 2, 2, 0, 0, bias=False)

    def forward(self, x):
        out0_cat, out1_cat, out2_cat = self.encoder.run(x)
        out2c = self.up_l3(self.br(self.encoder.classifier(out2_cat)))
        comb = self.up_l2(self.combine_l2_l3(torch.cat([self.level3_C(out1_cat), out2c], 1)))
        return self.classifier(self.conv(torch.cat([comb, out0_cat], 1)))


# ---- ESPNetv2 (ESPNetv2.cs, ESPNetv2Blocks.cs) ----------------------------------------------------------------

class EdgeCb(nn.Module):
    def __init__(self, n_in, n_out, k, stride, groups):
        super().__init__()
        self.conv = nn.Conv2d(n_in, n_out, k, stride, (k - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(n_out)

    def forward(self, x):
        return self.bn(self.conv(x))


class SeqBr(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.br = nn.Sequential(nn.BatchNorm2d(channels), nn.PReLU(channels))

    def forward(self, x):
        return self.br(x)


class SeqCbr(nn.Module):
    def __init__(self, n_in, n_out, k, groups):
        super().__init__()
        self.cbr = nn.Sequential(nn.Conv2d(n_in, n_out, k, 1, (k - 1) // 2, groups=groups, bias=False),
                                 nn.BatchNorm2d(n_out), nn.PReLU(n_out))

    def forward(self, x):
        return self.cbr(x)


class Eesp(nn.Module):
    DILATION = {3: 1, 5: 2, 7: 3, 9: 4, 11: 5, 13: 6, 15: 7, 17: 8}

    def __init__(self, n_in, n_out, stride, k, limit):
        super().__init__()
        n = n_out // k
        assert n * k == n_out
        self.stride = stride
        self.proj_1x1 = ConvBnPrelu(n_in, n, 1, 1, groups=k, eps=1e-5)
        sizes = sorted(3 + 2 * i if 3 + 2 * i <= limit else 3 for i in range(k))
        self.spp_dw = nn.Sequential(*[ConvOnly(n, n, 3, stride, self.DILATION[s], groups=n) for s in sizes])
        self.conv_1x1_exp = EdgeCb(n_out, n_out, 1, 1, k)
        self.br_after_cat = BnPrelu(n_out, eps=1e-5)
        self.module_act = nn.PReLU(n_out)

    def forward(self, x):
        r = self.proj_1x1(x)
        parts = [self.spp_dw[0](r)]
        for i in range(1, len(self.spp_dw)):
            parts.append(self.spp_dw[i](r) + parts[i - 1])
        expanded = self.conv_1x1_exp(self.br_after_cat(torch.cat(parts, 1)))
        if self.stride == 2:
            return expanded
        if expanded.shape == x.shape:
            expanded = expanded + x
        return self.module_act(expanded)


class EespDownSampler(nn.Module):
    def __init__(self, n_in, n_out, k, limit):
        super().__init__()
        self.eesp = Eesp(n_in, n_out - n_in, 2, k, limit)
        self.inp_reinf = nn.Sequential(ConvBnPrelu(3, 3, 3, 1, eps=1e-5), EdgeCb(3, n_out, 1, 1, 1))
        self.act = nn.PReLU(n_out)

    def run(self, x, images):
        pooled = inject(x)
        output = torch.cat([pooled, self.eesp(x)], 1)
        i = 1
        while True:
            if i == len(images):
                images.append(inject(images[i - 1]))
            if images[i].shape[3] == pooled.shape[3] or images[i].shape[3] == 1:
                break
            i += 1
        return self.act(output + self.inp_reinf(images[i]))


def adaptive_windows(size, out):
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


class AdaptiveAvgPool(nn.Module):
    """F.adaptive_avg_pool2d(x, (oh, ow)) as P_h @ x @ P_w^T with constant matrices (exportable at any ratio)."""

    @staticmethod
    def matrix(size, out):
        # Built in numpy, so that the trace sees one constant (in-place writes to a tensor would be traced).
        p = np.zeros((out, size), dtype=np.float32)
        for i, (a, b) in enumerate(adaptive_windows(size, out)):
            p[i, a:b] = np.float32(1.0) / np.float32(b - a)
        return torch.from_numpy(p)

    def forward(self, x, oh, ow):
        h, w = int(x.shape[2]), int(x.shape[3])
        if h % oh == 0 and w % ow == 0:
            return F.avg_pool2d(x, (h // oh, w // ow))  # the same windows; exports as AveragePool
        return torch.matmul(torch.matmul(self.matrix(h, oh), x), self.matrix(w, ow).t())


class EfficientPyrPool(nn.Module):
    SCALES = [2.0, 1.5, 1.0, 0.5, 0.1]

    def __init__(self, in_planes, proj_planes, out_planes, last_br):
        super().__init__()
        self.projection_layer = SeqCbr(in_planes, proj_planes, 1, 1)
        self.stages = nn.Sequential(*[nn.Conv2d(proj_planes, proj_planes, 3, 1, 1, groups=proj_planes, bias=False)
                                      for _ in self.SCALES])
        cat = proj_planes * len(self.SCALES)
        self.merge_layer = nn.Sequential(SeqBr(cat), ChannelShuffle(len(self.SCALES)),
                                         SeqCbr(cat, proj_planes, 3, proj_planes),
                                         nn.Conv2d(proj_planes, out_planes, 1, bias=not last_br))
        self.br = SeqBr(out_planes) if last_br else None
        self.pool = AdaptiveAvgPool()

    def forward(self, x):
        x = self.projection_layer(x)
        h, w = int(x.shape[2]), int(x.shape[3])
        branches = []
        for stage, s in zip(self.stages, self.SCALES):
            hs, ws = max(5, int(math.ceil(h * s))), max(5, int(math.ceil(w * s)))
            if s < 1:
                y = F.interpolate(stage(self.pool(x, hs, ws)), size=(h, w), mode="bilinear", align_corners=True)
            elif s > 1:
                y = self.pool(stage(F.interpolate(x, size=(hs, ws), mode="bilinear", align_corners=True)), h, w)
            else:
                y = stage(x)
            branches.append(y)
        y = self.merge_layer(torch.cat(branches, 1))
        return y if self.br is None else self.br(y)


class ChannelShuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class EfficientPwConv(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.wt_layer = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(n_in, n_out, 1, bias=False), nn.Sigmoid())
        self.expansion_layer = SeqCbr(n_in, n_out, 3, math.gcd(n_in, n_out))

    def forward(self, x):
        return self.expansion_layer(x) * self.wt_layer(x)


class _Named(nn.Module):
    pass


class ESPNetv2(nn.Module):
    CHANNELS = {0.5: [16, 32, 64, 128], 1.0: [32, 64, 128, 256], 1.25: [32, 80, 160, 320],
                1.5: [32, 96, 192, 384], 2.0: [32, 128, 256, 512]}

    def __init__(self, classes=21, scale=0.5):
        super().__init__()
        ch = self.CHANNELS[scale]
        b = self.base_net = _Named()
        b.level1 = ConvBnPrelu(3, ch[0], 3, 2, eps=1e-5)
        b.level2_0 = EespDownSampler(ch[0], ch[1], 4, 13)
        b.level3_0 = EespDownSampler(ch[1], ch[2], 4, 11)
        b.level3 = nn.Sequential(*[Eesp(ch[2], ch[2], 1, 4, 9) for _ in range(3)])
        b.level4_0 = EespDownSampler(ch[2], ch[3], 4, 9)
        b.level4 = nn.Sequential(*[Eesp(ch[3], ch[3], 1, 4, 7) for _ in range(7)])
        dec = [64, 48, 32, classes]
        proj = min(classes // 2, 16)
        self.bu_dec_l1 = EfficientPyrPool(ch[3], proj, dec[0], True)
        self.bu_dec_l2 = EfficientPyrPool(dec[0], proj, dec[1], True)
        self.bu_dec_l3 = EfficientPyrPool(dec[1], proj, dec[2], True)
        self.bu_dec_l4 = EfficientPyrPool(dec[2], proj, dec[3], False)
        self.merge_enc_dec_l2 = EfficientPwConv(ch[2], dec[0])
        self.merge_enc_dec_l3 = EfficientPwConv(ch[1], dec[1])
        self.merge_enc_dec_l4 = EfficientPwConv(ch[0], dec[2])
        self.bu_br_l2 = nn.Sequential(nn.BatchNorm2d(dec[0]), nn.PReLU(dec[0]))
        self.bu_br_l3 = nn.Sequential(nn.BatchNorm2d(dec[1]), nn.PReLU(dec[1]))
        self.bu_br_l4 = nn.Sequential(nn.BatchNorm2d(dec[2]), nn.PReLU(dec[2]))

    def forward(self, x):
        b = self.base_net
        images = [x]
        l1 = b.level1(x)
        l2 = b.level2_0.run(l1, images)
        l3 = b.level3(b.level3_0.run(l2, images))
        l4 = b.level4(b.level4_0.run(l3, images))
        up2 = lambda t: F.interpolate(t, scale_factor=2.0, mode="bilinear", align_corners=True)  # noqa: E731
        y = self.bu_dec_l1(l4)
        y = self.bu_dec_l2(self.bu_br_l2(self.merge_enc_dec_l2(l3) + up2(y)))
        y = self.bu_dec_l3(self.bu_br_l3(self.merge_enc_dec_l3(l2) + up2(y)))
        y = self.bu_dec_l4(self.bu_br_l4(self.merge_enc_dec_l4(l1) + up2(y)))
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=True)


def build(kind):
    return {"cgnet": lambda: CGNet(11, 3, 21), "espnet": lambda: ESPNet(12, 2, 8),
            "espnetv2": lambda: ESPNetv2(21, 0.5)}[kind]()


def load(kind, shared):
    """The model with the shared weights, loaded strictly, in eval mode."""
    net = build(kind)
    state = read_safetensors(os.path.join(shared, CHECKPOINTS[kind]))
    net.load_state_dict(state, strict=True)
    return net.eval()


def rel(a, b):
    return float((a - b).norm() / b.norm())


def check(shared, fixtures):
    """Each twin against a reference: CGNet and ESPNet against the original code's logits and input gradient in
    ../shared/reference (the 120x160 'small_' tensors), ESPNetv2 against the EdgeNets fixture."""
    torch.set_num_threads(2)
    for kind in ("cgnet", "espnet"):
        net = load(kind, shared)
        ref = read_safetensors(os.path.join(shared, "reference", f"{kind}-camvid_val_0016E5_07959.safetensors"))
        x = ref["small_input"].clone().requires_grad_(True)
        logits = net(x)
        label = ref["small_label"].long()
        loss = F.cross_entropy(logits, label, ignore_index=11)
        loss.backward()
        print(f"{kind}: logits rel {rel(logits.detach(), ref['small_logits']):.2e}, loss {loss.item():.6f} vs "
              f"{ref['small_loss'].item():.6f}, input grad rel {rel(x.grad, ref['small_input_grad']):.2e}")
    net = load("espnetv2", shared)
    ref = read_safetensors(os.path.join(fixtures, "espnetv2", "espnetv2_s0.5_voc_0.safetensors"))
    from PIL import Image
    image = np.asarray(Image.open(os.path.join(shared, "data", "voc-samples", "0_image.png")).convert("RGB"))
    for prefix, size, stride in (("small_", 128, 8), ("full_", 256, 16)):
        rows = (np.arange(size) * image.shape[0]) // size
        cols = (np.arange(size) * image.shape[1]) // size
        v = image[rows][:, cols].astype(np.float32) / np.float32(255)
        v = (v - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
        x = torch.from_numpy(v.transpose(2, 0, 1)[None].copy())
        with torch.no_grad():
            y = net(x)
        grid = y[:, :, ::stride, ::stride]
        print(f"espnetv2 {prefix}: logits grid rel {rel(grid, ref[prefix + 'logits_grid']):.2e}")
    t = torch.randn(2, 10, 24, 16)
    for oh, ow in ((16, 5), (5, 11)):
        print(f"adaptive pool {oh}x{ow}: rel {rel(AdaptiveAvgPool()(t, oh, ow), F.adaptive_avg_pool2d(t, (oh, ow))):.2e}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "SegLab.Tests", "Fixtures"))
    a = ap.parse_args()
    check(a.shared, a.fixtures)
    sys.exit(0)
