#!/usr/bin/env python3
"""The peers' models for bench/Peers (issue 22): TorchScript traced from the PyTorch definitions in tools/, and ONNX
exported from the same modules, with the weights SegLab runs.

  cgnet, espnet, espnetv2-s0.5   tools/lightweight_nets.py with the shared pretrained weights (../shared/models)
  unet, deeplabv3                tools/bench_train_vs_torch.py's UNet (16-32-64-128) and DeepLabV3 (width 16, ASPP 64)
                                 with SegLab's own fresh weights (seed 1), written by `Peers weights DIR`
  deeplabv3-resnet18             tools/deeplabv3_resnet18.py (output stride 16, ASPP 64; SegLab's state-dict names)
                                 with the weights SegLab builds it with (ImageNet encoder from the ML.NET ResNet18
                                 package, fresh ASPP and head of seed 1), written by `Peers weights DIR`

Writes into OUT:
  MODEL_eval.pt    traced in eval mode at the row's input size (forward and input-gradient rows)
  MODEL_train.pt   traced in training mode (batch norms on batch statistics) for the training-step rows
  MODEL.onnx       opset 17 as tools/export_onnx.py exports (batch norms kept as nodes: ONNX Runtime fuses them
                   itself with its default graph optimisations)

Tracing fixes Python control flow, not sizes taken from tensors; each file is traced at the size its row runs.
The harness checks every peer's logits against SegLab's (1e-4 of the largest magnitude) before timing anything.

Run: /usr/bin/python3 tools/export_peers.py OUT --shared ../shared --seglab-weights DIR
Needs Debian's python3-torch (1.13); libtorch 2.10 loads these TorchScript files. PyTorch is never a dependency of SegLab.
"""
import argparse
import os
import re
import sys
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_train_vs_torch  # noqa: E402
import deeplabv3_resnet18  # noqa: E402
import export_onnx  # noqa: E402
import lightweight_nets  # noqa: E402


def trace(net, shape, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about sizes converted to Python numbers
        traced = torch.jit.trace(net, torch.rand(*shape), check_trace=False)
    traced.save(path)
    print(path, os.path.getsize(path), "bytes")


# SegLab's names (src/SegLab/Models/UNet.cs, DeepLabV3.cs) -> the PyTorch twins' names (tools/bench_train_vs_torch.py).
RENAMES = {
    "unet": [(r"^encoder\.stage(\d+)\.body\.", r"enc.\1."), (r"^decoder\.block(\d+)\.body\.", r"dec.\1.")],
    "deeplabv3": [(r"^encoder\.stem\.", "stem."),
                  (r"^encoder\.layer(\d+)\.", lambda m: f"layers.{int(m.group(1)) - 1}."),
                  (r"\.conv(\d)\.", r".c\1."), (r"\.bn(\d)\.", r".b\1."), (r"\.downsample\.", ".down."),
                  (r"^aspp\.b(\d)\.", r"branches.\1."), (r"^aspp\.", ""),
                  (r"^head\.([01])\.", r"head.0.\1."), (r"^head\.3\.", "head.1.")],
}


def load_renamed(net, kind, path):
    """SegLab's state into the PyTorch twin under the twin's names, strictly (but for num_batches_tracked, which
    does not change the computation)."""
    state = {}
    for k, v in lightweight_nets.read_safetensors(path).items():
        if k.endswith("num_batches_tracked"):
            continue
        for pattern, repl in RENAMES[kind]:
            k = re.sub(pattern, repl, k)
        state[k] = v
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{path}: names do not match the PyTorch {kind}: missing {missing}, unexpected {unexpected}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared"))
    ap.add_argument("--seglab-weights", required=True, help="folder with unet, deeplabv3 and deeplabv3-resnet18 .safetensors from `Peers weights`")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    for name, kind, h, w, dynamic, train_batch in (("cgnet", "cgnet", 360, 480, True, 2),
                                                   ("espnet", "espnet", 360, 480, True, None),
                                                   ("espnetv2-s0.5", "espnetv2", 256, 256, False, None)):
        net = lightweight_nets.load(kind, a.shared)
        trace(net, (1, 3, h, w), os.path.join(a.out, f"{name}_eval.pt"))
        export_onnx.export(net, torch.rand(1, 3, h, w), os.path.join(a.out, f"{name}.onnx"), dynamic)
        if train_batch:
            net = lightweight_nets.load(kind, a.shared).train()
            trace(net, (train_batch, 3, h, w), os.path.join(a.out, f"{name}_train.pt"))
    for name, net in (("unet", bench_train_vs_torch.UNet(11, [16, 32, 64, 128])), ("deeplabv3", bench_train_vs_torch.DeepLabV3(11))):
        load_renamed(net, name, os.path.join(a.seglab_weights, f"{name}.safetensors"))
        trace(net.train(), (8, 3, 128, 128), os.path.join(a.out, f"{name}_train.pt"))
    # deeplabv3-resnet18: forward and input gradient at 256x256, training step at batch 8 of 128x128 (Workloads.cs).
    weights = os.path.join(a.seglab_weights, "deeplabv3-resnet18.safetensors")
    net = deeplabv3_resnet18.load(weights).eval()
    trace(net, (1, 3, 256, 256), os.path.join(a.out, "deeplabv3-resnet18_eval.pt"))
    export_onnx.export(net, torch.rand(1, 3, 256, 256), os.path.join(a.out, "deeplabv3-resnet18.onnx"), False)
    trace(deeplabv3_resnet18.load(weights).train(), (8, 3, 128, 128), os.path.join(a.out, "deeplabv3-resnet18_train.pt"))


if __name__ == "__main__":
    main()
