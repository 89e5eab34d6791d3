#!/usr/bin/env python3
"""Reference maps of iSeg's refinement from the official code's own lines (issue 20, PAPERS.md D.3-D.4).

Official code: github.com/linsun449/iseg.code, wsss/iSeg.py, iSeg.get_att_map (the Ent-Self branch), and
base/iSeg.py get_att_map (the base method, --no_use_self_ers), with the attention layout of
base/stable_difusion.py get_attention_map. The lines below are re-typed from there; the only changes are the grid
(the code's literal 64x64 is (H, W) here, a non-square 12x10 so that a transposed grid would show) and that
process_cross_att's output (A0 [1, N, C] after the heads, layers and class tokens are combined) is given directly.

Seeded random inputs in the file layout of `seglab iseg --source file` (docs/iseg.md):
  self_attention [3, N, N]: per head, a softmax over keys of random scores (rows are queries), as the code's
                            reshape(bs, head, hw, hw, text_len).softmax(-1); heads 1 and 2 are the ones the code uses
  cross_attention [N, C]:   random non-negative maps (a softmax over classes of random scores)
  grid int64 [2] = (H, W)
Outputs, float32 [C, H, W] (the maps after the last iteration, before the upsampling of the output step):
  official_k1, official_k3, official_k10 (lambda 0.015, log10, column max: the code's defaults), official_base.
The base: base/iSeg.py reshapes the 64^2 self-attention of all heads to [-1, N, N] and bmm's it with A0 [1, N, C],
which only runs with one head; here it gets the mean of heads 1 and 2 (one head), as SegLab's base takes --heads.

Writes tests/SegLab.Tests/Fixtures/iseg/iseg_reference.safetensors. Run with Debian's /usr/bin/python3 (torch 1.13).
"""
import os
import sys
from types import SimpleNamespace

import torch

sys.path.insert(0, os.path.dirname(__file__))
from tiny_net_reference import save_safetensors  # noqa: E402

H, W, HEADS, C = 12, 10, 3, 4
N = H * W


def official_self_attention_maps(raw):
    """base/stable_difusion.py get_attention_map for one attn1 layer: raw [bs, head, N, N] pre-softmax scores."""
    bs, head, img_embed_len, text_embed_len = raw.shape
    reshaped_attn = raw.reshape(bs, head, H, W, text_embed_len).softmax(-1)
    attn = torch.cat([reshaped_attn], dim=1)
    attn = attn.permute(0, 1, 4, 2, 3)
    return {64: attn}  # [bs, head, keys, H, W]


def official_ent_self(config, cross_att, self_attention_maps):
    """wsss/iSeg.py get_att_map, the `no_use_self_ers` (= use Ent-Self) branch, up to the maps before upsampling."""
    cross_attn = cross_att - cross_att.amin(dim=-2, keepdim=True)  # cross_att: 4096, 20
    cross_attn = cross_attn / cross_attn.sum(dim=-2, keepdim=True)

    trans_mat = self_attention_maps[64][:, [1, 2]].mean(1).flatten(-2, -1).permute(0, 2, 1).float()
    trans_mat /= torch.amax(trans_mat, dim=-2, keepdim=True)

    trans_mat += torch.where(trans_mat == 0, 0, config.ent * (torch.log10(torch.e * trans_mat)))
    trans_mat = torch.clamp(trans_mat, min=0)

    trans_mat_p = trans_mat.clone()
    trans_mat_p /= trans_mat_p.sum(dim=-1, keepdim=True)

    for _ in range(config.iter):
        cross_attn = torch.bmm(trans_mat_p, cross_attn)
        cross_attn -= cross_attn.amin(dim=-2, keepdim=True)
        cross_attn /= cross_attn.sum(dim=-2, keepdim=True)

    cross_att = cross_attn
    att_map = cross_att.unflatten(dim=-2, sizes=(H, W)).permute(0, 3, 1, 2)
    return att_map[0]  # [C, H, W]


def official_base(cross_att, self_attention_maps):
    """base/iSeg.py get_att_map up to the maps before upsampling (on a one-head map, see the module docstring)."""
    self_att = self_attention_maps[64].reshape(-1, H * W, H * W).permute(0, 2, 1).float()
    cross_att = torch.bmm(self_att, cross_att)
    att_map = cross_att.unflatten(dim=-2, sizes=(H, W)).permute(0, 3, 1, 2)
    return att_map[0]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "SegLab.Tests", "Fixtures", "iseg", "iseg_reference.safetensors")
    g = torch.Generator().manual_seed(449)
    # scores with some structure (a few strong keys per query) so that Ent-Self's clamp takes some entries to 0
    raw = torch.randn(1, HEADS, N, N, generator=g) * 2.5
    maps = official_self_attention_maps(raw)
    s = maps[64][0].flatten(-2, -1).permute(0, 2, 1).contiguous()  # [head, queries, keys]: the file layout
    a0 = torch.softmax(torch.randn(N, C, generator=g) * 2, dim=1)
    cross_att = a0[None].float()
    tensors = {"self_attention": s.float(), "cross_attention": a0.float(), "grid": torch.tensor([H, W], dtype=torch.int64)}
    for k in (1, 3, 10):
        config = SimpleNamespace(ent=0.015, iter=k)
        tensors[f"official_k{k}"] = official_ent_self(config, cross_att.clone(), maps).contiguous()
    one_head = {64: maps[64][:, [1, 2]].mean(1, keepdim=True)}
    tensors["official_base"] = official_base(cross_att.clone(), one_head).contiguous()
    save_safetensors(out, tensors, {"made_by": "tools/iseg_reference.py (seed 449, torch " + torch.__version__ + ")", "heads": "1,2", "lambda": "0.015"})
    zeros = float((tensors["official_k10"] == 0).float().mean())
    print(f"wrote {out}: N = {N} ({H}x{W}), {HEADS} heads, C = {C}; share of exact zeros after K=10: {zeros:.3f}")


if __name__ == "__main__":
    main()
