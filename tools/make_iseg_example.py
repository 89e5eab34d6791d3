#!/usr/bin/env python3
"""Writes samples/iseg/example.safetensors: a small synthetic input of `seglab iseg --source file` in the layout of
docs/iseg.md (issue 20), so that the command can be tried and tested without any model.

The scene is a 40x40 image with three classes (background, disk, square) seen by a 10x10 grid of 4x4-pixel tokens.
self_attention [2, 100, 100]: two heads, each row a softmax over keys of -|f_q - f_k|^2 / t, with f a token's mean
colour (head 0, t = 0.02) or its colour and position (head 1, t = 0.05). cross_attention [100, 3]: coarse, noisy class
maps (each class's token mask blurred, plus noise, softmax over the three classes), so that refinement has work to
do. grid int64 [2] = (10, 10). image float32 [3, 40, 40] in [0, 1]; labels int64 [40, 40]. Metadata: classes and
background (class 0). numpy only, seed 20.

Usage: /usr/bin/python3 tools/make_iseg_example.py [OUT]
"""
import json
import os
import struct
import sys

import numpy as np


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "samples", "iseg", "example.safetensors")
    rng = np.random.default_rng(20)
    size, g, p = 40, 10, 4
    yy, xx = np.mgrid[0:size, 0:size]
    labels = np.zeros((size, size), np.int64)
    labels[(yy - 13) ** 2 + (xx - 14) ** 2 <= 9 ** 2] = 1
    labels[(yy >= 22) & (yy < 36) & (xx >= 20) & (xx < 36)] = 2
    colours = np.array([[0.35, 0.55, 0.30], [0.85, 0.25, 0.20], [0.20, 0.30, 0.80]], np.float32)
    image = colours[labels].transpose(2, 0, 1) + rng.normal(0, 0.05, (3, size, size))
    image = np.clip(image, 0, 1).astype(np.float32)
    # token features: mean colour and centre of each 4x4 patch, row-major
    patches = image.reshape(3, g, p, g, p).mean(axis=(2, 4)).reshape(3, g * g).T
    centres = np.stack(np.mgrid[0:g, 0:g], -1).reshape(g * g, 2) / g
    def attention(f, t):
        d = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
        return softmax(-d / t, axis=1)
    s = np.stack([attention(patches, 0.02), attention(np.concatenate([patches, centres], 1), 0.05)]).astype(np.float32)
    # coarse, noisy A0: each class's token share blurred by a 3x3 box (twice), noise, softmax over classes
    share = np.stack([(labels == c).reshape(g, p, g, p).mean(axis=(1, 3)) for c in range(3)])
    blurred = share
    for _ in range(2):
        padded = np.pad(blurred, ((0, 0), (1, 1), (1, 1)), mode="edge")
        blurred = sum(padded[:, dy:dy + g, dx:dx + g] for dy in range(3) for dx in range(3)) / 9
    logits = 4 * blurred + rng.normal(0, 0.6, blurred.shape)
    a0 = softmax(logits, axis=0).reshape(3, g * g).T.astype(np.float32)
    save_safetensors(out, {
        "self_attention": s, "cross_attention": a0, "grid": np.array([g, g], np.int64), "image": image, "labels": labels,
    }, {"classes": "background,disk,square", "background": "0", "made_by": "tools/make_iseg_example.py (seed 20)"})
    print(f"wrote {out}: self_attention {list(s.shape)}, cross_attention {list(a0.shape)}, grid ({g}, {g}), image {list(image.shape)}")


if __name__ == "__main__":
    main()
