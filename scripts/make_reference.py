#!/usr/bin/python3
"""Writes the PyTorch reference files the C++ parity tests compare against (developer tool only).

A pure-PyTorch Vision Mamba of our own (no mamba_ssm), written from the official forward pass
(SPEC.md section 1; reference/peers.md section 2), with seeded random weights in the official state-dict
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


def scan(u, delta, A, B, C, D, z, delta_bias):
    """selective_scan_ref: u, delta, z (B, E, L); A (E, N); B, C (B, N, L)."""
    delta = F.softplus(delta + delta_bias[:, None])  # threshold 20, like the kernel
    dA = torch.exp(delta[..., None] * A[None, :, None, :])            # (B, E, L, N)
    dBu = delta[..., None] * B.transpose(1, 2)[:, None] * u[..., None]  # (B, E, L, N)
    h = torch.zeros(u.shape[0], u.shape[1], A.shape[1], dtype=u.dtype)
    ys = []
    for t in range(u.shape[2]):
        h = dA[:, :, t] * h + dBu[:, :, t]
        ys.append((h * C[:, None, :, t]).sum(-1))
    y = torch.stack(ys, dim=2) + u * D[:, None]
    return y * F.silu(z)


def mixer(a, sd, p, R, N):
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
        return scan(u, delta, A, Bm.transpose(1, 2), Cm.transpose(1, 2), sd[p + d_name], z, sd[p + f"dt_proj{s}.bias"])

    y_f = direction(x, z, "", "A_log", "D")
    y_b = direction(x.flip(-1), z.flip(-1), "_b", "A_b_log", "D_b").flip(-1)
    y = (y_f + y_b) / 2
    return y.transpose(1, 2) @ sd[p + "out_proj.weight"].T


def vim_forward(img, sd, depth, stride):
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
        h = mixer(rms_norm(r, sd[f"layers.{i}.norm.weight"]), sd, f"layers.{i}.mixer.", R, N)
        if h.requires_grad:
            h.retain_grad()
        blocks.append(h)
    out = rms_norm(r + h, sd["norm_f.weight"])
    logits = out[:, cls] @ sd["head.weight"].T + sd["head.bias"]
    return logits, blocks


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
    if a.tiny:
        tiny = OrderedDict((k, v.float()) for k, v in vim_state_dict(192, 24, 16, 16, 224).items())
        save_checkpoint(a.tiny, tiny, 224)
        print(f"wrote {a.tiny} (Vim-tiny shapes, random weights)")


if __name__ == "__main__":
    main()
