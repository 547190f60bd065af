#!/usr/bin/env python3
"""Writes the PyTorch reference files of the GPT-NeoX (Pythia) parity tests (developer tool).

Our own float64 transcription of GPT-NeoX as docs/definitions.md §10 defines it (rotary position embedding on the
first rotary_pct of each head's dimensions with float32 tables as Hugging Face forms them, causal softmax
attention, the exact GELU, parallel or sequential residual), with seeded random weights rounded to float32, in
Hugging Face's layout:
  tests/data/neox_ref/<name>/        config.json (model_type gpt_neox) + model.safetensors (float32)
  tests/data/neox_ref/<name>_ids.npy, <name>_logits.npy   the token ids (T,) int64 and the logits (T, V) float32
  tests/data/neox_ref/<name>_attn.npy                     every layer's attention probabilities (layers, H, T, T)
  tests/data/neox_ref/<name>_map_<method>.npy             raw, rollout, attr, gae, saliency, gradxinput (T) for the
                                                          prediction at position 8 ([8, target]: _query_target.npy)
for two models: `parallel` (Pythia's form: use_parallel_residual, biases, rotary_pct 0.5) and `sequential`
(use_parallel_residual false, no attention biases, rotary on every dimension). Each also carries the buffers older
Pythia files hold (attention.bias, masked_bias, rotary_emb.inv_freq), which the loader must ignore.
Before writing anything, the transcription is checked against Hugging Face transformers 4.44.2's
GPTNeoXForCausalLM (the venv of `scripts/setup.sh --dev`, .venv-peers) in float64: logits and attentions.
Usage: .venv-peers/bin/python scripts/make_neox_reference.py [--out tests/data/neox_ref]
"""
import argparse
import json
import math
import os
from collections import OrderedDict

import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vit_reference as vit  # noqa: E402  Transformer-Attribution's released rules, transcribed there

T = 12
V = 50
QUERY = 8  # the explained position (not the last: the tokens after it must get 0)
POSITIONS = 160  # max_position_embeddings: room for the 150-token checks of tests/test_families.cpp
MODELS = {
    "parallel": dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=72,
                     rotary_pct=0.5, rotary_emb_base=10000, use_parallel_residual=True, attention_bias=True),
    "sequential": dict(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=40,
                       rotary_pct=1.0, rotary_emb_base=500, use_parallel_residual=False, attention_bias=False),
}


