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

With --score (with --out: OUT/voc_samples_scores.json instead of the tensor fixtures) it scores the original model
on the 14 VOC samples instead, dataset mIoU over the classes present (ground truth or prediction), void ignored, four ways: "seglab" (image resized to the training
size by F.interpolate bilinear with antialias=True, logits back bilinear, align_corners False: what seglab eval
does), "bilinear" (the same without antialiasing), "edgenets" (test_segmentation.py: PIL bilinear resize of the image, argmax, PIL nearest resize of the label map back) and
"edgenets-val" (the validation loader behind the published figures: image PIL bilinear and label PIL nearest
resized to the training size, scored there).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_net_reference import save_safetensors  # noqa: E402 (the tools' one safetensors writer)

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


def voc_colours():
    colours = np.zeros((256, 3), dtype=np.int64)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colours[i] = (r, g, b)
    return colours


def label_ids(path):
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.int64)
    key = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    colours = voc_colours()
    ids = np.full(key.shape, -1, dtype=np.int64)
    for i in list(range(21)) + [255]:
        r, g, b = colours[i]
        ids[key == ((r << 16) | (g << 8) | b)] = i
    if (ids < 0).any():
        raise ValueError(f"{path}: colours outside the VOC palette")
    return ids


def score(model, samples, size):
    conf = {k: np.zeros((21, 21), np.int64) for k in ("seglab", "bilinear", "edgenets", "edgenets-val")}
    stems = sorted(f[:-len("_image.png")] for f in os.listdir(samples) if f.endswith("_image.png"))
    for stem in stems:
        pil = Image.open(os.path.join(samples, stem + "_image.png")).convert("RGB")
        label = label_ids(os.path.join(samples, stem + "_target.png"))
        h, w = label.shape
        full = torch.from_numpy(np.asarray(pil).astype(np.float32) / np.float32(255)).permute(2, 0, 1)[None]
        norm = lambda t: (t - torch.from_numpy(MEAN)[None, :, None, None]) / torch.from_numpy(STD)[None, :, None, None]
        with torch.no_grad():
            x = F.interpolate(full, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
            y = F.interpolate(model(norm(x)), size=(h, w), mode="bilinear", align_corners=False)
            preds = {"seglab": y[0].argmax(0).numpy()}
            x = F.interpolate(full, size=(size, size), mode="bilinear", align_corners=False)
            preds["bilinear"] = F.interpolate(model(norm(x)), size=(h, w), mode="bilinear", align_corners=False)[0].argmax(0).numpy()
            small = torch.from_numpy(np.asarray(pil.resize((size, size), Image.BILINEAR)).astype(np.float32) / np.float32(255))
            out = model(norm(small.permute(2, 0, 1)[None]))[0].argmax(0).numpy().astype(np.uint8)
            preds["edgenets"] = np.asarray(Image.fromarray(out).resize((w, h), Image.NEAREST)).astype(np.int64)
        labels = {"seglab": label, "bilinear": label, "edgenets": label,
                  "edgenets-val": np.asarray(Image.fromarray(label.astype(np.uint8)).resize((size, size), Image.NEAREST)).astype(np.int64)}
        preds["edgenets-val"] = out.astype(np.int64)
        for k, p in preds.items():
            valid = labels[k] != 255
            np.add.at(conf[k], (labels[k][valid], p[valid]), 1)
    result = {}
    for k, c in conf.items():
        tp = np.diag(c).astype(np.float64)
        union = c.sum(0) + c.sum(1) - tp
        result[k] = 100 * float(np.mean(tp[union > 0] / union[union > 0]))
    return len(stems), result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edgenets", required=True, help="a checkout of sacmehta/EdgeNets")
    ap.add_argument("--shared", required=True, help="the shared data folder (models/espnetv2-voc, data/voc-samples)")
    ap.add_argument("--out", help="fixture folder (required unless --score, where it is optional)")
    ap.add_argument("--score", action="store_true", help="score on the VOC samples instead of writing fixtures")
    ap.add_argument("--scales", default="0.5,2.0")
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.edgenets))
    from model.segmentation.espnetv2 import ESPNetv2Segmentation  # noqa: E402 (the original code)

    torch.set_num_threads(1)
    image_path = os.path.join(args.shared, "data", "voc-samples", f"{SAMPLE}_image.png")
    image = np.asarray(Image.open(image_path).convert("RGB"))
    if not args.score:
        if not args.out:
            ap.error("--out is required unless --score")
        os.makedirs(args.out, exist_ok=True)
    scores = {}
    for s in args.scales.split(","):
        stem, size = CHECKPOINTS[s]
        weights = os.path.join(args.shared, "models", "espnetv2-voc", stem + ".safetensors")
        model = ESPNetv2Segmentation(SimpleNamespace(s=float(s), num_classes=1000, channels=3), classes=21, dataset="pascal")
        state = read_safetensors(weights)
        model.load_state_dict(state, strict=True)
        model.eval()
        if args.score:
            n, result = score(model, os.path.join(args.shared, "data", "voc-samples"), size)
            print(f"s={s} at {size}x{size}, {n} images: dataset mIoU " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()))
            scores[s] = {"weights": stem + ".safetensors", "size": size, "images": n, "dataset_miou": result}
            continue
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
        save_safetensors(path, out, meta)
        print(f"s={s}: {path} ({os.path.getsize(path)} bytes); full argmax classes {np.unique(out['full_argmax']).tolist()}; "
              f"PyTorch float32 input gradient vs float64: {torch32_rel:.3e}")

    if args.score and args.out:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "voc_samples_scores.json")
        with open(path, "w") as f:
            json.dump({"torch": torch.__version__, "conventions": "see tools/espnetv2_reference.py --score", "scales": scores}, f, indent=1)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
