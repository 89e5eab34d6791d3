#!/usr/bin/env python3
"""Golden fixture for SegLab's model-parity machinery that needs no ../shared.

A few-layer PyTorch network using every building block of the pretrained CamVid models (conv + batch norm
+ PReLU, depthwise dilated conv, average-pool input injection, concat, squeeze-excitation with Linear,
transposed conv, bilinear upsampling), in eval mode with non-trivial running statistics. Writes, as
safetensors (written by hand: the safetensors package is not in Debian):
  tiny_net.safetensors      the state dict (PyTorch names, num_batches_tracked as I64)
  tiny_net_io.safetensors   input, logits, label, loss, input_grad and param_grad.<name>

Run: /usr/bin/python3 tools/tiny_net_reference.py tests/SegLab.Tests/Fixtures/tinynet
Needs Debian's python3-torch (apt-get install python3-torch). PyTorch is never a dependency of SegLab.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        # torch tensors or numpy arrays (tools/espnetv2_reference.py writes numpy F64 and U8 too)
        a = np.ascontiguousarray(t.detach().numpy() if torch.is_tensor(t) else t)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64", np.dtype(np.uint8): "U8"}[a.dtype]
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class CBR(nn.Module):
    def __init__(self, i, o, k, s=1, d=1, g=1):
        super().__init__()
        self.conv = nn.Conv2d(i, o, k, stride=s, padding=(k - 1) // 2 * d, dilation=d, groups=g, bias=False)
        self.bn = nn.BatchNorm2d(o, eps=1e-3)
        self.act = nn.PReLU(o)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class TinyNet(nn.Module):
    """stem (stride 2) -> [depthwise dilated, 1x1] -> SE -> cat with pooled input -> head -> up x2 -> bilinear."""

    def __init__(self, classes=4):
        super().__init__()
        self.stem = CBR(3, 8, 3, s=2)
        self.dw = CBR(8, 8, 3, d=2, g=8)
        self.pw = CBR(8, 8, 1)
        self.se = nn.Sequential(nn.Linear(8, 2), nn.ReLU(), nn.Linear(2, 8), nn.Sigmoid())
        self.head = nn.Conv2d(8 + 3, classes, 1, bias=True)
        self.up = nn.ConvTranspose2d(classes, classes, 2, stride=2, bias=False)

    def forward(self, x):
        y = self.stem(x)
        y = y + self.pw(self.dw(y))
        s = self.se(F.adaptive_avg_pool2d(y, 1).flatten(1))
        y = y * s[:, :, None, None]
        p = F.avg_pool2d(x, 3, stride=2, padding=1)
        y = self.head(torch.cat([y, p], 1))
        y = self.up(y)
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)


def main(out_dir):
    torch.manual_seed(0)
    net = TinyNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(7)
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(0.05, 0.4)
    net.eval()
    x = torch.rand(2, 3, 18, 22, requires_grad=True)
    label = torch.randint(0, 4, (2, 18, 22))
    label[0, :3, :] = 255
    logits = net(x)
    loss = F.cross_entropy(logits, label, ignore_index=255)
    params = dict(net.named_parameters())
    grads = torch.autograd.grad(loss, [x] + list(params.values()))
    save_safetensors(f"{out_dir}/tiny_net.safetensors", dict(net.state_dict()), {"note": "SegLab tiny parity net (tools/tiny_net_reference.py)"})
    io = {"input": x, "logits": logits, "label": label.float(), "loss": loss.reshape(()), "input_grad": grads[0]}
    for (name, _), g in zip(params.items(), grads[1:]):
        io[f"param_grad.{name}"] = g
    save_safetensors(f"{out_dir}/tiny_net_io.safetensors", io, {"torch_version": torch.__version__, "ignore_index": "255"})
    print("loss", float(loss), "params", sum(p.numel() for p in net.parameters()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
