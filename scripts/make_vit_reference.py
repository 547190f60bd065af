#!/usr/bin/python3
"""Writes the PyTorch reference files of the ViT/DeiT parity test (developer tool; Debian's python3-torch).

A pure-PyTorch ViT of our own in timm's state-dict layout, written from docs/definitions.md §9 (pre-norm blocks,
one qkv Linear split per head, exact GELU, LayerNorm eps 1e-6, cls pooling; DeiT's distillation token and head
averaged), with seeded random weights, saved as DeiT's released files are: torch.save({'model': state_dict}).
Two small configurations under tests/data/vit_ref/ (D 48, depth 2, 3 heads, patch 8, 32x32, 10 classes):
  vit.pth, vit_logits.npy, vit_attn_<l>.npy        plain ViT: logits (1, 10), attention probabilities (1, 3, 17, 17)
  deit_dist.pth, deit_dist_logits.npy              distilled DeiT (dist_token, head_dist): logits
  vit_map_<method>.npy                             the plain ViT's maps (4, 4) for its top class: raw, rollout
                                                   (start layer 1), gae, saliency, gradxinput, and attr
                                                   (Transformer-Attribution with the released LRP rules; §5b)
  image.npy                                        the input (1, 3, 32, 32), float32
The forward runs in float64 and is saved as float32. The transcription follows timm 0.9's VisionTransformer
forward operation by operation; when timm is importable (the .venv-peers of `scripts/setup.sh --dev` has timm
0.9.16) it is checked against timm's own VisionTransformer and VisionTransformerDistilled with the same weights
before anything is written (measured: agreement to float64 rounding).
Usage: /usr/bin/python3 scripts/make_vit_reference.py [--out tests/data/vit_ref]
   or: .venv-peers/bin/python scripts/make_vit_reference.py   (with the timm check)
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


# ---- Transformer-Attribution (Chefer et al., CVPR 2021): the released LRP rules (docs/definitions.md §5b),
# written as the released modules compute them (autograd for each rule's C), float64.

def safe_divide(a, b):
    den = b.clamp(min=1e-9) + b.clamp(max=1e-9)
    den = den + den.eq(0).type(den.type()) * 1e-9
    return a / den * b.ne(0).type(b.type())


def rel_linear(R, x, w):
    """alpha 1, beta 0, bias ignored: R_in = x+ (S W+) + x- (S W-), S = R / (x+ W+^T + x- W-^T)."""
    pw, nw = w.clamp(min=0), w.clamp(max=0)
    px, nx = x.clamp(min=0).detach().requires_grad_(), x.clamp(max=0).detach().requires_grad_()
    z1, z2 = px @ pw.T, nx @ nw.T
    s = safe_divide(R, z1 + z2)
    c1, c2 = torch.autograd.grad([z1, z2], [px, nx], [s, s])
    return px.detach() * c1 + nx.detach() * c2


def rel_simple(R, fn, *xs):
    """The rule of Add and of the matrix products: Z = fn(xs), S = R / Z, each operand x * dZ/dx^T S."""
    xs = [x.detach().requires_grad_() for x in xs]
    z = fn(*xs)
    grads = torch.autograd.grad(z, xs, safe_divide(R, z))
    return [x.detach() * g for x, g in zip(xs, grads)]


def rel_add(R, a, b):
    ra, rb = rel_simple(R, lambda p, q: p + q, a, b)
    sa, sb = ra.sum(), rb.sum()
    fa = safe_divide(sa.abs(), sa.abs() + sb.abs()) * R.sum()
    fb = safe_divide(sb.abs(), sa.abs() + sb.abs()) * R.sum()
    return ra * safe_divide(fa, ra.sum()), rb * safe_divide(fb, rb.sum())


def rel_clone(x, r1, r2):
    return x * (safe_divide(r1, x) + safe_divide(r2, x))


def attr_map(img, sd, start_layer=1):
    """The released transformer_attribution for the top class: relevance from the one-hot head output down to
    every block's attention probabilities, times their gradients, clamped, head-averaged, rolled out; row 0."""
    B, hd = 1, D // HEADS
    img = img.clone().requires_grad_()  # puts the attention maps on the graph, for their gradients
    x = F.conv2d(img, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=PATCH).flatten(2).transpose(1, 2)
    x = torch.cat([sd["cls_token"].expand(B, -1, -1), x], dim=1) + sd["pos_embed"]
    saved = []
    for l in range(DEPTH):
        p = f"blocks.{l}."
        s = {"x": x}
        s["h1"] = F.layer_norm(x, (D,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], eps=1e-6)
        T = x.shape[1]
        qkv = (s["h1"] @ sd[p + "attn.qkv.weight"].T + sd[p + "attn.qkv.bias"]).reshape(B, T, 3, HEADS, hd)
        s["q"], s["k"], s["v"] = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        a = ((s["q"] @ s["k"].transpose(-2, -1)) * hd ** -0.5).softmax(dim=-1)
        a.retain_grad()
        s["a"] = a
        s["ctx"] = (a @ s["v"]).transpose(1, 2).reshape(B, T, D)
        s["attn_out"] = s["ctx"] @ sd[p + "attn.proj.weight"].T + sd[p + "attn.proj.bias"]
        s["y"] = x + s["attn_out"]
        s["h2"] = F.layer_norm(s["y"], (D,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], eps=1e-6)
        s["f1"] = F.gelu(s["h2"] @ sd[p + "mlp.fc1.weight"].T + sd[p + "mlp.fc1.bias"])
        s["mlp_out"] = s["f1"] @ sd[p + "mlp.fc2.weight"].T + sd[p + "mlp.fc2.bias"]
        x = s["y"] + s["mlp_out"]
        saved.append(s)
    feats = F.layer_norm(x, (D,), sd["norm.weight"], sd["norm.bias"], eps=1e-6)
    pooled = feats[:, 0]
    logits = pooled @ sd["head.weight"].T + sd["head.bias"]
    top = int(logits[0].argmax())
    one_hot = torch.zeros_like(logits)
    one_hot[0, top] = 1
    (one_hot * logits).sum().backward()
    R = rel_linear(one_hot, pooled.detach(), sd["head.weight"])                  # head
    Rf = torch.zeros_like(feats)
    Rf[:, 0] = rel_simple(R, lambda f: f[:, 0], feats.detach())[0][:, 0]         # cls pooling (IndexSelect)
    R = Rf                                                                        # final norm: unchanged
    cams = []
    for l in reversed(range(DEPTH)):
        p, s = f"blocks.{l}.", saved[l]
        det = {k: v.detach() for k, v in s.items()}
        r_res, r_mlp = rel_add(R, det["y"], det["mlp_out"])
        r_mlp = rel_linear(r_mlp, det["f1"], sd[p + "mlp.fc2.weight"])           # fc2; GELU unchanged
        r_mlp = rel_linear(r_mlp, det["h2"], sd[p + "mlp.fc1.weight"])           # fc1; norm2 unchanged
        R = rel_clone(det["y"], r_res, r_mlp)
        r_res, r_att = rel_add(R, det["x"], det["attn_out"])
        r_att = rel_linear(r_att, det["ctx"], sd[p + "attn.proj.weight"])        # proj
        T = r_att.shape[1]
        r_att = r_att.reshape(B, T, HEADS, hd).transpose(1, 2)                    # heads apart
        r_a, r_v = rel_simple(r_att, lambda m, n: m @ n, det["a"], det["v"])      # A · v
        r_a, r_v = r_a / 2, r_v / 2
        cams.insert(0, (s["a"].grad[0] * r_a[0]).clamp(min=0).mean(0))            # R_l at A_l, times dA_l
        r_q, r_k = rel_simple(r_a, lambda m, n: m @ n.transpose(-2, -1), det["q"], det["k"])  # softmax, scale unchanged
        r_q, r_k = r_q / 2, r_k / 2
        r_qkv = torch.stack([r_q, r_k, r_v]).permute(1, 3, 0, 2, 4).reshape(B, T, 3 * D)
        r_att = rel_linear(r_qkv, det["h1"], sd[p + "attn.qkv.weight"])          # qkv; norm1 unchanged
        R = rel_clone(det["x"], r_res, r_att)
    Tn = cams[0].shape[0]
    mats = [c + torch.eye(Tn, dtype=c.dtype) for c in cams]
    mats = [m / m.sum(dim=-1, keepdim=True) for m in mats]
    joint = mats[start_layer]
    for m in mats[start_layer + 1:]:
        joint = m @ joint
    G = IMG // PATCH
    return torch.clamp(joint[0, 1:].reshape(G, G), min=0), R


