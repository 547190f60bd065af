#!/usr/bin/python3
"""Writes the PyTorch reference files of the ViT/DeiT parity test (developer tool; Debian's python3-torch).

A pure-PyTorch ViT of our own in timm's state-dict layout, written from docs/definitions.md §9 (pre-norm blocks,
one qkv Linear split per head, exact GELU, LayerNorm eps 1e-6, cls pooling; DeiT's distillation token and head
averaged), with seeded random weights, saved as DeiT's released files are: torch.save({'model': state_dict}).
Two small configurations under tests/data/vit_ref/ (D 48, depth 2, 3 heads, patch 8, 32x32, 10 classes):
  vit.pth, vit_logits.npy, vit_attn_<l>.npy        plain ViT: logits (1, 10), attention probabilities (1, 3, 17, 17)
  deit_dist.pth, deit_dist_logits.npy              distilled DeiT (dist_token, head_dist): logits
  vit_map_<method>.npy                             the plain ViT's maps (4, 4) for its top class: raw, rollout
                                                   (start layer 1), gae, saliency, gradxinput (docs/definitions.md §5b)
  image.npy                                        the input (1, 3, 32, 32), float32
The forward runs in float64 and is saved as float32. (timm itself is not installable offline; this transcription
follows timm 0.9's VisionTransformer forward operation by operation.)
Usage: /usr/bin/python3 scripts/make_vit_reference.py [--out tests/data/vit_ref]
"""
import argparse
import math
import os
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

D, DEPTH, HEADS, MLP, PATCH, IMG, CLASSES = 48, 2, 3, 96, 8, 32, 10


