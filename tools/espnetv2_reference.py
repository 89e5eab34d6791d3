#!/usr/bin/env python3
"""ESPNetv2 (Mehta et al., CVPR 2019) parity fixtures from the ORIGINAL EdgeNets code.

Builds EdgeNets' ESPNetv2Segmentation from a checkout of sacmehta/EdgeNets (not part of SegLab: pass its path),
loads the shared safetensors weights strictly, runs one PASCAL VOC sample and writes a small safetensors fixture
per checkpoint for tests/SegLab.Tests/Models/ESPNetv2ParityTests.cs.

Inputs need no interpolation, so SegLab rebuilds them exactly: the uint8 image sampled at rows and columns
(i * 513) // S (nearest-neighbour index map, integer arithmetic) for S = 128 ("small_") and S = the training size
("full_"), then RGB / 255 and ImageNet mean/std. Tensors (F32 unless said):
  {p}logits_grid   [1, 21, G, G]  logits at rows and columns k * stride (small: stride 8, full: stride 16)
  {p}logits_stats  [21, 2] F64    per class: mean and root mean square of the logits over all pixels
  {p}argmax        [S, S] U8      argmax over classes (full only)
  small_grad_grid  [1, 3, 16, 16] d mean(logits[:, 0]) / d preprocessed input at rows and columns k * 8, from a
                                  float64 run of the same model (metadata: how far PyTorch's float32 gradient is)
  small_grad_stats [3] F64        per channel: L2 norm of that gradient over all pixels

Debian's python3-torch 1.13, CPU, float32, one thread:
  python3 tools/espnetv2_reference.py --edgenets /tmp/edgenets --shared /work/shared \
      --out tests/SegLab.Tests/Fixtures/espnetv2
"""
import argparse
import json
import os
import struct
import sys
from types import SimpleNamespace

import numpy as np
from PIL import Image
import torch
import torch.nn.functional as F

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CHECKPOINTS = {"0.5": ("espnetv2_s_0.5_pascal_256x256", 256), "2.0": ("espnetv2_s_2.0_pascal_384x384", 384)}
SAMPLE = "0"


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    kinds = {"F32": np.float32, "I64": np.int64, "F64": np.float64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        arr = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=kinds[meta["dtype"]]).reshape(meta["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors, metadata):
    names = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.uint8): "U8"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.tobytes()
        header[name] = {"dtype": names[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def model_input(image, size):
    h, w, _ = image.shape
    rows = (np.arange(size) * h) // size
    cols = (np.arange(size) * w) // size
    x = image[rows][:, cols].astype(np.float32) / np.float32(255)
    x = (x - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def stats(logits):
    v = logits[0].double().reshape(logits.shape[1], -1)
    return torch.stack([v.mean(1), v.pow(2).mean(1).sqrt()], 1).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edgenets", required=True, help="a checkout of sacmehta/EdgeNets")
    ap.add_argument("--shared", required=True, help="the shared data folder (models/espnetv2-voc, data/voc-samples)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--scales", default="0.5,2.0")
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.edgenets))
    from model.segmentation.espnetv2 import ESPNetv2Segmentation  # noqa: E402 (the original code)

    torch.set_num_threads(1)
    image_path = os.path.join(args.shared, "data", "voc-samples", f"{SAMPLE}_image.png")
    image = np.asarray(Image.open(image_path).convert("RGB"))
    os.makedirs(args.out, exist_ok=True)
    for s in args.scales.split(","):
        stem, size = CHECKPOINTS[s]
        weights = os.path.join(args.shared, "models", "espnetv2-voc", stem + ".safetensors")
        model = ESPNetv2Segmentation(SimpleNamespace(s=float(s), num_classes=1000, channels=3), classes=21, dataset="pascal")
        state = read_safetensors(weights)
        model.load_state_dict(state, strict=True)
        model.eval()
        out = {}
        x = model_input(image, 128).requires_grad_(True)
        logits = model(x)
        (grad32,) = torch.autograd.grad(logits[:, 0].mean(), [x])
        out["small_logits_grid"] = logits.detach()[:, :, ::8, ::8].numpy()
        out["small_logits_stats"] = stats(logits.detach())
        # The gradient from a float64 run: float32 rounding flips PReLU kinks, so float32 gradients (PyTorch's
        # own included) sit measurably away from it; the metadata records how far PyTorch's float32 one is.
        model.double()
        x64 = model_input(image, 128).double().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x64)[:, 0].mean(), [x64])
        model.float()
        grid, grid32 = grad[:, :, ::8, ::8], grad32[:, :, ::8, ::8].double()
        out["small_grad_grid"] = grid.float().numpy()
        out["small_grad_stats"] = grad[0].reshape(3, -1).norm(dim=1).numpy()
        torch32_rel = ((grid32 - grid).norm() / grid.norm()).item()
        with torch.no_grad():
            full = model(model_input(image, size))
        out["full_logits_grid"] = full[:, :, ::16, ::16].numpy()
        out["full_logits_stats"] = stats(full)
        out["full_argmax"] = full[0].argmax(0).numpy().astype(np.uint8)
        meta = {
            "model": f"EdgeNets ESPNetv2Segmentation(s={s}, classes=21, dataset='pascal'), eval mode",
            "weights": stem + ".safetensors",
            "sample": f"voc-samples/{SAMPLE}_image.png",
            "input": "uint8 image at rows/cols (i*H)//S, RGB/255, ImageNet mean/std; small S=128, full S=" + str(size),
            "torch": torch.__version__,
            "small_grad": f"float64 run; PyTorch float32 grid differs by {torch32_rel:.3e} (Frobenius, relative)",
        }
        path = os.path.join(args.out, f"espnetv2_s{s}_voc_{SAMPLE}.safetensors")
        write_safetensors(path, out, meta)
        print(f"s={s}: {path} ({os.path.getsize(path)} bytes); full argmax classes {np.unique(out['full_argmax']).tolist()}; "
              f"PyTorch float32 input gradient vs float64: {torch32_rel:.3e}")


if __name__ == "__main__":
    main()
