#!/usr/bin/env python3
"""Writes the PyTorch reference files of the Mamba language-model parity tests (developer tool).

Our own float64 transcription of the Mamba-1 and Mamba-2 language models of docs/definitions.md §9 (pre-norm
residual blocks, RMSNorm eps 1e-5, the mixers' recurrences run token by token), with seeded random weights,
saved in both released layouts so the loader is tested on each:
  tests/data/lm_ref/mamba1_hf/      config.json (model_type mamba) + model.safetensors, float16, tied head
  tests/data/lm_ref/mamba1_ss/      config.json (state-spaces) + pytorch_model.bin (torch.save), float32, tied head
  tests/data/lm_ref/mamba2_hf/      config.json (model_type mamba2, n_groups 2) + two bfloat16 shards with
                                    model.safetensors.index.json, untied head
  tests/data/lm_ref/mamba2_ss/      config.json (ssm_cfg layer Mamba2, ngroups 2) + pytorch_model.bin, untied
  tests/data/lm_ref/<arch>_ids.npy, <arch>_logits.npy   the token ids (T,) int64 and logits (T, V) float32
  tests/data/lm_ref/<arch>_attn_l1.npy                 layer 1's hidden attention (C, T, T): channels / heads
  tests/data/lm_ref/<arch>_map_<method>.npy            the per-token maps (T) of the prediction at position 8
  tests/data/lm_ref/<arch>_query_target.npy            [8, its argmax token]
The weights are rounded to float16 (Mamba-1) or bfloat16 (Mamba-2) before the forward, so every layout holds the
same values and one golden file serves both.
Before writing anything, the transcription is checked against Hugging Face transformers 4.44.2 (the venv of
`scripts/setup.sh --dev`, .venv-peers) on models of the same shapes with n_groups 1: that version's Mamba-2 torch
path normalises the gated output over all channels and clamps Δ below at time_step_min, so the check uses one
group and sets time_step_min to 0 (the released mamba_ssm code does neither clamp nor mix groups). Measured:
1.0e-7 of max|logits| (its RMSNorms run in float32 even in a float64 model).
Usage: .venv-peers/bin/python scripts/make_lm_reference.py [--out tests/data/lm_ref] [--no-peer-check]
"""
import argparse
import json
import math
import os
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

T = 12
VOCAB = 37  # padded to 40 (state-spaces' pad_vocab_size_multiple 8)
V = 40
M1 = dict(d_model=16, n_layer=3, d_state=4, d_conv=4, expand=2, dt_rank=2)
M2 = dict(d_model=16, n_layer=3, d_state=8, d_conv=4, expand=2, headdim=8, ngroups=2)
QUERY = 8  # the explained position (not the last: the tokens after it must get 0)


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def causal_conv(x, w, b):  # x (L, C), w (C, 1, K), b (C)
    K = w.shape[-1]
    xp = F.pad(x.t().unsqueeze(0), (K - 1, 0))
    return F.conv1d(xp, w, b, groups=x.shape[1])[0].t()


def mamba1_mixer(h, p):
    E = p["in_proj.weight"].shape[0] // 2
    R = p["dt_proj.weight"].shape[1]
    N = p["A_log"].shape[1]
    xz = h @ p["in_proj.weight"].t()
    x, z = xz[:, :E], xz[:, E:]
    u = F.silu(causal_conv(x, p["conv1d.weight"], p["conv1d.bias"]))
    x_dbl = u @ p["x_proj.weight"].t()
    dt_low, Bm, Cm = x_dbl[:, :R], x_dbl[:, R:R + N], x_dbl[:, R + N:]
    pre = causal_conv(x, p["conv1d.weight"], p["conv1d.bias"])
    delta = F.softplus(dt_low @ p["dt_proj.weight"].t() + p["dt_proj.bias"])
    A = -torch.exp(p["A_log"])
    s = torch.zeros(E, N, dtype=h.dtype)
    ys = []
    for t in range(h.shape[0]):
        s = torch.exp(delta[t, :, None] * A) * s + (delta[t] * u[t])[:, None] * Bm[t][None, :]
        ys.append(s @ Cm[t] + p["D"] * u[t])
    y = torch.stack(ys) * F.silu(z)
    trace = dict(delta=delta, B=Bm, C=Cm, A=A, z=z, pre=pre, w=p["conv1d.weight"][:, 0, :])
    return y @ p["out_proj.weight"].t(), trace


