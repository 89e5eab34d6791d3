#!/usr/bin/env python3
"""Reference attribution maps for SegLab: Grad-CAM, Grad-CAM++ and Integrated Gradients on CGNet, by their
definitions, in PyTorch autograd.

CGNet is tools/lightweight_nets.py's PyTorch definition (Context_Guided_Network M=3, N=21, the module names of the
state dict); before anything else the script checks that it reproduces the stored PyTorch logits of
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

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models_vs_torch import load_safetensors  # noqa: E402
from tiny_net_reference import save_safetensors  # noqa: E402
from lightweight_nets import CGNet  # noqa: E402  (the one PyTorch CGNet of tools/)

MEAN = [105.65775299072266, 103.329833984375, 99.62540435791016]
CAR = 8


def main(shared, out_dir):
    torch.set_num_threads(2)
    net = CGNet()
    state = load_safetensors(os.path.join(shared, "models/cgnet-camvid/cgnet_m3n21_camvid.safetensors"))
    net.load_state_dict(state, strict=True)
    net.eval()
    # the CAM layer's output, kept on the graph for torch.autograd.grad
    net.bn_prelu_3.register_forward_hook(lambda module, inputs, output: setattr(net, "features", output))
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
