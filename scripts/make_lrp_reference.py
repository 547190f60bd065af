#!/usr/bin/python3
"""Writes the MambaLRP reference files of the C++ tests (developer tool).

A float64 PyTorch transcription of the released MambaLRP rules (Jafari et al., NeurIPS 2024; the code at
github.com/FarnoushRJ/MambaLRP: model/vision_mamba.py, model/mamba_huggingface.py, lrp/core.py), written over
the reference models of scripts/make_reference.py (Vim) and scripts/make_lm_reference.py (Mamba-1, Mamba-2), with
the same weights and inputs as the goldens there:
  - each SiLU (after the conv, and on the gate) is stabilize(x) * (silu(x) / stabilize(x)).detach(), stabilize(x) =
    x + (sign(x) + [x = 0]) * 1e-6 (the released ModifiedAct with transform 'identity');
  - each RMSNorm multiplies by rsqrt(mean(x^2) + eps).detach();
  - the scan's exp(delta A), delta B and C are detached (y + D u keeps u's gradient);
  - the gated output y * silu(z) passes o/2 + (o/2).detach();
  - relevance = sum over features of e * d logit / d e at the token embeddings e.
Conservation holds up to the stabiliser (1e-6 per SiLU): the check allows 1e-5 of the logit.
Vim's `official` variant is the released vision code's default (layer_transforms = []: the norms and SiLUs keep
their plain gradients, the scan constants and the half rule apply); `exact` applies every rule. Mamba-2 has no
released LRP code: the same rules (the grouped RMSNorm's rsqrt detached).
Before writing, each LRP forward is checked against the plain model's (equal logits: only gradients change), and
on bias-free copies (conv biases, Vim's head bias set to 0) the exact rules' relevance is checked to sum to the
explained logit (conservation).
Writes:
  tests/data/vim_ref/xai/lrp_official.npy, lrp_exact.npy   (L,) float32: Vim's relevance per token, cls included,
                                                            for the top class of image.npy
  tests/data/lm_ref/<arch>_lrp.npy                          (T,) float32: the relevance of the prediction at
                                                            position 8 (the target of <arch>_query_target.npy)
Usage: /usr/bin/python3 scripts/make_lrp_reference.py
"""
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_lm_reference as lm  # noqa: E402
import make_reference as vim  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def stabilize(z):
    return z + ((z == 0.).to(z) + z.sign()) * 1e-6


def act(x, ratio):
    y = F.silu(x)
    if not ratio:
        return y
    zp = stabilize(x)
    return zp * (y / zp).detach()


def norm(x, w, constant, eps=1e-5):
    r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return x * (r.detach() if constant else r) * w


def half(o):
    return o / 2. + (o / 2.).detach()


# ---- Vision Mamba (the released vision code's ModifiedMamba, bimamba v2 with div2)

def vim_mixer(a, sd, p, R, N, exact):
    E = sd[p + "A_log"].shape[0]
    xz = (a @ sd[p + "in_proj.weight"].T).transpose(1, 2)
    x, z = xz[:, :E], xz[:, E:]
    L = x.shape[2]

    def direction(x, z, s, a_name, d_name):
        pre = F.conv1d(x, sd[p + f"conv1d{s}.weight"], sd[p + f"conv1d{s}.bias"], padding=3, groups=E)[..., :L]
        u = act(pre, exact)  # (B, E, L)
        x_dbl = u.transpose(1, 2) @ sd[p + f"x_proj{s}.weight"].T
        dt, Bm, Cm = torch.split(x_dbl, [R, N, N], dim=-1)  # (B, L, .)
        delta = F.softplus(dt @ sd[p + f"dt_proj{s}.weight"].T + sd[p + f"dt_proj{s}.bias"])  # (B, L, E)
        A = -torch.exp(sd[p + a_name])
        dA = torch.exp(delta[..., None] * A).detach()               # (B, L, E, N)
        dB = (delta[..., None] * Bm[:, :, None, :]).detach()        # (B, L, E, N)
        Cm = Cm.detach()
        ut = u.transpose(1, 2)                                      # (B, L, E)
        h = torch.zeros(x.shape[0], E, N, dtype=x.dtype)
        ys = []
        for t in range(L):
            h = dA[:, t] * h + dB[:, t] * ut[:, t, :, None]
            ys.append((h * Cm[:, t, None, :]).sum(-1))
        y = torch.stack(ys, dim=2) + u * sd[p + d_name][:, None]    # (B, E, L)
        return half(y * act(z, exact))

    y_f = direction(x, z, "", "A_log", "D")
    y_b = direction(x.flip(-1), z.flip(-1), "_b", "A_b_log", "D_b").flip(-1)
    return ((y_f + y_b) / 2).transpose(1, 2) @ sd[p + "out_proj.weight"].T