def mamba2_mixer(h, p, N, G):
    H = p["A_log"].shape[0]
    E = p["out_proj.weight"].shape[1]
    P = E // H
    zxbcdt = h @ p["in_proj.weight"].t()
    z, xBC, dt = zxbcdt[:, :E], zxbcdt[:, E:2 * E + 2 * G * N], zxbcdt[:, 2 * E + 2 * G * N:]
    xBC = F.silu(causal_conv(xBC, p["conv1d.weight"], p["conv1d.bias"]))
    x, Bm, Cm = xBC[:, :E], xBC[:, E:E + G * N], xBC[:, E + G * N:]
    delta = F.softplus(dt + p["dt_bias"])  # (L, H)
    A = -torch.exp(p["A_log"])
    L = h.shape[0]
    y = torch.zeros(L, E, dtype=h.dtype)
    for hd in range(H):
        g = hd * G // H
        s = torch.zeros(P, N, dtype=h.dtype)
        for t in range(L):
            xt = x[t, hd * P:(hd + 1) * P]
            s = torch.exp(delta[t, hd] * A[hd]) * s + delta[t, hd] * xt[:, None] * Bm[t, g * N:(g + 1) * N][None, :]
            y[t, hd * P:(hd + 1) * P] = s @ Cm[t, g * N:(g + 1) * N] + p["D"][hd] * xt
    y = y * F.silu(z)
    yg = y.view(L, G, E // G)
    yg = yg * torch.rsqrt(yg.pow(2).mean(-1, keepdim=True) + 1e-5)
    y = yg.reshape(L, E) * p["norm.weight"]
    return y @ p["out_proj.weight"].t(), dict(delta=delta, B=Bm, C=Cm, A=A, G=G, N=N)


def forward(sd, ids, arch, N=None, G=None, keep=None):
    """Logits (T, V). With `keep` (a dict), also the embeddings, each mixer output (gradients retained) and
    each layer's trace."""
    r = sd["backbone.embedding.weight"][ids]
    if keep is not None:
        r = r.detach().requires_grad_()
        keep.update(embeddings=r, outputs=[], traces=[])
    n_layer = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("backbone.layers."))
    for l in range(n_layer):
        pre = f"backbone.layers.{l}."
        p = {k[len(pre) + len("mixer."):]: v for k, v in sd.items() if k.startswith(pre + "mixer.")}
        h = rms_norm(r, sd[pre + "norm.weight"])
        out, trace = mamba1_mixer(h, p) if arch == "mamba1" else mamba2_mixer(h, p, N, G)
        if keep is not None:
            out.retain_grad()
            keep["outputs"].append(out)
            keep["traces"].append({k: (v.detach() if torch.is_tensor(v) else v) for k, v in trace.items()})
        r = r + out
    head = sd.get("lm_head.weight", sd["backbone.embedding.weight"])
    return rms_norm(r, sd["backbone.norm_f.weight"]) @ head.t()


def attention(trace, arch):
    """The layer's hidden attention, (C, T, T): per channel (Mamba-1) or per head (Mamba-2)."""
    delta, Bm, Cm, A = trace["delta"], trace["B"], trace["C"], trace["A"]
    L = delta.shape[0]
    S = torch.cumsum(delta, 0)  # (L, C)
    causal = torch.tril(torch.ones(L, L, dtype=torch.bool))
    diff = (S[:, None, :] - S[None, :, :]).masked_fill(~causal[:, :, None], 0.0)  # (i, j, C): sum over j<k<=i
    if arch == "mamba1":  # alpha[d,i,j] = sum_n C_i[n] exp(A[d,n] diff[i,j,d]) delta_j[d] B_j[n]
        decay = torch.exp(A[None, None, :, :] * diff[:, :, :, None])  # (i, j, E, N)
        alpha = torch.einsum("in,jn,ijdn,jd->dij", Cm, Bm, decay, delta)
    else:
        G, N = trace["G"], trace["N"]
        H = delta.shape[1]
        g = torch.arange(H) * G // H
        CB = torch.stack([Cm[:, k * N:(k + 1) * N] @ Bm[:, k * N:(k + 1) * N].t() for k in range(G)])  # (G, i, j)
        alpha = CB[g] * torch.exp(A[None, None, :] * diff).permute(2, 0, 1) * delta.t()[:, None, :]
    return alpha * causal


def minmax(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)


def rollout(X, q):
    L = X[0].shape[0]
    r = torch.zeros(L, dtype=torch.float64)
    r[q] = 1
    for Xl in reversed(X):
        M = torch.eye(L, dtype=torch.float64) + Xl
        s = M.sum(1, keepdim=True)
        M = torch.where(s != 0, M / torch.where(s != 0, s, torch.ones_like(s)), M)
        r = r @ M
    return r


