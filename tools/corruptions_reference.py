#!/usr/bin/env python3
"""Writes the reference fixture for SegLab's deterministic ImageNet-C corruptions (Hendrycks & Dietterich 2019).

Output: tests/SegLab.Tests/Fixtures/corruptions/corruptions_reference.json (small, committed).
Each case is a corruption and severity applied to one small synthetic float32 RGB image, re-computed here from the
published definitions with numpy (and PIL's BOX resize on float 'F' images for pixelate), independently of the C#:
  contrast      (x - per-channel mean) * c + mean
  brightness    V += c in skimage's HSV (rgb2hsv / hsv2rgb written out from their definitions)
  saturate      S = S * c0 + c1 in the same HSV
  pixelate      PIL BOX resize to int(size * c) and back
  defocus_blur  the ImageNet-C disk (OpenCV GaussianBlur of the aliased disk) correlated with BORDER_REFLECT_101
  gaussian_blur scipy.ndimage's Gaussian (radius int(4 * sigma + 0.5)), mode 'nearest'
  zoom_blur     mean of clipped centre zooms (scipy zoom order 1, corners aligned)
All outputs clipped to [0, 1]. The image: value k / 63 with k = (7y + 13x + 29c) mod 64, and every fifth column grey
(all channels equal to the red one), so that HSV ties and grey pixels are covered; the C# test rebuilds it.

Run: /usr/bin/python3 tools/corruptions_reference.py  (needs numpy and PIL; Debian's python3-numpy, python3-pil)
"""
import json
import math
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "SegLab.Tests", "Fixtures", "corruptions", "corruptions_reference.json")
H, W = 12, 16


def test_image():
    img = np.zeros((3, H, W), dtype=np.float32)
    for c in range(3):
        for y in range(H):
            for x in range(W):
                img[c, y, x] = np.float32((7 * y + 13 * x + 29 * c) % 64) / np.float32(63)
    img[:, :, ::5] = img[0:1, :, ::5]
    return img


def rgb2hsv(rgb):  # rgb: H x W x 3 float64
    v = rgb.max(-1)
    delta = rgb.max(-1) - rgb.min(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(delta == 0, 0.0, delta / np.where(v == 0, 1, v))
        d = np.where(delta == 0, 1, delta)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        h = (g - b) / d
        h = np.where(g == v, 2.0 + (b - r) / d, h)
        h = np.where(b == v, 4.0 + (r - g) / d, h)
    h = (h / 6.0) % 1.0
    h = np.where(delta == 0, 0.0, h)
    return np.stack([h, s, v], -1)


def hsv2rgb(hsv):
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    hi = np.floor(h * 6)
    f = h * 6 - hi
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    hi = hi.astype(int) % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros(hsv.shape)
    for k, (a, b, c) in enumerate(choices):
        m = hi == k
        out[..., 0][m], out[..., 1][m], out[..., 2][m] = a[m], b[m], c[m]
    return out


def hwc(img):
    return img.transpose(1, 2, 0).astype(np.float64)


def chw(x):
    return np.clip(x, 0, 1).transpose(2, 0, 1)


def contrast(img, sev):
    c = [0.4, .3, .2, .1, .05][sev - 1]
    x = hwc(img)
    means = x.mean(axis=(0, 1), keepdims=True)
    return chw((x - means) * c + means)


def brightness(img, sev):
    c = [.1, .2, .3, .4, .5][sev - 1]
    x = rgb2hsv(hwc(img))
    x[..., 2] = np.clip(x[..., 2] + c, 0, 1)
    return chw(hsv2rgb(x))


def saturate(img, sev):
    c = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)][sev - 1]
    x = rgb2hsv(hwc(img))
    x[..., 1] = np.clip(x[..., 1] * c[0] + c[1], 0, 1)
    return chw(hsv2rgb(x))


def pixelate(img, sev):
    c = [0.6, 0.5, 0.4, 0.3, 0.25][sev - 1]
    out = []
    for ch in img:
        p = Image.fromarray(ch.astype(np.float32), mode="F")
        p = p.resize((int(W * c), int(H * c)), Image.BOX).resize((W, H), Image.BOX)
        out.append(np.asarray(p, dtype=np.float64))
    return np.clip(np.stack(out), 0, 1)


def reflect101(n, i):
    period = 2 * n - 2
    k = i % period
    return k if k < n else period - k


