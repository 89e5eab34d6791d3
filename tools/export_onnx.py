#!/usr/bin/env python3
"""ONNX fixtures for SegLab's importer, exported by PyTorch from the committed tiny parity network.

TinyNet (tools/tiny_net_reference.py: conv + batch norm + PReLU, depthwise dilated conv, squeeze-excitation with
Linear, average-pool input injection, concat, transposed conv, bilinear upsampling to the input's size) with the
weights of tests/SegLab.Tests/Fixtures/tinynet/tiny_net.safetensors, exported in eval mode with free batch and
spatial sizes, so the graph holds PyTorch's shape subgraph (Shape -> Gather -> Unsqueeze -> Concat -> Resize).
Constant folding is off and the training mode preserved (eval, without the export's conv + batch-norm fusion), so batch
norms stay nodes and every initializer keeps its state-dict name. Writes
  tiny_net_opset11.onnx, tiny_net_opset17.onnx   into the output folder
which SegLab's tests compare with PyTorch's logits and gradients in tiny_net_io.safetensors.

Run: /usr/bin/python3 tools/export_onnx.py tests/SegLab.Tests/Fixtures/onnx
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


def main(out_dir):
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