def rotary_tables(r, base, T):
    """cos, sin (T, r) as Hugging Face forms them: float32 inverse frequencies and angles, then float64."""
    inv_freq = 1.0 / (base ** (torch.arange(0, r, 2, dtype=torch.int64).float() / r))
    freqs = torch.outer(torch.arange(T, dtype=torch.int64).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().double(), emb.sin().double()


def rotate(x, cos, sin):  # x (H, T, hd): the first r dims rotated, the rest passed
    r = cos.shape[1]
    rot, rest = x[..., :r], x[..., r:]
    half = torch.cat((-rot[..., r // 2:], rot[..., :r // 2]), dim=-1)
    return torch.cat((rot * cos + half * sin, rest), dim=-1)


def forward(sd, cfg, ids, keep=None):
    """Logits (T, V) and the attention probabilities of every layer (layers, H, T, T). With `keep` (a dict), the
    embeddings (a leaf), each layer's probabilities with their gradients retained, each layer's intermediate
    tensors (keep["layers"]) and the final state (keep["hidden"])."""
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = D // H
    r = int(hd * cfg["rotary_pct"])
    L = len(ids)
    cos, sin = rotary_tables(r, cfg["rotary_emb_base"], L)
    x = sd["gpt_neox.embed_in.weight"][ids]
    if keep is not None:
        x = x.detach().requires_grad_()
        keep.update(embeddings=x, attentions=[], layers=[])
    causal = torch.tril(torch.ones(L, L, dtype=torch.bool))
    attns = []
    for l in range(cfg["num_hidden_layers"]):
        p = lambda name: sd.get(f"gpt_neox.layers.{l}.{name}")  # noqa: E731
        ln = lambda y, n: F.layer_norm(y, (D,), p(n + ".weight"), p(n + ".bias"), 1e-5)  # noqa: E731
        qkv = F.linear(ln(x, "input_layernorm"), p("attention.query_key_value.weight"),
                       p("attention.query_key_value.bias")).view(L, H, 3 * hd).transpose(0, 1)  # (H, T, 3hd)
        q, k, v = rotate(qkv[..., :hd], cos, sin), rotate(qkv[..., hd:2 * hd], cos, sin), qkv[..., 2 * hd:]
        scores = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        a = torch.softmax(scores.masked_fill(~causal, torch.finfo(scores.dtype).min), -1)
        if keep is not None:
            a.retain_grad()
            keep["attentions"].append(a)
        attns.append(a)
        h1 = ln(x, "input_layernorm")
        ctx = (a @ v).transpose(0, 1).reshape(L, D)
        attn_out = F.linear(ctx, p("attention.dense.weight"), p("attention.dense.bias"))
        y = x + attn_out
        h2 = ln(x if cfg["use_parallel_residual"] else y, "post_attention_layernorm")
        f1 = F.gelu(F.linear(h2, p("mlp.dense_h_to_4h.weight"), p("mlp.dense_h_to_4h.bias")))
        mlp_out = F.linear(f1, p("mlp.dense_4h_to_h.weight"), p("mlp.dense_4h_to_h.bias"))
        if keep is not None:
            keep["layers"].append(dict(x=x, h1=h1, q=q, k=k, v=v, a=a, ctx=ctx, attn_out=attn_out, y=y, h2=h2, f1=f1,
                                       mlp_out=mlp_out))
        x = (x + attn_out + mlp_out) if cfg["use_parallel_residual"] else y + mlp_out
    x = F.layer_norm(x, (D,), sd["gpt_neox.final_layer_norm.weight"], sd["gpt_neox.final_layer_norm.bias"], 1e-5)
    if keep is not None:
        keep["hidden"] = x
    return x @ sd["embed_out.weight"].t(), torch.stack(attns)


def attr_cams(sd, cfg, keep, q, target):
    """Transformer-Attribution's per-layer mean_h max(dA ⊙ R_A, 0) with the released rules (make_vit_reference.py)
    and docs/definitions.md §10's additions: the head's Linear at the query state, the final norm unchanged, per
    layer (x + attn) + mlp as two adds with x fanning out into three uses (parallel) or two blocks in order
    (sequential); rotary, mask and scale unchanged."""
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = D // H
    hidden = keep["hidden"].detach()
    L = hidden.shape[0]
    one_hot = torch.zeros(1, V, dtype=torch.float64)
    one_hot[0, target] = 1
    pooled = hidden[q:q + 1]
    r = vit.rel_linear(one_hot, pooled, sd["embed_out.weight"])
    R = torch.zeros_like(hidden)
    R[q:q + 1] = vit.rel_simple(r, lambda f: f, pooled)[0]                       # the query state; final norm unchanged
    cams = []
    for l in reversed(range(cfg["num_hidden_layers"])):
        p = lambda name: sd[f"gpt_neox.layers.{l}.{name}"]  # noqa: E731
        s = {k: v.detach() for k, v in keep["layers"][l].items()}
        r_y, r_mlp = vit.rel_add(R, s["y"], s["mlp_out"])                         # (x + attn) + mlp, or y + mlp
        r_mlp = vit.rel_linear(r_mlp, s["f1"], p("mlp.dense_4h_to_h.weight"))     # GELU unchanged
        r_mlp = vit.rel_linear(r_mlp, s["h2"], p("mlp.dense_h_to_4h.weight"))     # LayerNorm unchanged
        if not cfg["use_parallel_residual"]:
            r_y = vit.rel_clone(s["y"], r_y, r_mlp)
        r_x, r_att = vit.rel_add(r_y, s["x"], s["attn_out"])
        r_att = vit.rel_linear(r_att, s["ctx"], p("attention.dense.weight")).reshape(L, H, hd).transpose(0, 1)
        r_a, r_v = vit.rel_simple(r_att, lambda m, n: m @ n, s["a"], s["v"])
        r_a, r_v = r_a / 2, r_v / 2
        cams.insert(0, (keep["layers"][l]["a"].grad * r_a).clamp(min=0).mean(0))
        r_q, r_k = vit.rel_simple(r_a, lambda m, n: m @ n.transpose(-2, -1), s["q"], s["k"])
        r_q, r_k = r_q / 2, r_k / 2
        r_qkv = torch.stack([r_q, r_k, r_v]).permute(2, 1, 0, 3).reshape(L, 3 * D)
        r_branch = vit.rel_linear(r_qkv, s["h1"], p("attention.query_key_value.weight"))
        parts = [r_x, r_branch] + ([r_mlp] if cfg["use_parallel_residual"] else [])
        R = s["x"] * sum(vit.safe_divide(part, s["x"]) for part in parts)      # x fans out
    return cams


def rollout(X, q):
    L = X[0].shape[0]
    r = torch.zeros(L, dtype=torch.float64)
    r[q] = 1
    for Xl in reversed(X):
        M = torch.eye(L, dtype=torch.float64) + Xl
        r = r @ (M / M.sum(1, keepdim=True))
    return r


def maps(sd, cfg, ids, q):
    """The maps of docs/definitions.md §10 for the prediction at q (target: its argmax), start layer 0."""
    keep = {}
    logits, _ = forward(sd, cfg, ids, keep)
    target = int(logits[q].argmax())
    logits[q, target].backward()
    A = [a.detach() for a in keep["attentions"]]
    out = {"raw": A[-1].mean(0)[q], "rollout": rollout([a.mean(0) for a in A], q),
           "attr": rollout(attr_cams(sd, cfg, keep, q, target), q)}
    L = len(ids)
    R = torch.eye(L, dtype=torch.float64)
    for a in keep["attentions"]:
        R = R + (a.grad * a.detach()).clamp(min=0).mean(0) @ R
    out["gae"] = R[q]
    e, g = keep["embeddings"].detach(), keep["embeddings"].grad
    out["saliency"] = g.abs().max(1).values
    out["gradxinput"] = (e * g).sum(1).abs()
    for k in out:
        out[k] = out[k].clamp(min=0)
        out[k][q + 1:] = 0
    return out, target


def make(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    D, F_, H = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"]

    def rnd(*shape, scale):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    sd = OrderedDict()
    sd["gpt_neox.embed_in.weight"] = rnd(V, D, scale=1.0)
    for l in range(cfg["num_hidden_layers"]):
        pre = f"gpt_neox.layers.{l}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            sd[pre + n + ".weight"] = 1 + rnd(D, scale=0.1)
            sd[pre + n + ".bias"] = rnd(D, scale=0.1)
        sd[pre + "attention.query_key_value.weight"] = rnd(3 * D, D, scale=D ** -0.5)
        sd[pre + "attention.dense.weight"] = rnd(D, D, scale=D ** -0.5)
        if cfg["attention_bias"]:
            sd[pre + "attention.query_key_value.bias"] = rnd(3 * D, scale=0.1)
            sd[pre + "attention.dense.bias"] = rnd(D, scale=0.1)
        sd[pre + "mlp.dense_h_to_4h.weight"] = rnd(F_, D, scale=D ** -0.5)
        sd[pre + "mlp.dense_h_to_4h.bias"] = rnd(F_, scale=0.1)
        sd[pre + "mlp.dense_4h_to_h.weight"] = rnd(D, F_, scale=F_ ** -0.5)
        sd[pre + "mlp.dense_4h_to_h.bias"] = rnd(D, scale=0.1)
    sd["gpt_neox.final_layer_norm.weight"] = 1 + rnd(D, scale=0.1)
    sd["gpt_neox.final_layer_norm.bias"] = rnd(D, scale=0.1)
    sd["embed_out.weight"] = rnd(V, D, scale=D ** -0.5)
    return OrderedDict((k, v.float().double()) for k, v in sd.items())


def hf_config(cfg):
    return dict(architectures=["GPTNeoXForCausalLM"], model_type="gpt_neox", vocab_size=V, hidden_act="gelu",
                max_position_embeddings=POSITIONS, layer_norm_eps=1e-5, tie_word_embeddings=False, torch_dtype="float32",
                **cfg)


def peer_check(sd, cfg, ids, logits, attns):
    import transformers
    assert transformers.__version__ == "4.44.2", transformers.__version__
    torch.set_default_dtype(torch.float64)  # its causal mask is made in the default dtype
    model = transformers.GPTNeoXForCausalLM(transformers.GPTNeoXConfig(**hf_config(cfg))).double().eval()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all("rotary_emb" in m or m.endswith(".bias") and "attention.bias" in m or
                                  "masked_bias" in m for m in missing), (missing, unexpected)
    with torch.no_grad():
        out = model(ids[None], output_attentions=True)
    e1 = float((out.logits[0] - logits).abs().max() / logits.abs().max())
    e2 = max(float((a[0] - attns[l]).abs().max()) for l, a in enumerate(out.attentions))
    print(f"  peer check (transformers {transformers.__version__}, float64): logits {e1:.1e} of max, "
          f"attention probabilities {e2:.1e}")
    assert e1 < 1e-10 and e2 < 1e-10, "our transcription disagrees with transformers"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/neox_ref")
    args = ap.parse_args()
    ids = torch.randint(0, V, (T,), generator=torch.Generator().manual_seed(5))
    for k, (name, cfg) in enumerate(MODELS.items()):
        sd = make(cfg, 10 + k)
        logits, attns = forward(sd, cfg, ids)
        print(f"{name}:")
        peer_check(sd, cfg, ids, logits, attns)
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(hf_config(cfg), f, indent=2)
        stored = OrderedDict((k2, v.float().contiguous()) for k2, v in sd.items())
        D, H = cfg["hidden_size"], cfg["num_attention_heads"]
        r = int(D // H * cfg["rotary_pct"])
        for l in range(cfg["num_hidden_layers"]):  # the buffers older Pythia files hold
            pre = f"gpt_neox.layers.{l}.attention."
            stored[pre + "bias"] = torch.tril(torch.ones(POSITIONS, POSITIONS, dtype=torch.bool))[None, None].contiguous()
            stored[pre + "masked_bias"] = torch.tensor(-1e9)
            stored[pre + "rotary_emb.inv_freq"] = 1.0 / (cfg["rotary_emb_base"] ** (torch.arange(0, r, 2).float() / r))
        save_file(stored, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
        np.save(os.path.join(args.out, f"{name}_ids.npy"), ids.numpy().astype(np.int64))
        np.save(os.path.join(args.out, f"{name}_logits.npy"), logits.numpy().astype(np.float32))
        np.save(os.path.join(args.out, f"{name}_attn.npy"), attns.numpy().astype(np.float32))
        m, target = maps(sd, cfg, ids, QUERY)
        np.save(os.path.join(args.out, f"{name}_query_target.npy"), np.array([QUERY, target], dtype=np.int64))
        for k2, v in m.items():
            np.save(os.path.join(args.out, f"{name}_map_{k2}.npy"), v.detach().numpy().astype(np.float32))
    print(f"wrote {args.out}: GPT-NeoX references, T = {T}, V = {V}")


if __name__ == "__main__":
    main()
