#!/usr/bin/env python3
"""The PyTorch side of scripts/bench_lm_maps.sh (developer tool; .venv-peers: Debian's torch, transformers 4.44.2).

What a PyTorch user would write for `hattn lm explain`'s maps (docs/definitions.md §9) on a Mamba-1 or Mamba-2
language model in Hugging Face's layout: a float32 model vectorised over channels (Mamba-1's scan a loop over
tokens, as transformers' CPU path; Mamba-2's in the chunked SSD form), autograd for the gradients, and the maps
by the cheapest exact routes we know in tensor code: rows for raw; for rollout the channel mean applied to
vectors by a scan and a reverse-time scan (Mamba-1) or the (H, T, T) head matrices (Mamba-2); for attr the
channel matrices by blocks of 64 rows and 64 channels, each block a batched GEMM of two factors bounded by 1
plus its diagonal block; lrp (MambaLRP) by the released code's recipe on the same model: the rules as detaches
(norm scales, the scan's coefficients, SiLU as x times a detached ratio, the gate's o/2 + (o/2).detach()), then
gradient x input at the embeddings. All cores.
  --method raw|rollout|attr|lrp   writes the map (T) float32 to --out
  --method logits             transformers' own forward (AutoModelForCausalLM), logits of every position
Usage: .venv-peers/bin/python scripts/bench_lm_maps.py --model DIR --ids 1,2,3 --method attr --out FILE.npy
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file


LRP = False  # MambaLRP's rules on (explain(..., "lrp"))


def rms_norm(x, w, eps):
    r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return x * (r.detach() if LRP else r) * w


def act(x):  # SiLU; under the rules x times the detached ratio SiLU(x) / stabilize(x)
    y = F.silu(x)
    if not LRP:
        return y
    zp = x + ((x == 0.).to(x) + x.sign()) * 1e-6
    return zp * (y / zp).detach()


def gate(y, z):  # y ⊙ SiLU(z); under the rules each side gets half
    o = y * act(z)
    return o / 2 + (o / 2).detach() if LRP else o


def const(t):  # the scan's coefficients: constants under the rules
    return t.detach() if LRP else t


def causal_conv(x, w, b):  # x (L, C), w (C, 1, K)
    K = w.shape[-1]
    return F.conv1d(F.pad(x.t().unsqueeze(0), (K - 1, 0)), w, b, groups=x.shape[1])[0].t()


def mamba1_mixer(h, p, trace):
    E, R, N = p["in_proj.weight"].shape[0] // 2, p["dt_proj.weight"].shape[1], p["A_log"].shape[1]
    x, z = (h @ p["in_proj.weight"].t()).split(E, dim=1)
    u = act(causal_conv(x, p["conv1d.weight"], p["conv1d.bias"]))
    dt_low, B, C = (u @ p["x_proj.weight"].t()).split([R, N, N], dim=1)
    delta = F.softplus(dt_low @ p["dt_proj.weight"].t() + p["dt_proj.bias"])  # (L, E)
    A = -torch.exp(p["A_log"])  # (E, N)
    decay = const(torch.exp(delta[:, :, None] * A))  # (L, E, N)
    drive = const(delta[:, :, None] * B[:, None, :]) * u[:, :, None]
    C = const(C)
    s = torch.zeros_like(decay[0])
    ys = []
    for dec, dri, c in zip(decay.unbind(0), drive.unbind(0), C.unbind(0)):  # unbind: one backward for all steps
        s = dec * s + dri
        ys.append(s @ c)
    y = gate(torch.stack(ys) + u * p["D"], z)
    trace.append(dict(delta=delta.detach(), A=A.detach(), B=B.detach(), C=C.detach()))
    return y @ p["out_proj.weight"].t()


def ssd(x, delta, A, B, C, H, G, Q=64):
    """Mamba-2's scan in the chunked form. x (L, H, P), delta (L, H), A (H), B, C (L, G, N) -> (L, H, P)."""
    L, _, P = x.shape
    pad = (-L) % Q
    x, delta, B, C = (torch.cat([t, t.new_zeros((pad,) + t.shape[1:])]) for t in (x, delta, B, C))
    nc = x.shape[0] // Q
    g = torch.arange(H) * G // H
    X = x.view(nc, Q, H, P).permute(2, 0, 1, 3)  # (H, nc, Q, P)
    dl = delta.view(nc, Q, H).permute(2, 0, 1)  # (H, nc, Q)
    Bc = B.view(nc, Q, G, -1).permute(2, 0, 1, 3)[g]  # (H, nc, Q, N)
    Cc = C.view(nc, Q, G, -1).permute(2, 0, 1, 3)[g]
    cum = torch.cumsum(dl * A[:, None, None], -1)  # (H, nc, Q)
    mask = torch.tril(torch.ones(Q, Q, dtype=torch.bool))
    seg = (cum[..., :, None] - cum[..., None, :]).masked_fill(~mask, -float("inf"))
    Xd = X * dl[..., None]
    Y = (Cc @ Bc.transpose(-1, -2) * torch.exp(seg)) @ Xd
    states = (Xd * torch.exp(cum[..., -1:] - cum)[..., None]).transpose(-1, -2) @ Bc  # (H, nc, P, N)
    ends = cum[..., -1]  # (H, nc)
    inc = torch.cumsum(ends, -1)
    smask = torch.tril(torch.ones(nc, nc, dtype=torch.bool), -1)
    carry = torch.exp(((inc - ends)[..., :, None] - inc[..., None, :]).masked_fill(~smask, -float("inf")))
    S_in = (carry @ states.reshape(H, nc, -1)).view(H, nc, P, -1)
    Y = Y + (Cc @ S_in.transpose(-1, -2)) * torch.exp(cum)[..., None]
    return Y.permute(1, 2, 0, 3).reshape(nc * Q, H, P)[:L]


