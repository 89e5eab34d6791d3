#!/usr/bin/env python3
"""Side-by-side speed of SegLab and PyTorch on the pretrained CamVid models, on this machine, in one run.

For each model and thread count: PyTorch's forward and forward + input-gradient medians (the original public
model code, imported from a local checkout given by path, never committed), then `seglab bench model --json`
with the same settings, interleaved so machine noise hits both, and the ratio SegLab / PyTorch.

  /usr/bin/python3 tools/bench_models_vs_torch.py --cgnet-src /path/to/CGNet/model --espnet-src /path/to/ESPNet/train \
      [--shared ../shared] [--threads 1,2] [--repeats 7]

Needs Debian's python3-torch (and libopenblas0-pthread). PyTorch is never a dependency of SegLab.
"""
import argparse
import json
import resource
import statistics
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MODELS = {
    "cgnet-camvid": ("models/cgnet-camvid/cgnet_m3n21_camvid.safetensors", "cgnet"),
    "espnet-camvid": ("models/espnet-camvid/espnet_p_2_q_8_camvid.safetensors", "espnet"),
}


def load_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        arr = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dtype).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def build(kind, cgnet_src, espnet_src):
    if kind == "cgnet":
        sys.path.insert(0, cgnet_src)
        from CGNet import Context_Guided_Network
        return Context_Guided_Network(classes=11, M=3, N=21)
    sys.path.insert(0, espnet_src)
    from Model import ESPNet
    return ESPNet(12, 2, 8)


def torch_times(net, h, w, repeats, warmup=2):
    x = torch.rand(1, 3, h, w)
    with torch.no_grad():
        target = net(x).argmax(1)
    def fwd():
        t = time.perf_counter()
        with torch.no_grad():
            net(x)
        return (time.perf_counter() - t) * 1000
    def grad():
        t = time.perf_counter()
        xi = x.clone().requires_grad_(True)
        loss = F.cross_entropy(net(xi), target)
        torch.autograd.grad(loss, [xi])
        return (time.perf_counter() - t) * 1000
    for _ in range(warmup):
        fwd(); grad()
    f = [fwd() for _ in range(repeats)]
    g = [grad() for _ in range(repeats)]
    return statistics.median(f), statistics.median(g), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cgnet-src", required=True)
    ap.add_argument("--espnet-src", required=True)
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--size", default="360x480")
    ap.add_argument("--seglab", default="./seglab")
    a = ap.parse_args()
    h, w = map(int, a.size.split("x"))
    rows = []
    for t in map(int, a.threads.split(",")):
        for name, (weights, kind) in MODELS.items():
            torch.set_num_threads(t)
            net = build(kind, a.cgnet_src, a.espnet_src)
            net.load_state_dict(load_safetensors(f"{a.shared}/{weights}"), strict=False)
            net.eval()
            tf, tg, trss = torch_times(net, h, w, a.repeats)
            out = subprocess.run([a.seglab, "bench", "model", "--model", name, "--size", a.size, "--threads", str(t),
                                  "--repeats", str(a.repeats), "--json"], capture_output=True, text=True, check=True).stdout
            s = json.loads(out)
            rows.append((name, t, tf, s["forwardMs"], tg, s["inputGradMs"], trss, s["peakMemoryMB"]))
    print(f"{'model':15} {'thr':>3} {'torch fwd':>10} {'seglab fwd':>10} {'ratio':>6} {'torch grad':>10} {'seglab grad':>11} {'ratio':>6} {'torch MB':>9} {'seglab MB':>9}")
    for n, t, tf, sf, tg, sg, tm, sm in rows:
        print(f"{n:15} {t:>3} {tf:>10.1f} {sf:>10.1f} {sf / tf:>6.2f} {tg:>10.1f} {sg:>11.1f} {sg / tg:>6.2f} {tm:>9.0f} {sm:>9.0f}")


if __name__ == "__main__":
    main()