def correlate_reflect101(plane, kernel):
    r = kernel.shape[0] // 2
    ys = [reflect101(plane.shape[0], i) for i in range(-r, plane.shape[0] + r)]
    xs = [reflect101(plane.shape[1], i) for i in range(-r, plane.shape[1] + r)]
    padded = plane[np.ix_(ys, xs)]
    out = np.zeros(plane.shape)
    for dy in range(kernel.shape[0]):
        for dx in range(kernel.shape[1]):
            out += kernel[dy, dx] * padded[dy:dy + plane.shape[0], dx:dx + plane.shape[1]]
    return out


def disk(radius, alias_blur):
    half, ksize = (8, 3) if radius <= 8 else (radius, 5)
    L = np.arange(-half, half + 1)
    X, Y = np.meshgrid(L, L)
    d = ((X ** 2 + Y ** 2) <= radius ** 2).astype(np.float64)
    d /= d.sum()
    t = np.arange(ksize) - (ksize - 1) / 2
    g = np.exp(-t ** 2 / (2 * alias_blur ** 2))
    g /= g.sum()
    return correlate_reflect101(d, np.outer(g, g))


def defocus_blur(img, sev):
    c = [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)][sev - 1]
    k = disk(*c)
    return np.clip(np.stack([correlate_reflect101(ch.astype(np.float64), k) for ch in img]), 0, 1)


def gaussian_blur(img, sev):
    sigma = [1, 2, 3, 4, 6][sev - 1]
    r = int(4.0 * sigma + 0.5)
    t = np.arange(-r, r + 1)
    k = np.exp(-0.5 * t ** 2 / sigma ** 2)
    k /= k.sum()
    out = []
    for ch in img.astype(np.float64):
        ys = np.clip(np.arange(-r, H + r), 0, H - 1)
        xs = np.clip(np.arange(-r, W + r), 0, W - 1)
        p = ch[np.ix_(ys, xs)]
        tmp = sum(k[i] * p[:, i:i + W] for i in range(2 * r + 1))
        out.append(sum(k[i] * tmp[i:i + H, :] for i in range(2 * r + 1)))
    return np.clip(np.stack(out), 0, 1)


def zoom_axis(n, z):
    crop = int(math.ceil(n / z))
    top = (n - crop) // 2
    zoomed = int(round(crop * z))
    trim = (zoomed - n) // 2
    s = (np.arange(n) + trim) * (crop - 1) / (zoomed - 1)
    return top + s


def zoom_blur(img, sev):
    factors = [np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01), np.arange(1, 1.21, 0.02),
               np.arange(1, 1.26, 0.02), np.arange(1, 1.31, 0.03)][sev - 1]
    x = img.astype(np.float64)
    out = x.copy()
    for z in factors:
        sy, sx = zoom_axis(H, z), zoom_axis(W, z)
        y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
        y1, x1 = np.minimum(y0 + 1, H - 1), np.minimum(x0 + 1, W - 1)
        fy, fx = (sy - y0)[:, None], (sx - x0)[None, :]
        for c in range(3):
            p = x[c]
            top = p[np.ix_(y0, x0)] * (1 - fx) + p[np.ix_(y0, x1)] * fx
            bottom = p[np.ix_(y1, x0)] * (1 - fx) + p[np.ix_(y1, x1)] * fx
            out[c] += top * (1 - fy) + bottom * fy
    return np.clip(out / (len(factors) + 1), 0, 1)


CASES = [("contrast", s) for s in (1, 5)] + [("brightness", s) for s in (1, 5)] + \
        [("saturate", s) for s in (1, 4, 5)] + [("pixelate", s) for s in (1, 3, 5)] + \
        [("defocus_blur", s) for s in (1, 5)] + [("gaussian_blur", s) for s in (1, 2)] + \
        [("zoom_blur", s) for s in (1, 5)]


def main():
    img = test_image()
    fns = {f.__name__: f for f in (contrast, brightness, saturate, pixelate, defocus_blur, gaussian_blur, zoom_blur)}
    cases = []
    for name, sev in CASES:
        out = fns[name](img, sev).astype(np.float32)
        cases.append({"name": name, "severity": sev, "output": [float("%.7g" % v) for v in out.ravel()]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"height": H, "width": W, "cases": cases}, f, separators=(",", ":"))
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