def state_dict(distilled, seed):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.2):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    T = (IMG // PATCH) ** 2 + (2 if distilled else 1)
    sd = OrderedDict()
    sd["cls_token"] = rnd(1, 1, D)
    if distilled:
        sd["dist_token"] = rnd(1, 1, D)
    sd["pos_embed"] = rnd(1, T, D)
    sd["patch_embed.proj.weight"] = rnd(D, 3, PATCH, PATCH, scale=0.05)
    sd["patch_embed.proj.bias"] = rnd(D)
    for l in range(DEPTH):
        p = f"blocks.{l}."
        sd[p + "norm1.weight"] = 1 + rnd(D, scale=0.1)
        sd[p + "norm1.bias"] = rnd(D, scale=0.1)
        sd[p + "attn.qkv.weight"] = rnd(3 * D, D, scale=1 / math.sqrt(D))
        sd[p + "attn.qkv.bias"] = rnd(3 * D, scale=0.1)
        sd[p + "attn.proj.weight"] = rnd(D, D, scale=1 / math.sqrt(D))
        sd[p + "attn.proj.bias"] = rnd(D, scale=0.1)
        sd[p + "norm2.weight"] = 1 + rnd(D, scale=0.1)
        sd[p + "norm2.bias"] = rnd(D, scale=0.1)
        sd[p + "mlp.fc1.weight"] = rnd(MLP, D, scale=1 / math.sqrt(D))
        sd[p + "mlp.fc1.bias"] = rnd(MLP, scale=0.1)
        sd[p + "mlp.fc2.weight"] = rnd(D, MLP, scale=1 / math.sqrt(MLP))
        sd[p + "mlp.fc2.bias"] = rnd(D, scale=0.1)
    sd["norm.weight"] = 1 + rnd(D, scale=0.1)
    sd["norm.bias"] = rnd(D, scale=0.1)
    sd["head.weight"] = rnd(CLASSES, D, scale=1 / math.sqrt(D))
    sd["head.bias"] = rnd(CLASSES, scale=0.1)
    if distilled:
        sd["head_dist.weight"] = rnd(CLASSES, D, scale=1 / math.sqrt(D))
        sd["head_dist.bias"] = rnd(CLASSES, scale=0.1)
    return sd


def forward(img, sd, distilled):
    x = F.conv2d(img, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=PATCH)
    x = x.flatten(2).transpose(1, 2)  # (B, M, D), row-major patches
    B = x.shape[0]
    prefix = [sd["cls_token"].expand(B, -1, -1)] + ([sd["dist_token"].expand(B, -1, -1)] if distilled else [])
    x = torch.cat(prefix + [x], dim=1) + sd["pos_embed"]
    attns = []
    for l in range(DEPTH):
        p = f"blocks.{l}."
        h = F.layer_norm(x, (D,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], eps=1e-6)
        T = h.shape[1]
        qkv = (h @ sd[p + "attn.qkv.weight"].T + sd[p + "attn.qkv.bias"]).reshape(B, T, 3, HEADS, D // HEADS)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        a = ((q @ k.transpose(-2, -1)) * (D // HEADS) ** -0.5).softmax(dim=-1)
        attns.append(a)
        o = (a @ v).transpose(1, 2).reshape(B, T, D)
        x = x + o @ sd[p + "attn.proj.weight"].T + sd[p + "attn.proj.bias"]
        h = F.layer_norm(x, (D,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], eps=1e-6)
        h = F.gelu(h @ sd[p + "mlp.fc1.weight"].T + sd[p + "mlp.fc1.bias"])
        x = x + h @ sd[p + "mlp.fc2.weight"].T + sd[p + "mlp.fc2.bias"]
    x = F.layer_norm(x, (D,), sd["norm.weight"], sd["norm.bias"], eps=1e-6)
    logits = x[:, 0] @ sd["head.weight"].T + sd["head.bias"]
    if distilled:
        logits = (logits + x[:, 1] @ sd["head_dist.weight"].T + sd["head_dist.bias"]) / 2
    return logits, attns


def maps(img, sd):
    """The explanation maps of the top class, written from the method definitions (float64)."""
    x = img.clone().requires_grad_()
    logits, attns = forward(x, sd, False)
    for a in attns:
        a.retain_grad()
    top = int(logits[0].argmax())
    logits[0, top].backward()
    G, T = IMG // PATCH, attns[0].shape[-1]

    def grid(row):
        return torch.clamp(row[1:].reshape(G, G), min=0)

    def rollout(mats, start):
        mats = [m + torch.eye(T, dtype=m.dtype) for m in mats]
        mats = [m / m.sum(dim=-1, keepdim=True) for m in mats]
        joint = mats[start]
        for m in mats[start + 1:]:
            joint = m @ joint
        return joint

    def pool(pix):  # (H, W) -> (G, G): mean over each patch
        return pix.reshape(G, PATCH, G, PATCH).mean(dim=(1, 3))

    out = {"raw": grid(attns[-1][0].detach().mean(0)[0]),
           "rollout": grid(rollout([a[0].detach().mean(0) for a in attns], 1)[0])}
    R = torch.eye(T, dtype=torch.float64)
    for a in attns:
        cam = (a.grad[0] * a[0].detach()).clamp(min=0).mean(0)
        R = R + cam @ R
    out["gae"] = grid(R[0])
    out["saliency"] = pool(x.grad[0].abs().max(0).values)
    out["gradxinput"] = pool((x.detach()[0] * x.grad[0]).sum(0).abs())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/data/vit_ref")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    img = torch.randn(1, 3, IMG, IMG, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    np.save(os.path.join(a.out, "image.npy"), img.float().numpy())
    for name, distilled, seed in [("vit", False, 1), ("deit_dist", True, 2)]:
        sd = state_dict(distilled, seed)
        with torch.no_grad():
            logits, attns = forward(img, sd, distilled)
        torch.save({"model": OrderedDict((k, v.float()) for k, v in sd.items())}, os.path.join(a.out, name + ".pth"))
        np.save(os.path.join(a.out, name + "_logits.npy"), logits.float().numpy())
        if not distilled:
            for l, at in enumerate(attns):
                np.save(os.path.join(a.out, f"{name}_attn_{l}.npy"), at.float().numpy())
            for method, m in maps(img, sd).items():
                np.save(os.path.join(a.out, f"{name}_map_{method}.npy"), m.detach().float().numpy())
    print("wrote", sorted(os.listdir(a.out)))


if __name__ == "__main__":
    main()