def vim_tokens(img, sd, stride):
    x = F.conv2d(img, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=stride)
    x = x.flatten(2).transpose(1, 2)
    cls = x.shape[1] // 2
    x = torch.cat([x[:, :cls], sd["cls_token"].expand(x.shape[0], -1, -1), x[:, cls:]], dim=1)
    return x + sd["pos_embed"], cls


def vim_lrp_logits(tokens, sd, depth, cls, exact):
    R = sd["layers.0.mixer.dt_proj.weight"].shape[1]
    N = sd["layers.0.mixer.A_log"].shape[1]
    r, h = None, tokens
    for i in range(depth):
        r = h if r is None else r + h
        h = vim_mixer(norm(r, sd[f"layers.{i}.norm.weight"], exact), sd, f"layers.{i}.mixer.", R, N, exact)
    out = norm(r + h, sd["norm_f.weight"], exact)
    return out[:, cls] @ sd["head.weight"].T + sd["head.bias"]


def vim_relevance(sd, img, depth, stride, exact, target):
    tokens, cls = vim_tokens(img, sd, stride)
    e = tokens.detach().requires_grad_()
    logits = vim_lrp_logits(e, sd, depth, cls, exact)
    logits[0, target].backward()
    return (e * e.grad).sum(-1)[0].detach(), logits.detach()


def vim_bias_free(sd):
    return OrderedDict((k, torch.zeros_like(v) if (k.endswith("bias") and "conv1d" in k) or k == "head.bias" else v)
                       for k, v in sd.items())


# ---- the language models (the released Hugging Face slow_forward; Mamba-2 by the same rules)

def lm_mixer1(h, p):
    E = p["in_proj.weight"].shape[0] // 2
    R = p["dt_proj.weight"].shape[1]
    N = p["A_log"].shape[1]
    xz = h @ p["in_proj.weight"].t()
    x, z = xz[:, :E], xz[:, E:]
    u = act(lm.causal_conv(x, p["conv1d.weight"], p["conv1d.bias"]), True)
    x_dbl = u @ p["x_proj.weight"].t()
    dt_low, Bm, Cm = x_dbl[:, :R], x_dbl[:, R:R + N], x_dbl[:, R + N:]
    delta = F.softplus(dt_low @ p["dt_proj.weight"].t() + p["dt_proj.bias"])
    A = -torch.exp(p["A_log"])
    dA = torch.exp(delta[:, :, None] * A).detach()
    dB = (delta[:, :, None] * Bm[:, None, :]).detach()
    Cm = Cm.detach()
    s = torch.zeros(E, N, dtype=h.dtype)
    ys = []
    for t in range(h.shape[0]):
        s = dA[t] * s + dB[t] * u[t][:, None]
        ys.append(s @ Cm[t] + p["D"] * u[t])
    y = half(torch.stack(ys) * act(z, True))
    return y @ p["out_proj.weight"].t()


def lm_mixer2(h, p, N, G):
    H = p["A_log"].shape[0]
    E = p["out_proj.weight"].shape[1]
    P = E // H
    zxbcdt = h @ p["in_proj.weight"].t()
    z, xBC, dt = zxbcdt[:, :E], zxbcdt[:, E:2 * E + 2 * G * N], zxbcdt[:, 2 * E + 2 * G * N:]
    xBC = act(lm.causal_conv(xBC, p["conv1d.weight"], p["conv1d.bias"]), True)
    x, Bm, Cm = xBC[:, :E], xBC[:, E:E + G * N], xBC[:, E + G * N:]
    delta = F.softplus(dt + p["dt_bias"])
    A = -torch.exp(p["A_log"])
    L = h.shape[0]
    outs = []
    for hd in range(H):
        g = hd * G // H
        dA = torch.exp(delta[:, hd] * A[hd]).detach()                                  # (L)
        dB = (delta[:, hd, None] * Bm[:, g * N:(g + 1) * N]).detach()                  # (L, N)
        C = Cm[:, g * N:(g + 1) * N].detach()
        s = torch.zeros(P, N, dtype=h.dtype)
        ys = []
        for t in range(L):
            xt = x[t, hd * P:(hd + 1) * P]
            s = dA[t] * s + xt[:, None] * dB[t][None, :]
            ys.append(s @ C[t] + p["D"][hd] * xt)
        outs.append(torch.stack(ys))                                                   # (L, P)
    y = half(torch.cat(outs, 1) * act(z, True))
    yg = y.view(L, G, E // G)
    yg = yg * torch.rsqrt(yg.pow(2).mean(-1, keepdim=True) + 1e-5).detach()
    return (yg.reshape(L, E) * p["norm.weight"]) @ p["out_proj.weight"].t()


def lm_lrp_logits(e, sd, arch, N=None, G=None):
    n_layer = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("backbone.layers."))
    r = e
    for l in range(n_layer):
        pre = f"backbone.layers.{l}."
        p = {k[len(pre) + len("mixer."):]: v for k, v in sd.items() if k.startswith(pre + "mixer.")}
        h = norm(r, sd[pre + "norm.weight"], True)
        r = r + (lm_mixer1(h, p) if arch == "mamba1" else lm_mixer2(h, p, N, G))
    head = sd.get("lm_head.weight", sd["backbone.embedding.weight"])
    return norm(r, sd["backbone.norm_f.weight"], True) @ head.t()