def peer_check(img):
    """Our transcription against timm's own models, same weights, float64."""
    try:
        import timm
        from timm.models.deit import VisionTransformerDistilled
        from timm.models.vision_transformer import VisionTransformer
    except ImportError:
        print("timm is not importable: the transcription was not checked against it (use .venv-peers/bin/python)")
        return
    for distilled, seed in [(False, 1), (True, 2)]:
        sd = state_dict(distilled, seed)
        kw = dict(img_size=IMG, patch_size=PATCH, num_classes=CLASSES, embed_dim=D, depth=DEPTH, num_heads=HEADS,
                  mlp_ratio=MLP / D, qkv_bias=True)
        model = (VisionTransformerDistilled(**kw) if distilled else VisionTransformer(**kw)).double().eval()
        model.load_state_dict(sd, strict=True)
        with torch.no_grad():
            peer = model(img)
            ours, _ = forward(img, sd, distilled)
        err = float((peer - ours).abs().max() / ours.abs().max())
        print(f"peer check (timm {timm.__version__}, {'distilled DeiT' if distilled else 'ViT'}): "
              f"max|ours - timm| / max|ours| = {err:.1e}")
        assert err < 1e-10, "our transcription disagrees with timm"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/data/vit_ref")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    img = torch.randn(1, 3, IMG, IMG, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    peer_check(img)
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
            attr, r_input = attr_map(img, sd)
            np.save(os.path.join(a.out, f"{name}_map_attr.npy"), attr.detach().float().numpy())
            print("attr: relevance reaching the first block's input sums to", float(r_input.sum()))
    print("wrote", sorted(os.listdir(a.out)))


if __name__ == "__main__":
    main()
