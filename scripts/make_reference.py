#!/usr/bin/python3
"""Writes the PyTorch reference files the C++ parity tests compare against (developer tool only).

A pure-PyTorch Vision Mamba of our own (no mamba_ssm), written from the official forward pass
(docs/definitions.md §1), with seeded random weights in the official state-dict
layout. It saves, under tests/data/vim_ref/:
  vim_ref.pth        torch.save of the official outer dict {model, optimizer, lr_scheduler, epoch, model_ema,
                     scaler, args (argparse.Namespace)}, small configuration (D 64, depth 4, 64x64, 1000 classes)
  image.npy          the input (1, 3, 64, 64), float32
  logits.npy         (1, 1000)
  block_<l>.npy      each block's mixer output h_l (1, L, D)
  grad_input.npy     d logit[top] / d image
  grad_block_<l>.npy d logit[top] / d h_l
  top.npy            the top class (int64)
  bad_*.pth          malformed checkpoints for the loader's error tests
The forward runs in float64 and is saved as float32: the reference is more accurate than either fp32 path.

Usage: /usr/bin/python3 scripts/make_reference.py [--out tests/data/vim_ref] [--tiny PATH]
  --tiny PATH also writes a full Vim-tiny-shaped checkpoint (D 192, depth 24, 224x224; ~115 MB, not committed).
Needs Debian's python3-torch (scripts/setup.sh --dev).
"""
import argparse
import io
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F