def lm_relevance(sd, ids, arch, q, target, N=None, G=None):
    e = sd["backbone.embedding.weight"][ids].detach().requires_grad_()
    logits = lm_lrp_logits(e, sd, arch, N, G)
    logits[q, target].backward()
    return (e * e.grad).sum(-1).detach(), logits.detach()


def lm_bias_free(sd):
    return OrderedDict((k, torch.zeros_like(v) if k.endswith("conv1d.bias") else v) for k, v in sd.items())


# Relevance sums to the logit up to the SiLU rule's stabiliser: the relevance takes x·c where the forward has
# stabilize(x)·c, 1e-6·c apart per activation (measured here: 1.5e-7 of the logit for Vim).
CONSERVATION = 1e-5


def check(name, got, want, rel):
    err = float((got - want).abs().max() / want.abs().max())
    print(f"  {name}: {err:.2e} of max")
    assert err <= rel, f"{name}: {err:.3g} > {rel:.3g}"


def main():
    torch.set_default_dtype(torch.float64)
    # Vim: the weights and image of tests/data/vim_ref (make_reference.py's main)
    D, depth, patch, stride, img_size = 64, 4, 16, 16, 64
    sd = OrderedDict((k, v.float().double()) for k, v in vim.vim_state_dict(D, depth, patch, stride, img_size).items())
    img = torch.from_numpy(np.load(os.path.join(ROOT, "tests/data/vim_ref/image.npy"))).double()
    plain, _ = vim.vim_forward(img, sd, depth, stride)
    target = int(plain[0].argmax())
    assert target == int(np.load(os.path.join(ROOT, "tests/data/vim_ref/top.npy"))[0])
    print(f"Vim (target {target}):")
    for variant in ["official", "exact"]:
        R, logits = vim_relevance(sd, img, depth, stride, variant == "exact", target)
        check(f"{variant}: LRP forward vs the plain forward", logits, plain.detach(), 1e-12)
        np.save(os.path.join(ROOT, f"tests/data/vim_ref/xai/lrp_{variant}.npy"), R.float().numpy())
        print(f"  {variant}: sum R = {float(R.sum()):.6f}, logit {float(plain[0, target]):.6f}")
    free = vim_bias_free(sd)
    R, logits = vim_relevance(free, img, depth, stride, True, target)
    check("exact, bias-free: sum R vs the logit", R.sum(), logits[0, target], CONSERVATION)

    ids = torch.randint(0, lm.VOCAB, (lm.T,), generator=torch.Generator().manual_seed(3))
    models = [("mamba1", lm.make_mamba1(1, torch.float16), {}),
              ("mamba2", lm.make_mamba2(2, torch.bfloat16, G=lm.M2["ngroups"], tied=False),
               dict(N=lm.M2["d_state"], G=lm.M2["ngroups"]))]
    for arch, sd, kw in models:
        q, target = np.load(os.path.join(ROOT, f"tests/data/lm_ref/{arch}_query_target.npy")).tolist()
        plain = lm.forward(sd, ids, arch, **kw)
        assert int(plain[q].argmax()) == target
        print(f"{arch} (position {q}, target {target}):")
        R, logits = lm_relevance(sd, ids, arch, q, target, **kw)
        check("LRP forward vs the plain forward", logits, plain, 1e-12)
        np.save(os.path.join(ROOT, f"tests/data/lm_ref/{arch}_lrp.npy"), R.float().numpy())
        print(f"  sum R = {float(R.sum()):.6f}, logit {float(plain[q, target]):.6f}")
        R, logits = lm_relevance(lm_bias_free(sd), ids, arch, q, target, **kw)
        check("bias-free: sum R vs the logit", R.sum(), logits[q, target], CONSERVATION)
    print("wrote the LRP references")


if __name__ == "__main__":
    main()