def maps(sd, ids, arch, q, N=None, G=None):
    """Every method of docs/definitions.md §9 for the prediction at q (target: its argmax)."""
    keep = {}
    logits = forward(sd, ids, arch, N, G, keep)
    target = int(logits[q].argmax())
    logits[q, target].backward()
    n_layer = len(keep["traces"])
    start = 15 * n_layer // 24
    F_l = [attention(t, arch) for t in keep["traces"]]
    s_l = [minmax(o.grad.clamp(min=0).max(1).values) for o in keep["outputs"]]
    T = len(ids)
    out = {}
    raw = torch.zeros(T, dtype=torch.float64)
    for l in range(start, n_layer):
        raw[:q + 1] += minmax(F_l[l][:, q, :q + 1]).mean(0)
    out["raw"] = raw / (n_layer - start)
    out["rollout"] = rollout([F_l[l].mean(0) for l in range(start, n_layer)], q)
    out["attr"] = rollout([minmax(F_l[l].clamp(min=0)).mean(0) * s_l[l][None, :] for l in range(start, n_layer)], q)
    if arch == "mamba1":
        X = []
        for l in range(start, n_layer):
            t = keep["traces"][l]
            K = t["w"].shape[1]
            row = F_l[l][:, q, :]  # (E, T)
            sig = torch.sigmoid(t["pre"]).t()  # (E, T)
            hat = torch.zeros_like(row)
            for j in range(q + 1):
                for c in range(j, min(j + K - 1, q) + 1):
                    hat[:, j] += t["w"][:, j - c + K - 1] * sig[:, c] * row[:, c]
            hat = F.silu(t["z"][q])[:, None] * hat
            a = hat.clamp(min=0).mean(0)
            X.append(minmax(a * s_l[l]).expand(T, T))
        out["unified"] = rollout(X, q)
    e, g = keep["embeddings"].detach(), keep["embeddings"].grad
    out["saliency"] = g.abs().max(1).values
    out["gradxinput"] = (e * g).sum(1).abs()
    for k in out:
        out[k] = out[k].clamp(min=0)
        out[k][q + 1:] = 0
    return out, target, F_l


def inv_softplus(y):
    return y + torch.log(-torch.expm1(-y))


