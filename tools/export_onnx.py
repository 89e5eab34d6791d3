#!/usr/bin/env python3
"""ONNX fixtures for SegLab's importer, exported by PyTorch: the committed tiny parity network and the pretrained
CGNet, ESPNet and ESPNetv2 (s=0.5).

TinyNet (tools/tiny_net_reference.py: conv + batch norm + PReLU, depthwise dilated conv, squeeze-excitation with
Linear, average-pool input injection, concat, transposed conv, bilinear upsampling to the input's size) with the
weights of tests/SegLab.Tests/Fixtures/tinynet/tiny_net.safetensors, exported in eval mode with free batch and
spatial sizes, so the graph holds PyTorch's shape subgraph (Shape -> Gather -> Unsqueeze -> Concat -> Resize).
Constant folding is off and the training mode preserved (eval, without the export's conv + batch-norm fusion), so batch
norms stay nodes and every initializer keeps its state-dict name. Writes
  tiny_net_opset11.onnx, tiny_net_opset17.onnx   into the output folder
which SegLab's tests compare with PyTorch's logits and gradients in tiny_net_io.safetensors.

With --shared (the folder ../shared), also the pretrained models, rebuilt by tools/lightweight_nets.py (PyTorch twins
of SegLab's ports, checked there against the original code's reference tensors) with the shared weights, exported
the same way at opset 17 with a model card FILE.onnx.json beside each (preprocessing stays out of the graph):
  cgnet_camvid.onnx        CGNet M=3 N=21, 11 logits; free batch and spatial sizes
  espnet_camvid.onnx       ESPNet p=2 q=8, 12 logits (the twelfth is void); free batch, spatial sizes multiples of 8
  espnetv2_s0.5_voc.onnx   ESPNetv2 s=0.5, 21 logits; free batch, spatial size fixed at 256x256 (its pyramid pooling's
                           adaptive pools become constant matrices, see lightweight_nets.AdaptiveAvgPool)

Run: /usr/bin/python3 tools/export_onnx.py tests/SegLab.Tests/Fixtures/onnx [--shared ../shared]
Needs Debian's python3-torch. PyTorch is never a dependency of SegLab.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_net_reference import TinyNet  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.join(HERE, "..", "tests", "SegLab.Tests", "Fixtures", "tinynet", "tiny_net.safetensors")


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob[a:b], dtype=dtype).reshape(info["shape"]).copy())
    return out


def export(net, x, path, dynamic, opset=17):
    axes = {0: "n", 2: "h", 3: "w"} if dynamic else {0: "n"}
    torch.onnx.export(net, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": axes, "logits": axes},
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    print(path, os.path.getsize(path), "bytes")


# Model cards (docs/onnx.md): model input = (scale * x - mean) / std for RGB x in [0, 1], in the model's channel order.
# ESPNet's ((255 x - m) / s) / 255 is (x - m / 255) / s. Values as float32 numbers, as SegLab's model table has them.
CARDS = {
    "cgnet_camvid": {"classes": "camvid", "input": {"channels": "rgb", "scale": 255,
                     "mean": [105.65775299072266, 103.329833984375, 99.62540435791016], "std": [1, 1, 1]}, "outputs": 11},
    "espnet_camvid": {"classes": "camvid", "input": {"channels": "bgr", "scale": 1,
                      "mean": [110.33134460449219 / 255, 108.40914916992188 / 255, 105.03352355957031 / 255],
                      "std": [72.12519836425781, 72.68854522705078, 69.9026107788086]}, "outputs": 11},
    "espnetv2_s0.5_voc": {"classes": "voc", "input": {"channels": "rgb", "scale": 1,
                          "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, "outputs": 21},
}


def export_pretrained(out_dir, shared):
    import lightweight_nets
    torch.manual_seed(0)
    for name, kind, shape, dynamic in (("cgnet_camvid", "cgnet", (1, 3, 96, 128), True),
                                       ("espnet_camvid", "espnet", (1, 3, 96, 128), True),
                                       ("espnetv2_s0.5_voc", "espnetv2", (1, 3, 256, 256), False)):
        net = lightweight_nets.load(kind, shared)
        path = os.path.join(out_dir, name + ".onnx")
        export(net, torch.rand(*shape), path, dynamic)
        with open(path + ".json", "w") as f:
            json.dump(CARDS[name], f, indent=2)
            f.write("\n")


def main(out_dir, shared=None):
    os.makedirs(out_dir, exist_ok=True)
    net = TinyNet()
    net.load_state_dict(load_safetensors(WEIGHTS))
    net.eval()
    x = torch.rand(2, 3, 18, 22)
    for opset in (11, 17):
        path = os.path.join(out_dir, f"tiny_net_opset{opset}.onnx")
        torch.onnx.export(net, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}},
                          do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
        print(path, os.path.getsize(path), "bytes")
    if shared:
        export_pretrained(out_dir, shared)


if __name__ == "__main__":
    args = sys.argv[1:]
    shared = None
    if "--shared" in args:
        i = args.index("--shared")
        shared = args[i + 1]
        del args[i:i + 2]
    main(args[0] if args else ".", shared)