def vim_state_dict(D, depth, patch, stride, img, N=16, expand=2, classes=1000, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    E, R = expand * D, math.ceil(D / 16)
    G = (img - patch) // stride + 1
    L = G * G + 1

    def rnd(*shape, scale):
        return (torch.randn(*shape, generator=g, dtype=dtype) * scale)

    sd = OrderedDict()
    sd["cls_token"] = rnd(1, 1, D, scale=0.5)
    sd["pos_embed"] = rnd(1, L, D, scale=0.5)
    sd["patch_embed.proj.weight"] = rnd(D, 3, patch, patch, scale=1 / math.sqrt(3 * patch * patch))
    sd["patch_embed.proj.bias"] = rnd(D, scale=0.1)
    sd["head.weight"] = rnd(classes, D, scale=1 / math.sqrt(D))
    sd["head.bias"] = rnd(classes, scale=0.1)
    for i in range(depth):
        p = f"layers.{i}."
        a_log = torch.log(torch.arange(1, N + 1, dtype=dtype)).repeat(E, 1)
        sd[p + "mixer.A_log"] = a_log + rnd(E, N, scale=0.1)
        sd[p + "mixer.D"] = 1 + rnd(E, scale=0.1)
        sd[p + "mixer.A_b_log"] = a_log + rnd(E, N, scale=0.1)
        sd[p + "mixer.D_b"] = 1 + rnd(E, scale=0.1)
        sd[p + "mixer.in_proj.weight"] = rnd(2 * E, D, scale=1 / math.sqrt(D))
        for s in ["", "_b"]:
            sd[p + f"mixer.conv1d{s}.weight"] = rnd(E, 1, 4, scale=0.5)
            sd[p + f"mixer.conv1d{s}.bias"] = rnd(E, scale=0.1)
            sd[p + f"mixer.x_proj{s}.weight"] = rnd(R + 2 * N, E, scale=1 / math.sqrt(E))
            sd[p + f"mixer.dt_proj{s}.weight"] = rnd(E, R, scale=1 / math.sqrt(R))
            dt = torch.exp(torch.rand(E, generator=g, dtype=dtype) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
            sd[p + f"mixer.dt_proj{s}.bias"] = dt + torch.log(-torch.expm1(-dt))  # inverse softplus, as Mamba inits
        sd[p + "mixer.out_proj.weight"] = rnd(D, E, scale=1 / math.sqrt(E))
        sd[p + "norm.weight"] = 1 + rnd(D, scale=0.1)
    sd["norm_f.weight"] = 1 + rnd(D, scale=0.1)
    return sd


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


# How scan() runs the recurrence: "sequential" (mamba_ssm's selective_scan_ref: a Python loop over tokens; the
# goldens use it) or "vectorised" (pscan below: log2(L) whole-tensor steps, the strongest pure-PyTorch CPU
# alternative, as the mambapy package does it). Both give the same result (check_scans()).
SCAN = "sequential"


def pscan(a, b):
    """h_t = a_t h_(t-1) + b_t with h_(-1) = 0, for every t at once, along dim 2 of (B, E, L, N) tensors.
    Hillis-Steele doubling: after the step of offset d, entry t holds the composition of the affine maps of
    tokens (t - 2d, t]; composing (a1, b1) then (a2, b2) gives (a2 a1, a2 b1 + b2)."""
    L, d = a.shape[2], 1
    while d < L:
        b = torch.cat([b[:, :, :d], a[:, :, d:] * b[:, :, :-d] + b[:, :, d:]], dim=2)
        a = torch.cat([a[:, :, :d], a[:, :, d:] * a[:, :, :-d]], dim=2)
        d *= 2
    return b


def scan(u, delta, A, B, C, D, z, delta_bias):
    """selective_scan_ref: u, delta, z (B, E, L); A (E, N); B, C (B, N, L)."""
    delta = F.softplus(delta + delta_bias[:, None])  # threshold 20, like the kernel
    dA = torch.exp(delta[..., None] * A[None, :, None, :])            # (B, E, L, N)
    dBu = delta[..., None] * B.transpose(1, 2)[:, None] * u[..., None]  # (B, E, L, N)
    if SCAN == "vectorised":
        y = (pscan(dA, dBu) * C.transpose(1, 2)[:, None]).sum(-1)
    else:
        h = torch.zeros(u.shape[0], u.shape[1], A.shape[1], dtype=u.dtype)
        ys = []
        for t in range(u.shape[2]):
            h = dA[:, :, t] * h + dBu[:, :, t]
            ys.append((h * C[:, None, :, t]).sum(-1))
        y = torch.stack(ys, dim=2)
    y = y + u * D[:, None]
    return y * F.silu(z)


def check_scans(dtype=torch.float32, L=197, E=24, N=16):
    """The two scan modes agree (max |difference| / max |y|); raises if not. Returns the relative difference."""
    global SCAN
    g = torch.Generator().manual_seed(3)
    args = (torch.randn(2, E, L, generator=g, dtype=dtype), torch.randn(2, E, L, generator=g, dtype=dtype) - 2,
            -torch.rand(E, N, generator=g, dtype=dtype) * 8, torch.randn(2, N, L, generator=g, dtype=dtype),
            torch.randn(2, N, L, generator=g, dtype=dtype), torch.randn(E, generator=g, dtype=dtype),
            torch.randn(2, E, L, generator=g, dtype=dtype), torch.randn(E, generator=g, dtype=dtype))
    keep = SCAN
    try:
        SCAN = "sequential"
        y0 = scan(*args)
        SCAN = "vectorised"
        y1 = scan(*args)
    finally:
        SCAN = keep
    rel = float((y1 - y0).abs().max() / y0.abs().max())
    if rel > (1e-5 if dtype == torch.float32 else 1e-12):
        raise AssertionError(f"vectorised scan differs from the sequential one: {rel:.3g} of max|y|")
    return rel


def mixer(a, sd, p, R, N, traces=None):
    E = sd[p + "A_log"].shape[0]
    xz = (a @ sd[p + "in_proj.weight"].T).transpose(1, 2)  # (B, 2E, L)
    x, z = xz[:, :E], xz[:, E:]
    L = x.shape[2]

    def direction(x, z, s, a_name, d_name):
        pre = F.conv1d(x, sd[p + f"conv1d{s}.weight"], sd[p + f"conv1d{s}.bias"], padding=3, groups=E)[..., :L]
        u = F.silu(pre)
        x_dbl = u.transpose(1, 2) @ sd[p + f"x_proj{s}.weight"].T  # (B, L, R + 2N)
        dt, Bm, Cm = torch.split(x_dbl, [R, N, N], dim=-1)
        delta = (dt @ sd[p + f"dt_proj{s}.weight"].T).transpose(1, 2)
        A = -torch.exp(sd[p + a_name])
        if traces is not None:  # what hidden attention reads, in this direction's token order (batch item 0)
            traces.append({"delta": F.softplus(delta + sd[p + f"dt_proj{s}.bias"][:, None])[0].detach(),
                           "A": A.detach(), "B": Bm.transpose(1, 2)[0].detach(), "C": Cm.transpose(1, 2)[0].detach(),
                           "z": z[0].detach(), "pre": pre[0].detach(), "w": sd[p + f"conv1d{s}.weight"][:, 0].detach()})
        return scan(u, delta, A, Bm.transpose(1, 2), Cm.transpose(1, 2), sd[p + d_name], z, sd[p + f"dt_proj{s}.bias"])

    y_f = direction(x, z, "", "A_log", "D")
    y_b = direction(x.flip(-1), z.flip(-1), "_b", "A_b_log", "D_b").flip(-1)
    y = (y_f + y_b) / 2
    return y.transpose(1, 2) @ sd[p + "out_proj.weight"].T


def vim_forward(img, sd, depth, stride, traces=None):
    """traces, if a list, receives one {"fwd": ..., "bwd": ...} per layer."""
    D = sd["cls_token"].shape[-1]
    R = sd["layers.0.mixer.dt_proj.weight"].shape[1]
    N = sd["layers.0.mixer.A_log"].shape[1]
    x = F.conv2d(img, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=stride)
    x = x.flatten(2).transpose(1, 2)
    M = x.shape[1]
    cls = M // 2
    x = torch.cat([x[:, :cls], sd["cls_token"].expand(x.shape[0], -1, -1), x[:, cls:]], dim=1)
    x = x + sd["pos_embed"]
    r, h, blocks = None, x, []
    for i in range(depth):
        r = h if r is None else r + h
        layer = [] if traces is not None else None
        h = mixer(rms_norm(r, sd[f"layers.{i}.norm.weight"]), sd, f"layers.{i}.mixer.", R, N, layer)
        if traces is not None:
            traces.append({"fwd": layer[0], "bwd": layer[1]})
        if h.requires_grad:
            h.retain_grad()
        blocks.append(h)
    out = rms_norm(r + h, sd["norm_f.weight"])
    logits = out[:, cls] @ sd["head.weight"].T + sd["head.bias"]
    return logits, blocks


# ---- hidden attention and the explanation methods, written from docs/definitions.md §4-5 (float64, plain loops)

def alpha_matrix(t):
    """(E, L, L): alpha[d, i, j] = sum_n C_i[n] exp(A[d,n] sum_{k=j+1..i} delta_k[d]) delta_j[d] B_j[n], j <= i."""
    delta, A, B, C = t["delta"], t["A"], t["B"], t["C"]
    E, L = delta.shape
    S = torch.cumsum(delta[:, :, None] * A[:, None, :], dim=1)  # (E, L, N): S_i = sum_{k<=i} delta_k A
    lower = torch.tril(torch.ones(L, L, dtype=torch.bool))
    M = torch.zeros(E, L, L, dtype=delta.dtype)
    for n in range(A.shape[1]):
        diff = S[:, :, None, n] - S[:, None, :, n]  # S_i - S_j
        decay = torch.exp(torch.where(lower, diff, torch.full_like(diff, -math.inf)))
        M += C[n][None, :, None] * decay * (delta * B[n][None, :])[:, None, :]
    return M


def official_row(t, q):
    """The released vector: v[j] = sum_n C_q[n] prod_{k=j+1..q-1} exp(delta_k A) delta_j B_j[n], j < q; 0 elsewhere."""
    delta, A, B, C = t["delta"], t["A"], t["B"], t["C"]
    E, L = delta.shape
    v = torch.zeros(E, L, dtype=delta.dtype)
    for j in range(q):
        prod = torch.exp(A * delta[:, j + 1:q].sum(1, keepdim=True))  # (E, N)
        v[:, j] = (C[:, q][None, :] * prod * delta[:, j:j + 1] * B[:, j][None, :]).sum(1)
    return v


def unified_row(t, q):
    a = alpha_matrix(t)[:, q, :]  # (E, L)
    temp = a * torch.sigmoid(t["pre"])
    w = t["w"]  # (E, K)
    K = w.shape[1]
    out = torch.zeros_like(a)
    for j in range(q + 1):
        for c in range(j, min(j + K - 1, q) + 1):
            out[:, j] += w[:, j - c + K - 1] * temp[:, c]
    return F.silu(t["z"][:, q])[:, None] * out


def minmax(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)


def layer_vectors(tr, cls, kind):
    L = tr["fwd"]["delta"].shape[1]
    if kind == "official":
        f, b = official_row(tr["fwd"], cls), official_row(tr["bwd"], L - 1 - cls).flip(-1)
        V = f.clone()
        V[:, cls:] = b[:, cls:]
        V[:, cls] = 0
        return V
    if kind == "exact":
        return alpha_matrix(tr["fwd"])[:, cls, :] + alpha_matrix(tr["bwd"]).flip(-1, -2)[:, cls, :]
    return unified_row(tr["fwd"], cls) + unified_row(tr["bwd"], L - 1 - cls).flip(-1)


def rollout(X, cls):
    L = X[0].shape[0]
    J = torch.eye(L, dtype=torch.float64)
    for Xl in X:  # J = M_last ... M_start
        Ml = torch.eye(L, dtype=torch.float64) + Xl
        Ml = Ml / Ml.sum(1, keepdim=True)
        J = Ml @ J
    return J[cls]


def explain_maps(traces, grads, img, img_grad, depth, cls, G, patch, stride):
    start = 15 * depth // 24
    s = [minmax(torch.clamp(g[0], min=0).max(-1).values) for g in grads]  # s_l over tokens
    to_grid = lambda v: torch.clamp(torch.cat([v[:cls], v[cls + 1:]]).reshape(G, G), min=0)
    rows = lambda v: v[None, :].expand(v.shape[0], -1)
    maps = {}
    for variant in ["official", "exact"]:
        V = [layer_vectors(traces[l], cls, variant) for l in range(start, depth)]
        maps[f"raw_{variant}"] = to_grid(torch.stack([minmax(v).mean(0) for v in V]).mean(0))
        if variant == "official":
            maps["rollout_official"] = to_grid(rollout([rows(v.mean(0)) for v in V], cls))
            maps["attr_official"] = to_grid(rollout(
                [rows(minmax(torch.clamp(v, min=0)).mean(0) * s[start + k]) for k, v in enumerate(V)], cls))
        else:
            Fs = [alpha_matrix(traces[l]["fwd"]) + alpha_matrix(traces[l]["bwd"]).flip(-1, -2) for l in range(start, depth)]
            maps["rollout_exact"] = to_grid(rollout([f.mean(0) for f in Fs], cls))
            maps["attr_exact"] = to_grid(rollout(
                [minmax(torch.clamp(f, min=0)).mean(0) * s[start + k][None, :] for k, f in enumerate(Fs)], cls))
    U = [layer_vectors(traces[l], cls, "unified") for l in range(start, depth)]
    maps["unified"] = to_grid(rollout([rows(minmax(torch.clamp(u, min=0).mean(0) * s[start + k])) for k, u in enumerate(U)], cls))

    def pool(pix):  # (H, W) -> (G, G): mean over each patch's receptive field
        return torch.stack([torch.stack([pix[i * stride:i * stride + patch, j * stride:j * stride + patch].mean()
                                         for j in range(G)]) for i in range(G)])
    maps["saliency"] = pool(img_grad[0].abs().max(0).values)
    maps["gradxinput"] = pool((img[0] * img_grad[0]).sum(0).abs())
    return maps


def released_code_maps(traces, grads, depth):
    """HAM's released functions with their hard-coded cls 98 and split 99 (docs/definitions.md §5), L = 197 only."""
    start = 15
    assert traces[0]["fwd"]["delta"].shape[1] == 197

    def middle_vector(t):  # compute_middle_attn_vector
        dA = torch.exp(t["delta"].T[:, :, None] * t["A"][None])  # (L, E, N)
        dB = t["delta"].T[:, :, None] * t["B"].T[:, None, :]
        v = torch.zeros(t["delta"].shape, dtype=torch.float64)
        for tt in range(98):
            prod = torch.ones_like(dA[0])
            for k in range(tt + 1, 98):
                prod = prod * dA[k]
            v[:, tt] = (t["C"][:, 98][None, :] * prod * dB[tt]).sum(-1)
        return v

    X = []
    for tr in traces:
        xai = middle_vector(tr["fwd"])
        xai[:, 99:] = middle_vector(tr["bwd"]).flip(-1)[:, 99:]
        X.append(xai)

    def roll(vs):
        J = None
        for v in vs:
            M = torch.eye(197, dtype=torch.float64) + v[None, :].expand(197, -1)
            M = M / M.sum(1, keepdim=True)
            J = M if J is None else M @ J
        return J[98]
    drop = lambda v: torch.clamp(torch.cat([v[:98], v[99:]]), min=0)
    raw = drop(torch.stack([((x - x.min()) / (x.max() - x.min())).mean(0) for x in X[start:depth]]).mean(0))
    rollout_map = drop(roll([x.mean(0) for x in X[start:depth]]))
    attr = []
    for l in range(start, depth):
        g = torch.clamp(grads[l][0], min=0).max(-1).values
        g = (g - g.min()) / (g.max() - g.min())
        P = torch.clamp(X[l], min=0)
        P = (P - P.min()) / (P.max() - P.min())
        attr.append(P.mean(0) * g)
    return {"raw_official": raw, "rollout_official": rollout_map, "attr_official": drop(roll(attr))}


def save_checkpoint(path, sd32, img_size):
    # The optimizer tracks only the small tensors, so the committed file stays small while holding the real
    # structure (AdamW state with step/exp_avg/exp_avg_sq tensors) that the loader must parse and skip.
    params = [torch.nn.Parameter(v.clone()) for k, v in sd32.items() if v.numel() <= 4096]
    opt = torch.optim.AdamW(params, lr=1e-3)
    sum((p * p).sum() for p in params).backward()
    opt.step()
    args = argparse.Namespace(model="vim_reference", input_size=img_size, batch_size=8, lr=1e-3, no_amp=True,
                              data_path="/nonexistent", seed=0, drop_path=0.0, mixup=[0.8, 1.0])
    torch.save({"model": sd32, "optimizer": opt.state_dict(), "lr_scheduler": {"last_epoch": 3}, "epoch": 3,
                "model_ema": OrderedDict((k, v.clone()) for k, v in sd32.items()), "scaler": "none", "args": args},
               path)


def write_zip(path, prefix, files):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(prefix + name, data)


def bad_files(out, sd32):
    """Malformed checkpoints, each exercising one refusal of the loader."""
    good = os.path.join(out, "vim_ref.pth")
    raw = open(good, "rb").read()  # (the truncated-file test cuts vim_ref.pth itself)
    open(os.path.join(out, "bad_magic.pth"), "wb").write(b"NOTAZIP!" + raw[8:4096])

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo hattn-was-pwned > /tmp/hattn_pwned",))

    write_zip(os.path.join(out, "bad_global.pth"), "archive/", {"data.pkl": pickle.dumps({"model": Evil()}, protocol=2)})
    write_zip(os.path.join(out, "bad_protocol.pth"), "archive/", {"data.pkl": pickle.dumps({"model": {}}, protocol=4)})

    # One small float tensor; variants break its storage, shape or dtype.
    def tensor_pickle(storage_type, key, numel, size, stride):
        # Hand-assembled protocol-2 stream equal to what torch.save writes for {'w': tensor}.
        def s(x):
            b = x.encode()
            return b"X" + len(b).to_bytes(4, "little") + b

        def i(v):
            return b"J" + int(v).to_bytes(4, "little", signed=True)

        def tup(vals):
            return b"(" + b"".join(i(v) for v in vals) + b"t"

        return (b"\x80\x02}(" + s("w") + b"ctorch._utils\n_rebuild_tensor_v2\n((" + s("storage") +
                b"ctorch\n" + storage_type.encode() + b"\n" + s(key) + s("cpu") + i(numel) + b"tQ" + i(0) +
                tup(size) + tup(stride) + b"\x89ccollections\nOrderedDict\n)RtRu.")

    data = np.arange(6, dtype=np.float32).tobytes()
    write_zip(os.path.join(out, "bad_missing_storage.pth"), "archive/",
              {"data.pkl": tensor_pickle("FloatStorage", "0", 6, [2, 3], [3, 1])})
    write_zip(os.path.join(out, "bad_shape_overflow.pth"), "archive/",
              {"data.pkl": tensor_pickle("FloatStorage", "0", 6, [2**31 - 1, 2**31 - 1], [2**31 - 1, 1]),
               "data/0": data})
    write_zip(os.path.join(out, "bad_shape_exceeds.pth"), "archive/",
              {"data.pkl": tensor_pickle("FloatStorage", "0", 6, [3, 3], [3, 1]), "data/0": data})
    write_zip(os.path.join(out, "good_small.pth"), "archive/",
              {"data.pkl": tensor_pickle("FloatStorage", "0", 6, [2, 3], [3, 1]), "data/0": data})
    # a bare state dict whose head.bias is stored as int64 (the test loads it into the reference model)
    torch.save(OrderedDict([("head.bias", sd32["head.bias"].to(torch.int64))]),
               os.path.join(out, "bad_int_weight.pth"))


def explain_reference(out, sd, img, depth, patch, stride, with_attention):
    """Maps of every method (and the hidden attention of the main model) for one image, into out/."""
    os.makedirs(out, exist_ok=True)
    img = img.detach().clone().requires_grad_()
    traces = []
    logits, blocks = vim_forward(img, sd, depth, stride, traces)
    top = int(logits[0].argmax())
    logits[0, top].backward()
    L = traces[0]["fwd"]["delta"].shape[1]
    G = int(round(math.sqrt(L - 1)))
    cls = (L - 1) // 2
    grads = [b.grad for b in blocks]
    maps = explain_maps(traces, grads, img.detach(), img.grad, depth, cls, G, patch, stride)
    if L == 197 and depth == 24:  # the released code's literal conventions agree with the general definition
        for name, v in released_code_maps(traces, grads, depth).items():
            assert torch.allclose(v.reshape(G, G), maps[name], rtol=1e-9, atol=1e-12), name
        print("  released-code functions (cls 98, split 99) agree with the general official variant")
    for name, m in maps.items():
        np.save(os.path.join(out, f"map_{name}.npy"), m.float().numpy())
    np.save(os.path.join(out, "top.npy"), np.array([top], dtype=np.int64))
    np.save(os.path.join(out, "logits.npy"), logits.detach().float().numpy())
    if with_attention:
        for kind in ["official", "exact", "unified"]:
            V = torch.stack([layer_vectors(tr, cls, kind) for tr in traces])
            np.save(os.path.join(out, f"cls_{kind}.npy"), V.float().numpy())
        fwd, bwd = alpha_matrix(traces[1]["fwd"]), alpha_matrix(traces[1]["bwd"]).flip(-1, -2)
        for name, M in [("fwd", fwd), ("bwd", bwd), ("sum", fwd + bwd)]:
            np.save(os.path.join(out, f"attn_l1_{name}.npy"), M[:16].float().numpy())
    return top


def image_224(path):
    """The committed test photo as the crop preprocessing makes it (C++ reproduces this bit for bit)."""
    import torchvision.transforms as T
    from PIL import Image
    tf = T.Compose([T.Resize(224), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))])
    return tf(Image.open(path).convert("RGB"))[None].double()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "vim_ref"))
    ap.add_argument("--tiny", default=None, help="also write a Vim-tiny-shaped .pth here (large; not committed)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    D, depth, patch, stride, img_size = 64, 4, 16, 16, 64
    sd = vim_state_dict(D, depth, patch, stride, img_size)
    sd32 = OrderedDict((k, v.float()) for k, v in sd.items())
    sd = OrderedDict((k, v.double()) for k, v in sd32.items())  # the fp32 weights, evaluated in fp64
    g = torch.Generator().manual_seed(1)
    img = torch.randn(1, 3, img_size, img_size, generator=g).float().double().requires_grad_()
    logits, blocks = vim_forward(img, sd, depth, stride)
    top = int(logits[0].argmax())
    logits[0, top].backward()
    save = lambda name, t: np.save(os.path.join(a.out, name), t.detach().float().numpy() if t.is_floating_point() else t.numpy())
    save("image.npy", img)
    save("logits.npy", logits)
    save("grad_input.npy", img.grad)
    np.save(os.path.join(a.out, "top.npy"), np.array([top], dtype=np.int64))
    for i, h in enumerate(blocks):
        save(f"block_{i}.npy", h)
        save(f"grad_block_{i}.npy", h.grad)
    save_checkpoint(os.path.join(a.out, "vim_ref.pth"), sd32, img_size)
    bad_files(a.out, sd32)
    print(f"wrote {a.out}: top class {top}, logit {float(logits[0, top]):.6f}")
    explain_reference(os.path.join(a.out, "xai"), sd, img, depth, patch, stride, True)
    print(f"wrote {a.out}/xai: hidden attention and maps")
    # Two narrow models on the committed photo at 224x224: 197 tokens (released conventions: cls 98, split
    # 99, start layer 15 of 24) and 730 tokens (stride 8: cls 364).
    photo = image_224(os.path.join(os.path.dirname(a.out.rstrip("/")), "images", "src_wide.png"))
    for name, depth_n, stride_n in [("vim_197", 24, 16), ("vim_730", 4, 8)]:
        d = os.path.join(os.path.dirname(a.out.rstrip("/")), name)
        os.makedirs(d, exist_ok=True)
        sd_n = OrderedDict((k, v.float()) for k, v in vim_state_dict(16, depth_n, 16, stride_n, 224, classes=10, seed=2).items())
        args = argparse.Namespace(model=name, input_size=224)
        torch.save({"model": sd_n, "epoch": 0, "args": args}, os.path.join(d, "model.pth"))
        sd_n = OrderedDict((k, v.double()) for k, v in sd_n.items())
        top_n = explain_reference(d, sd_n, photo, depth_n, 16, stride_n, False)
        print(f"wrote {d}: top class {top_n}")
    if a.tiny:
        tiny = OrderedDict((k, v.float()) for k, v in vim_state_dict(192, 24, 16, 16, 224).items())
        save_checkpoint(a.tiny, tiny, 224)
        print(f"wrote {a.tiny} (Vim-tiny shapes, random weights)")


if __name__ == "__main__":
    main()