def make_mamba1(seed, round_to):
    g = torch.Generator().manual_seed(seed)
    D, E, N, R, K = M1["d_model"], M1["expand"] * M1["d_model"], M1["d_state"], M1["dt_rank"], M1["d_conv"]

    def rnd(*shape, scale):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    sd = OrderedDict()
    sd["backbone.embedding.weight"] = rnd(V, D, scale=1.0)
    for l in range(M1["n_layer"]):
        pre = f"backbone.layers.{l}.mixer."
        sd[pre + "A_log"] = torch.log(torch.arange(1, N + 1, dtype=torch.float64)).repeat(E, 1) + rnd(E, N, scale=0.1)
        sd[pre + "D"] = 1 + rnd(E, scale=0.1)
        sd[pre + "in_proj.weight"] = rnd(2 * E, D, scale=D ** -0.5)
        sd[pre + "conv1d.weight"] = rnd(E, 1, K, scale=0.5)
        sd[pre + "conv1d.bias"] = rnd(E, scale=0.1)
        sd[pre + "x_proj.weight"] = rnd(R + 2 * N, E, scale=E ** -0.5)
        sd[pre + "dt_proj.weight"] = rnd(E, R, scale=R ** -0.5)
        dt = torch.exp(torch.rand(E, generator=g, dtype=torch.float64) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        sd[pre + "dt_proj.bias"] = inv_softplus(dt)
        sd[pre + "out_proj.weight"] = rnd(D, E, scale=E ** -0.5)
        sd[f"backbone.layers.{l}.norm.weight"] = 1 + rnd(D, scale=0.1)
    sd["backbone.norm_f.weight"] = 1 + rnd(D, scale=0.1)
    return OrderedDict((k, v.to(round_to).to(torch.float64)) for k, v in sd.items())


def make_mamba2(seed, round_to, G, tied):
    g = torch.Generator().manual_seed(seed)
    D, N, K, P = M2["d_model"], M2["d_state"], M2["d_conv"], M2["headdim"]
    E = M2["expand"] * D
    H = E // P

    def rnd(*shape, scale):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    sd = OrderedDict()
    sd["backbone.embedding.weight"] = rnd(V, D, scale=1.0)
    for l in range(M2["n_layer"]):
        pre = f"backbone.layers.{l}.mixer."
        dt = torch.exp(torch.rand(H, generator=g, dtype=torch.float64) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        sd[pre + "dt_bias"] = inv_softplus(dt)
        sd[pre + "A_log"] = torch.log(torch.rand(H, generator=g, dtype=torch.float64) * 15 + 1)
        sd[pre + "D"] = 1 + rnd(H, scale=0.1)
        sd[pre + "in_proj.weight"] = rnd(2 * E + 2 * G * N + H, D, scale=D ** -0.5)
        sd[pre + "conv1d.weight"] = rnd(E + 2 * G * N, 1, K, scale=0.5)
        sd[pre + "conv1d.bias"] = rnd(E + 2 * G * N, scale=0.1)
        sd[pre + "norm.weight"] = 1 + rnd(E, scale=0.1)
        sd[pre + "out_proj.weight"] = rnd(D, E, scale=E ** -0.5)
        sd[f"backbone.layers.{l}.norm.weight"] = 1 + rnd(D, scale=0.1)
    sd["backbone.norm_f.weight"] = 1 + rnd(D, scale=0.1)
    if not tied:
        sd["lm_head.weight"] = rnd(V, D, scale=D ** -0.5)
    return OrderedDict((k, v.to(round_to).to(torch.float64)) for k, v in sd.items())


def hf_keys(sd):
    return OrderedDict((k.replace("backbone.embedding.", "backbone.embeddings."), v) for k, v in sd.items())


def peer_check():
    """Our transcription against transformers 4.44.2's CPU (torch) path, n_groups 1."""
    import transformers
    assert transformers.__version__ == "4.44.2", transformers.__version__
    ids = torch.randint(0, VOCAB, (T,), generator=torch.Generator().manual_seed(5))
    sd = make_mamba1(11, torch.float64)
    cfg = transformers.MambaConfig(vocab_size=V, hidden_size=M1["d_model"], state_size=M1["d_state"],
                                   num_hidden_layers=M1["n_layer"], expand=M1["expand"], conv_kernel=M1["d_conv"],
                                   time_step_rank=M1["dt_rank"], use_bias=False, use_conv_bias=True,
                                   tie_word_embeddings=True, layer_norm_epsilon=1e-5)
    model = transformers.MambaForCausalLM(cfg).double().eval()
    missing, unexpected = model.load_state_dict(hf_keys(sd), strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    with torch.no_grad():
        peer = model(ids[None], use_cache=False).logits[0]
    ours = forward(sd, ids, "mamba1")
    err1 = ((peer - ours).abs().max() / ours.abs().max()).item()
    sd = make_mamba2(12, torch.float64, G=1, tied=False)
    E = M2["expand"] * M2["d_model"]
    cfg = transformers.Mamba2Config(vocab_size=V, hidden_size=M2["d_model"], state_size=M2["d_state"],
                                    num_hidden_layers=M2["n_layer"], expand=M2["expand"], conv_kernel=M2["d_conv"],
                                    head_dim=M2["headdim"], num_heads=E // M2["headdim"], n_groups=1,
                                    use_bias=False, use_conv_bias=True, tie_word_embeddings=False,
                                    layer_norm_epsilon=1e-5, chunk_size=64)
    model = transformers.Mamba2ForCausalLM(cfg).double().eval()
    for layer in model.backbone.layers:
        layer.mixer.time_step_min = 0.0
    missing, unexpected = model.load_state_dict(hf_keys(sd), strict=True)
    with torch.no_grad():
        peer = model(ids[None], use_cache=False).logits[0]
    ours = forward(sd, ids, "mamba2", N=M2["d_state"], G=1)
    err2 = ((peer - ours).abs().max() / ours.abs().max()).item()
    print(f"peer check (transformers {transformers.__version__}): max|ours - peer| / max|ours| = "
          f"{err1:.2e} (Mamba-1), {err2:.2e} (Mamba-2)")
    # transformers' RMSNorms compute in float32 even for a float64 model: agreement is to float32 rounding
    assert err1 < 1e-6 and err2 < 1e-6, "our transcription disagrees with transformers"


def save_bin(path, sd, dtype):
    torch.save(OrderedDict((k, v.to(dtype).contiguous()) for k, v in sd.items()), path)


def save_hf(folder, sd, dtype, shards):
    from safetensors.torch import save_file
    sd = OrderedDict((k, v.to(dtype).contiguous()) for k, v in hf_keys(sd).items())
    if shards == 1:
        save_file(sd, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
        return
    keys = list(sd)
    cut = len(keys) // 2
    weight_map = {}
    for i, part in enumerate([keys[:cut], keys[cut:]]):
        name = f"model-{i + 1:05d}-of-00002.safetensors"
        save_file(OrderedDict((k, sd[k]) for k in part), os.path.join(folder, name), metadata={"format": "pt"})
        weight_map.update({k: name for k in part})
    total = sum(v.numel() * v.element_size() for v in sd.values())
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def save_explanations(out, arch, sd, ids, N=None, G=None):
    m, target, F_l = maps(sd, ids, arch, QUERY, N, G)
    np.save(os.path.join(out, f"{arch}_query_target.npy"), np.array([QUERY, target], dtype=np.int64))
    np.save(os.path.join(out, f"{arch}_attn_l1.npy"), F_l[1].detach().numpy().astype(np.float32))
    for k, v in m.items():
        np.save(os.path.join(out, f"{arch}_map_{k}.npy"), v.detach().numpy().astype(np.float32))


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/lm_ref")
    ap.add_argument("--no-peer-check", action="store_true")
    args = ap.parse_args()
    if not args.no_peer_check:
        peer_check()
    out = args.out
    for sub in ["mamba1_hf", "mamba1_ss", "mamba2_hf", "mamba2_ss"]:
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    ids = torch.randint(0, VOCAB, (T,), generator=torch.Generator().manual_seed(3))

    sd = make_mamba1(1, torch.float16)
    logits = forward(sd, ids, "mamba1")
    np.save(os.path.join(out, "mamba1_ids.npy"), ids.numpy().astype(np.int64))
    np.save(os.path.join(out, "mamba1_logits.npy"), logits.numpy().astype(np.float32))
    E = M1["expand"] * M1["d_model"]
    write_json(os.path.join(out, "mamba1_hf", "config.json"), {
        "architectures": ["MambaForCausalLM"], "model_type": "mamba", "vocab_size": V,
        "hidden_size": M1["d_model"], "intermediate_size": E, "state_size": M1["d_state"],
        "num_hidden_layers": M1["n_layer"], "conv_kernel": M1["d_conv"], "expand": M1["expand"],
        "time_step_rank": M1["dt_rank"], "layer_norm_epsilon": 1e-5, "use_bias": False, "use_conv_bias": True,
        "tie_word_embeddings": True, "torch_dtype": "float16"})
    save_hf(os.path.join(out, "mamba1_hf"), sd, torch.float16, shards=1)
    save_explanations(out, "mamba1", sd, ids)
    write_json(os.path.join(out, "mamba1_ss", "config.json"), {
        "d_model": M1["d_model"], "n_layer": M1["n_layer"], "vocab_size": VOCAB, "ssm_cfg": {},
        "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8,
        "tie_embeddings": True})
    save_bin(os.path.join(out, "mamba1_ss", "pytorch_model.bin"), sd, torch.float32)

    G = M2["ngroups"]
    sd = make_mamba2(2, torch.bfloat16, G=G, tied=False)
    logits = forward(sd, ids, "mamba2", N=M2["d_state"], G=G)
    np.save(os.path.join(out, "mamba2_ids.npy"), ids.numpy().astype(np.int64))
    np.save(os.path.join(out, "mamba2_logits.npy"), logits.numpy().astype(np.float32))
    E = M2["expand"] * M2["d_model"]
    write_json(os.path.join(out, "mamba2_hf", "config.json"), {
        "architectures": ["Mamba2ForCausalLM"], "model_type": "mamba2", "vocab_size": V,
        "hidden_size": M2["d_model"], "state_size": M2["d_state"], "num_hidden_layers": M2["n_layer"],
        "conv_kernel": M2["d_conv"], "expand": M2["expand"], "head_dim": M2["headdim"],
        "num_heads": E // M2["headdim"], "n_groups": G, "layer_norm_epsilon": 1e-5, "use_bias": False,
        "use_conv_bias": True, "tie_word_embeddings": False, "chunk_size": 256, "torch_dtype": "bfloat16"})
    save_hf(os.path.join(out, "mamba2_hf"), sd, torch.bfloat16, shards=2)
    save_explanations(out, "mamba2", sd, ids, N=M2["d_state"], G=G)
    write_json(os.path.join(out, "mamba2_ss", "config.json"), {
        "d_model": M2["d_model"], "d_intermediate": 0, "n_layer": M2["n_layer"], "vocab_size": VOCAB,
        "ssm_cfg": {"layer": "Mamba2", "d_state": M2["d_state"], "headdim": M2["headdim"], "ngroups": G},
        "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8,
        "tie_embeddings": False})
    save_bin(os.path.join(out, "mamba2_ss", "pytorch_model.bin"), sd, torch.float32)
    print(f"wrote {out}: mamba1 and mamba2 references, T = {T}, V = {V}")


if __name__ == "__main__":
    main()