def mamba2_mixer(h, p, cfg, trace):
    H, N, G = cfg["num_heads"], cfg["state_size"], cfg.get("n_groups", 1)
    E = p["out_proj.weight"].shape[1]
    z, xBC, dt = (h @ p["in_proj.weight"].t()).split([E, E + 2 * G * N, H], dim=1)
    x, B, C = act(causal_conv(xBC, p["conv1d.weight"], p["conv1d.bias"])).split([E, G * N, G * N], dim=1)
    delta = F.softplus(dt + p["dt_bias"])  # (L, H)
    A = -torch.exp(p["A_log"])
    L = h.shape[0]
    y = ssd(x.view(L, H, -1), const(delta), A, const(B).view(L, G, N), const(C).view(L, G, N), H, G).reshape(L, E) + \
        (x.view(L, H, -1) * p["D"][:, None]).reshape(L, E)
    y = gate(y, z).view(L, G, E // G)
    y = rms_norm(y, 1.0, cfg.get("layer_norm_epsilon", 1e-5)).reshape(L, E) * p["norm.weight"]
    trace.append(dict(delta=delta.detach(), A=A.detach(), B=B.view(L, G, N).detach(), C=C.view(L, G, N).detach()))
    return y @ p["out_proj.weight"].t()


def load(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    sd = {k.replace("backbone.embeddings.", "backbone.embedding."): v.float()
          for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    return cfg, sd


def traced_pass(cfg, sd, ids, q, gradients):
    """Each layer's scan factors and, with `gradients`, the gradient of the logit of the argmax at q at every
    mixer output (as hattn: the gradient pass only for a method that reads it)."""
    torch.set_grad_enabled(gradients)
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    r = sd["backbone.embedding.weight"][ids].requires_grad_(gradients)  # input-side gradients only, as hattn
    outs, traces = [], []
    for l in range(cfg["num_hidden_layers"]):
        pre = f"backbone.layers.{l}."
        p = {k[len(pre) + 6:]: v for k, v in sd.items() if k.startswith(pre + "mixer.")}
        h = rms_norm(r, sd[pre + "norm.weight"], eps)
        m = mamba1_mixer(h, p, traces) if cfg["model_type"] == "mamba" else mamba2_mixer(h, p, cfg, traces)
        if gradients:
            m.retain_grad()
        outs.append(m)
        r = r + m
    hidden = rms_norm(r, sd["backbone.norm_f.weight"], eps)
    if not gradients:
        return None, traces
    head = sd.get("lm_head.weight", sd["backbone.embedding.weight"])
    with torch.no_grad():
        target = int((hidden[q] @ head.t()).argmax())
    (hidden[q] @ head[target]).backward()
    return [o.grad for o in outs], traces


def minmax(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)


def prefix(delta):  # S_i = Σ_{k≤i} Δ_k in double, (L, C)
    return torch.cumsum(delta.double(), 0)


def rows(t, q, mamba1):
    """Row q of every channel's (head's) matrix, (C, q + 1)."""
    S = prefix(t["delta"])
    diff = (S[q] - S[:q + 1]).float()  # (q+1, C)
    if mamba1:  # Σ_n C_q[n] B_j[n] Δ_j[d] exp(A[d,n] diff[j,d])
        return torch.einsum("n,jn,jdn,jd->dj", t["C"][q], t["B"][:q + 1], torch.exp(diff[:, :, None] * t["A"]),
                            t["delta"][:q + 1])
    G, H = t["B"].shape[1], t["delta"].shape[1]
    g = torch.arange(H) * G // H
    CB = torch.einsum("gn,jgn->gj", t["C"][q], t["B"][:q + 1])[g]  # (H, q+1)
    return CB * torch.exp(diff * t["A"]).t() * t["delta"][:q + 1].t()


def head_matrices(t):  # Mamba-2: (H, L, L)
    S = prefix(t["delta"])
    L, H = t["delta"].shape
    G = t["B"].shape[1]
    g = torch.arange(H) * G // H
    CB = torch.einsum("ign,jgn->gij", t["C"], t["B"])[g]
    diff = (S[:, None, :] - S[None, :, :]).permute(2, 0, 1).float()  # (H, i, j)
    causal = torch.tril(torch.ones(L, L, dtype=torch.bool))
    return torch.where(causal, CB * torch.exp((diff * t["A"][:, None, None]).masked_fill(~causal, 0)), 0.0) * \
        t["delta"].t()[:, None, :]


def mamba1_row_sums(t):  # X·1: the scan of a constant input, mean over channels
    decay = torch.exp(t["delta"][:, :, None] * t["A"])
    drive = t["delta"][:, :, None] * t["B"][:, None, :]
    s, out = torch.zeros_like(decay[0]), []
    for i in range(decay.shape[0]):
        s = decay[i] * s + drive[i]
        out.append((s @ t["C"][i]).mean())
    return torch.stack(out).double()


def mamba1_vecmat(t, w):  # wᵀX: the reverse-time scan, mean over channels
    decay = torch.exp(t["delta"][:, :, None] * t["A"])
    wf = w.float()
    L = decay.shape[0]
    g, out = torch.zeros_like(decay[0]), [None] * L
    for j in range(L - 1, -1, -1):
        g = wf[j] * t["C"][j][None, :] + (decay[j + 1] * g if j + 1 < L else 0)
        out[j] = ((g * t["B"][j][None, :]).sum(1) * t["delta"][j]).mean()
    return torch.stack(out).double()


def rollout(layers, q, L):  # layers: (row_sums, vecmat) per layer, first first
    r = torch.zeros(L, dtype=torch.float64)
    r[q] = 1
    for row_sums, vecmat in reversed(layers):
        s = 1 + row_sums
        v = torch.where((s != 0) & torch.isfinite(s), r / s, r)
        r = v + vecmat(v)
    return r


def mamba1_relu_stats(t, block=64):
    """Channel mean of max(α, 0) (L, L) and α's extremes, by blocks of rows and channels: for j < r0 ≤ i,
    α[d,i,j] = Σ_n (C_i[n] e^{A(S_i − S_{r0−1})}) (Δ_j B_j[n] e^{A(S_{r0−1} − S_j)}), both factors ≤ 1."""
    delta, A, B, C = t["delta"], t["A"], t["B"], t["C"]
    L, E = delta.shape
    S = prefix(delta)
    acc = torch.zeros(L, L, dtype=torch.float64)
    lo, hi = torch.tensor(0.0), torch.tensor(0.0)  # the zeros above the diagonal
    causal = torch.tril(torch.ones(block, block, dtype=torch.bool))
    for d0 in range(0, E, block):
        d = slice(d0, min(E, d0 + block))
        Ad, Sd, Dd = A[d], S[:, d], delta[:, d]  # (c, N), (L, c), (L, c)
        for r0 in range(0, L, block):
            r1 = min(L, r0 + block)
            ref = Sd[r0 - 1] if r0 > 0 else torch.zeros_like(Sd[0])
            left = C[r0:r1, None, :] * torch.exp((Sd[r0:r1] - ref)[:, :, None].float() * Ad)  # (i, c, N)
            blocks = []
            if r0 > 0:
                right = (Dd[:r0, :, None] * B[:r0, None, :]) * torch.exp((ref - Sd[:r0])[:, :, None].float() * Ad)
                blocks.append(torch.bmm(left.permute(1, 0, 2), right.permute(1, 2, 0)))  # (c, i, j<r0)
            diff = (Sd[r0:r1, None, :] - Sd[None, r0:r1, :]).float()  # (i, j, c)
            m = causal[:r1 - r0, :r1 - r0, None]
            dec = torch.exp((diff.masked_fill(~m, 0))[..., None] * Ad)  # (i, j, c, N)
            diag = torch.einsum("in,jn,ijcn,jc->cij", C[r0:r1], B[r0:r1], dec, Dd[r0:r1]) * m.permute(2, 0, 1)
            blocks.append(diag)
            a = torch.cat(blocks, 2)  # (c, i, j ≤ r1)
            acc[r0:r1, :r1] += a.clamp(min=0).sum(0).double()
            lo, hi = torch.minimum(lo, a.min()), torch.maximum(hi, a.max())
    return acc / E, lo.item(), hi.item()


def lrp(cfg, sd, ids, q):
    """MambaLRP: gradient x input at the embeddings of a pass under the rules, for the argmax at q."""
    global LRP
    LRP = True
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    e = sd["backbone.embedding.weight"][ids].detach().requires_grad_()
    r = e
    for l in range(cfg["num_hidden_layers"]):
        pre = f"backbone.layers.{l}."
        p = {k[len(pre) + 6:]: v for k, v in sd.items() if k.startswith(pre + "mixer.")}
        h = rms_norm(r, sd[pre + "norm.weight"], eps)
        r = r + (mamba1_mixer(h, p, []) if cfg["model_type"] == "mamba" else mamba2_mixer(h, p, cfg, []))
    hidden = rms_norm(r, sd["backbone.norm_f.weight"], eps)
    head = sd.get("lm_head.weight", sd["backbone.embedding.weight"])
    with torch.no_grad():
        target = int((hidden[q] @ head.t()).argmax())
    (hidden[q] @ head[target]).backward()
    LRP = False
    return (e * e.grad).sum(-1).detach().double()


def explain(cfg, sd, ids, method):
    L = len(ids)
    q = L - 1
    mamba1 = cfg["model_type"] == "mamba"
    if method == "lrp":
        out = lrp(cfg, sd, ids, q).clamp(min=0)
        out[q + 1:] = 0
        return out.float().numpy()
    grads, traces = traced_pass(cfg, sd, ids, q, method == "attr")
    torch.set_grad_enabled(False)
    n = len(traces)
    start = 15 * n // 24
    out = torch.zeros(L, dtype=torch.float64)
    if method == "raw":
        for l in range(start, n):
            out[:q + 1] += minmax(rows(traces[l], q, mamba1)).mean(0).double()
        out /= n - start
    elif method == "rollout":
        layers = []
        for l in range(start, n):
            if mamba1:
                t = traces[l]
                layers.append((mamba1_row_sums(t), lambda v, t=t: mamba1_vecmat(t, v)))
            else:
                X = head_matrices(traces[l]).mean(0).double()
                layers.append((X.sum(1), lambda v, X=X: v @ X))
        out = rollout(layers, q, L)
    else:  # attr
        layers = []
        for l in range(start, n):
            s = minmax(grads[l].clamp(min=0).max(1).values).double()  # the block's token relevance
            if mamba1:
                mean_relu, lo, hi = mamba1_relu_stats(traces[l])
            else:
                M = head_matrices(traces[l])
                mean_relu, lo, hi = M.clamp(min=0).mean(0).double(), M.min().item(), M.max().item()
            lo, hi = max(lo, 0.0), max(hi, 0.0)
            X = (mean_relu - lo) / (hi - lo) * s[None, :] if hi > lo else torch.zeros(L, L, dtype=torch.float64)
            layers.append((X.sum(1), lambda v, X=X: v @ X))
        out = rollout(layers, q, L)
    out = out.clamp(min=0)
    out[q + 1:] = 0
    return out.float().numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--method", required=True, choices=["raw", "rollout", "attr", "lrp", "logits"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    ids = torch.tensor([int(x) for x in args.ids.split(",")])
    if args.method == "logits":
        import transformers
        model = transformers.AutoModelForCausalLM.from_pretrained(args.model).eval()
        for layer in model.backbone.layers:  # Mamba-2: no Δ clamp, as the released code
            if hasattr(layer.mixer, "time_step_min"):
                layer.mixer.time_step_min = 0.0
        with torch.no_grad():
            np.save(args.out, model(ids[None], use_cache=False).logits[0].numpy())
        return
    cfg, sd = load(args.model)
    np.save(args.out, explain(cfg, sd, ids, args.method))


if __name__ == "__main__":
    main()
