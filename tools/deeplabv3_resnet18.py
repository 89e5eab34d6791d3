#!/usr/bin/env python3
"""A PyTorch twin of SegLab's deeplabv3-resnet18 (src/SegLab/Models/DeepLabV3.cs, DeepLabV3.ResNet18, on the ResNet
of ResNet.cs with the CNTK ImageNet ResNet18's 2-2-2-3 blocks of ResNetImageNet.cs), under SegLab's own state-dict
names, so that SegLab's safetensors load into it strictly without renaming:

  encoder.conv1, encoder.bn1                      7x7/2 conv (pad 3, no bias), batch norm, ReLU, then 3x3/2 max pool (pad 1)
  encoder.layerS.B.{conv1,bn1,conv2,bn2}          basic blocks: 3x3 conv (stride s, dilation d, pad d), BN, ReLU,
  encoder.layerS.0.downsample.{0,1}               3x3 conv (dilation d), BN, + shortcut (1x1/s conv + BN where the
                                                  stride or width changes), ReLU; 64-128-256-512 channels
  aspp.b0.{0,1}, aspp.b1..b3.{0,1}                ASPP: 1x1 branch, three 3x3 branches dilated 6, 12, 18 (output
  aspp.pool.{0,1}, aspp.project.{0,1}             stride 16; 12, 24, 36 at 8), each conv (no bias) + BN + ReLU; image
                                                  pooling (global mean, 1x1 conv + BN + ReLU, bilinear back); concat,
                                                  1x1 projection + BN + ReLU (no dropout: SegLab has none)
  head.0, head.1, head.3                          3x3 conv (no bias) + BN + ReLU, 1x1 classifier conv with bias
  then bilinear upsampling (align_corners=False) to the input size.

Output stride as torchvision's replace_stride_with_dilation: 16 turns layer4's stride into dilation 2, 8 also
layer3's (dilation 2, layer4 4); the first block of a dilated stage keeps the previous stage's dilation. Batch norms:
eps 1e-5, momentum 0.1 (SegLab's BatchNorm2d defaults).

  python3 tools/deeplabv3_resnet18.py WEIGHTS.safetensors   loads strictly and prints the logits' shape and range

Needs Debian's python3-torch. PyTorch is never a dependency of SegLab.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = (2, 2, 2, 3)  # ResNetImageNet.Blocks: CNTK's ImageNet ResNet18 has three blocks in layer4


class BasicBlock(nn.Module):
    def __init__(self, i, o, stride, dilation):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
        self.downsample = (nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
                           if stride != 1 or i != o else None)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, blocks=BLOCKS, output_stride=16, w=64):
        super().__init__()
        assert output_stride in (8, 16, 32)
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        dilate = [False, False, output_stride == 8, output_stride <= 16]
        c, dilation = w, 1
        for s in range(4):
            o = w << s
            stride, previous = (1 if s == 0 else 2), dilation
            if dilate[s]:
                dilation *= stride
                stride = 1
            stage = [BasicBlock(c, o, stride, previous)] + [BasicBlock(o, o, 1, dilation) for _ in range(blocks[s] - 1)]
            setattr(self, f"layer{s + 1}", nn.Sequential(*stage))
            c = o
        self.channels = c

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def cbr(i, o, k, d=1):
    return nn.Sequential(nn.Conv2d(i, o, k, 1, 0 if k == 1 else d, d, bias=False), nn.BatchNorm2d(o), nn.ReLU())


class Aspp(nn.Module):
    def __init__(self, i, c, rates):
        super().__init__()
        self.b0 = cbr(i, c, 1)
        for n, r in enumerate(rates, 1):
            setattr(self, f"b{n}", cbr(i, c, 3, r))
        self.rates = len(rates)
        self.pool = cbr(i, c, 1)
        self.project = cbr(c * (len(rates) + 2), c, 1)

    def forward(self, x):
        outs = [getattr(self, f"b{n}")(x) for n in range(self.rates + 1)]
        pooled = self.pool(F.adaptive_avg_pool2d(x, 1))
        outs.append(F.interpolate(pooled, size=x.shape[2:], mode="bilinear", align_corners=False))
        return self.project(torch.cat(outs, 1))


class DeepLabV3ResNet18(nn.Module):
    def __init__(self, classes=11, output_stride=16, aspp=64):
        super().__init__()
        self.encoder = ResNet(BLOCKS, output_stride)
        self.aspp = Aspp(self.encoder.channels, aspp, (6, 12, 18) if output_stride == 16 else (12, 24, 36))
        self.head = nn.Sequential(nn.Conv2d(aspp, aspp, 3, 1, 1, bias=False), nn.BatchNorm2d(aspp), nn.ReLU(),
                                  nn.Conv2d(aspp, classes, 1))

    def forward(self, x):
        y = self.head(self.aspp(self.encoder(x)))
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)


def load(path, classes=11, output_stride=16, aspp=64):
    """The twin with SegLab's weights from a safetensors file, strictly by name (num_batches_tracked aside, which
    does not change the computation)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import lightweight_nets  # noqa: E402
    net = DeepLabV3ResNet18(classes, output_stride, aspp)
    state = {k: v for k, v in lightweight_nets.read_safetensors(path).items() if not k.endswith("num_batches_tracked")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{path}: names do not match the PyTorch deeplabv3-resnet18: missing {missing}, unexpected {unexpected}")
    return net


if __name__ == "__main__":
    net = load(sys.argv[1]).eval()
    with torch.no_grad():
        y = net(torch.rand(1, 3, 256, 256))
    print(tuple(y.shape), float(y.min()), float(y.max()))
